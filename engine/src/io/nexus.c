/* NeXus/NXmx files: one file per series, each frame written as it completes (the layout:
 * docs/formats.md and modules/nexus.c). HDF5 itself is in the module nbcl-nexus.so, loaded on
 * first use; this side keeps the output file (an nbcl_outfile: HDF5 writes its temporary file by
 * path, nbcl_nexus_close commits it), which frames were written, and the checks. */
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"
#include "nbcl_modules.h"

struct nbcl_nexus {
    const nbcl_nexus_module *mod;
    nbcl_nexus_h5 *h5;
    nbcl_outfile *out;
    char *path;
    int nframes;
    unsigned char *written;
    nbcl_frame_meta meta; /* geometry of the series (pointers not kept) */
};

const nbcl_nexus_module *nbcl__nexus_module(char *err, size_t errlen)
{
    return nbcl_module_load("nexus", 0, err, errlen);
}

int nbcl_nexus_filter_available(nbcl_nexus_compression c)
{
    char why[1024];
    const nbcl_nexus_module *mod = nbcl__nexus_module(why, sizeof why);
    return mod && mod->filter_available(c);
}

static int same_geometry(const nbcl_frame_meta *a, const nbcl_frame_meta *b)
{
    if (a->fpixels != b->fpixels || a->spixels != b->spixels || a->pixel_size != b->pixel_size)
        return 0;
    for (int i = 0; i < 3; i++)
        if (a->mcstas_fast[i] != b->mcstas_fast[i] || a->mcstas_slow[i] != b->mcstas_slow[i] ||
            a->mcstas_origin[i] != b->mcstas_origin[i] ||
            a->mcstas_spindle[i] != b->mcstas_spindle[i])
            return 0;
    return 1;
}

void nbcl_nexus_abort(nbcl_nexus *w)
{
    if (!w)
        return;
    if (w->h5)
        w->mod->discard(w->h5);
    nbcl_outfile_abort(w->out);
    free(w->written);
    free(w->path);
    free(w);
}

/* the module's file in the output's temporary file */
static nbcl_status create_h5(nbcl_nexus *w, const nbcl_frame_meta *m, const nbcl_nexus_opts *o,
                             char *err, size_t errlen)
{
    const char *tmp = nbcl__outfile_temp_path(w->out);
    if (!tmp) { /* written in place (a device or FIFO): HDF5 needs a regular, seekable file */
        nbcl__errf(err, errlen, "%s: an NXmx file must be a regular file (HDF5 seeks in it)",
                   w->path);
        return NBCL_IO;
    }
    nbcl_frame_meta meta = *m;
    meta.thickness = nbcl__sensor_thickness(m);
    nbcl_nexus_opts opts = {w->nframes, o ? o->compression : NBCL_NEXUS_DEFLATE,
                            o ? o->deflate_level : 0};
    char why[1024] = "";
    nbcl_status st = w->mod->create(tmp, w->path, &meta, &opts, &w->h5, why, sizeof why);
    if (st != NBCL_OK)
        nbcl__errf(err, errlen, "%s", why);
    return st;
}

