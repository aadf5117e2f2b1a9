/* The experiment description of a frame for the pipeline formats (CBF, NXmx), and the photon
 * counts they hold. The geometry is nanoBragg's own vectors: where the direct beam meets the
 * detector plane, and the detector's axes and first-pixel corner turned into the NeXus (McStas)
 * frame, whose z is the beam and whose -x is the beam's polarization E-vector (horizontal at a
 * synchrotron; in every nanoBragg convention it is also the spindle). docs/formats.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"
#include "nbcl_modules.h"

#define RTD (180.0 / 3.14159265358979323846)

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross3(const double a[3], const double b[3], double c[3])
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

/* v minus its component along unit e, normalised; 0 when (nearly) parallel */
static int perp_unit(const double v[3], const double e[3], double out[3])
{
    double d = dot3(v, e);
    for (int i = 0; i < 3; i++)
        out[i] = v[i] - d * e[i];
    double n = sqrt(dot3(out, out));
    if (!(n > 1e-9 * sqrt(dot3(v, v))) || !(n > 0))
        return 0;
    for (int i = 0; i < 3; i++)
        out[i] /= n;
    return 1;
}

nbcl_status nbcl_frame_meta_from_scene(const nbcl_scene *s, nbcl_frame_meta *m)
{
    if (!s || !m)
        return NBCL_INVALID_ARGUMENT;
    memset(m, 0, sizeof *m);
    m->fpixels = s->fpixels;
    m->spixels = s->spixels;
    m->pixel_size = s->pixel_size;
    m->wavelength = s->lambda0;
    m->nsources = s->sources;
    m->source_lambda = s->source_lambda;
    m->source_weight = s->source_I;
    for (int i = 0; i < 3; i++) {
        m->lab_beam[i] = s->beam[i];
        m->lab_fdet[i] = s->fdet[i];
        m->lab_sdet[i] = s->sdet[i];
        m->lab_pix0[i] = s->pix0[i];
        m->lab_spindle[i] = s->spindle[i];
    }
    /* the direct beam on the detector plane (else the near point, foot of the normal) */
    double perp = dot3(s->pix0, s->odet), along = dot3(s->beam, s->odet), hit[3];
    m->close_distance = fabs(perp);
    m->beam_hits = along != 0 && perp / along > 0;
    double t = m->beam_hits ? perp / along : perp;
    for (int i = 0; i < 3; i++)
        hit[i] = t * (m->beam_hits ? s->beam[i] : s->odet[i]) - s->pix0[i];
    m->beam_distance = fabs(t);
    m->beam_fast_px = dot3(hit, s->fdet) / s->pixel_size;
    m->beam_slow_px = dot3(hit, s->sdet) / s->pixel_size;

    /* lab -> McStas: e3 = beam -> +z, e1 = horizontal (E-vector) -> -x, e2 = e3 x e1 -> -y */
    double e1[3], e2[3], e3[3];
    double bn = sqrt(dot3(s->beam, s->beam));
    for (int i = 0; i < 3; i++)
        e3[i] = s->beam[i] / bn;
    static const double ax[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    if (!perp_unit(s->polar_vector, e3, e1) && !perp_unit(s->spindle, e3, e1) &&
        !perp_unit(s->fdet, e3, e1) && !perp_unit(ax[0], e3, e1) && !perp_unit(ax[1], e3, e1))
        return NBCL_INVALID_ARGUMENT;
    cross3(e3, e1, e2);
    const double *lab[4] = {s->fdet, s->sdet, s->pix0, s->spindle};
    double *mc[4] = {m->mcstas_fast, m->mcstas_slow, m->mcstas_origin, m->mcstas_spindle};
    for (int k = 0; k < 4; k++) {
        mc[k][0] = -dot3(e1, lab[k]);
        mc[k][1] = -dot3(e2, lab[k]);
        mc[k][2] = dot3(e3, lab[k]);
    }
    m->thickness_given = s->thick > 0;
    m->thickness = m->thickness_given ? s->thick : NBCL_DEFAULT_SENSOR_THICKNESS_M;
    m->exposure = s->exposure;
    m->phi_start = s->phi0 * RTD;
    m->osc = s->osc * RTD;
    m->saturation = NBCL_COUNTS_SATURATION;
    m->mask = s->mask;
    return NBCL_OK;
}

/* counts in blocks of pixels on all host CPUs; partial sums combined in block order, so the
 * result does not depend on the number of threads */
#define COUNTS_BLOCK 65536
typedef struct counts_job {
    const nbcl_frame_meta *m;
    const float *image, *poisson;
    int32_t *counts;
    size_t n;
    nbcl_counts_info *part;
} counts_job;

static void counts_block(void *ctx, size_t b)
{
    counts_job *j = ctx;
    const nbcl_frame_meta *m = j->m;
    size_t i0 = b * COUNTS_BLOCK, i1 = i0 + COUNTS_BLOCK < j->n ? i0 + COUNTS_BLOCK : j->n;
    size_t over = 0, masked = 0;
    const double sat = (double)m->saturation;
    double total = 0;
    for (size_t i = i0; i < i1; i++) {
        if (m->mask && !m->mask[i]) {
            j->counts[i] = NBCL_COUNTS_MASKED;
            masked++;
            continue;
        }
        /* deviates are truncated like the noise image's; floats round half up. Both are
         * floor() of a positive value here, which is its truncation */
        double v = j->poisson ? (double)j->poisson[i] : (double)j->image[i] + 0.5;
        if (!(v >= 1)) { /* below one count, negative or NaN */
            j->counts[i] = 0;
            continue;
        }
        if (v >= sat) {
            total += floor(v);
            j->counts[i] = m->saturation;
            over++;
            continue;
        }
        int32_t c = (int32_t)v;
        total += c;
        j->counts[i] = c;
    }
    j->part[b].overloads = over;
    j->part[b].masked = masked;
    j->part[b].total = total;
}

nbcl_status nbcl_frame_counts(const nbcl_frame_meta *m, const float *image, const float *poisson,
                              int32_t *counts, nbcl_counts_info *info)
{
    if (!m || !counts || (!image && !poisson) || m->fpixels <= 0 || m->spixels <= 0 ||
        m->saturation <= 0)
        return NBCL_INVALID_ARGUMENT;
    counts_job j = {m, image, poisson, counts, (size_t)m->fpixels * (size_t)m->spixels, NULL};
    size_t nb = (j.n + COUNTS_BLOCK - 1) / COUNTS_BLOCK;
    j.part = calloc(nb, sizeof *j.part);
    if (!j.part)
        return NBCL_OUT_OF_MEMORY;
    nbcl__parallel_chunks(nb, j.n, counts_block, &j);
    nbcl_counts_info sum = {0, 0, 0};
    for (size_t b = 0; b < nb; b++) {
        sum.overloads += j.part[b].overloads;
        sum.masked += j.part[b].masked;
        sum.total += j.part[b].total;
    }
    free(j.part);
    if (info)
        *info = sum;
    return NBCL_OK;
}

nbcl_image_format nbcl_detect_format(const char *path)
{
    static const unsigned char hdf5_sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char head[16] = {0};
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return NBCL_FORMAT_UNKNOWN;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (got >= 15 && memcmp(head, "{\nHEADER_BYTES=", 15) == 0)
        return NBCL_FORMAT_SMV;
    if (got >= 15 && memcmp(head, "###CBF: VERSION", 15) == 0)
        return NBCL_FORMAT_CBF;
    if (got >= 8 && memcmp(head, hdf5_sig, 8) == 0)
        return NBCL_FORMAT_HDF5;
    return NBCL_FORMAT_UNKNOWN;
}

double nbcl__sensor_thickness(const nbcl_frame_meta *m)
{
    return m->thickness > 0 ? m->thickness : NBCL_DEFAULT_SENSOR_THICKNESS_M;
}

/* the module of a format, loaded now (nbcl_modules.h) */
nbcl_status nbcl_format_load(nbcl_image_format f, char *err, size_t errlen)
{
    char why[1024] = "";
    if (f == NBCL_FORMAT_CBF && !nbcl__cbf_module(why, sizeof why)) {
        nbcl__errf(err, errlen, "miniCBF (CBFlib) is not available: %s", why);
        return NBCL_IO;
    }
    if (f == NBCL_FORMAT_HDF5 && !nbcl__nexus_module(why, sizeof why)) {
        nbcl__errf(err, errlen, "NXmx (HDF5) is not available: %s", why);
        return NBCL_IO;
    }
    return NBCL_OK;
}
