/* Scene stages of the detector: raw input checks, pixel count and size, beam centre and
 * convention, sensor thickness layers, the placed detector (distance, rotations, two-theta,
 * pivot) and the region of interest with its mask. spec-a-core "Geometry"; the reference's
 * quirks kept or changed are in docs/parity.md. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_host_physics.h"
#include "nbcl_internal.h"
#include "nbcl_scene_internal.h"
#include "scene/stage_util.h"

nbcl_status nbcl__stage_inputs(const nbcl_config *cfg, nbcl_scene *s, char *err, size_t errlen)
{
    (void)s;
    if (!(cfg->lambda0 > 0.0) || !isfinite(cfg->lambda0))
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "wavelength must be a positive finite number (got %g A)",
                          cfg->lambda0 * 1e10);
    if (!(cfg->pixel_size > 0.0) || !isfinite(cfg->pixel_size))
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "pixel size must be positive (got %g mm)", cfg->pixel_size * 1e3);
    if (!isfinite(cfg->distance) || cfg->distance <= 0.0)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "detector distance must be positive (got %g mm)", cfg->distance * 1e3);
    if (!isnan(cfg->close_distance) && !(cfg->close_distance > 0.0))
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "close distance must be positive (got %g mm)",
                          cfg->close_distance * 1e3);
    if (cfg->fpixels < 0 || cfg->spixels < 0)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "detector pixel counts must be positive");
    if (!(cfg->detsize_f > 0.0) || !(cfg->detsize_s > 0.0))
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen, "detector size must be positive");
    const double *vv[] = {cfg->beam_vector, cfg->fdet, cfg->sdet, cfg->polar_vector,
                          cfg->spindle, cfg->twotheta_axis};
    const char *nm[] = {"beam_vector", "fdet_vector", "sdet_vector", "polar_vector",
                        "spindle_axis", "twotheta_axis"};
    for (int i = 0; i < 6; i++)
        if (!finite3(vv[i]))
            return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen, "vectors must be finite");
    for (int i = 0; i < 6; i++)
        if (vv[i][0] == 0.0 && vv[i][1] == 0.0 && vv[i][2] == 0.0)
            return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen, "-%s has zero length", nm[i]);
    return NBCL_OK;
}

/* -pixel, -detpixels/-detsize: the pixel counts (a given count wins over the size) */
nbcl_status nbcl__stage_detector_size(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                      size_t errlen)
{
    double pixel = cfg->pixel_size;
    double detsize_f = cfg->detsize_f, detsize_s = cfg->detsize_s;
    if (cfg->fpixels)
        detsize_f = pixel * cfg->fpixels;
    if (cfg->spixels)
        detsize_s = pixel * cfg->spixels;
    double fpx = ceil(detsize_f / pixel - 0.5), spx = ceil(detsize_s / pixel - 0.5);
    if (fpx < 1 || spx < 1)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen, "detector has no pixels (%gx%g)",
                          fpx, spx);
    if (fpx * spx > 2147483647.0 || fpx > 1e6 || spx > 1e6)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "detector too large: %.0fx%.0f pixels (at most 2^31-1 pixels in all)",
                          fpx, spx);
    s->fpixels = (int)fpx;
    s->spixels = (int)spx;
    s->pixel_size = pixel;
    s->detsize_f = detsize_f;
    s->detsize_s = detsize_s;
    s->curved_det = cfg->curved_det;
    s->point_pixel = cfg->point_pixel;
    return NBCL_OK;
}

/* the axes a convention fixes: beam, fast, slow, normal, two-theta axis, E-vector, spindle */
static void convention_axes(nbcl_scene *s, const double b[3], const double f[3],
                            const double sl[3], const double o[3], const double tt[3],
                            const double pol[3], const double sp[3])
{
    copy3(s->beam, b);
    copy3(s->fdet, f);
    copy3(s->sdet, sl);
    copy3(s->odet, o);
    copy3(s->twotheta_axis, tt);
    copy3(s->polar_vector, pol);
    copy3(s->spindle, sp);
}

/* the beam centre (Xbeam, Ybeam) and the point it makes on the detector (Fbeam, Sbeam) under
 * each convention, with the convention's axes and default pivot */
