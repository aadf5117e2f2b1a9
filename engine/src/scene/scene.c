/* The scene: everything the reference decides before its pixel loop, in the same order and in
 * double precision, as a list of named stages (nbcl__scene_stages below; each stage lives in
 * detector.c, beam.c, sampling.c, crystal.c or orientations.c and is documented there).
 * Deliberate differences from the reference are listed in docs/parity.md. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_host_physics.h"
#include "nbcl_internal.h"
#include "nbcl_scene_internal.h"
#include "render/pack.h"

void nbcl__scene_logf(nbcl_scene *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = strlen(line);
    if (s->log_len + len + 1 > s->log_cap) {
        size_t cap = s->log_cap ? s->log_cap * 2 : 4096;
        while (cap < s->log_len + len + 1)
            cap *= 2;
        char *p = realloc(s->log, cap);
        if (!p)
            return;
        s->log = p;
        s->log_cap = cap;
    }
    memcpy(s->log + s->log_len, line, len + 1);
    s->log_len += len;
}

nbcl_scene *nbcl__scene_new(void)
{
    return calloc(1, sizeof(nbcl_scene));
}

void nbcl_scene_destroy(nbcl_scene *s)
{
    if (!s)
        return;
    if (!s->shared_inputs) {
        free(s->mask);
        free(s->hkl.F);
    }
    free(s->orient);
    free(s->source_dir);
    free(s->source_lambda);
    free(s->source_I);
    free(s->log);
    free(s);
}

/* The reference's order of decisions (its quirks depend on it: docs/parity.md). Where a flag's
 * value goes: docs/architecture.md "From argv to the kernel". */
const nbcl_scene_stage nbcl__scene_stages[] = {
    {"inputs", nbcl__stage_inputs},                 /* detector.c: raw values checked */
    {"detector_size", nbcl__stage_detector_size},   /* detector.c: pixels, pixel size */
    {"beam_intensity", nbcl__stage_beam_intensity}, /* beam.c: flux, fluence, sample clip */
    {"beam_centre", nbcl__stage_beam_centre},       /* detector.c: convention, axes, centre */
    {"phi_steps", nbcl__stage_phi_steps},           /* sampling.c: spindle positions */
    {"divergence", nbcl__stage_divergence},         /* beam.c: divergence, dispersion steps */
    {"detector_thickness", nbcl__stage_detector_thickness}, /* detector.c: sensor layers */
    {"mosaic", nbcl__stage_mosaic},                 /* sampling.c: domain count */
    {"detector_geometry", nbcl__stage_detector_geometry}, /* detector.c: placed detector */
    {"interpolation", nbcl__stage_interpolation},   /* crystal.c: tricubic or nearest */
    {"crystal", nbcl__stage_crystal},               /* crystal.c: cell or matrix, misset */
    {"crystal_size", nbcl__stage_crystal_size},     /* crystal.c: cells per edge */
    {"oversample", nbcl__stage_oversample},         /* sampling.c: sub-pixels */
    {"structure_factors", nbcl__stage_structure_factors}, /* crystal.c: HKL or Fdump */
    {"sources", nbcl__stage_sources},               /* beam.c: source list */
    {"orientations", nbcl__stage_orientations},     /* orientations.c: (phi x domain) table */
    {"normalisation", nbcl__stage_normalisation},   /* sampling.c: steps, scale, background */
    {"roi_mask", nbcl__stage_roi_mask},             /* detector.c: -roi, -mask */
    {"output_params", nbcl__stage_output_params},   /* sampling.c: seed, scales, adc */
};
const int nbcl__scene_stage_count = (int)(sizeof nbcl__scene_stages / sizeof nbcl__scene_stages[0]);

/* share: NULL, or a scene built from the same inputs whose structure factors and mask are
 * borrowed instead of read again (nbcl_scene_build_shared) */
static nbcl_status scene_build(const nbcl_config *cfg, const nbcl_scene *share, nbcl_scene **out,
                               char *err, size_t errlen)
{
    *out = NULL;
    nbcl_scene *s = nbcl__scene_new();
    if (!s)
        return NBCL_OUT_OF_MEMORY;
    static atomic_ullong next_id; /* identities only: never reused within the process */
    if (share) {
        s->shared_inputs = 1;
        s->inputs_id = share->inputs_id;
        s->hkl = share->hkl; /* borrowed: the same files, read once by the base scene */
        s->mask = share->mask;
    } else {
        s->inputs_id = atomic_fetch_add(&next_id, 1) + 1;
    }
    for (int i = 0; i < nbcl__scene_stage_count; i++) {
        nbcl_status st = nbcl__scene_stages[i].run(cfg, s, err, errlen);
        if (st != NBCL_OK) {
            nbcl_scene_destroy(s);
            return st;
        }
    }
    *out = s;
    return NBCL_OK;
}

nbcl_status nbcl_scene_build(const nbcl_config *cfg, nbcl_scene **out, char *err, size_t errlen)
{
    return scene_build(cfg, NULL, out, err, errlen);
}

nbcl_status nbcl_scene_build_shared(const nbcl_config *cfg, const nbcl_scene *base,
                                    nbcl_scene **out, char *err, size_t errlen)
{
    if (!base) {
        *out = NULL;
        nbcl__errf(err, errlen, "nbcl_scene_build_shared: no base scene");
        return NBCL_INVALID_ARGUMENT;
    }
    return scene_build(cfg, base, out, err, errlen);
}

double nbcl_scene_pixel_host(const nbcl_scene *s, int fpixel, int spixel)
{
    if (fpixel < s->roi[0] || fpixel > s->roi[1] || spixel < s->roi[2] || spixel > s->roi[3])
        return 0.0;
    if (s->mask && s->mask[(size_t)spixel * s->fpixels + fpixel] == 0)
        return 0.0;
    nbcl_kernel_inputs k;
    if (nbcl__pack_kernel_inputs(s, &k) != NBCL_OK)
        return NAN;
    int fallback = 0;
    double osum = 0.0;
    double v = nbcl_pixel_value(fpixel, spixel, k.P, k.IP, k.src, k.orient, k.F, &fallback, &osum);
    nbcl__kernel_inputs_free(&k);
    return (double)(float)v;
}
