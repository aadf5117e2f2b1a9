/* The scene's definition and its build stages (never installed). Programs see nbcl_scene as an
 * opaque type (nbcl/nbcl_scene.h) and read it through accessors; the engine's layers and the
 * tests that check one stage read the fields here.
 *
 * Every value is stored once, in physical units: the kernel's packed parameter arrays are
 * derived from these fields when a render starts (render/pack.c). */
#ifndef NBCL_SCENE_INTERNAL_H
#define NBCL_SCENE_INTERNAL_H

#include <stddef.h>
#include "nbcl/nbcl_config.h"
#include "nbcl/nbcl_scene.h"

struct nbcl_scene {
    /* detector (stages detector_size, beam_centre, detector_thickness, detector_geometry) */
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

    /* crystal (stages crystal, crystal_size, phi_steps, mosaic, orientations) */
    double sample[3];              /* sample size x y z (m) after the beam clipped it */
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
    double *orient;                /* phisteps*mosaic_domains*9: a,b,c (m) per (phi, domain), phi-major */

    /* structure factors (stages interpolation, structure_factors) */
    nbcl_hkl_grid hkl;
    double default_F;              /* also the kernel's F buffer when no grid was read */
    int interpolate;               /* resolved: 0/1 */

    /* beam (stages beam_intensity, divergence, sources) */
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

    /* background and normalisation (stage normalisation) */
    double water_size;
    double I_bg;                   /* per pixel, before the r_e^2*fluence/steps scale */
    double r_e_sqr;
    int steps;                     /* sources*domains*phisteps*oversample^2 */
    double scale;                  /* r_e^2 * fluence / steps */

    /* output and noise parameters (stage output_params) */
    long seed;                     /* noise seed, reference sign convention (negative) */
    double intfile_scale, pgm_scale, adc_offset;

    /* the messages the reference prints during set-up, in order (warnings included) */
    char *log;
    size_t log_len, log_cap;

    int shared_inputs;             /* hkl.F and mask belong to another scene (build_shared) */
    unsigned long long inputs_id;  /* identity of the structure factors: unique per built scene,
                                      the base's for shared scenes (engines cache the upload) */
};

/* One build stage: reads the configuration and the fields earlier stages set, sets its own
 * fields, may append to the log. On failure: a status other than NBCL_OK and a one-line message
 * in err; the scene is then discarded by the caller. Stages run in the order of
 * nbcl__scene_stages[] (scene.c), which is the reference's order of decisions. */
typedef nbcl_status (*nbcl_scene_stage_fn)(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                           size_t errlen);
typedef struct nbcl_scene_stage {
    const char *name;
    nbcl_scene_stage_fn run;
} nbcl_scene_stage;
extern const nbcl_scene_stage nbcl__scene_stages[];
extern const int nbcl__scene_stage_count;

/* the stages, by file; each is an nbcl_scene_stage_fn named nbcl__stage_<name> */
#define NBCL_SCENE_STAGE(name)                                                                \
    nbcl_status nbcl__stage_##name(const nbcl_config *cfg, nbcl_scene *s, char *err,          \
                                   size_t errlen)
/* detector.c */
NBCL_SCENE_STAGE(inputs);
NBCL_SCENE_STAGE(detector_size);
NBCL_SCENE_STAGE(beam_centre);
NBCL_SCENE_STAGE(detector_thickness);
NBCL_SCENE_STAGE(detector_geometry);
NBCL_SCENE_STAGE(roi_mask);
/* beam.c */
NBCL_SCENE_STAGE(beam_intensity);
NBCL_SCENE_STAGE(divergence);
NBCL_SCENE_STAGE(sources);
/* crystal.c */
NBCL_SCENE_STAGE(interpolation);
NBCL_SCENE_STAGE(crystal);
NBCL_SCENE_STAGE(crystal_size);
NBCL_SCENE_STAGE(structure_factors);
/* sampling.c */
NBCL_SCENE_STAGE(phi_steps);
NBCL_SCENE_STAGE(mosaic);
NBCL_SCENE_STAGE(oversample);
NBCL_SCENE_STAGE(normalisation);
NBCL_SCENE_STAGE(output_params);
/* orientations.c */
NBCL_SCENE_STAGE(orientations);

/* scene.c: append a printf-formatted line to s->log */
void nbcl__scene_logf(nbcl_scene *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* scene.c: an empty scene for stages to fill (tests run single stages on it); NULL when out of
 * memory. Release with nbcl_scene_destroy. */
nbcl_scene *nbcl__scene_new(void);

#endif
