/* miniCBF (Pilatus-style) images through CBFlib: the "# " header lines a Pilatus writes, then
 * the int32 counts with byte-offset compression (CBFlib's, not ours). CBFlib writes into a
 * memory stream; the bytes then go through nbcl_outfile (temporary file + rename). */
#include <cbflib/cbf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"

/* a Pilatus module layout (487 x 195 pixel modules, 7 and 17 pixel gaps): dxtbx's Pilatus
 * reader asserts it and masks the gaps */
static int pilatus_layout(int n, int module, int gap)
{
    int k = n / module, rem = n % module;
    return k >= 1 && rem == (k - 1) * gap;
}

static int cbf_header(char *buf, size_t cap, const nbcl_frame_meta *m, int pilatus)
{
    const double lambda_A = m->wavelength * 1e10;
    return nbcl__snprintf_c(
        buf, cap,
        "\n# Detector: %s, S/N 0-0000\n"
        "# 2000-01-01T00:00:00.000\n"
        "# Pixel_size %.10ge-6 m x %.10ge-6 m\n"
        "# Silicon sensor, thickness %.10g m\n"
        "# Exposure_time %.10g s\n"
        "# Exposure_period %.10g s\n"
        "# Tau = 0 s\n"
        "# Count_cutoff %ld counts\n"
        "# Threshold_setting: %.0f eV\n"
        "# N_excluded_pixels = 0\n"
        "# Wavelength %.10g A\n"
        "# Detector_distance %.10g m\n"
        "# Beam_xy (%.10g, %.10g) pixels\n"
        "# Start_angle %.10g deg.\n"
        "# Angle_increment %.10g deg.\n"
        "# Detector_2theta 0.0000 deg.\n"
        "# Phi %.10g deg.\n",
        pilatus ? "PILATUS (simulated by nbcl)" : "nbcl simulated photon-counting detector",
        m->pixel_size * 1e6, m->pixel_size * 1e6, nbcl__sensor_thickness(m), m->exposure,
        m->exposure,
        (long)m->saturation, lambda_A > 0 ? 0.5 * 12398.42 / lambda_A : 0.0, lambda_A,
        m->beam_distance, m->beam_fast_px, m->beam_slow_px, m->phi_start, m->osc, m->phi_start);
}

#define CBF_TRY(call)                                                                          \
    do {                                                                                       \
        int cbf_rc_ = (call);                                                                  \
        if (cbf_rc_) {                                                                         \
            nbcl__errf(err, errlen, "%s: CBFlib %s failed (error 0x%x)", path, #call, cbf_rc_); \
            goto fail;                                                                         \
        }                                                                                      \
    } while (0)

nbcl_status nbcl_write_cbf(const char *path, const nbcl_frame_meta *m, const int32_t *counts,
                           char *err, size_t errlen)
{
    if (!path || !m || !counts || m->fpixels <= 0 || m->spixels <= 0) {
        nbcl__errf(err, errlen, "%s: invalid CBF image", path ? path : "(null)");
        return NBCL_INVALID_ARGUMENT;
    }
    int pilatus = pilatus_layout(m->fpixels, 487, 7) && pilatus_layout(m->spixels, 195, 17);
    char head[2048];
    int hl = cbf_header(head, sizeof head, m, pilatus);
    if (hl < 0 || (size_t)hl >= sizeof head) {
        nbcl__errf(err, errlen, "%s: CBF header formatting failed", path);
        return NBCL_INVALID_ARGUMENT;
    }
    size_t n = (size_t)m->fpixels * (size_t)m->spixels;
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
    CBF_TRY(cbf_set_value(h, head));
    CBF_TRY(cbf_new_column(h, "data"));
    CBF_TRY(cbf_set_integerarray_wdims_fs(
        h, CBF_BYTE_OFFSET, 1, (void *)counts, sizeof(int32_t), 1, n,
        nbcl__host_little_endian() ? "little_endian" : "big_endian", (size_t)m->fpixels,
        (size_t)m->spixels, 1, 0));
    fp = open_memstream(&mem, &memlen);
    if (!fp) {
        nbcl__errf(err, errlen, "%s: out of memory for the CBF image", path);
        st = NBCL_OUT_OF_MEMORY;
        goto fail;
    }
    /* not a buffer (0): CBFlib leaves the stream to us */
    CBF_TRY(cbf_write_widefile(h, fp, 0, CBF, MIME_HEADERS | MSG_DIGEST | PAD_4K, 0));
    cbf_free_handle(h);
    h = NULL;
    if (fclose(fp) != 0) {
        fp = NULL;
        nbcl__errf(err, errlen, "%s: out of memory for the CBF image", path);
        st = NBCL_OUT_OF_MEMORY;
        goto fail;
    }
    fp = NULL;
    nbcl_outfile *f = NULL;
    st = nbcl_outfile_open(path, &f, err, errlen);
    if (st == NBCL_OK) {
        st = nbcl_outfile_write(f, mem, memlen, err, errlen);
        if (st == NBCL_OK)
            st = nbcl_outfile_commit(f, err, errlen);
        else
            nbcl_outfile_abort(f);
    }
    free(mem);
    return st;
fail:
    if (h)
        cbf_free_handle(h);
    if (fp)
        fclose(fp);
    free(mem);
    return st;
}

nbcl_status nbcl_read_cbf(const char *path, nbcl_counts_image *out, char *err, size_t errlen)
{
    if (!path || !out) {
        nbcl__errf(err, errlen, "nbcl_read_cbf: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        nbcl__errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
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
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    CBF_TRY(cbf_read_widefile(h, fp, MSG_DIGEST)); /* CBFlib owns and closes fp from here */
    CBF_TRY(cbf_find_category(h, "array_data"));
    CBF_TRY(cbf_find_column(h, "data"));
    CBF_TRY(cbf_get_integerarrayparameters_wdims_fs(h, &compression, &id, &elsize, &elsigned,
                                                    &elunsigned, &nel, &minel, &maxel, &order,
                                                    &dimf, &dimm, &dims, &pad));
    if (dimf == 0 || dimm == 0 || dimf > (1u << 20) || dimm > (1u << 20) || nel != dimf * dimm) {
        nbcl__errf(err, errlen, "%s: CBF array of %zu elements is not a %zu x %zu image", path,
                   nel, dimf, dimm);
        goto fail;
    }
    out->counts = malloc(nel * sizeof(int32_t));
    if (!out->counts) {
        nbcl__errf(err, errlen, "%s: out of memory for %zu pixels", path, nel);
        st = NBCL_OUT_OF_MEMORY;
        goto fail;
    }
    CBF_TRY(cbf_get_integerarray(h, &id, out->counts, sizeof(int32_t), 1, nel, &got));
    if (got != nel) {
        nbcl__errf(err, errlen, "%s: CBF array holds %zu of %zu pixels", path, got, nel);
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
