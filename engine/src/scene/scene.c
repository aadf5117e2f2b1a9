/* Scene set-up: everything the reference decides before its pixel loop, in the same order and
 * double precision (spec-a-core: geometry, crystal, sampling, sources, mosaic, normalisation).
 * Deliberate differences from the reference are listed in docs/parity.md. */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nbcl_host_physics.h"
#include "nbcl_internal.h"
#include "nbcl_rng.h"

#define RTD (180.0 / M_PI)
#define AVOGADRO 6.02214179e23

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

void nbcl_scene_destroy(nbcl_scene *s)
{
    if (!s)
        return;
    if (!s->shared_inputs) {
        free(s->mask);
        free(s->hkl.F);
    }
    free(s->mosaic_umats);
    free(s->orient);
    free(s->source_dir);
    free(s->source_lambda);
    free(s->source_I);
    free(s->ksrc);
    free(s->log);
    free(s);
}

static void copy3(double *dst, const double *src)
{
    dst[0] = src[0];
    dst[1] = src[1];
    dst[2] = src[2];
}

static int finite3(const double *v)
{
    return isfinite(v[0]) && isfinite(v[1]) && isfinite(v[2]);
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

static nbcl_status fail(nbcl_scene *s, nbcl_status st, char *err, size_t errlen, const char *fmt,
                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    nbcl_scene_destroy(s);
    return st;
}

/* share: NULL, or a scene built from the same inputs whose structure factors and mask are
 * borrowed instead of read again (nbcl_scene_build_shared) */
static nbcl_status scene_build(const nbcl_config *cfg, const nbcl_scene *share, nbcl_scene **out,
                               char *err, size_t errlen)
{
    *out = NULL;
    nbcl_scene *s = calloc(1, sizeof *s);
    if (!s)
        return NBCL_OUT_OF_MEMORY;
    s->shared_inputs = share != NULL;
    {
        static atomic_ullong next_id; /* identities only: never reused within the process */
        s->inputs_id = share ? share->inputs_id : atomic_fetch_add(&next_id, 1) + 1;
    }
    nbcl_status st;

    /* ------------------------------------------------------------ validation of raw inputs */
    if (!(cfg->lambda0 > 0.0) || !isfinite(cfg->lambda0))
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "wavelength must be a positive finite number (got %g A)", cfg->lambda0 * 1e10);
    if (!(cfg->pixel_size > 0.0) || !isfinite(cfg->pixel_size))
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "pixel size must be positive (got %g mm)", cfg->pixel_size * 1e3);
    if (!isfinite(cfg->distance) || cfg->distance <= 0.0)
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "detector distance must be positive (got %g mm)", cfg->distance * 1e3);
    if (!isnan(cfg->close_distance) && !(cfg->close_distance > 0.0))
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "close distance must be positive (got %g mm)", cfg->close_distance * 1e3);
    if (cfg->fpixels < 0 || cfg->spixels < 0)
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen, "detector pixel counts must be positive");
    if (!(cfg->detsize_f > 0.0) || !(cfg->detsize_s > 0.0))
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen, "detector size must be positive");
    if (!finite3(cfg->beam_vector) || !finite3(cfg->fdet) || !finite3(cfg->sdet) ||
        !finite3(cfg->polar_vector) || !finite3(cfg->spindle) || !finite3(cfg->twotheta_axis))
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen, "vectors must be finite");
    {
        const double *vv[] = {cfg->beam_vector, cfg->fdet, cfg->sdet, cfg->polar_vector,
                              cfg->spindle, cfg->twotheta_axis};
        const char *nm[] = {"beam_vector", "fdet_vector", "sdet_vector", "polar_vector",
                            "spindle_axis", "twotheta_axis"};
        for (int i = 0; i < 6; i++)
            if (vv[i][0] == 0.0 && vv[i][1] == 0.0 && vv[i][2] == 0.0)
                return fail(s, NBCL_INVALID_ARGUMENT, err, errlen, "-%s has zero length", nm[i]);
    }

    /* ------------------------------------------------------------ detector size */
    double pixel = cfg->pixel_size;
    double detsize_f = cfg->detsize_f, detsize_s = cfg->detsize_s;
    if (cfg->fpixels)
        detsize_f = pixel * cfg->fpixels;
    if (cfg->spixels)
        detsize_s = pixel * cfg->spixels;
    double fpx = ceil(detsize_f / pixel - 0.5), spx = ceil(detsize_s / pixel - 0.5);
    if (fpx < 1 || spx < 1)
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen, "detector has no pixels (%gx%g)", fpx,
                    spx);
    if (fpx * spx > 2147483647.0 || fpx > 1e6 || spx > 1e6)
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "detector too large: %.0fx%.0f pixels (at most 2^31-1 pixels in all)", fpx, spx);
    s->fpixels = (int)fpx;
    s->spixels = (int)spx;
    s->pixel_size = pixel;
    s->detsize_f = detsize_f;
    s->detsize_s = detsize_s;

    /* ------------------------------------------------------------ beam intensity */
    double fluence = cfg->fluence, flux = cfg->flux, exposure = cfg->exposure;
    double beamsize = cfg->beamsize;
    double sample_x = cfg->sample_x, sample_y = cfg->sample_y, sample_z = cfg->sample_z;
    if (flux != 0.0 && exposure > 0.0 && beamsize >= 0.0)
        fluence = flux * exposure / beamsize / beamsize;
    if (beamsize >= 0.0) {
        if (beamsize < sample_y) {
            nbcl__scene_logf(s, "WARNING: clipping sample (%lg m high) with beam (%lg m)\n",
                             sample_y, beamsize);
            sample_y = beamsize;
        }
        if (beamsize < sample_z) {
            nbcl__scene_logf(s, "WARNING: clipping sample (%lg m wide) with beam (%lg m)\n",
                             sample_z, beamsize);
            sample_z = beamsize;
        }
    }
    if (exposure > 0.0)
        flux = fluence / exposure * beamsize * beamsize;
    if (!isfinite(fluence) || fluence < 0.0)
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen, "fluence must be finite and >= 0");
    s->fluence = fluence;
    s->flux = flux;
    s->exposure = exposure;
    s->beamsize = beamsize;

    /* ------------------------------------------------------------ beam centre and convention */
    double Fclose = NAN, Sclose = NAN, Xclose = cfg->Xclose, Yclose = cfg->Yclose;
    double Xbeam = cfg->Xbeam, Ybeam = cfg->Ybeam, Fbeam = NAN, Sbeam = NAN;
    double beam[3], fdet[3], sdet[3], odet[3], polar_vector[3], spindle[3], tt_axis[3];
    copy3(beam, cfg->beam_vector);
    copy3(fdet, cfg->fdet);
    copy3(sdet, cfg->sdet);
    copy3(odet, cfg->odet);
    copy3(polar_vector, cfg->polar_vector);
    copy3(spindle, cfg->spindle);
    copy3(tt_axis, cfg->twotheta_axis);
    nbcl_pivot pivot = cfg->pivot;

    if (!isnan(cfg->ORGX))
        Fclose = (cfg->ORGX - 0.5) * pixel;
    if (!isnan(cfg->ORGY))
        Sclose = (cfg->ORGY - 0.5) * pixel;
    /* -Xclose/-Yclose place the near point like -ORGX/-ORGY do (the reference only copies them
     * into the beam centre of XDS/DIALS/CUSTOM; docs/parity.md P-16) */
    if (!isnan(cfg->Xclose))
        Fclose = cfg->Xclose;
    if (!isnan(cfg->Yclose))
        Sclose = cfg->Yclose;
    if (isnan(Fclose))
        Fclose = detsize_f / 2.0;
    if (isnan(Sclose))
        Sclose = detsize_s / 2.0;
    if (isnan(Xclose))
        Xclose = Fclose;
    if (isnan(Yclose))
        Yclose = Sclose;
    Fbeam = Fclose;
    Sbeam = Sclose;