static void apply_convention(const nbcl_config *cfg, nbcl_scene *s)
{
    static const double X[3] = {1, 0, 0}, Y[3] = {0, 1, 0}, Z[3] = {0, 0, 1};
    static const double mX[3] = {-1, 0, 0}, mY[3] = {0, -1, 0}, mZ[3] = {0, 0, -1};
    double pixel = s->pixel_size;
    switch (cfg->convention) {
    case NBCL_CONV_ADXV:
        if (isnan(s->Xbeam))
            s->Xbeam = (s->detsize_f + pixel) / 2.0;
        if (isnan(s->Ybeam))
            s->Ybeam = (s->detsize_s - pixel) / 2.0;
        convention_axes(s, Z, X, mY, Z, mX, X, X);
        s->Fbeam = s->Xbeam;
        s->Sbeam = s->detsize_s - s->Ybeam;
        s->pivot = NBCL_PIVOT_BEAM;
        break;
    case NBCL_CONV_MOSFLM:
    case NBCL_CONV_DENZO: {
        double half = (cfg->convention == NBCL_CONV_MOSFLM) ? 0.5 : 0.0;
        if (isnan(s->Xbeam))
            s->Xbeam = (s->detsize_s + pixel) / 2.0;
        if (isnan(s->Ybeam))
            s->Ybeam = (s->detsize_f + pixel) / 2.0;
        convention_axes(s, X, Z, mY, X, mZ, Z, Z);
        s->Fbeam = s->Ybeam + half * pixel;
        s->Sbeam = s->Xbeam + half * pixel;
        s->pivot = NBCL_PIVOT_BEAM;
        break;
    }
    case NBCL_CONV_XDS:
    case NBCL_CONV_DIALS:
        if (isnan(s->Xbeam))
            s->Xbeam = s->Xclose;
        if (isnan(s->Ybeam))
            s->Ybeam = s->Yclose;
        if (cfg->convention == NBCL_CONV_XDS)
            convention_axes(s, Z, X, Y, Z, X, X, X);
        else
            convention_axes(s, Z, X, Y, Z, Y, Y, Y);
        s->Fbeam = s->Xbeam;
        s->Sbeam = s->Ybeam;
        s->pivot = NBCL_PIVOT_SAMPLE;
        break;
    case NBCL_CONV_CUSTOM:
    default:
        if (isnan(s->Xbeam))
            s->Xbeam = s->Xclose;
        if (isnan(s->Ybeam))
            s->Ybeam = s->Yclose;
        s->Fbeam = s->Xbeam;
        s->Sbeam = s->Ybeam;
        s->Fclose = s->Xbeam;
        s->Sclose = s->Ybeam;
        break;
    }
}

