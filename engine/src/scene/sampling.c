/* Scene stages of the sampling: spindle (phi) steps, mosaic domain count, sub-pixel oversampling,
 * the normalisation of the sum over all of them, and the output/noise constants.
 * spec-a-core "Sampling" and "Normalisation". */
#include <math.h>
#include <time.h>

#include "nbcl_internal.h"
#include "nbcl_scene_internal.h"
#include "scene/stage_util.h"

#define AVOGADRO 6.02214179e23

/* -phi, -osc, -phistep, -phisteps: the spindle positions */
nbcl_status nbcl__stage_phi_steps(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                  size_t errlen)
{
    (void)err;
    (void)errlen;
    double osc = cfg->osc, phistep = cfg->phistep;
    int phisteps = cfg->phisteps;
    if (phisteps < 0) {
        if (osc < 0.0) {
            if (phistep <= 0.0) {
                phisteps = 1;
                osc = 0.0;
                phistep = 0.0;
            } else {
                osc = phistep;
                phisteps = 2;
            }
        } else {
            if (phistep <= 0.0) {
                phisteps = 2;
                phistep = osc / 2.0;
            } else {
                phisteps = (int)ceil(osc / phistep);
            }
        }
    } else {
        if (phisteps == 0)
            phisteps = 1;
        if (osc < 0.0) {
            if (phistep <= 0.0) {
                osc = 1.0 / NBCL_RTD;
                phistep = osc / phisteps;
            } else {
                osc = phistep;
                phisteps = 2;
            }
        } else if (phistep < 0.0) {
            phistep = osc / phisteps;
        }
    }
    if (phisteps < 1)
        phisteps = 1;
    s->phi0 = cfg->phi0;
    s->osc = osc;
    s->phistep = phistep;
    s->phisteps = phisteps;
    return NBCL_OK;
}

/* -mosaic, -mosaic_domains: how many domains (their orientations come later: orientations) */
nbcl_status nbcl__stage_mosaic(const nbcl_config *cfg, nbcl_scene *s, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    double mosaic_spread = cfg->mosaic_spread;
    int mosaic_domains = cfg->mosaic_domains;
    if (mosaic_domains <= 0) {
        if (mosaic_spread < 0.0) {
            mosaic_domains = 1;
            mosaic_spread = 0.0;
        } else if (mosaic_spread == 0.0) {
            mosaic_domains = 1;
        } else {
            nbcl__scene_logf(s, "WARNING: finite mosaicity with only one domain! upping to 10 "
                                "mosaic domains\n");
            mosaic_domains = 10;
        }
    } else {
        if (mosaic_spread < 0.0) {
            nbcl__scene_logf(s, "WARNING: no mosaic spread specified.  setting mosaic_domains = 1\n");
            mosaic_spread = 0.0;
            mosaic_domains = 1;
        } else if (mosaic_spread == 0.0) {
            nbcl__scene_logf(s, "WARNING: zero mosaic spread specified.  setting mosaic_domains = 1\n");
            mosaic_domains = 1;
        }
    }
    s->mosaic_domains = mosaic_domains;
    s->mosaic_spread = mosaic_spread;
    return NBCL_OK;
}

/* -oversample (-oversample_thick/_polar/_omega): sub-pixels per side; without -oversample, the
 * count that resolves the crystal's largest dimension at this wavelength, distance and pixel */
nbcl_status nbcl__stage_oversample(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                   size_t errlen)
{
    (void)err;
    (void)errlen;
    double xmax = s->xtalsize[0];
    if (xmax < s->xtalsize[1])
        xmax = s->xtalsize[1];
    if (xmax < s->xtalsize[2])
        xmax = s->xtalsize[2];
    double recip_pixel = cfg->lambda0 * s->distance / s->pixel_size;
    /* clamped before the conversion: a tiny wavelength or a huge pixel asks for more than an
     * int can count (then the sub-step count check of normalisation refuses the run) */
    double recd = ceil(3.0 * xmax / recip_pixel);
    int rec = recd >= 1.0 ? (recd < 2147483647.0 ? (int)recd : 2147483647) : 1;
    int oversample = cfg->oversample;
    if (oversample <= 0) {
        oversample = rec;
        nbcl__scene_logf(s, "auto-selected %d-fold oversampling\n", oversample);
    }
    if (oversample < rec) {
        nbcl__scene_logf(s, "WARNING: maximum dimension of sample is %g A\n", xmax * 1e10);
        nbcl__scene_logf(s, "         but reciprocal pixel size is %g A\n", recip_pixel * 1e10);
        nbcl__scene_logf(s, "         intensity may vary significantly across a pixel!\n");
        nbcl__scene_logf(s, "         recommend -oversample %d to work around this\n", rec);
    }
    if (oversample <= 0)
        oversample = 1;
    s->recommended_oversample = rec;
    s->oversample = oversample;
    s->subpixel_size = s->pixel_size / oversample;
    s->oversample_thick = cfg->oversample_thick;
    s->oversample_polar = cfg->oversample_polar;
    s->oversample_omega = cfg->oversample_omega;
    return NBCL_OK;
}

/* the sum over sub-paths becomes photons: steps, the water background, r_e^2 fluence / steps */
nbcl_status nbcl__stage_normalisation(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                      size_t errlen)
{
    double steps_d = (double)s->sources * s->mosaic_domains * s->phisteps * s->oversample *
                     s->oversample;
    if (steps_d > 2147483647.0 && cfg->oversample <= 0)
        /* the user gave no oversample: say where the number came from */
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "too many sub-steps per pixel (%.0f): the automatic oversampling chose "
                          "%d sub-pixels per side for this crystal size, wavelength, pixel and "
                          "distance; give -oversample N",
                          steps_d, s->oversample);
    if (steps_d > 2147483647.0)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "too many sub-steps per pixel (%.0f): reduce oversample, sources, "
                          "domains or phi steps",
                          steps_d);
    s->steps = (int)steps_d;
    s->r_e_sqr = 7.94079248018965e-30;
    s->water_size = cfg->water_size;
    double F_bg = 2.57, water_MW = 18.0;
    s->I_bg = F_bg * F_bg * s->r_e_sqr * s->fluence * cfg->water_size * cfg->water_size *
              cfg->water_size * 1e6 * AVOGADRO / water_MW;
    s->scale = s->r_e_sqr * s->fluence / s->steps;
    return NBCL_OK;
}

/* -seed, -scale (intfile), -pgmscale, -adc: constants the output stage reads */
nbcl_status nbcl__stage_output_params(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                      size_t errlen)
{
    (void)err;
    (void)errlen;
    s->seed = cfg->seed_set ? -cfg->seed : -(long)time(NULL);
    s->intfile_scale = cfg->intfile_scale;
    s->pgm_scale = cfg->pgm_scale;
    s->adc_offset = cfg->adc_offset;
    return NBCL_OK;
}