nbcl_status nbcl_nexus_open(const char *path, const nbcl_frame_meta *m, const nbcl_nexus_opts *o,
                            nbcl_nexus **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!path || !m || !out || m->fpixels <= 0 || m->spixels <= 0 || (o && o->nframes < 0)) {
        nbcl__errf(err, errlen, "%s: invalid NeXus series", path ? path : "(null)");
        return NBCL_INVALID_ARGUMENT;
    }
    char why[1024] = "";
    const nbcl_nexus_module *mod = nbcl__nexus_module(why, sizeof why);
    if (!mod) {
        nbcl__errf(err, errlen, "%s: cannot write NXmx: %s", path, why);
        return NBCL_IO;
    }
    nbcl_nexus_compression comp = o ? o->compression : NBCL_NEXUS_DEFLATE;
    if (comp != NBCL_NEXUS_DEFLATE && !mod->filter_available(comp)) {
        nbcl__errf(err, errlen, "%s: the HDF5 %s filter (%d) is not available (install its "
                                "plugin, e.g. Debian's hdf5-filter-plugin, or use deflate)",
                   path, comp == NBCL_NEXUS_BSLZ4 ? "bitshuffle/LZ4" : "LZ4",
                   comp == NBCL_NEXUS_BSLZ4 ? 32008 : 32004);
        return NBCL_INVALID_ARGUMENT;
    }
    nbcl_nexus *w = calloc(1, sizeof *w);
    if (!w) {
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    w->mod = mod;
    w->nframes = o && o->nframes > 0 ? o->nframes : 1;
    w->meta = *m;
    w->written = calloc((size_t)w->nframes, 1);
    w->path = malloc(strlen(path) + 1);
    if (!w->written || !w->path) {
        nbcl_nexus_abort(w);
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    strcpy(w->path, path);
    nbcl_status st = nbcl_outfile_open(path, &w->out, err, errlen);
    if (st == NBCL_OK)
        st = create_h5(w, m, o, err, errlen);
    if (st != NBCL_OK) {
        nbcl_nexus_abort(w);
        return st;
    }
    *out = w;
    return NBCL_OK;
}

nbcl_status nbcl_nexus_write_frame(nbcl_nexus *w, int k, const int32_t *counts,
                                   const nbcl_frame_meta *m, char *err, size_t errlen)
{
    if (!w || !counts || !m || k < 0 || k >= w->nframes) {
        nbcl__errf(err, errlen, "%s: frame %d is not in the series of %d", w ? w->path : "(null)",
                   k + 1, w ? w->nframes : 0);
        return NBCL_INVALID_ARGUMENT;
    }
    if (!same_geometry(&w->meta, m)) {
        nbcl__errf(err, errlen, "%s: frame %d has another detector geometry than the series",
                   w->path, k + 1);
        return NBCL_INVALID_ARGUMENT;
    }
    char why[1024] = "";
    nbcl_status st = w->mod->write_frame(w->h5, k, counts, m, why, sizeof why);
    if (st != NBCL_OK) {
        nbcl__errf(err, errlen, "%s", why);
        return st;
    }
    w->written[k] = 1;
    return NBCL_OK;
}

nbcl_status nbcl_nexus_close(nbcl_nexus *w, char *err, size_t errlen)
{
    if (!w) {
        nbcl__errf(err, errlen, "nbcl_nexus_close: no file");
        return NBCL_INVALID_ARGUMENT;
    }
    for (int k = 0; k < w->nframes; k++)
        if (!w->written[k]) {
            nbcl__errf(err, errlen, "%s: frame %d of %d was never written: file not kept", w->path,
                       k + 1, w->nframes);
            nbcl_nexus_abort(w);
            return NBCL_INVALID_ARGUMENT;
        }
    char why[1024] = "";
    nbcl_status st = w->mod->finish(w->h5, why, sizeof why);
    w->h5 = NULL;
    if (st != NBCL_OK) {
        nbcl__errf(err, errlen, "%s", why);
        nbcl_nexus_abort(w);
        return st;
    }
    st = nbcl_outfile_commit(w->out, err, errlen);
    w->out = NULL;
    nbcl_nexus_abort(w); /* frees what is left; the file is committed */
    return st;
}

nbcl_status nbcl_write_nexus(const char *path, const nbcl_frame_meta *m, const int32_t *counts,
                             const nbcl_nexus_opts *o, char *err, size_t errlen)
{
    nbcl_nexus_opts one = {1, NBCL_NEXUS_DEFLATE, 0};
    if (o) {
        one = *o;
        one.nframes = 1;
    }
    nbcl_nexus *w = NULL;
    nbcl_status st = nbcl_nexus_open(path, m, &one, &w, err, errlen);
    if (st == NBCL_OK)
        st = nbcl_nexus_write_frame(w, 0, counts, m, err, errlen);
    if (st != NBCL_OK) {
        nbcl_nexus_abort(w);
        return st;
    }
    return nbcl_nexus_close(w, err, errlen);
}

nbcl_status nbcl_read_nexus(const char *path, int frame, nbcl_counts_image *out, char *err,
                            size_t errlen)
{
    if (!path || !out) {
        nbcl__errf(err, errlen, "nbcl_read_nexus: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    char why[1024] = "";
    const nbcl_nexus_module *mod = nbcl__nexus_module(why, sizeof why);
    if (!mod) {
        nbcl__errf(err, errlen, "%s: cannot read NXmx: %s", path, why);
        return NBCL_IO;
    }
    nbcl_status st = mod->read(path, frame, out, why, sizeof why);
    if (st != NBCL_OK)
        nbcl__errf(err, errlen, "%s", why);
    return st;
}
