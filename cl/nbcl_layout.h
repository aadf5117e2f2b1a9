/* nbcl_layout.h — indices of the scalar parameter blocks passed to the pixel kernel.
 * The host fills a double array P[NBCL_P_COUNT] (converted to REAL for the device) and an int
 * array IP[NBCL_IP_COUNT]; both sides use these names, so the layout cannot drift. */
#ifndef NBCL_LAYOUT_H
#define NBCL_LAYOUT_H

enum nbcl_p_index {
    NBCL_P_PIX0 = 0,         /* 3: detector origin (m) */
    NBCL_P_FDET = 3,         /* 3: fast axis */
    NBCL_P_SDET = 6,         /* 3: slow axis */
    NBCL_P_ODET = 9,         /* 3: normal */
    NBCL_P_BEAM = 12,        /* 3: beam direction */
    NBCL_P_POLAR_VEC = 15,   /* 3: E-vector */
    NBCL_P_ASTAR = 18,       /* 3: a* (1/A, unrotated by phi/mosaic, as the reference uses it) */
    NBCL_P_BSTAR = 21,
    NBCL_P_CSTAR = 24,
    NBCL_P_PIXEL = 27,       /* pixel size (m) */
    NBCL_P_SUBPIXEL = 28,    /* pixel/oversample */
    NBCL_P_DISTANCE = 29,
    NBCL_P_CLOSE_DISTANCE = 30,
    NBCL_P_THICKSTEP = 31,
    NBCL_P_MU = 32,
    NBCL_P_THICK = 33,
    NBCL_P_POLARIZATION = 34,/* Kahn factor */
    NBCL_P_DMIN = 35,
    NBCL_P_I_BG = 36,
    NBCL_P_SCALE = 37,       /* r_e^2 * fluence / steps */
    NBCL_P_NA = 38,
    NBCL_P_NB = 39,
    NBCL_P_NC = 40,
    NBCL_P_FUDGE = 41,
    NBCL_P_DEFAULT_F = 42,
    NBCL_P_WATER = 43,
    NBCL_P_COUNT = 44
};

enum nbcl_ip_index {
    NBCL_IP_FPIXELS = 0,
    NBCL_IP_SPIXELS,
    NBCL_IP_OVERSAMPLE,
    NBCL_IP_THICKSTEPS,
    NBCL_IP_OS_THICK,
    NBCL_IP_OS_POLAR,
    NBCL_IP_OS_OMEGA,
    NBCL_IP_CURVED,
    NBCL_IP_POINT_PIXEL,
    NBCL_IP_NOPOLAR,
    NBCL_IP_SOURCES,
    NBCL_IP_NORIENT,         /* phisteps * mosaic domains */
    NBCL_IP_SHAPE,           /* 0 square, 1 round, 2 gauss, 3 tophat */
    NBCL_IP_INTERPOLATE,
    NBCL_IP_HKLS,            /* non-zero when a grid of F was read */
    NBCL_IP_H_MIN, NBCL_IP_H_MAX, NBCL_IP_K_MIN, NBCL_IP_K_MAX, NBCL_IP_L_MIN, NBCL_IP_L_MAX,
    NBCL_IP_H_RANGE, NBCL_IP_K_RANGE, NBCL_IP_L_RANGE,
    NBCL_IP_ROI_XMIN, NBCL_IP_ROI_XMAX, NBCL_IP_ROI_YMIN, NBCL_IP_ROI_YMAX,
    NBCL_IP_HAS_MASK,
    NBCL_IP_COUNT
};

/* per-source record: incident direction (unit, towards the detector) x,y,z and lambda (m) */
#define NBCL_SRC_STRIDE 4
/* per-orientation record: a, b, c (m) after phi rotation and mosaic domain */
#define NBCL_ORIENT_STRIDE 9
/* the most frames the vector kernel renders in one launch (frames that differ only in their
 * orientation table: nbcl_pixel_frames); the scalar kernel renders one */
#define NBCL_BATCH_MAX 16

#endif