#define SET3(v, x, y, z) (v[0] = (x), v[1] = (y), v[2] = (z))
    switch (cfg->convention) {
    case NBCL_CONV_ADXV:
        if (isnan(Xbeam))
            Xbeam = (detsize_f + pixel) / 2.0;
        if (isnan(Ybeam))
            Ybeam = (detsize_s - pixel) / 2.0;
        SET3(beam, 0, 0, 1);
        SET3(fdet, 1, 0, 0);
        SET3(sdet, 0, -1, 0);
        SET3(odet, 0, 0, 1);
        SET3(tt_axis, -1, 0, 0);
        SET3(polar_vector, 1, 0, 0);
        SET3(spindle, 1, 0, 0);
        Fbeam = Xbeam;
        Sbeam = detsize_s - Ybeam;
        pivot = NBCL_PIVOT_BEAM;
        break;
    case NBCL_CONV_MOSFLM:
    case NBCL_CONV_DENZO: {
        double half = (cfg->convention == NBCL_CONV_MOSFLM) ? 0.5 : 0.0;
        if (isnan(Xbeam))
            Xbeam = (detsize_s + pixel) / 2.0;
        if (isnan(Ybeam))
            Ybeam = (detsize_f + pixel) / 2.0;
        SET3(beam, 1, 0, 0);
        SET3(odet, 1, 0, 0);
        SET3(fdet, 0, 0, 1);
        SET3(sdet, 0, -1, 0);
        SET3(tt_axis, 0, 0, -1);
        SET3(polar_vector, 0, 0, 1);
        SET3(spindle, 0, 0, 1);
        Fbeam = Ybeam + half * pixel;
        Sbeam = Xbeam + half * pixel;
        pivot = NBCL_PIVOT_BEAM;
        break;
    }
    case NBCL_CONV_XDS:
    case NBCL_CONV_DIALS:
        if (isnan(Xbeam))
            Xbeam = Xclose;
        if (isnan(Ybeam))
            Ybeam = Yclose;
        SET3(beam, 0, 0, 1);
        SET3(fdet, 1, 0, 0);
        SET3(sdet, 0, 1, 0);
        SET3(odet, 0, 0, 1);
        if (cfg->convention == NBCL_CONV_XDS) {
            SET3(tt_axis, 1, 0, 0);
            SET3(polar_vector, 1, 0, 0);
            SET3(spindle, 1, 0, 0);
        } else {
            SET3(tt_axis, 0, 1, 0);
            SET3(polar_vector, 0, 1, 0);
            SET3(spindle, 0, 1, 0);
        }
        Fbeam = Xbeam;
        Sbeam = Ybeam;
        pivot = NBCL_PIVOT_SAMPLE;
        break;
    case NBCL_CONV_CUSTOM:
    default:
        if (isnan(Xbeam))
            Xbeam = Xclose;
        if (isnan(Ybeam))
            Ybeam = Yclose;
        Fbeam = Xbeam;
        Sbeam = Ybeam;
        Fclose = Xbeam;
        Sclose = Ybeam;
        break;
    }
