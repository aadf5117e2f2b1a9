/* Scene stages of the beam: intensity (flux, fluence, exposure, beam size clipping the sample),
 * divergence and dispersion sampling, and the list of sources. spec-a-core "Sources". */
#include <math.h>
#include <stdlib.h>

#include "nbcl_host_physics.h"
#include "nbcl_internal.h"
#include "nbcl_scene_internal.h"
#include "scene/stage_util.h"

/* -flux, -exposure, -beamsize, -fluence, -sample*: the fluence, and the sample clipped by the
 * beam; also the beam's own constants (-lambda, -polar, -nopolar, -dmin) */
nbcl_status nbcl__stage_beam_intensity(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                       size_t errlen)
{
    double fluence = cfg->fluence, flux = cfg->flux, exposure = cfg->exposure;
    double beamsize = cfg->beamsize;
    s->sample[0] = cfg->sample_x;
    s->sample[1] = cfg->sample_y;
    s->sample[2] = cfg->sample_z;
    if (flux != 0.0 && exposure > 0.0 && beamsize >= 0.0)
        fluence = flux * exposure / beamsize / beamsize;
    if (beamsize >= 0.0) {
        if (beamsize < s->sample[1]) {
            nbcl__scene_logf(s, "WARNING: clipping sample (%lg m high) with beam (%lg m)\n",
                             s->sample[1], beamsize);
            s->sample[1] = beamsize;
        }
        if (beamsize < s->sample[2]) {
            nbcl__scene_logf(s, "WARNING: clipping sample (%lg m wide) with beam (%lg m)\n",
                             s->sample[2], beamsize);
            s->sample[2] = beamsize;
        }
    }
    if (exposure > 0.0)
        flux = fluence / exposure * beamsize * beamsize;
    if (!isfinite(fluence) || fluence < 0.0)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen, "fluence must be finite and >= 0");
    s->fluence = fluence;
    s->flux = flux;
    s->exposure = exposure;
    s->beamsize = beamsize;
    s->lambda0 = cfg->lambda0;
    s->polarization = cfg->polarization;
    s->nopolar = cfg->nopolar;
    s->dmin = cfg->dmin;
    return NBCL_OK;
}

/* the reference's auto-selection of (range, step, count) for divergence and dispersion */
static void auto_range_steps(double *range, double *step, int *steps)
{
    if (*steps <= 0) {
        if (*range < 0.0) {
            if (*step <= 0.0) {
                *steps = 1;
                *range = 0.0;
                *step = 0.0;
            } else {
                *range = *step;
                *steps = 2;
            }
        } else {
            if (*step <= 0.0) {
                *step = *range;
                *steps = 2;
            } else {
                *steps = (int)ceil(*range / *step);
            }
        }
    } else {
        if (*range < 0.0) {
            if (*step <= 0.0) {
                *range = 1.0;
                *step = *range / *steps;
            } else {
                *range = *step;
                *steps = 2;
            }
        } else if (*step <= 0.0) {
            if (*steps <= 1)
                *steps = 2;
            *step = *range / (*steps - 1);
        }
    }
}

/* a sampling left without a positive range, step and count is one point at zero */
static void single_point_unless_spread(double *range, double *step, int *steps)
{
    if (*range <= 0.0 || *step <= 0.0 || *steps <= 0) {
        *steps = 1;
        *range = 0.0;
        *step = 0.0;
    }
}

/* -hdivrange/-hdivstep/-hdivsteps, -vdiv*, -dispersion/-dispstep/-dispsteps (-divergence sets
 * both h and v) */
nbcl_status nbcl__stage_divergence(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                   size_t errlen)
{
    (void)err;
    (void)errlen;
    s->hdivrange = cfg->hdivrange;
    s->hdivstep = cfg->hdivstep;
    s->hdivsteps = cfg->hdivsteps;
    s->vdivrange = cfg->vdivrange;
    s->vdivstep = cfg->vdivstep;
    s->vdivsteps = cfg->vdivsteps;
    s->dispersion = cfg->dispersion;
    s->dispstep = cfg->dispstep;
    s->dispsteps = cfg->dispsteps;
    auto_range_steps(&s->hdivrange, &s->hdivstep, &s->hdivsteps);
    auto_range_steps(&s->vdivrange, &s->vdivstep, &s->vdivsteps);
    auto_range_steps(&s->dispersion, &s->dispstep, &s->dispsteps);
    single_point_unless_spread(&s->hdivrange, &s->hdivstep, &s->hdivsteps);
    single_point_unless_spread(&s->vdivrange, &s->vdivstep, &s->vdivsteps);
    single_point_unless_spread(&s->dispersion, &s->dispstep, &s->dispsteps);
    return NBCL_OK;
}

static nbcl_status sources_alloc(nbcl_scene *s, int n)
{
    s->source_dir = malloc(sizeof(double) * 3 * (size_t)n);
    s->source_lambda = malloc(sizeof(double) * (size_t)n);
    s->source_I = malloc(sizeof(double) * (size_t)n);
    return s->source_dir && s->source_lambda && s->source_I ? NBCL_OK : NBCL_OUT_OF_MEMORY;
}

