/* NeXus/NXmx files through HDF5: one file per series, each frame written as it completes.
 *
 * Layout (docs/formats.md):
 *   /entry                    NXentry  definition = "NXmx"
 *     instrument/beam         NXbeam   incident_wavelength (A); the spectrum as an NXdata
 *                                      incident_wavelength_spectrum when there are several
 *     instrument/detector     NXdetector  sensor Si, thickness, saturation/underload values,
 *                                      pixel_mask (bit 8: -mask), count/frame time, distance,
 *                                      beam_center_x/y, depends_on -> module/module_offset
 *       module                NXdetector_module  data_origin/size, fast/slow_pixel_direction
 *                                      (vectors in the McStas frame) -> module_offset (the
 *                                      outer corner of the first pixel) -> "."
 *     sample                  NXsample depends_on -> transformations/phi (rotation about the
 *                                      spindle, one angle per frame; phi_end, phi_increment_set)
 *     data                    NXdata   data (n, slow, fast) int32, one frame per chunk
 *
 * HDF5 writes by path: the file is the nbcl_outfile's temporary file, committed (renamed) by
 * nbcl_nexus_close. HDF5's automatic error printing is switched off (the library never
 * prints); failures come back as messages from HDF5's error stack. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"

#define FILTER_BSLZ4 32008
#define FILTER_LZ4 32004

struct nbcl_nexus {
    nbcl_outfile *out;
    char *path;
    hid_t file, data, phi, phi_end;
    int nframes;
    unsigned char *written;
    nbcl_frame_meta meta; /* geometry of the series (pointers not kept) */
};

static void h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *data)
{
    char *msg = data;
    if (n == 0 && e && e->desc && !msg[0])
        snprintf(msg, 256, "%s (%s)", e->desc, e->func_name ? e->func_name : "?");
    return 0;
}

static nbcl_status h5_fail(char *err, size_t errlen, const char *path, const char *what)
{
    char msg[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, first_error, msg);
    nbcl__errf(err, errlen, "%s: HDF5: %s failed%s%s", path, what, msg[0] ? ": " : "", msg);
    H5Eclear2(H5E_DEFAULT);
    return NBCL_IO;
}

/* ---------------------------------------------------------------- small writers (0: ok) */
static int attr_str(hid_t loc, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) ? strlen(value) : 1);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, t, value) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return bad;
}

static int attr_vec(hid_t loc, const char *name, const double *v, hsize_t n)
{
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(loc, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, v) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return bad;
}

static hid_t group(hid_t parent, const char *name, const char *nx_class)
{
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0 && attr_str(g, "NX_class", nx_class)) {
        H5Gclose(g);
        return -1;
    }
    return g;
}

static int ds_str(hid_t loc, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) ? strlen(value) : 1);
    hid_t d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = d < 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, value) < 0;
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(t);
    return bad;
}

/* a 1-d (n > 0) or scalar (n == 0) dataset of doubles or ints, with optional units; the
 * dataset stays open when `keep` is given */
static int ds_num(hid_t loc, const char *name, hid_t type, const void *v, hsize_t n,
                  const char *units, hid_t *keep)
{
    hid_t sp = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = d < 0 || (v && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) ||
              (units && attr_str(d, "units", units));
    H5Sclose(sp);
    if (keep && !bad)
        *keep = d;
    else if (d >= 0)
        H5Dclose(d);
    return bad;
}

static int ds_d(hid_t loc, const char *name, double v, const char *units)
{
    return ds_num(loc, name, H5T_NATIVE_DOUBLE, &v, 0, units, NULL);
}

static int ds_i(hid_t loc, const char *name, int v, const char *units)
{
    return ds_num(loc, name, H5T_NATIVE_INT, &v, 0, units, NULL);
}

/* an NXtransformations axis: a scalar value with its vector, type, units and dependency */
static int axis(hid_t loc, const char *name, double value, const char *type, const char *units,
                const double vec[3], const char *depends_on)
{
    hid_t d = -1;
    static const double zero[3] = {0, 0, 0};
    if (ds_num(loc, name, H5T_NATIVE_DOUBLE, &value, 0, units, &d))
        return 1;
    int bad = attr_str(d, "transformation_type", type) || attr_vec(d, "vector", vec, 3) ||
              attr_vec(d, "offset", zero, 3) || attr_str(d, "offset_units", "m") ||
              attr_str(d, "depends_on", depends_on);
    H5Dclose(d);
    return bad;
}