#undef SET3
    /* an explicit -pivot wins over the convention's default (the reference lets the convention
     * override it; see docs/parity.md) */
    if (cfg->pivot_given)
        pivot = cfg->pivot;

    nbcl_unitize3(beam, beam);
    nbcl_unitize3(fdet, fdet);
    nbcl_unitize3(sdet, sdet);
    if (nbcl_unitize3(odet, odet) != 1.0) {
        if (!(odet[0] == 0 && odet[1] == 0 && odet[2] == 0) || cfg->convention == NBCL_CONV_CUSTOM) {
            /* the reference regenerates odet whenever its length is not exactly 1 */
            nbcl__scene_logf(s, "WARNING: auto-generating odet_vector\n");
        }
        nbcl_cross3(fdet, sdet, odet);
        nbcl_unitize3(odet, odet);
    }
    nbcl_unitize3(polar_vector, polar_vector);
    nbcl_unitize3(spindle, spindle);
    nbcl_unitize3(tt_axis, tt_axis);
    double vert[3];
    nbcl_cross3(beam, polar_vector, vert);
    nbcl_unitize3(vert, vert);

    /* ------------------------------------------------------------ sampling decisions */
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
                osc = 1.0 / RTD;
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

    double hdivrange = cfg->hdivrange, hdivstep = cfg->hdivstep;
    double vdivrange = cfg->vdivrange, vdivstep = cfg->vdivstep;
    double dispersion = cfg->dispersion, dispstep = cfg->dispstep;
    int hdivsteps = cfg->hdivsteps, vdivsteps = cfg->vdivsteps, dispsteps = cfg->dispsteps;
    auto_range_steps(&hdivrange, &hdivstep, &hdivsteps);
    auto_range_steps(&vdivrange, &vdivstep, &vdivsteps);
    auto_range_steps(&dispersion, &dispstep, &dispsteps);

    double thick = cfg->detector_thick, thickstep = cfg->detector_thickstep, mu = cfg->detector_mu;
    int thicksteps = cfg->detector_thicksteps;
    if (thicksteps <= 0) {
        if (thick < 0.0) {
            if (thickstep <= 0.0) {
                thicksteps = 1;
                thick = 0.0;
                thickstep = 0.0;
            } else {
                thick = thickstep;
                thicksteps = 2;
            }
        } else {
            if (thickstep <= 0.0) {
                thicksteps = 2;
                thickstep = thick / thicksteps;
            } else {
                thicksteps = (int)ceil(thick / thickstep);
            }
        }
    } else {
        if (thick < 0.0) {
            if (thickstep <= 0.0) {
                thick = 0.5e-6;
                thickstep = thick / thicksteps;
            } else {
                thick = thickstep;
                thicksteps = 2;
            }
        } else if (thickstep <= 0.0) {
            if (thicksteps <= 1)
                thicksteps = 2;
            thickstep = thick / (thicksteps - 1);
        }
    }
    if (thick > 0.0 && mu < 0.0) {
        mu = 1.0 / thick;
        nbcl__scene_logf(s, "WARNING: setting detector attenuation depth to %g m\n", mu);
    }

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

    if (hdivrange <= 0.0 || hdivstep <= 0.0 || hdivsteps <= 0) {
        hdivsteps = 1;
        hdivrange = 0.0;
        hdivstep = 0.0;
    }
    if (vdivrange <= 0.0 || vdivstep <= 0.0 || vdivsteps <= 0) {
        vdivsteps = 1;
        vdivrange = 0.0;
        vdivstep = 0.0;
    }
    if (dispersion <= 0.0 || dispstep <= 0.0 || dispsteps <= 0) {
        dispsteps = 1;
        dispersion = 0.0;
        dispstep = 0.0;
    }
    if (thick <= 0.0 || thickstep <= 0.0 || thicksteps <= 0) {
        thicksteps = 1;
        thick = 0.0;
        thickstep = 0.0;
    }

    static const char *conv_names[] = {"custom", "adxv", "mosflm", "xds", "dials", "denzo"};
    nbcl__scene_logf(s, "%s convention selected.\n", conv_names[cfg->convention]);

    /* ------------------------------------------------------------ detector geometry */
    double distance = cfg->distance, close_distance = cfg->close_distance;
    double rotx = cfg->detector_rotx, roty = cfg->detector_roty, rotz = cfg->detector_rotz;
    double twotheta = cfg->twotheta;
    double v[3], pix0[3] = {0, 0, 0};
    nbcl_rotate_xyz(odet, rotx, roty, rotz, v);
    double ratio = nbcl_dot3(beam, v);
    if (ratio == 0.0)
        ratio = DBL_MIN;
    if (isnan(close_distance))
        close_distance = fabs(ratio * distance);
    distance = close_distance / ratio;

    if (pivot == NBCL_PIVOT_SAMPLE) {
        nbcl__scene_logf(s, "pivoting detector around sample\n");
        for (int i = 0; i < 3; i++)
            pix0[i] = -Fclose * fdet[i] - Sclose * sdet[i] + close_distance * odet[i];
        nbcl_rotate_xyz(pix0, rotx, roty, rotz, pix0);
        nbcl_rotate_axis(pix0, tt_axis, twotheta, pix0);
    }
    nbcl_rotate_xyz(fdet, rotx, roty, rotz, fdet);
    nbcl_rotate_xyz(sdet, rotx, roty, rotz, sdet);
    nbcl_rotate_xyz(odet, rotx, roty, rotz, odet);
    nbcl_rotate_axis(fdet, tt_axis, twotheta, fdet);
    nbcl_rotate_axis(sdet, tt_axis, twotheta, sdet);
    nbcl_rotate_axis(odet, tt_axis, twotheta, odet);
    if (pivot == NBCL_PIVOT_BEAM) {
        nbcl__scene_logf(s, "pivoting detector around direct beam spot\n");
        for (int i = 0; i < 3; i++)
            pix0[i] = -Fbeam * fdet[i] - Sbeam * sdet[i] + distance * beam[i];
    }
    if (cfg->pix0_given) {
        /* -pix0_vector places the first pixel directly (the reference parses and ignores it) */
        copy3(pix0, cfg->pix0);
    }
    Fclose = -nbcl_dot3(pix0, fdet);
    Sclose = -nbcl_dot3(pix0, sdet);
    close_distance = nbcl_dot3(pix0, odet);
    {
        double nv[3];
        for (int i = 0; i < 3; i++)
            nv[i] = close_distance / ratio * beam[i] - pix0[i];
        Fbeam = nbcl_dot3(fdet, nv);
        Sbeam = nbcl_dot3(sdet, nv);
    }
    distance = close_distance / ratio;
    if (!(close_distance > 0.0) && !cfg->pix0_given)
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "detector geometry puts the detector behind the sample (close distance %g m)",
                    close_distance);
    s->ORGX = Fclose / pixel + 0.5;
    s->ORGY = Sclose / pixel + 0.5;
    s->dials_origin[0] = 1000.0 * pix0[2];
    s->dials_origin[1] = 1000.0 * pix0[1];
    s->dials_origin[2] = -1000.0 * pix0[0];
    nbcl__scene_logf(s, "XDS incident beam: %g %g %g\n", nbcl_dot3(beam, fdet),
                     nbcl_dot3(beam, sdet), nbcl_dot3(beam, odet));

    double Na = cfg->Na, Nb = cfg->Nb, Nc = cfg->Nc;
    int interpolate = cfg->interpolate;
    if (interpolate > 1) {
        if (Na <= 2 || Nb <= 2 || Nc <= 2) {
            nbcl__scene_logf(s, "auto-selected tricubic interpolation of structure factors\n");
            interpolate = 1;
        } else {
            nbcl__scene_logf(s, "auto-selected no interpolation\n");
            interpolate = 0;
        }
    }

    /* ------------------------------------------------------------ crystal */
    double a[3] = {0, 0, 0}, b[3] = {0, 0, 0}, c[3] = {0, 0, 0};
    double a_star[3] = {0, 0, 0}, b_star[3] = {0, 0, 0}, c_star[3] = {0, 0, 0};
    double la = 0, lb = 0, lc = 0, V_cell = 0, V_star;
    if (!cfg->user_cell && !cfg->matfile)
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "no crystal: give -cell a b c alpha beta gamma or -mat/-matrix FILE");
    if (cfg->user_cell) {
        la = cfg->cell[0];
        lb = cfg->cell[1];
        lc = cfg->cell[2];
        double alpha = cfg->cell[3], beta = cfg->cell[4], gamma = cfg->cell[5];
        if (!(la > 0.0) || !isfinite(la))
            return fail(s, NBCL_INVALID_ARGUMENT, err, errlen, "cell length a must be positive");
        if (lb <= 0.0)
            lb = la;
        if (lc <= 0.0)
            lc = la;
        if (alpha <= 0.0)
            alpha = M_PI / 2;
        if (beta <= 0.0)
            beta = M_PI / 2;
        if (gamma <= 0.0)
            gamma = M_PI / 2;
        if (!isfinite(lb) || !isfinite(lc) || !isfinite(alpha) || !isfinite(beta) ||
            !isfinite(gamma) || alpha >= M_PI || beta >= M_PI || gamma >= M_PI)
            return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                        "cell angles must lie strictly between 0 and 180 degrees");
        double aavg = (alpha + beta + gamma) / 2;
        double skew = sin(aavg) * sin(aavg - alpha) * sin(aavg - beta) * sin(aavg - gamma);
        /* the angles make a cell only if each is less than the sum of the other two and the
         * three sum to less than 360 degrees */
        if (alpha >= beta + gamma || beta >= alpha + gamma || gamma >= alpha + beta ||
            alpha + beta + gamma >= 2 * M_PI || skew <= 0.0)
            return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                        "cell angles %g %g %g make no cell (zero or negative volume)",
                        alpha * RTD, beta * RTD, gamma * RTD);
        V_cell = 2.0 * la * lb * lc * sqrt(skew);
        V_star = 1.0 / V_cell;
        double as0 = lb * lc * sin(alpha) * V_star;
        double bs0 = lc * la * sin(beta) * V_star;
        double cs0 = la * lb * sin(gamma) * V_star;
        double sin_gs = lc * V_star / as0 / bs0;
        double cos_as = (cos(beta) * cos(gamma) - cos(alpha)) / (sin(beta) * sin(gamma));
        double cos_bs = (cos(gamma) * cos(alpha) - cos(beta)) / (sin(gamma) * sin(alpha));
        double cos_gs = (cos(alpha) * cos(beta) - cos(gamma)) / (sin(alpha) * sin(beta));
        if (sin_gs > 1.0)
            sin_gs = 1.0;
        if (sin_gs < -1.0)
            sin_gs = -1.0;
        if (cos_as * cos_as > 1.0)
            cos_as = 1.0;
        if (cos_bs * cos_bs > 1.0)
            cos_bs = 1.0;
        if (cos_gs * cos_gs > 1.0)
            cos_gs = 1.0;
        a_star[0] = as0;
        b_star[0] = bs0 * cos_gs;
        c_star[0] = cs0 * cos_bs;
        a_star[1] = 0.0;
        b_star[1] = bs0 * sin_gs;
        c_star[1] = cs0 * (cos_as - cos_bs * cos_gs) / sin_gs;
        a_star[2] = 0.0;
        b_star[2] = 0.0;
        c_star[2] = cs0 * V_cell / (la * lb * lc * sin_gs);
    }
    if (cfg->matfile) {
        char e2[1024];
        st = nbcl_read_matrix(cfg->matfile, a_star, b_star, c_star, e2, sizeof e2);
        if (st != NBCL_OK)
            return fail(s, st, err, errlen, "%s", e2);
        nbcl__scene_logf(s, "reading %s\n", cfg->matfile);
        double scl = 1e-10 / cfg->lambda0;
        for (int i = 0; i < 3; i++) {
            a_star[i] *= scl;
            b_star[i] *= scl;
            c_star[i] *= scl;
        }
    }

    double misset[3] = {cfg->misset[0], cfg->misset[1], cfg->misset[2]};
    int misset_mode = cfg->misset_mode;
    if (misset_mode == -1) {
        nbcl_rng r;
        long mseed = cfg->misset_seed_set ? -cfg->misset_seed : -(long)time(NULL);
        nbcl_rng_init(&r, mseed);
        double umat[9];
        /* a uniformly random orientation: the spherical cap covers the whole sphere at a cap of
         * pi/2 (the reference passes 90, which it then treats as radians; docs/parity.md) */
        nbcl_mosaic_rotation_umat(&r, (float)(M_PI / 2.0), umat);
        nbcl_umat2misset(umat, misset);
        nbcl__scene_logf(s, "random orientation misset angles: %f %f %f deg\n", misset[0] * RTD,
                         misset[1] * RTD, misset[2] * RTD);
        misset_mode = 1;
    }
    if (misset_mode > 0) {
        nbcl_rotate_xyz(a_star, misset[0], misset[1], misset[2], a_star);
        nbcl_rotate_xyz(b_star, misset[0], misset[1], misset[2], b_star);
        nbcl_rotate_xyz(c_star, misset[0], misset[1], misset[2], c_star);
    }
    s->misset_deg[0] = misset[0] * RTD;
    s->misset_deg[1] = misset[1] * RTD;
    s->misset_deg[2] = misset[2] * RTD;

    double axb[3], bxc[3], cxa[3];
    nbcl_cross3(a_star, b_star, axb);
    nbcl_cross3(b_star, c_star, bxc);
    nbcl_cross3(c_star, a_star, cxa);
    V_star = nbcl_dot3(a_star, bxc);
    if (cfg->user_cell) {
        double m;
        m = nbcl_norm3(bxc);
        if (m <= 0)
            m = 1;
        for (int i = 0; i < 3; i++)
            bxc[i] *= (la / V_cell) / m;
        m = nbcl_norm3(cxa);
        if (m <= 0)
            m = 1;
        for (int i = 0; i < 3; i++)
            cxa[i] *= (lb / V_cell) / m;
        m = nbcl_norm3(axb);
        if (m <= 0)
            m = 1;
        for (int i = 0; i < 3; i++)
            axb[i] *= (lc / V_cell) / m;
        V_star = 1.0 / V_cell;
    }
    if (!isfinite(V_star) || (cfg->user_cell && !(isfinite(V_cell) && V_cell > 0.0)))
        /* entries so large (or small) that a cross product leaves double precision */
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    cfg->user_cell ? "the -cell volume is not representable in double precision "
                                     "(cell lengths too large or too small)"
                                   : "the reciprocal cell's volume overflows double precision "
                                     "(entries of the -mat file too large)");
    if (!(fabs(V_star) > 0.0))
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    cfg->user_cell ? "the -cell has zero volume"
                                   : "the reciprocal cell has zero volume (degenerate -mat file: "
                                     "its three vectors are coplanar, or their entries too "
                                     "small)");
    V_cell = 1.0 / V_star;
    for (int i = 0; i < 3; i++) {
        a[i] = bxc[i] * V_cell;
        b[i] = cxa[i] * V_cell;
        c[i] = axb[i] * V_cell;
    }
    nbcl_cross3(a, b, axb);
    nbcl_cross3(b, c, bxc);
    nbcl_cross3(c, a, cxa);
    for (int i = 0; i < 3; i++) {
        a_star[i] = bxc[i] * V_star;
        b_star[i] = cxa[i] * V_star;
        c_star[i] = axb[i] * V_star;
    }
    {
        double A = nbcl_norm3(a), B = nbcl_norm3(b), C = nbcl_norm3(c);
        double As = nbcl_norm3(a_star), Bs = nbcl_norm3(b_star), Cs = nbcl_norm3(c_star);
        double ca = nbcl_dot3(b, c) / B / C, cb = nbcl_dot3(a, c) / A / C, cg = nbcl_dot3(a, b) / A / B;
        double sa = As * V_cell / B / C, sb = Bs * V_cell / A / C, sg = Cs * V_cell / A / B;
        double cas = nbcl_dot3(b_star, c_star) / Bs / Cs, cbs = nbcl_dot3(a_star, c_star) / As / Cs;
        double cgs = nbcl_dot3(a_star, b_star) / As / Bs;
        double sas = A * V_star / Bs / Cs, sbs = B * V_star / As / Cs, sgs = C * V_star / As / Bs;
#define CLAMP1(x) ((x) > 1.0 ? 1.0 : ((x) < -1.0 ? -1.0 : (x)))
#define CLAMPC(x) ((x) * (x) > 1.0 ? 1.0 : (x))
        s->cell[0] = A;
        s->cell[1] = B;
        s->cell[2] = C;
        s->cell[3] = atan2(CLAMP1(sa), CLAMPC(ca)) * RTD;
        s->cell[4] = atan2(CLAMP1(sb), CLAMPC(cb)) * RTD;
        s->cell[5] = atan2(CLAMP1(sg), CLAMPC(cg)) * RTD;
        s->rcell[0] = As;
        s->rcell[1] = Bs;
        s->rcell[2] = Cs;
        s->rcell[3] = atan2(CLAMP1(sas), CLAMPC(cas)) * RTD;
        s->rcell[4] = atan2(CLAMP1(sbs), CLAMPC(cbs)) * RTD;
        s->rcell[5] = atan2(CLAMP1(sgs), CLAMPC(cgs)) * RTD;
#undef CLAMP1
#undef CLAMPC
    }
    s->V_cell = V_cell;
    copy3(s->a_star, a_star);
    copy3(s->b_star, b_star);
    copy3(s->c_star, c_star);
    for (int i = 0; i < 3; i++) {
        a[i] *= 1e-10;
        b[i] *= 1e-10;
        c[i] *= 1e-10;
    }
    copy3(s->a, a);
    copy3(s->b, b);
    copy3(s->c, c);

    double A = nbcl_norm3(a), B = nbcl_norm3(b), C = nbcl_norm3(c);
    if (sample_x > 0)
        Na = ceil(sample_x / A);
    if (sample_y > 0)
        Nb = ceil(sample_y / B);
    if (sample_z > 0)
        Nc = ceil(sample_z / C);
    if (Na <= 1.0)
        Na = 1.0;
    if (Nb <= 1.0)
        Nb = 1.0;
    if (Nc <= 1.0)
        Nc = 1.0;
    s->Na = Na;
    s->Nb = Nb;
    s->Nc = Nc;
    s->xtalsize[0] = A * Na;
    s->xtalsize[1] = B * Nb;
    s->xtalsize[2] = C * Nc;
    double xmax = s->xtalsize[0];
    if (xmax < s->xtalsize[1])
        xmax = s->xtalsize[1];
    if (xmax < s->xtalsize[2])
        xmax = s->xtalsize[2];
    double recip_pixel = cfg->lambda0 * distance / pixel;
    /* clamped before the conversion: a tiny wavelength or a huge pixel asks for more than an
     * int can count (then the sub-step count check below refuses the run) */
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
    s->recommended_oversample = rec;

    /* ------------------------------------------------------------ structure factors */
    s->default_F = cfg->default_F;
    if (share) {
        s->hkl = share->hkl; /* borrowed: the same files, read once by the base scene */
    } else if (cfg->hklfile) {
        char e2[1024];
        st = nbcl_read_hkl(cfg->hklfile, cfg->default_F, &s->hkl, e2, sizeof e2);
        if (st != NBCL_OK)
            return fail(s, st, err, errlen, "%s", e2);
        nbcl__scene_logf(s, "read %zu structure factors from %s\n", s->hkl.count, cfg->hklfile);
        /* the Fdump.bin cache is written by the caller once the run has succeeded */
    } else if (cfg->read_dump && cfg->dumpfile && access(cfg->dumpfile, F_OK) == 0) {
        char e2[1024];
        st = nbcl_read_fdump(cfg->dumpfile, &s->hkl, e2, sizeof e2);
        if (st != NBCL_OK)
            return fail(s, st, err, errlen, "%s", e2);
        nbcl__scene_logf(s, "reading Fs from %s\n", cfg->dumpfile);
    } else if (cfg->default_F == 0.0) {
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "no structure factors: give -hkl FILE, an existing %s, or -default_F",
                    cfg->dumpfile ? cfg->dumpfile : "Fdump.bin");
    }
    if (s->hkl.count == 0)
        interpolate = 0;
    s->interpolate = interpolate;

    /* ------------------------------------------------------------ sources */
    int sources = 0;
    if (cfg->sourcefile) {
        nbcl_source_list sl;
        char e2[1024];
        st = nbcl_read_sources(cfg->sourcefile, &sl, e2, sizeof e2);
        if (st != NBCL_OK)
            return fail(s, st, err, errlen, "%s", e2);
        sources = (int)sl.n;
        s->source_dir = malloc(sizeof(double) * 3 * (size_t)sources);
        s->source_lambda = malloc(sizeof(double) * (size_t)sources);
        s->source_I = malloc(sizeof(double) * (size_t)sources);
        if (!s->source_dir || !s->source_lambda || !s->source_I) {
            nbcl_sources_free(&sl);
            return fail(s, NBCL_OUT_OF_MEMORY, err, errlen, "out of memory for sources");
        }
        for (int i = 0; i < sources; i++) {
            double p[3] = {sl.x[i], sl.y[i], sl.z[i]};
            for (int j = 0; j < 3; j++)
                if (isnan(p[j]))
                    p[j] = -cfg->source_distance * beam[j];
            if (nbcl_unitize3(p, s->source_dir + 3 * i) == 0.0) {
                nbcl_sources_free(&sl);
                return fail(s, NBCL_PARSE, err, errlen, "%s: source %d is at the sample position",
                            cfg->sourcefile, i + 1);
            }
            /* spec: the wavelength column is ignored; every source uses -lambda (the reference
             * uses the column; docs/parity.md). Weights are ignored by both. */
            s->source_lambda[i] = cfg->lambda0;
            s->source_I[i] = isnan(sl.w[i]) ? 1.0 : sl.w[i];
        }
        nbcl_sources_free(&sl);
        s->divsteps = 0;
    } else {
        int divsteps = 0;
        for (int ht = 0; ht < hdivsteps; ht++)
            for (int vt = 0; vt < vdivsteps; vt++) {
                double hdiv = hdivstep * ht - hdivrange / 2.0;
                double vdiv = vdivstep * vt - vdivrange / 2.0;
                double test = (hdiv * hdiv - hdivstep * hdivstep / 4.0 * (1 - hdivsteps % 2)) /
                              hdivrange / hdivrange;
                test += (vdiv * vdiv - vdivstep * vdivstep / 4.0 * (1 - vdivsteps % 2)) /
                        vdivrange / vdivrange;
                if (cfg->round_div && test * 4.0 > 1.1)
                    continue;
                ++divsteps;
            }
        s->divsteps = divsteps;
        sources = divsteps * dispsteps;
        if (sources <= 0)
            return fail(s, NBCL_INVALID_ARGUMENT, err, errlen, "no beam sources were generated");
        s->source_dir = malloc(sizeof(double) * 3 * (size_t)sources);
        s->source_lambda = malloc(sizeof(double) * (size_t)sources);
        s->source_I = malloc(sizeof(double) * (size_t)sources);
        if (!s->source_dir || !s->source_lambda || !s->source_I)
            return fail(s, NBCL_OUT_OF_MEMORY, err, errlen, "out of memory for sources");
        double weight = 1.0 / sources;
        int n = 0;
        for (int ht = 0; ht < hdivsteps; ht++)
            for (int vt = 0; vt < vdivsteps; vt++) {
                double hdiv = hdivstep * ht - hdivrange / 2.0;
                double vdiv = vdivstep * vt - vdivrange / 2.0;
                double test = (hdiv * hdiv - hdivstep * hdivstep / 4.0 * (1 - hdivsteps % 2)) /
                              hdivrange / hdivrange;
                test += (vdiv * vdiv - vdivstep * vdivstep / 4.0 * (1 - vdivsteps % 2)) /
                        vdivrange / vdivrange;
                if (cfg->round_div && test * 4.0 > 1.1)
                    continue;
                double p[3], q[3];
                for (int j = 0; j < 3; j++)
                    p[j] = -cfg->source_distance * beam[j];
                nbcl_rotate_axis(p, polar_vector, vdiv, q);
                nbcl_rotate_axis(q, vert, hdiv, p);
                for (int dt = 0; dt < dispsteps; dt++) {
                    double lambda = cfg->lambda0 * (1.0 + dispstep * dt - dispersion / 2.0);
                    nbcl_unitize3(p, s->source_dir + 3 * n);
                    s->source_lambda[n] = lambda;
                    s->source_I[n] = weight;
                    n++;
                }
            }
    }
    for (int i = 0; i < sources; i++)
        if (!(s->source_lambda[i] > 0.0))
            return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                        "source %d has a non-positive wavelength (dispersion too large?)", i + 1);
    s->sources = sources;

    /* ------------------------------------------------------------ mosaic domains, orientations */
    s->mosaic_umats = calloc((size_t)mosaic_domains * 9, sizeof(double));
    size_t norient = (size_t)phisteps * (size_t)mosaic_domains;
    s->orient = calloc(norient * 9, sizeof(double));
    if (!s->mosaic_umats || !s->orient)
        return fail(s, NBCL_OUT_OF_MEMORY, err, errlen, "out of memory for orientations");
    {
        nbcl_rng r;
        nbcl_rng_init(&r, -cfg->mosaic_seed);
        for (int m = 0; m < mosaic_domains; m++) {
            double *u = s->mosaic_umats + 9 * m;
            nbcl_mosaic_rotation_umat(&r, (float)mosaic_spread, u);
            if (m == 0) {
                memset(u, 0, 9 * sizeof(double));
                u[0] = u[4] = u[8] = 1.0;
            }
        }
    }
    for (int p = 0; p < phisteps; p++) {
        double phi = cfg->phi0 + phistep * p;
        double ap[3], bp[3], cp[3];
        /* rotation by phi about the spindle; phi == 0 is the identity (docs/parity.md) */
        nbcl_rotate_axis(a, spindle, phi, ap);
        nbcl_rotate_axis(b, spindle, phi, bp);
        nbcl_rotate_axis(c, spindle, phi, cp);
        if (phi == 0.0) {
            copy3(ap, a);
            copy3(bp, b);
            copy3(cp, c);
        }
        for (int m = 0; m < mosaic_domains; m++) {
            double *o = s->orient + ((size_t)p * mosaic_domains + m) * 9;
            if (mosaic_spread > 0.0) {
                nbcl_mat3_apply(s->mosaic_umats + 9 * m, ap, o);
                nbcl_mat3_apply(s->mosaic_umats + 9 * m, bp, o + 3);
                nbcl_mat3_apply(s->mosaic_umats + 9 * m, cp, o + 6);
            } else {
                copy3(o, ap);
                copy3(o + 3, bp);
                copy3(o + 6, cp);
            }
        }
    }

    /* ------------------------------------------------------------ normalisation */
    if (oversample <= 0)
        oversample = 1;
    double steps_d = (double)sources * mosaic_domains * phisteps * oversample * oversample;
    if (steps_d > 2147483647.0 && cfg->oversample <= 0)
        /* the user gave no oversample: say where the number came from */
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "too many sub-steps per pixel (%.0f): the automatic oversampling chose %d "
                    "sub-pixels per side for this crystal size, wavelength, pixel and distance; "
                    "give -oversample N",
                    steps_d, oversample);
    if (steps_d > 2147483647.0)
        return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                    "too many sub-steps per pixel (%.0f): reduce oversample, sources, domains or "
                    "phi steps", steps_d);
    int steps = (int)steps_d;
    s->r_e_sqr = 7.94079248018965e-30;
    s->water_size = cfg->water_size;
    double F_bg = 2.57, water_MW = 18.0;
    s->I_bg = F_bg * F_bg * s->r_e_sqr * fluence * cfg->water_size * cfg->water_size *
              cfg->water_size * 1e6 * AVOGADRO / water_MW;
    s->steps = steps;
    s->scale = s->r_e_sqr * fluence / steps;

    /* ------------------------------------------------------------ ROI and mask */
    int roi[4];
    for (int i = 0; i < 4; i++)
        roi[i] = cfg->roi[i];
    if (roi[0] < 0)
        roi[0] = 0;
    if (roi[1] < 0)
        roi[1] = s->fpixels;
    if (roi[2] < 0)
        roi[2] = 0;
    if (roi[3] < 0)
        roi[3] = s->spixels;
    memcpy(s->roi, roi, sizeof roi);
    if (share) {
        s->mask = share->mask;
    } else if (cfg->maskfile) {
        nbcl_smv m;
        char e2[1024];
        st = nbcl_read_smv(cfg->maskfile, &m, e2, sizeof e2);
        if (st != NBCL_OK)
            return fail(s, st, err, errlen, "%s", e2);
        if (m.width != s->fpixels || m.height != s->spixels) {
            int w = m.width, h = m.height;
            nbcl_smv_free(&m);
            return fail(s, NBCL_INVALID_ARGUMENT, err, errlen,
                        "%s: mask is %dx%d but the detector is %dx%d pixels", cfg->maskfile, w, h,
                        s->fpixels, s->spixels);
        }
        size_t np = (size_t)s->fpixels * s->spixels;
        s->mask = malloc(np);
        if (!s->mask) {
            nbcl_smv_free(&m);
            return fail(s, NBCL_OUT_OF_MEMORY, err, errlen, "out of memory for the mask");
        }
        for (size_t i = 0; i < np; i++)
            s->mask[i] = m.pixels[i] != 0;
        nbcl_smv_free(&m);
    }

    /* ------------------------------------------------------------ record everything */
    s->subpixel_size = pixel / oversample;
    s->oversample = oversample;
    s->oversample_thick = cfg->oversample_thick;
    s->oversample_polar = cfg->oversample_polar;
    s->oversample_omega = cfg->oversample_omega;
    copy3(s->fdet, fdet);
    copy3(s->sdet, sdet);
    copy3(s->odet, odet);
    copy3(s->pix0, pix0);
    copy3(s->beam, beam);
    copy3(s->polar_vector, polar_vector);
    copy3(s->spindle, spindle);
    copy3(s->vert, vert);
    copy3(s->twotheta_axis, tt_axis);
    s->distance = distance;
    s->close_distance = close_distance;
    s->Xbeam = Xbeam;
    s->Ybeam = Ybeam;
    s->Fbeam = Fbeam;
    s->Sbeam = Sbeam;
    s->Xclose = Xclose;
    s->Yclose = Yclose;
    s->Fclose = Fclose;
    s->Sclose = Sclose;
    s->twotheta = twotheta;
    s->convention = cfg->convention;
    s->pivot = pivot;
    s->curved_det = cfg->curved_det;
    s->point_pixel = cfg->point_pixel;
    s->thicksteps = thicksteps;
    s->thick = thick;
    s->thickstep = thickstep;
    s->mu = mu;
    s->shape = cfg->shape;
    s->fudge = cfg->fudge;
    s->phisteps = phisteps;
    s->phi0 = cfg->phi0;
    s->phistep = phistep;
    s->osc = osc;
    s->mosaic_domains = mosaic_domains;
    s->mosaic_spread = mosaic_spread;
    s->dispsteps = dispsteps;
    s->hdivsteps = hdivsteps;
    s->vdivsteps = vdivsteps;
    s->hdivrange = hdivrange;
    s->vdivrange = vdivrange;
    s->hdivstep = hdivstep;
    s->vdivstep = vdivstep;
    s->dispersion = dispersion;
    s->dispstep = dispstep;
    s->lambda0 = cfg->lambda0;
    s->polarization = cfg->polarization;
    s->nopolar = cfg->nopolar;
    s->dmin = cfg->dmin;
    s->seed = cfg->seed_set ? -cfg->seed : -(long)time(NULL);
    s->intfile_scale = cfg->intfile_scale;
    s->pgm_scale = cfg->pgm_scale;
    s->adc_offset = cfg->adc_offset;

    /* packed kernel inputs */
    double *P = s->kparams;
    int *IP = s->kiparams;
    for (int i = 0; i < 3; i++) {
        P[NBCL_P_PIX0 + i] = pix0[i];
        P[NBCL_P_FDET + i] = fdet[i];
        P[NBCL_P_SDET + i] = sdet[i];
        P[NBCL_P_ODET + i] = odet[i];
        P[NBCL_P_BEAM + i] = beam[i];
        P[NBCL_P_POLAR_VEC + i] = polar_vector[i];
        P[NBCL_P_ASTAR + i] = a_star[i];
        P[NBCL_P_BSTAR + i] = b_star[i];
        P[NBCL_P_CSTAR + i] = c_star[i];
    }
    P[NBCL_P_PIXEL] = pixel;
    P[NBCL_P_SUBPIXEL] = s->subpixel_size;
    P[NBCL_P_DISTANCE] = distance;
    P[NBCL_P_CLOSE_DISTANCE] = close_distance;
    P[NBCL_P_THICKSTEP] = thickstep;
    P[NBCL_P_MU] = mu;
    P[NBCL_P_THICK] = thick;
    P[NBCL_P_POLARIZATION] = cfg->polarization;
    P[NBCL_P_DMIN] = cfg->dmin;
    P[NBCL_P_I_BG] = s->I_bg;
    P[NBCL_P_SCALE] = s->scale;
    P[NBCL_P_NA] = Na;
    P[NBCL_P_NB] = Nb;
    P[NBCL_P_NC] = Nc;
    P[NBCL_P_FUDGE] = cfg->fudge;
    P[NBCL_P_DEFAULT_F] = cfg->default_F;
    P[NBCL_P_WATER] = cfg->water_size;
    IP[NBCL_IP_FPIXELS] = s->fpixels;
    IP[NBCL_IP_SPIXELS] = s->spixels;
    IP[NBCL_IP_OVERSAMPLE] = oversample;
    IP[NBCL_IP_THICKSTEPS] = thicksteps;
    IP[NBCL_IP_OS_THICK] = cfg->oversample_thick;
    IP[NBCL_IP_OS_POLAR] = cfg->oversample_polar;
    IP[NBCL_IP_OS_OMEGA] = cfg->oversample_omega;
    IP[NBCL_IP_CURVED] = cfg->curved_det;
    IP[NBCL_IP_POINT_PIXEL] = cfg->point_pixel;
    IP[NBCL_IP_NOPOLAR] = cfg->nopolar;
    IP[NBCL_IP_SOURCES] = sources;
    IP[NBCL_IP_NORIENT] = (int)norient;
    IP[NBCL_IP_SHAPE] = (int)cfg->shape;
    IP[NBCL_IP_INTERPOLATE] = interpolate;
    IP[NBCL_IP_HKLS] = s->hkl.count > 0 && s->hkl.F != NULL;
    IP[NBCL_IP_H_MIN] = s->hkl.h_min;
    IP[NBCL_IP_H_MAX] = s->hkl.h_max;
    IP[NBCL_IP_K_MIN] = s->hkl.k_min;
    IP[NBCL_IP_K_MAX] = s->hkl.k_max;
    IP[NBCL_IP_L_MIN] = s->hkl.l_min;
    IP[NBCL_IP_L_MAX] = s->hkl.l_max;
    IP[NBCL_IP_H_RANGE] = s->hkl.h_range;
    IP[NBCL_IP_K_RANGE] = s->hkl.k_range;
    IP[NBCL_IP_L_RANGE] = s->hkl.l_range;
    IP[NBCL_IP_ROI_XMIN] = roi[0];
    IP[NBCL_IP_ROI_XMAX] = roi[1];
    IP[NBCL_IP_ROI_YMIN] = roi[2];
    IP[NBCL_IP_ROI_YMAX] = roi[3];
    IP[NBCL_IP_HAS_MASK] = s->mask != NULL;
    s->ksrc = malloc(sizeof(double) * NBCL_SRC_STRIDE * (size_t)sources);
    if (!s->ksrc)
        return fail(s, NBCL_OUT_OF_MEMORY, err, errlen, "out of memory");
    for (int i = 0; i < sources; i++) {
        for (int j = 0; j < 3; j++)
            s->ksrc[i * NBCL_SRC_STRIDE + j] = -s->source_dir[3 * i + j];
        s->ksrc[i * NBCL_SRC_STRIDE + 3] = s->source_lambda[i];
    }
    s->fdump_dummy = cfg->default_F;
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
    int fallback = 0;
    double osum = 0.0;
    const double *F = s->hkl.F ? s->hkl.F : &s->fdump_dummy;
    double v = nbcl_pixel_value(fpixel, spixel, s->kparams, s->kiparams, s->ksrc, s->orient, F,
                                &fallback, &osum);
    return (double)(float)v;
}
