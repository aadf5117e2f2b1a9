/* nbcl-cbf.so: miniCBF through CBFlib (the table of nbcl_modules.h; io/cbf.c formats the header,
 * checks the arguments and writes the bytes through nbcl_outfile). CBFlib writes into a memory
 * stream and reads a file by its FILE *. Links CBFlib, nothing of libnbcl. */
#include <cbflib/cbf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_modules.h"

#define CBF_TRY(call)                                                                          \
    do {                                                                                       \
        int cbf_rc_ = (call);                                                                  \
        if (cbf_rc_) {                                                                         \
            snprintf(err, errlen, "%s: CBFlib %s failed (error 0x%x)", path, #call, cbf_rc_);  \
            goto fail;                                                                         \
        }                                                                                      \
    } while (0)

static nbcl_status encode(const char *path, const char *header, int pilatus, int little,
                          const int32_t *counts, int fpixels, int spixels, char **bytes,
                          size_t *len, char *err, size_t errlen)
{
    size_t n = (size_t)fpixels * (size_t)spixels;
    char *mem = NULL;
    size_t memlen = 0;
    FILE *fp = NULL;
    cbf_handle h = NULL;
    nbcl_status st = NBCL_IO;
    CBF_TRY(cbf_make_handle(&h));
    CBF_TRY(cbf_new_datablock(h, "image_1"));
    CBF_TRY(cbf_new_category(h, "array_data"));
    CBF_TRY(cbf_new_column(h, "header_convention"));
    CBF_TRY(cbf_set_value(h, pilatus ? "PILATUS_1.2" : "GENERIC_MINI"));
    CBF_TRY(cbf_new_column(h, "header_contents"));
    CBF_TRY(cbf_set_value(h, header));
    CBF_TRY(cbf_new_column(h, "data"));
    CBF_TRY(cbf_set_integerarray_wdims_fs(h, CBF_BYTE_OFFSET, 1, (void *)counts,
                                          sizeof(int32_t), 1, n,
                                          little ? "little_endian" : "big_endian",
                                          (size_t)fpixels, (size_t)spixels, 1, 0));
    fp = open_memstream(&mem, &memlen);
    if (!fp) {
        snprintf(err, errlen, "%s: out of memory for the CBF image", path);
        st = NBCL_OUT_OF_MEMORY;
        goto fail;
    }
    /* not a buffer (0): CBFlib leaves the stream to us */
    CBF_TRY(cbf_write_widefile(h, fp, 0, CBF, MIME_HEADERS | MSG_DIGEST | PAD_4K, 0));
    cbf_free_handle(h);
    h = NULL;
    if (fclose(fp) != 0) {
        fp = NULL;
        snprintf(err, errlen, "%s: out of memory for the CBF image", path);
        st = NBCL_OUT_OF_MEMORY;
        goto fail;
    }
    *bytes = mem;
    *len = memlen;
    return NBCL_OK;
fail:
    if (h)
        cbf_free_handle(h);
    if (fp)
        fclose(fp);
    free(mem);
    return st;
}

static nbcl_status read_cbf(const char *path, nbcl_counts_image *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NBCL_IO;
    }
    cbf_handle h = NULL;
    nbcl_status st = NBCL_PARSE;
    unsigned int compression;
    int id, elsigned, elunsigned, minel, maxel;
    size_t elsize, nel, dimf, dimm, dims, pad, got;
    const char *order;
    if (cbf_make_handle(&h)) {
        fclose(fp);
        snprintf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    CBF_TRY(cbf_read_widefile(h, fp, MSG_DIGEST)); /* CBFlib owns and closes fp from here */
    CBF_TRY(cbf_find_category(h, "array_data"));
    CBF_TRY(cbf_find_column(h, "data"));
    CBF_TRY(cbf_get_integerarrayparameters_wdims_fs(h, &compression, &id, &elsize, &elsigned,
                                                    &elunsigned, &nel, &minel, &maxel, &order,
                                                    &dimf, &dimm, &dims, &pad));
    if (dimf == 0 || dimm == 0 || dimf > (1u << 20) || dimm > (1u << 20) || nel != dimf * dimm) {
        snprintf(err, errlen, "%s: CBF array of %zu elements is not a %zu x %zu image", path, nel,
                 dimf, dimm);
        goto fail;
    }
    out->counts = malloc(nel * sizeof(int32_t));
    if (!out->counts) {
        snprintf(err, errlen, "%s: out of memory for %zu pixels", path, nel);
        st = NBCL_OUT_OF_MEMORY;
        goto fail;
    }
    CBF_TRY(cbf_get_integerarray(h, &id, out->counts, sizeof(int32_t), 1, nel, &got));
    if (got != nel) {
        snprintf(err, errlen, "%s: CBF array holds %zu of %zu pixels", path, got, nel);
        goto fail;
    }
    cbf_free_handle(h);
    out->fpixels = (int)dimf;
    out->spixels = (int)dimm;
    out->nframes = 1;
    return NBCL_OK;
fail:
    free(out->counts);
    out->counts = NULL;
    cbf_free_handle(h);
    return st;
}

__attribute__((visibility("default"))) const void *nbcl_module_cbf(void);
const void *nbcl_module_cbf(void)
{
    static const nbcl_cbf_module table = {
        {NBCL_MODULE_ABI, NBCL_VERSION_TEXT}, encode, read_cbf};
    return &table;
}
