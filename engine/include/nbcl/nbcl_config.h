/* User parameters, as given on nanoBragg's command line, converted to SI units at parse time.
 * nbcl_config_init() fills every field with the reference's default; NAN (or -1 for counts)
 * means "not given: choose automatically" exactly where the reference uses that convention. */
#ifndef NBCL_CONFIG_H
#define NBCL_CONFIG_H

#include <stddef.h>
#include "nbcl/nbcl_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nbcl_convention {
    NBCL_CONV_CUSTOM = 0,
    NBCL_CONV_ADXV,
    NBCL_CONV_MOSFLM,
    NBCL_CONV_XDS,
    NBCL_CONV_DIALS,
    NBCL_CONV_DENZO
} nbcl_convention;

typedef enum nbcl_pivot { NBCL_PIVOT_SAMPLE = 0, NBCL_PIVOT_BEAM = 1 } nbcl_pivot;

typedef enum nbcl_shape {
    NBCL_SHAPE_SQUARE = 0,
    NBCL_SHAPE_ROUND = 1,
    NBCL_SHAPE_GAUSS = 2,
    NBCL_SHAPE_TOPHAT = 3
} nbcl_shape;

typedef struct nbcl_config {
    /* --- crystal */
    int user_cell;          /* -cell given */
    double cell[6];         /* a b c (Angstrom) alpha beta gamma (radians) */
    const char *matfile;    /* -mat/-matrix: MOSFLM A matrix (reciprocal vectors x lambda) */
    int misset_mode;        /* 0 none, 1 explicit angles, -1 random */
    double misset[3];       /* radians, about x, y, z */
    long misset_seed;       /* as given (positive); used when misset_seed_set */
    int misset_seed_set;
    double Na, Nb, Nc;      /* unit cells along a, b, c */
    double sample_x, sample_y, sample_z; /* m; > 0 overrides N */
    nbcl_shape shape;
    double fudge;
    double mosaic_spread;   /* radians; < 0 not given */
    int mosaic_domains;     /* <= 0 not given */
    long mosaic_seed;       /* as given (positive); default 12345678 */
    double phi0, osc, phistep; /* radians; osc/phistep < 0 not given */
    int phisteps;           /* < 0 not given */
    double spindle[3];

    /* --- structure factors */
    const char *hklfile;
    const char *dumpfile;   /* Fdump.bin by default */
    int read_dump;          /* with no -hkl: read the dump file if present (reference behaviour) */
    int write_dump;         /* write the dump file after reading -hkl */
    double default_F;
    int interpolate;        /* 0 off, 1 on, 2 auto */

    /* --- beam */
    double lambda0;         /* m */
    double dispersion;      /* fraction (percent/100) */
    double dispstep;        /* < 0 not given */
    int dispsteps;          /* <= 0 not given */
    double hdivrange, vdivrange, hdivstep, vdivstep; /* radians; < 0 not given */
    int hdivsteps, vdivsteps;
    int round_div;
    const char *sourcefile;
    double source_distance; /* m */
    double fluence;         /* photons/m^2 */
    double flux, exposure, beamsize; /* photons/s, s, m */
    double polarization;    /* Kahn factor */
    int nopolar;
    double dmin;            /* m; 0 off */
    double beam_vector[3];
    double polar_vector[3];

    /* --- detector */
    nbcl_convention convention;
    nbcl_pivot pivot;
    int pivot_given;        /* -pivot given explicitly (wins over convention defaults) */
    double distance;        /* m */
    double close_distance;  /* m; NAN not given */
    double pixel_size;      /* m */
    int fpixels, spixels;   /* 0 not given */
    double detsize_f, detsize_s; /* m */
    double Xbeam, Ybeam, Xclose, Yclose, ORGX, ORGY; /* m (ORG in pixels); NAN not given */
    double detector_rotx, detector_roty, detector_rotz, twotheta; /* radians */
    double twotheta_axis[3];
    int twotheta_axis_given;
    double fdet[3], sdet[3], odet[3], pix0[3];
    int pix0_given;
    int custom_vectors;     /* any of -fdet/-sdet/-odet/-beam/-polar/-spindle/-twotheta_axis given */
    int curved_det;
    int point_pixel;
    double detector_mu;     /* 1/m; < 0 not given */
    double detector_thick;  /* m */
    double detector_thickstep; /* m; < 0 not given */
    int detector_thicksteps;   /* <= 0 not given */
    int oversample;         /* <= 0 auto */
    int oversample_thick, oversample_polar, oversample_omega;
    int roi[4];             /* xmin xmax ymin ymax, inclusive; -1 not given */
    const char *maskfile;
    const char *imgfile;

    /* --- background, noise, output scaling */
    double water_size;      /* m */
    long seed;              /* noise seed as given (positive) */
    int seed_set;
    double intfile_scale;   /* <= 0 auto */
    double pgm_scale;       /* <= 0 auto */
    double adc_offset;

    /* --- diagnostics */
    int printout;
    int printout_fpixel, printout_spixel;
} nbcl_config;

NBCL_API void nbcl_config_init(nbcl_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
