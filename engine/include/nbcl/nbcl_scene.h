/* The scene: every physics set-up decision made once on the host, in double precision, by a
 * list of named stages (docs/architecture.md "Scene stages"); immutable once built. */
#ifndef NBCL_SCENE_H
#define NBCL_SCENE_H

#include <stddef.h>
#include "nbcl/nbcl_config.h"
#include "nbcl/nbcl_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nbcl_hkl_grid {
    int h_min, h_max, k_min, k_max, l_min, l_max;
    int h_range, k_range, l_range; /* max - min + 1 */
    double *F;                     /* h_range*k_range*l_range, index ((h-hmin)*k_range + (k-kmin))*l_range + (l-lmin) */
    size_t count;                  /* entries read (hkls in the reference) */
} nbcl_hkl_grid;

/* The scene is opaque: programs read it through the accessors below (the engine's layers see
 * its definition). Immutable once built; safe to read from several threads. */
typedef struct nbcl_scene nbcl_scene;

/* What a program may want to know or print about a built scene, filled on request by
 * nbcl_scene_get_info() (the scene stores each value once; this is a copy). Units as the
 * reference prints them: lengths in m unless named otherwise, angles in radians unless _deg. */
typedef struct nbcl_scene_info {
    /* detector */
    int fpixels, spixels;
    double pixel_size, subpixel_size;
    double detsize_f, detsize_s;
    int oversample, recommended_oversample;      /* sub-pixels per side; the suggested minimum */
    int oversample_thick, oversample_polar, oversample_omega;
    double fdet[3], sdet[3], odet[3], pix0[3];   /* placed detector (lab frame) */
    double beam[3], polar_vector[3], spindle[3]; /* unit vectors */
    double distance, close_distance;
    double Xbeam, Ybeam, Fbeam, Sbeam, Xclose, Yclose, Fclose, Sclose;
    double ORGX, ORGY;                           /* near point in pixels (XDS) */
    double dials_origin[3];                      /* mm */
    double twotheta;
    nbcl_convention convention;
    nbcl_pivot pivot;
    int curved_det, point_pixel;
    int thicksteps;
    double thick, thickstep, mu;
    int roi[4];                                  /* xmin xmax ymin ymax inclusive */
    int has_mask;

    /* crystal */
    double a[3], b[3], c[3];                     /* m, phi = 0, no mosaic */
    double a_star[3], b_star[3], c_star[3];      /* 1/Angstrom */
    double cell[6], rcell[6];                    /* a b c (A) alpha beta gamma (deg); reciprocal */
    double V_cell;                               /* A^3 */
    double misset_deg[3];                        /* applied misset (random: the drawn angles) */
    double Na, Nb, Nc;
    double xtalsize[3];
    nbcl_shape shape;
    double fudge;
    int phisteps;
    double phi0, phistep, osc;
    int mosaic_domains;
    double mosaic_spread;

    /* structure factors */
    size_t hkl_count;                            /* entries read (0: -default_F only) */
    double default_F;
    int interpolate;                             /* resolved: 0/1 */

    /* beam: the source arrays belong to the scene (valid while it lives) */
    int sources;
    const double *source_dir;                    /* 3 per source: unit, sample towards source */
    const double *source_lambda;                 /* m */
    const double *source_I;                      /* weights as read or generated */
    int divsteps, dispsteps, hdivsteps, vdivsteps;
    double hdivrange, vdivrange, hdivstep, vdivstep, dispersion, dispstep;
    double lambda0, fluence, flux, exposure, beamsize;
    double polarization;
    int nopolar;
    double dmin;

    /* normalisation and output */
    double water_size;
    double I_bg;                                 /* before the scale */
    int steps;                                   /* sources*domains*phisteps*oversample^2 */
    double scale;                                /* r_e^2 * fluence / steps */
    long seed;                                   /* noise seed (reference sign: negative) */
    double intfile_scale, pgm_scale, adc_offset;

    const char *log;                             /* the set-up messages, in order ("" if none) */
} nbcl_scene_info;