int nbcl_nexus_filter_available(nbcl_nexus_compression c)
{
    h5_quiet();
    if (c == NBCL_NEXUS_DEFLATE)
        return H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 && H5Zfilter_avail(H5Z_FILTER_SHUFFLE) > 0;
    htri_t av = H5Zfilter_avail(c == NBCL_NEXUS_BSLZ4 ? FILTER_BSLZ4 : FILTER_LZ4);
    if (av <= 0) { /* plugins are loaded on first use: try to create a dataset with it */
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        unsigned cd[2] = {0, 2};
        av = H5Pset_filter(dcpl, c == NBCL_NEXUS_BSLZ4 ? FILTER_BSLZ4 : FILTER_LZ4,
                           H5Z_FLAG_MANDATORY, c == NBCL_NEXUS_BSLZ4 ? 2 : 1, cd) >= 0 &&
             H5Zfilter_avail(c == NBCL_NEXUS_BSLZ4 ? FILTER_BSLZ4 : FILTER_LZ4) > 0;
        H5Pclose(dcpl);
        H5Eclear2(H5E_DEFAULT);
    }
    return av > 0;
}

/* distinct wavelengths of the sources with their summed weights (the spectrum) */
static size_t spectrum(const nbcl_frame_meta *m, double *wl, double *wt)
{
    size_t n = 0;
    for (int i = 0; i < m->nsources; i++) {
        double l = m->source_lambda[i] * 1e10, w = m->source_weight ? m->source_weight[i] : 1.0;
        size_t j = 0;
        while (j < n && wl[j] != l)
            j++;
        if (j == n) {
            wl[n] = l;
            wt[n++] = 0;
        }
        wt[j] += w;
    }
    return n;
}

static int write_beam(hid_t inst, const nbcl_frame_meta *m)
{
    hid_t b = group(inst, "beam", "NXbeam");
    if (b < 0)
        return 1;
    int bad = ds_d(b, "incident_wavelength", m->wavelength * 1e10, "angstrom");
    if (!bad && m->nsources > 1 && m->source_lambda) {
        double *wl = malloc(2 * (size_t)m->nsources * sizeof *wl);
        size_t n = wl ? spectrum(m, wl, wl + m->nsources) : 0;
        if (!wl)
            bad = 1;
        else if (n > 1) {
            hid_t s = group(b, "incident_wavelength_spectrum", "NXdata");
            bad = s < 0 || attr_str(s, "signal", "weight") || attr_str(s, "axes", "wavelength") ||
                  ds_num(s, "wavelength", H5T_NATIVE_DOUBLE, wl, n, "angstrom", NULL) ||
                  ds_num(s, "weight", H5T_NATIVE_DOUBLE, wl + m->nsources, n, NULL, NULL);
            if (s >= 0)
                H5Gclose(s);
        }
        free(wl);
    }
    H5Gclose(b);
    return bad;
}