/* -convention, -Xbeam/-Ybeam, -Xclose/-Yclose, -ORGX/-ORGY, the axis vectors, -pivot */
nbcl_status nbcl__stage_beam_centre(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                    size_t errlen)
{
    (void)err;
    (void)errlen;
    double pixel = s->pixel_size;
    s->convention = cfg->convention;
    s->Fclose = NAN;
    s->Sclose = NAN;
    s->Xclose = cfg->Xclose;
    s->Yclose = cfg->Yclose;
    s->Xbeam = cfg->Xbeam;
    s->Ybeam = cfg->Ybeam;
    convention_axes(s, cfg->beam_vector, cfg->fdet, cfg->sdet, cfg->odet, cfg->twotheta_axis,
                    cfg->polar_vector, cfg->spindle);
    s->pivot = cfg->pivot;
    if (!isnan(cfg->ORGX))
        s->Fclose = (cfg->ORGX - 0.5) * pixel;
    if (!isnan(cfg->ORGY))
        s->Sclose = (cfg->ORGY - 0.5) * pixel;
    /* -Xclose/-Yclose place the near point like -ORGX/-ORGY do (the reference only copies them
     * into the beam centre of XDS/DIALS/CUSTOM; docs/parity.md P-16) */
    if (!isnan(cfg->Xclose))
        s->Fclose = cfg->Xclose;
    if (!isnan(cfg->Yclose))
        s->Sclose = cfg->Yclose;
    if (isnan(s->Fclose))
        s->Fclose = s->detsize_f / 2.0;
    if (isnan(s->Sclose))
        s->Sclose = s->detsize_s / 2.0;
    if (isnan(s->Xclose))
        s->Xclose = s->Fclose;
    if (isnan(s->Yclose))
        s->Yclose = s->Sclose;
    s->Fbeam = s->Fclose;
    s->Sbeam = s->Sclose;
    apply_convention(cfg, s);
    /* an explicit -pivot wins over the convention's default (the reference lets the convention
     * override it; see docs/parity.md) */
    if (cfg->pivot_given)
        s->pivot = cfg->pivot;

    nbcl_unitize3(s->beam, s->beam);
    nbcl_unitize3(s->fdet, s->fdet);
    nbcl_unitize3(s->sdet, s->sdet);
    double *odet = s->odet;
    if (nbcl_unitize3(odet, odet) != 1.0) {
        if (!(odet[0] == 0 && odet[1] == 0 && odet[2] == 0) || cfg->convention == NBCL_CONV_CUSTOM) {
            /* the reference regenerates odet whenever its length is not exactly 1 */
            nbcl__scene_logf(s, "WARNING: auto-generating odet_vector\n");
        }
        nbcl_cross3(s->fdet, s->sdet, odet);
        nbcl_unitize3(odet, odet);
    }
    nbcl_unitize3(s->polar_vector, s->polar_vector);
    nbcl_unitize3(s->spindle, s->spindle);
    nbcl_unitize3(s->twotheta_axis, s->twotheta_axis);
    nbcl_cross3(s->beam, s->polar_vector, s->vert);
    nbcl_unitize3(s->vert, s->vert);
    return NBCL_OK;
}

/* -detector_thick, -detector_thickstep, -detector_thicksteps, -detector_abs: the sensor layers */
nbcl_status nbcl__stage_detector_thickness(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                           size_t errlen)
{
    (void)err;
    (void)errlen;
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
    /* no layer is thinner than nothing: one layer of zero thickness */
    if (thick <= 0.0 || thickstep <= 0.0 || thicksteps <= 0) {
        thicksteps = 1;
        thick = 0.0;
        thickstep = 0.0;
    }
    s->thick = thick;
    s->thickstep = thickstep;
    s->thicksteps = thicksteps;
    s->mu = mu;
    return NBCL_OK;
}

/* rotate the detector axes (-detector_rot*, then -twotheta) and place the first pixel for the
 * pivot: around the sample it is rotated with the axes, around the beam spot it is placed after */
static void rotate_detector(const nbcl_config *cfg, nbcl_scene *s, double pix0[3])
{
    double rotx = cfg->detector_rotx, roty = cfg->detector_roty, rotz = cfg->detector_rotz;
    double tt = s->twotheta;
    if (s->pivot == NBCL_PIVOT_SAMPLE) {
        nbcl__scene_logf(s, "pivoting detector around sample\n");
        for (int i = 0; i < 3; i++)
            pix0[i] = -s->Fclose * s->fdet[i] - s->Sclose * s->sdet[i] +
                      s->close_distance * s->odet[i];
        nbcl_rotate_xyz(pix0, rotx, roty, rotz, pix0);
        nbcl_rotate_axis(pix0, s->twotheta_axis, tt, pix0);
    }
    nbcl_rotate_xyz(s->fdet, rotx, roty, rotz, s->fdet);
    nbcl_rotate_xyz(s->sdet, rotx, roty, rotz, s->sdet);
    nbcl_rotate_xyz(s->odet, rotx, roty, rotz, s->odet);
    nbcl_rotate_axis(s->fdet, s->twotheta_axis, tt, s->fdet);
    nbcl_rotate_axis(s->sdet, s->twotheta_axis, tt, s->sdet);
    nbcl_rotate_axis(s->odet, s->twotheta_axis, tt, s->odet);
    if (s->pivot == NBCL_PIVOT_BEAM) {
        nbcl__scene_logf(s, "pivoting detector around direct beam spot\n");
        for (int i = 0; i < 3; i++)
            pix0[i] = -s->Fbeam * s->fdet[i] - s->Sbeam * s->sdet[i] + s->distance * s->beam[i];
    }
}