/* -source FILE: one source per line; a missing position lies on the beam at -source_distance */
static nbcl_status sources_from_file(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                     size_t errlen)
{
    nbcl_source_list sl;
    char e2[1024];
    nbcl_status st = nbcl_read_sources(cfg->sourcefile, &sl, e2, sizeof e2);
    if (st != NBCL_OK)
        return stage_fail(st, err, errlen, "%s", e2);
    s->sources = (int)sl.n;
    if (sources_alloc(s, s->sources) != NBCL_OK) {
        nbcl_sources_free(&sl);
        return stage_fail(NBCL_OUT_OF_MEMORY, err, errlen, "out of memory for sources");
    }
    for (int i = 0; i < s->sources; i++) {
        double p[3] = {sl.x[i], sl.y[i], sl.z[i]};
        for (int j = 0; j < 3; j++)
            if (isnan(p[j]))
                p[j] = -cfg->source_distance * s->beam[j];
        if (nbcl_unitize3(p, s->source_dir + 3 * i) == 0.0) {
            nbcl_sources_free(&sl);
            return stage_fail(NBCL_PARSE, err, errlen, "%s: source %d is at the sample position",
                              cfg->sourcefile, i + 1);
        }
        /* spec: the wavelength column is ignored; every source uses -lambda (the reference
         * uses the column; docs/parity.md). Weights are ignored by both. */
        s->source_lambda[i] = cfg->lambda0;
        s->source_I[i] = isnan(sl.w[i]) ? 1.0 : sl.w[i];
    }
    nbcl_sources_free(&sl);
    s->divsteps = 0;
    return NBCL_OK;
}

/* the divergence grid point (ht, vt): its angles, and whether -round_div keeps it */
static int div_point(const nbcl_config *cfg, const nbcl_scene *s, int ht, int vt, double *hdiv,
                     double *vdiv)
{
    *hdiv = s->hdivstep * ht - s->hdivrange / 2.0;
    *vdiv = s->vdivstep * vt - s->vdivrange / 2.0;
    double test = (*hdiv * *hdiv - s->hdivstep * s->hdivstep / 4.0 * (1 - s->hdivsteps % 2)) /
                  s->hdivrange / s->hdivrange;
    test += (*vdiv * *vdiv - s->vdivstep * s->vdivstep / 4.0 * (1 - s->vdivsteps % 2)) /
            s->vdivrange / s->vdivrange;
    return !(cfg->round_div && test * 4.0 > 1.1);
}

/* no -source file: a grid of divergence angles (round when -round_div), each at every
 * wavelength of the dispersion, weights 1/sources */
static nbcl_status sources_from_divergence(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                           size_t errlen)
{
    double hdiv, vdiv;
    int divsteps = 0;
    for (int ht = 0; ht < s->hdivsteps; ht++)
        for (int vt = 0; vt < s->vdivsteps; vt++)
            divsteps += div_point(cfg, s, ht, vt, &hdiv, &vdiv);
    s->divsteps = divsteps;
    s->sources = divsteps * s->dispsteps;
    if (s->sources <= 0)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen, "no beam sources were generated");
    if (sources_alloc(s, s->sources) != NBCL_OK)
        return stage_fail(NBCL_OUT_OF_MEMORY, err, errlen, "out of memory for sources");
    double weight = 1.0 / s->sources;
    int n = 0;
    for (int ht = 0; ht < s->hdivsteps; ht++)
        for (int vt = 0; vt < s->vdivsteps; vt++) {
            if (!div_point(cfg, s, ht, vt, &hdiv, &vdiv))
                continue;
            double p[3], q[3];
            for (int j = 0; j < 3; j++)
                p[j] = -cfg->source_distance * s->beam[j];
            nbcl_rotate_axis(p, s->polar_vector, vdiv, q);
            nbcl_rotate_axis(q, s->vert, hdiv, p);
            for (int dt = 0; dt < s->dispsteps; dt++) {
                double lambda = cfg->lambda0 * (1.0 + s->dispstep * dt - s->dispersion / 2.0);
                nbcl_unitize3(p, s->source_dir + 3 * n);
                s->source_lambda[n] = lambda;
                s->source_I[n] = weight;
                n++;
            }
        }
    return NBCL_OK;
}

/* -source FILE, or the divergence x dispersion grid */
nbcl_status nbcl__stage_sources(const nbcl_config *cfg, nbcl_scene *s, char *err, size_t errlen)
{
    nbcl_status st = cfg->sourcefile ? sources_from_file(cfg, s, err, errlen)
                                     : sources_from_divergence(cfg, s, err, errlen);
    if (st != NBCL_OK)
        return st;
    for (int i = 0; i < s->sources; i++)
        if (!(s->source_lambda[i] > 0.0))
            return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                              "source %d has a non-positive wavelength (dispersion too large?)",
                              i + 1);
    return NBCL_OK;
}
