/* The scene: every physics set-up decision made once on the host, in double precision.
 * Plain arrays and scalars, ready to upload; immutable once built. */
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

typedef struct nbcl_scene {
    /* detector */
    int fpixels, spixels;
    double pixel_size, subpixel_size;
    int oversample, recommended_oversample;
    int oversample_thick, oversample_polar, oversample_omega;
    double detsize_f, detsize_s;
    double fdet[3], sdet[3], odet[3], pix0[3], beam[3], polar_vector[3], spindle[3], vert[3];
    double twotheta_axis[3];
    double distance, close_distance;
    double Xbeam, Ybeam, Fbeam, Sbeam, Xclose, Yclose, Fclose, Sclose, ORGX, ORGY;
    double dials_origin[3];
    double twotheta;
    nbcl_convention convention;
    nbcl_pivot pivot;
    int curved_det, point_pixel;
    int thicksteps;
    double thick, thickstep, mu;
    int roi[4];                    /* xmin xmax ymin ymax inclusive, clamped */
    unsigned char *mask;           /* fpixels*spixels, 0 = skip; NULL = none */

    /* crystal */
    double a[3], b[3], c[3];       /* meters, phi = 0, no mosaic */
    double a_star[3], b_star[3], c_star[3]; /* 1/Angstrom (reference units) */
    double cell[6];                /* a b c (A), alpha beta gamma (deg) */
    double rcell[6];
    double V_cell;                 /* A^3 */
    double misset_deg[3];          /* applied misset (random: the generated angles) */
    double Na, Nb, Nc;
    double xtalsize[3];            /* m */
    nbcl_shape shape;
    double fudge;
    int phisteps;
    double phi0, phistep, osc;
    int mosaic_domains;
    double mosaic_spread;
    double *mosaic_umats;          /* 9 per domain */
    double *orient;                /* phisteps*mosaic_domains*9: a,b,c (m) per (phi, domain), phi-major */

    /* structure factors */
    nbcl_hkl_grid hkl;
    double default_F;
    int interpolate;               /* resolved: 0/1 */

    /* beam */
    int sources;
    double *source_dir;            /* 3 per source: unit vector from sample towards the source */
    double *source_lambda;         /* m */
    double *source_I;              /* weights as read/generated (the reference ignores them) */
    int divsteps, dispsteps, hdivsteps, vdivsteps;
    double hdivrange, vdivrange, hdivstep, vdivstep, dispersion, dispstep;
    double lambda0;
    double fluence, flux, exposure, beamsize;
    double polarization;
    int nopolar;
    double dmin;

    /* background and normalisation */
    double water_size;
    double I_bg;                   /* per pixel, before the r_e^2*fluence/steps scale */
    double r_e_sqr;
    int steps;                     /* sources*domains*phisteps*oversample^2 */
    double scale;                  /* r_e^2 * fluence / steps */

    /* output and noise parameters */
    long seed;                     /* noise seed, reference sign convention (negative) */
    double intfile_scale, pgm_scale, adc_offset;

    /* packed kernel inputs (layout: cl/nbcl_layout.h), double; converted per precision */
    double kparams[64];
    int kiparams[64];
    double *ksrc;                  /* NBCL_SRC_STRIDE per source: incident direction, lambda */
    double fdump_dummy;            /* F buffer when no grid was read */

    /* the messages the reference prints during set-up, in order (warnings included) */
    char *log;
    size_t log_len, log_cap;

    int shared_inputs;             /* hkl.F and mask belong to another scene (build_shared) */
    unsigned long long inputs_id;  /* identity of the structure factors: unique per built scene,
                                      the base's for shared scenes (engines cache the upload) */
} nbcl_scene;

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
