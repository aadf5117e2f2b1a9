/* miniCBF (Pilatus-style) images: the "# " header lines a Pilatus writes, then the int32 counts
 * with byte-offset compression (CBFlib's, not ours). CBFlib itself is in the module nbcl-cbf.so
 * (modules/cbf.c), loaded on first use: it makes the file's bytes in memory, which then go
 * through nbcl_outfile here (temporary file + rename). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"
#include "nbcl_modules.h"

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

const nbcl_cbf_module *nbcl__cbf_module(char *err, size_t errlen)
{
    return nbcl_module_load("cbf", 0, err, errlen);
}

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
    char why[1024] = "";
    const nbcl_cbf_module *cbf = nbcl__cbf_module(why, sizeof why);
    if (!cbf) {
        nbcl__errf(err, errlen, "%s: cannot write CBF: %s", path, why);
        return NBCL_IO;
    }
    char *mem = NULL;
    size_t memlen = 0;
    nbcl_status st = cbf->encode(path, head, pilatus, nbcl__host_little_endian(), counts,
                                 m->fpixels, m->spixels, &mem, &memlen, why, sizeof why);
    if (st != NBCL_OK) {
        nbcl__errf(err, errlen, "%s", why);
        return st;
    }
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
}

nbcl_status nbcl_read_cbf(const char *path, nbcl_counts_image *out, char *err, size_t errlen)
{
    if (!path || !out) {
        nbcl__errf(err, errlen, "nbcl_read_cbf: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    char why[1024] = "";
    const nbcl_cbf_module *cbf = nbcl__cbf_module(why, sizeof why);
    if (!cbf) {
        nbcl__errf(err, errlen, "%s: cannot read CBF: %s", path, why);
        return NBCL_IO;
    }
    nbcl_status st = cbf->read(path, out, why, sizeof why);
    if (st != NBCL_OK)
        nbcl__errf(err, errlen, "%s", why);
    return st;
}