/* -distance/-close_distance, -detector_rot*, -twotheta, -pivot, -pix0_vector: the detector
 * placed in the lab; the beam centre and near point re-derived from where it landed */
nbcl_status nbcl__stage_detector_geometry(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                          size_t errlen)
{
    static const char *conv_names[] = {"custom", "adxv", "mosflm", "xds", "dials", "denzo"};
    nbcl__scene_logf(s, "%s convention selected.\n", conv_names[cfg->convention]);
    s->twotheta = cfg->twotheta;
    double v[3], pix0[3] = {0, 0, 0};
    nbcl_rotate_xyz(s->odet, cfg->detector_rotx, cfg->detector_roty, cfg->detector_rotz, v);
    double ratio = nbcl_dot3(s->beam, v);
    if (ratio == 0.0)
        ratio = DBL_MIN;
    s->close_distance = cfg->close_distance;
    if (isnan(s->close_distance))
        s->close_distance = fabs(ratio * cfg->distance);
    s->distance = s->close_distance / ratio;
    rotate_detector(cfg, s, pix0);
    if (cfg->pix0_given) {
        /* -pix0_vector places the first pixel directly (the reference parses and ignores it) */
        copy3(pix0, cfg->pix0);
    }
    s->Fclose = -nbcl_dot3(pix0, s->fdet);
    s->Sclose = -nbcl_dot3(pix0, s->sdet);
    s->close_distance = nbcl_dot3(pix0, s->odet);
    double nv[3];
    for (int i = 0; i < 3; i++)
        nv[i] = s->close_distance / ratio * s->beam[i] - pix0[i];
    s->Fbeam = nbcl_dot3(s->fdet, nv);
    s->Sbeam = nbcl_dot3(s->sdet, nv);
    s->distance = s->close_distance / ratio;
    if (!(s->close_distance > 0.0) && !cfg->pix0_given)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "detector geometry puts the detector behind the sample (close distance "
                          "%g m)",
                          s->close_distance);
    copy3(s->pix0, pix0);
    s->ORGX = s->Fclose / s->pixel_size + 0.5;
    s->ORGY = s->Sclose / s->pixel_size + 0.5;
    s->dials_origin[0] = 1000.0 * pix0[2];
    s->dials_origin[1] = 1000.0 * pix0[1];
    s->dials_origin[2] = -1000.0 * pix0[0];
    nbcl__scene_logf(s, "XDS incident beam: %g %g %g\n", nbcl_dot3(s->beam, s->fdet),
                     nbcl_dot3(s->beam, s->sdet), nbcl_dot3(s->beam, s->odet));
    return NBCL_OK;
}

/* -roi, -mask: the pixels rendered (a scene built with a base borrows the base's mask) */
nbcl_status nbcl__stage_roi_mask(const nbcl_config *cfg, nbcl_scene *s, char *err, size_t errlen)
{
    int defaults[4] = {0, s->fpixels, 0, s->spixels};
    for (int i = 0; i < 4; i++)
        s->roi[i] = cfg->roi[i] < 0 ? defaults[i] : cfg->roi[i];
    if (s->shared_inputs || !cfg->maskfile)
        return NBCL_OK;
    nbcl_smv m;
    char e2[1024];
    nbcl_status st = nbcl_read_smv(cfg->maskfile, &m, e2, sizeof e2);
    if (st != NBCL_OK)
        return stage_fail(st, err, errlen, "%s", e2);
    if (m.width != s->fpixels || m.height != s->spixels) {
        int w = m.width, h = m.height;
        nbcl_smv_free(&m);
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "%s: mask is %dx%d but the detector is %dx%d pixels", cfg->maskfile, w,
                          h, s->fpixels, s->spixels);
    }
    size_t np = (size_t)s->fpixels * s->spixels;
    s->mask = malloc(np);
    if (!s->mask) {
        nbcl_smv_free(&m);
        return stage_fail(NBCL_OUT_OF_MEMORY, err, errlen, "out of memory for the mask");
    }
    for (size_t i = 0; i < np; i++)
        s->mask[i] = m.pixels[i] != 0;
    nbcl_smv_free(&m);
    return NBCL_OK;
}
