/* The tables of libnbcl's own modules (core/module.c loads them; docs/architecture.md
 * "Modules"): what io/cbf.c and io/nexus.c call in nbcl-cbf.so (CBFlib, modules/cbf.c) and
 * nbcl-nexus.so (HDF5, modules/nexus.c). Our interface, not the libraries': a module is built from
 * this tree only, and core/module.c refuses one of another version.
 *
 * A module links its library and nothing of libnbcl: what it needs comes in the arguments. Its
 * messages go to `err`, always a buffer of errlen > 0 bytes (the callers' own), and its
 * malloc'ed results are free()d by libnbcl. */
#ifndef NBCL_MODULES_H
#define NBCL_MODULES_H

#include <stddef.h>
#include <stdint.h>
#include "nbcl/nbcl.h"

/* nbcl-cbf.so: nbcl_module_cbf() */
typedef struct nbcl_cbf_module {
    nbcl_module_head head;
    /* A miniCBF of the fpixels x spixels int32 counts in memory (*bytes malloc'ed, *len bytes):
     * header convention PILATUS_1.2 (pilatus) or GENERIC_MINI, the "# " header text `header`,
     * byte-offset pixels of the host's byte order (little). `path` only names the file in
     * messages. */
    nbcl_status (*encode)(const char *path, const char *header, int pilatus, int little,
                          const int32_t *counts, int fpixels, int spixels, char **bytes,
                          size_t *len, char *err, size_t errlen);
    /* nbcl_read_cbf (arguments checked by the caller) */
    nbcl_status (*read)(const char *path, nbcl_counts_image *out, char *err, size_t errlen);
} nbcl_cbf_module;

/* nbcl-nexus.so: nbcl_module_nexus(). A file under construction is an opaque handle. */
typedef struct nbcl_nexus_h5 nbcl_nexus_h5;
typedef struct nbcl_nexus_module {
    nbcl_module_head head;
    int (*filter_available)(nbcl_nexus_compression c);
    /* Creates the NXmx file at `tmp` (the output's temporary file) with the metadata of `m` and
     * datasets for o->nframes frames; `m->thickness` is the one to write (> 0). `path` names the
     * file in messages. On failure nothing is left open (the caller removes tmp). */
    nbcl_status (*create)(const char *tmp, const char *path, const nbcl_frame_meta *m,
                          const nbcl_nexus_opts *o, nbcl_nexus_h5 **out, char *err,
                          size_t errlen);
    /* frame k (checked by the caller) with its angles from m */
    nbcl_status (*write_frame)(nbcl_nexus_h5 *h, int k, const int32_t *counts,
                               const nbcl_frame_meta *m, char *err, size_t errlen);
    /* closes the datasets and the file; always consumes h */
    nbcl_status (*finish)(nbcl_nexus_h5 *h, char *err, size_t errlen);
    void (*discard)(nbcl_nexus_h5 *h); /* closes without a word; consumes h; NULL ok */
    /* nbcl_read_nexus (arguments checked by the caller) */
    nbcl_status (*read)(const char *path, int frame, nbcl_counts_image *out, char *err,
                        size_t errlen);
} nbcl_nexus_module;

/* The tables, loaded on first use (io/cbf.c, io/nexus.c); NULL with the loader's message. */
const nbcl_cbf_module *nbcl__cbf_module(char *err, size_t errlen);
const nbcl_nexus_module *nbcl__nexus_module(char *err, size_t errlen);

#endif