static int write_detector(hid_t inst, const nbcl_frame_meta *m)
{
    hid_t d = group(inst, "detector", "NXdetector");
    if (d < 0)
        return 1;
    int bad = ds_str(d, "description", "nbcl simulated photon-counting detector") ||
              ds_str(d, "type", "pixel") || ds_str(d, "sensor_material", "Si") ||
              ds_d(d, "sensor_thickness", nbcl__sensor_thickness(m), "m") ||
              ds_i(d, "saturation_value", m->saturation, NULL) ||
              ds_i(d, "underload_value", 0, NULL) ||
              ds_d(d, "count_time", m->exposure, "s") || ds_d(d, "frame_time", m->exposure, "s") ||
              ds_d(d, "distance", m->beam_distance, "m") ||
              ds_d(d, "beam_center_x", m->beam_fast_px, "pixel") ||
              ds_d(d, "beam_center_y", m->beam_slow_px, "pixel") ||
              ds_d(d, "x_pixel_size", m->pixel_size, "m") ||
              ds_d(d, "y_pixel_size", m->pixel_size, "m") ||
              ds_str(d, "depends_on", "/entry/instrument/detector/module/module_offset");
    if (!bad && m->mask) {
        size_t n = (size_t)m->fpixels * m->spixels;
        int32_t *pm = malloc(n * sizeof *pm);
        hsize_t dims[2] = {(hsize_t)m->spixels, (hsize_t)m->fpixels};
        hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 2, dims);
        H5Pset_deflate(dcpl, 1);
        hid_t ds = pm ? H5Dcreate2(d, "pixel_mask", H5T_STD_I32LE, sp, H5P_DEFAULT, dcpl,
                                   H5P_DEFAULT)
                      : -1;
        if (pm)
            for (size_t i = 0; i < n; i++)
                pm[i] = m->mask[i] ? 0 : (1 << 8); /* bit 8: user-defined mask */
        bad = ds < 0 || H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, pm) < 0 ||
              ds_i(d, "pixel_mask_applied", 1, NULL);
        if (ds >= 0)
            H5Dclose(ds);
        H5Pclose(dcpl);
        H5Sclose(sp);
        free(pm);
    }
    hid_t mod = bad ? -1 : group(d, "module", "NXdetector_module");
    if (mod < 0) {
        H5Gclose(d);
        return 1;
    }
    int origin[2] = {0, 0}, size[2] = {m->spixels, m->fpixels};
    double len = sqrt(m->mcstas_origin[0] * m->mcstas_origin[0] +
                      m->mcstas_origin[1] * m->mcstas_origin[1] +
                      m->mcstas_origin[2] * m->mcstas_origin[2]);
    double dir[3] = {0, 0, 1};
    if (len > 0)
        for (int i = 0; i < 3; i++)
            dir[i] = m->mcstas_origin[i] / len;
    const char *off = "/entry/instrument/detector/module/module_offset";
    bad = ds_num(mod, "data_origin", H5T_NATIVE_INT, origin, 2, NULL, NULL) ||
          ds_num(mod, "data_size", H5T_NATIVE_INT, size, 2, NULL, NULL) ||
          axis(mod, "module_offset", len, "translation", "m", dir, ".") ||
          axis(mod, "fast_pixel_direction", m->pixel_size, "translation", "m", m->mcstas_fast,
               off) ||
          axis(mod, "slow_pixel_direction", m->pixel_size, "translation", "m", m->mcstas_slow,
               off);
    H5Gclose(mod);
    H5Gclose(d);
    return bad;
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
    h5_quiet();
    if (w->data >= 0)
        H5Dclose(w->data);
    if (w->phi >= 0)
        H5Dclose(w->phi);
    if (w->phi_end >= 0)
        H5Dclose(w->phi_end);
    if (w->file >= 0)
        H5Fclose(w->file);
    H5Eclear2(H5E_DEFAULT);
    nbcl_outfile_abort(w->out);
    free(w->written);
    free(w->path);
    free(w);
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
    h5_quiet();
    nbcl_nexus_compression comp = o ? o->compression : NBCL_NEXUS_DEFLATE;
    if (comp != NBCL_NEXUS_DEFLATE && !nbcl_nexus_filter_available(comp)) {
        nbcl__errf(err, errlen, "%s: the HDF5 %s filter (%d) is not available (install its "
                                "plugin, e.g. Debian's hdf5-filter-plugin, or use deflate)",
                   path, comp == NBCL_NEXUS_BSLZ4 ? "bitshuffle/LZ4" : "LZ4",
                   comp == NBCL_NEXUS_BSLZ4 ? FILTER_BSLZ4 : FILTER_LZ4);
        return NBCL_INVALID_ARGUMENT;
    }
    nbcl_nexus *w = calloc(1, sizeof *w);
    if (!w) {
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    w->file = w->data = w->phi = w->phi_end = -1;
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
    if (st != NBCL_OK) {
        nbcl_nexus_abort(w);
        return st;
    }
    const char *tmp = nbcl__outfile_temp_path(w->out);
    if (!tmp) { /* written in place (a device or FIFO): HDF5 needs a regular, seekable file */
        nbcl__errf(err, errlen, "%s: an NXmx file must be a regular file (HDF5 seeks in it)",
                   path);
        nbcl_nexus_abort(w);
        return NBCL_IO;
    }
    w->file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) {
        st = h5_fail(err, errlen, path, "creating the file");
        nbcl_nexus_abort(w);
        return st;
    }
    const char *what = "writing the NXmx metadata";
    hid_t entry = group(w->file, "entry", "NXentry"), inst = -1, sample = -1, tr = -1, data = -1;
    int bad = entry < 0 || ds_str(entry, "definition", "NXmx") ||
              ds_str(entry, "start_time", "2000-01-01T00:00:00Z");
    if (!bad) {
        inst = group(entry, "instrument", "NXinstrument");
        bad = inst < 0 || ds_str(inst, "name", "nbcl simulation") || write_beam(inst, m) ||
              write_detector(inst, m);
    }
    if (!bad) {
        sample = group(entry, "sample", "NXsample");
        bad = sample < 0 || ds_str(sample, "name", "simulated crystal") ||
              ds_str(sample, "depends_on", "/entry/sample/transformations/phi");
        tr = bad ? -1 : group(sample, "transformations", "NXtransformations");
        hsize_t nf = (hsize_t)w->nframes;
        bad = bad || tr < 0 ||
              ds_num(tr, "phi", H5T_NATIVE_DOUBLE, NULL, nf, "deg", &w->phi) ||
              attr_str(w->phi, "transformation_type", "rotation") ||
              attr_vec(w->phi, "vector", m->mcstas_spindle, 3) ||
              attr_str(w->phi, "depends_on", ".") ||
              ds_num(tr, "phi_end", H5T_NATIVE_DOUBLE, NULL, nf, "deg", &w->phi_end) ||
              ds_d(tr, "phi_increment_set", m->osc, "deg");
    }
    if (!bad) {
        data = group(entry, "data", "NXdata");
        hsize_t dims[3] = {(hsize_t)w->nframes, (hsize_t)m->spixels, (hsize_t)m->fpixels};
        hsize_t chunk[3] = {1, dims[1], dims[2]};
        hid_t sp = H5Screate_simple(3, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
        bad = data < 0 || attr_str(data, "signal", "data") || H5Pset_chunk(dcpl, 3, chunk) < 0;
        if (!bad && comp == NBCL_NEXUS_DEFLATE) {
            int level = o && o->deflate_level > 0 ? o->deflate_level : 1;
            bad = H5Pset_shuffle(dcpl) < 0 ||
                  H5Pset_deflate(dcpl, (unsigned)(level > 9 ? 9 : level)) < 0;
        } else if (!bad) {
            unsigned cd[2] = {0, 2};
            bad = H5Pset_filter(dcpl, comp == NBCL_NEXUS_BSLZ4 ? FILTER_BSLZ4 : FILTER_LZ4,
                                H5Z_FLAG_MANDATORY, comp == NBCL_NEXUS_BSLZ4 ? 2 : 1, cd) < 0;
        }
        if (!bad) {
            w->data = H5Dcreate2(data, "data", H5T_STD_I32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
            bad = w->data < 0;
        }
        H5Pclose(dcpl);
        H5Sclose(sp);
    }
    if (data >= 0)
        H5Gclose(data);
    if (tr >= 0)
        H5Gclose(tr);
    if (sample >= 0)
        H5Gclose(sample);
    if (inst >= 0)
        H5Gclose(inst);
    if (entry >= 0)
        H5Gclose(entry);
    if (bad) {
        st = h5_fail(err, errlen, path, what);
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
    h5_quiet();
    hsize_t start[3] = {(hsize_t)k, 0, 0}, count[3] = {1, (hsize_t)m->spixels, (hsize_t)m->fpixels};
    hid_t fsp = H5Dget_space(w->data), msp = H5Screate_simple(3, count, NULL);
    int bad = fsp < 0 || H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
              H5Dwrite(w->data, H5T_NATIVE_INT32, msp, fsp, H5P_DEFAULT, counts) < 0;
    H5Sclose(msp);
    if (fsp >= 0)
        H5Sclose(fsp);
    double ang[2] = {m->phi_start, m->phi_start + m->osc};
    hid_t ds[2] = {w->phi, w->phi_end};
    for (int i = 0; i < 2 && !bad; i++) {
        hsize_t one = 1, at = (hsize_t)k;
        hid_t f1 = H5Dget_space(ds[i]), m1 = H5Screate_simple(1, &one, NULL);
        bad = f1 < 0 || H5Sselect_hyperslab(f1, H5S_SELECT_SET, &at, NULL, &one, NULL) < 0 ||
              H5Dwrite(ds[i], H5T_NATIVE_DOUBLE, m1, f1, H5P_DEFAULT, &ang[i]) < 0;
        H5Sclose(m1);
        if (f1 >= 0)
            H5Sclose(f1);
    }
    if (bad)
        return h5_fail(err, errlen, w->path, "writing a frame");
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
    h5_quiet();
    int bad = H5Dclose(w->data) < 0;
    bad |= H5Dclose(w->phi) < 0;
    bad |= H5Dclose(w->phi_end) < 0;
    w->data = w->phi = w->phi_end = -1;
    bad |= H5Fclose(w->file) < 0;
    w->file = -1;
    nbcl_status st = NBCL_OK;
    if (bad) {
        st = h5_fail(err, errlen, w->path, "completing the file");
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

/* ---------------------------------------------------------------- reading */
nbcl_status nbcl_read_nexus(const char *path, int frame, nbcl_counts_image *out, char *err,
                            size_t errlen)
{
    if (!path || !out) {
        nbcl__errf(err, errlen, "nbcl_read_nexus: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return h5_fail(err, errlen, path, "opening the file");
    nbcl_status st = NBCL_PARSE;
    char sig[64] = "data";
    hid_t g = H5Gopen2(f, "/entry/data", H5P_DEFAULT), d = -1, sp = -1, msp = -1;
    if (g < 0) {
        nbcl__errf(err, errlen, "%s: no /entry/data group (not an NXmx file from nbcl?)", path);
        H5Eclear2(H5E_DEFAULT);
        goto out;
    }
    if (H5Aexists(g, "signal") > 0) {
        hid_t a = H5Aopen(g, "signal", H5P_DEFAULT), t = H5Aget_type(a);
        size_t n = H5Tget_size(t);
        if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) && n < sizeof sig) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, n + 1);
            if (H5Aread(a, mt, sig) < 0)
                strcpy(sig, "data");
            H5Tclose(mt);
        }
        H5Tclose(t);
        H5Aclose(a);
    }
    d = H5Dopen2(g, sig, H5P_DEFAULT);
    sp = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[3] = {0, 0, 0};
    if (sp < 0 || H5Sget_simple_extent_ndims(sp) != 3) {
        nbcl__errf(err, errlen, "%s: /entry/data/%s is not a (frames, slow, fast) dataset", path,
                   sig);
        H5Eclear2(H5E_DEFAULT);
        goto out;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if (frame < 0 || (hsize_t)frame >= dims[0] || dims[1] == 0 || dims[2] == 0 ||
        dims[1] > (1u << 20) || dims[2] > (1u << 20)) {
        nbcl__errf(err, errlen,
                   "%s: no frame %d: the file holds %llu frame(s) of %llu x %llu pixels", path,
                   frame + 1, (unsigned long long)dims[0], (unsigned long long)dims[2],
                   (unsigned long long)dims[1]);
        st = NBCL_INVALID_ARGUMENT;
        goto out;
    }
    out->counts = malloc((size_t)(dims[1] * dims[2]) * sizeof(int32_t));
    if (!out->counts) {
        nbcl__errf(err, errlen, "%s: out of memory", path);
        st = NBCL_OUT_OF_MEMORY;
        goto out;
    }
    hsize_t start[3] = {(hsize_t)frame, 0, 0}, count[3] = {1, dims[1], dims[2]};
    msp = H5Screate_simple(3, count, NULL);
    if (H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(d, H5T_NATIVE_INT32, msp, sp, H5P_DEFAULT, out->counts) < 0) {
        st = h5_fail(err, errlen, path, "reading a frame");
        free(out->counts);
        out->counts = NULL;
        goto out;
    }
    out->fpixels = (int)dims[2];
    out->spixels = (int)dims[1];
    out->nframes = (int)dims[0];
    st = NBCL_OK;
out:
    if (msp >= 0)
        H5Sclose(msp);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    if (g >= 0)
        H5Gclose(g);
    H5Fclose(f);
    return st;
}