/* Build a scene from a configuration. Reads every input file the configuration names.
 * On failure returns a status and writes a one-line message to err. *out is NULL on failure. */
NBCL_API nbcl_status nbcl_scene_build(const nbcl_config *cfg, nbcl_scene **out, char *err, size_t errlen);
NBCL_API void nbcl_scene_destroy(nbcl_scene *s);
/* The same, but the structure factors and the mask are borrowed from `base` (a scene built from
 * the same input files) instead of read again: the per-frame scenes of a series, where only the
 * spindle start, the seeds and (stills) the orientation differ. `base` must outlive the result.
 * The result is bit-identical to nbcl_scene_build(cfg) (the per-frame parts are computed by the
 * same code). */
NBCL_API nbcl_status nbcl_scene_build_shared(const nbcl_config *cfg, const nbcl_scene *base,
                                             nbcl_scene **out, char *err, size_t errlen);

/* Fill *out from the scene (both non-NULL). */
NBCL_API void nbcl_scene_get_info(const nbcl_scene *s, nbcl_scene_info *out);
/* The few values most programs need, without the whole info. */
NBCL_API void nbcl_scene_size(const nbcl_scene *s, int *fpixels, int *spixels);
NBCL_API void nbcl_scene_roi(const nbcl_scene *s, int roi[4]);
NBCL_API const unsigned char *nbcl_scene_mask(const nbcl_scene *s); /* fpixels*spixels or NULL */
NBCL_API long nbcl_scene_seed(const nbcl_scene *s);
/* The structure factors read (for nbcl_write_fdump); borrowed, valid while the scene lives. */
NBCL_API const nbcl_hkl_grid *nbcl_scene_hkl(const nbcl_scene *s);

/* Evaluate one pixel on the host in double precision with the same per-pixel function the
 * device runs (slow; for differential tests and -printout). Returns the float-image value. */
NBCL_API double nbcl_scene_pixel_host(const nbcl_scene *s, int fpixel, int spixel);

/* One pixel's terms (-printout_pixel): `value` is the pixel's whole sum in double on the host
 * (nbcl_scene_pixel_host() before the rounding to float; 0 outside the ROI or masked); every
 * other term belongs to the pixel's LAST sub-path (last thickness layer, last sub-pixel, last
 * source, last phi/mosaic orientation). With one sub-path (oversample 1, one source, one
 * orientation, no thickness) value = scale * (I_bg + F_cell^2 F_latt^2) * omega * polar * capture. */
typedef struct nbcl_pixel_trace {
    int fpixel, spixel;
    int in_roi, masked;        /* outside the ROI or masked: value 0, terms still traced */
    double pos[3];             /* sample to sub-pixel (m), lab frame */
    double airpath;            /* |pos| (m) */
    double diffracted[3];      /* unit pos */
    double incident[3];        /* unit, towards the detector (last source) */
    double lambda;             /* m (last source) */
    double scattering[3];      /* S = (diffracted - incident) / lambda (1/m) */
    double stol;               /* sin(theta)/lambda = |S|/2 (1/m); resolution d = 0.5/stol */
    double twotheta;           /* scattering angle (rad) */
    double hkl[3];             /* fractional Miller indices (last orientation) */
    int hkl0[3];               /* nearest integers */
    double F_cell, F_latt;
    int interp_fallback;       /* the interpolation neighbourhood left the HKL grid: default_F */
    double omega;              /* solid angle (sr) */
    double polar;              /* polarization factor (1 with -nopolar) */
    double capture;            /* detector capture fraction of the layer (1 without thickness) */
    double I_bg;               /* water background added to every pixel's sum */
    double scale;              /* r_e^2 * fluence / steps */
    double subpaths;           /* layers x sub-pixels x sources x orientations summed */
    double value;              /* the pixel (photons), double */
} nbcl_pixel_trace;
/* NBCL_INVALID_ARGUMENT for a pixel outside the detector. */
NBCL_API nbcl_status nbcl_scene_pixel_trace(const nbcl_scene *s, int fpixel, int spixel,
                                            nbcl_pixel_trace *out);

#ifdef __cplusplus
}
#endif
#endif
