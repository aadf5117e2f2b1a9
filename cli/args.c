/* Table-driven parser for nanoBragg's command line (spec-a-cli). Flags are matched exactly
 * (the reference matches substrings, which is how -misset_seed also sets -misset and
 * -twotheta_axis also sets -twotheta; docs/parity.md). Values are converted to SI at parse time. */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RTD (180.0 / M_PI)

typedef enum {
    F_HKL, F_MAT, F_CELL, F_IMG, F_MASK, F_SOURCEFILE, F_DEFAULT_F, F_DUMP, F_NODUMP,
    F_PIXEL, F_DETPIXELS, F_DETPIXELS_F, F_DETPIXELS_S, F_DETSIZE, F_DETSIZE_F, F_DETSIZE_S,
    F_DISTANCE, F_CLOSE_DISTANCE, F_POINT_PIXEL, F_ROTX, F_ROTY, F_ROTZ, F_TWOTHETA,
    F_TWOTHETA_AXIS, F_CURVED, F_DET_ABS, F_DET_THICK, F_THICKSTEPS, F_MOSFLM, F_XDS, F_ADXV,
    F_DENZO, F_DIALS, F_PIVOT, F_FDET, F_SDET, F_ODET, F_BEAMV, F_POLARV, F_SPINDLE, F_PIX0,
    F_XBEAM, F_YBEAM, F_XCLOSE, F_YCLOSE, F_ORGX, F_ORGY, F_LAMBDA, F_ENERGY, F_DISPERSION,
    F_DISPSTEPS, F_DIVERGENCE, F_HDIVRANGE, F_VDIVRANGE, F_HDIVSTEP, F_VDIVSTEP, F_HDIVSTEPS,
    F_VDIVSTEPS, F_DIVSTEPS, F_ROUND_DIV, F_SQUARE_DIV, F_POLAR, F_NOPOLAR, F_NA, F_NB, F_NC,
    F_N, F_SAMPLESIZE, F_SAMPLE_X, F_SAMPLE_Y, F_SAMPLE_Z, F_SQUARE_XTAL, F_ROUND_XTAL,
    F_GAUSS_XTAL, F_TOPHAT, F_FUDGE, F_MOSAIC, F_MOSAIC_DOM, F_PHI, F_OSC, F_PHISTEP, F_PHISTEPS,
    F_DMIN, F_OVERSAMPLE, F_OS_THICK, F_OS_POLAR, F_OS_OMEGA, F_ROI, F_WATER, F_FLUENCE, F_FLUX,
    F_EXPOSURE, F_BEAMSIZE, F_FLOATFILE, F_INTFILE, F_SCALE, F_ADC, F_PGMFILE, F_PGMSCALE,
    F_NOISEFILE, F_NONOISE, F_CBFFILE, F_NEXUSFILE, F_NEXUS_COMP, F_PNGFILE, F_NOPGM, F_INTERPOLATE, F_NOINTERPOLATE, F_PRINTOUT,
    F_PRINTOUT_PIXEL, F_NOPROGRESS, F_PROGRESS, F_SEED, F_MOSAIC_SEED, F_MISSET_SEED, F_MISSET,
    F_STOL, F_NFRAMES, F_FRAMES, F_RESUME, F_HELP, F_DEVICE, F_LIST_DEVICES, F_PRECISION,
    F_VERSION, F_FAST_MATH, F_KERNEL_DIR
} flag_id;

typedef struct flag_def {
    const char *names;  /* space-separated spellings */
    flag_id id;
    int nargs;          /* -1: variable (handled by the flag) */
    const char *args;   /* argument text for usage */
    const char *help;   /* with units and default */
} flag_def;

static const flag_def FLAGS[] = {
    /* crystal */
    {"-cell", F_CELL, 6, "a b c al be ga", "unit cell (Angstrom, degrees); alternative to -mat"},
    {"-mat -matrix", F_MAT, 1, "FILE", "MOSFLM A matrix (reciprocal axes x lambda); alternative to -cell"},
    {"-misset", F_MISSET, -1, "rx ry rz|random", "crystal rotations about x,y,z (degrees), or random orientation"},
    {"-misset_seed", F_MISSET_SEED, 1, "N", "seed for -misset random (default: the -seed value)"},
    {"-N", F_N, 1, "N", "unit cells along a, b and c (default 1)"},
    {"-Na", F_NA, 1, "N", "unit cells along a"},
    {"-Nb", F_NB, 1, "N", "unit cells along b"},
    {"-Nc", F_NC, 1, "N", "unit cells along c"},
    {"-samplesize -sample_size -xtalsize -xtal_size", F_SAMPLESIZE, 1, "mm", "crystal full width in x, y and z (mm); overrides -N"},
    {"-sample_thick -sample_x -xtal_thick -xtal_x", F_SAMPLE_X, 1, "mm", "crystal size along x (mm)"},
    {"-sample_width -sample_y -xtal_width -xtal_y -width", F_SAMPLE_Y, 1, "mm", "crystal size along y (mm)"},
    {"-sample_height -sample_z -xtal_height -xtal_z -height -sample_heigh -xtal_heigh -heigh", F_SAMPLE_Z, 1, "mm", "crystal size along z (mm)"},
    {"-square_xtal", F_SQUARE_XTAL, 0, "", "parallelepiped crystal, sincg lattice transform (default)"},
    {"-round_xtal", F_ROUND_XTAL, 0, "", "ellipsoidal crystal (sinc3)"},
    {"-gauss_xtal", F_GAUSS_XTAL, 0, "", "Gaussian spots"},
    {"-tophat_spots -binary_spots", F_TOPHAT, 0, "", "flat-top spots clipped at the FWHM"},
    {"-fudge", F_FUDGE, 1, "x", "spot shape scale factor (default 1)"},
    {"-mosaic -mosaici -mosaic_spr -mosaic_spread", F_MOSAIC, 1, "deg", "isotropic mosaic spread (degrees, default 0)"},
    {"-mosaic_dom -mosaic_domains", F_MOSAIC_DOM, 1, "N", "mosaic domains (default 1, or 10 with a spread)"},
    {"-mosaic_seed", F_MOSAIC_SEED, 1, "N", "seed for mosaic domains (default 12345678)"},
    {"-phi", F_PHI, 1, "deg", "starting spindle angle (degrees, default 0)"},
    {"-osc", F_OSC, 1, "deg", "oscillation range (degrees)"},
    {"-phistep", F_PHISTEP, 1, "deg", "spindle step (degrees)"},
    {"-phisteps", F_PHISTEPS, 1, "N", "spindle steps (default 1)"},
    {"-nframes", F_NFRAMES, 1, "N", "nbcl: a series of N frames, frame k at -phi + (k-1) -osc (names: templates with #)"},
    {"-frames", F_FRAMES, 2, "FIRST LAST", "nbcl: render only frames FIRST..LAST of the -nframes series"},
    {"-resume", F_RESUME, 0, "", "nbcl: skip frames whose files already exist complete"},
    {"-spindle_axis", F_SPINDLE, 3, "x y z", "spindle rotation axis (sets CUSTOM convention)"},
    /* structure factors */
    {"-hkl", F_HKL, 1, "FILE", "text file of h k l F (P1, no symmetry); writes Fdump.bin"},
    {"-default_F", F_DEFAULT_F, 1, "F", "structure factor of every reflection not in -hkl (default 0)"},
    {"-dump -dumpfile", F_DUMP, 1, "FILE", "binary cache of -hkl (default Fdump.bin); read when -hkl is absent"},
    {"-nodump", F_NODUMP, 0, "", "neither read nor write the Fdump.bin cache"},
    {"-interpolate", F_INTERPOLATE, 0, "", "tricubic interpolation of F (default: on when any N <= 2)"},
    {"-nointerpolate", F_NOINTERPOLATE, 0, "", "nearest-neighbour F"},
    /* beam */
    {"-lambda -wave", F_LAMBDA, 1, "A", "wavelength (Angstrom, default 1)"},
    {"-energy", F_ENERGY, 1, "eV", "photon energy (eV); alternative to -lambda"},
    {"-dispersion", F_DISPERSION, 1, "%", "spectral width delta-lambda/lambda (percent, default 0)"},
    {"-dispsteps", F_DISPSTEPS, 1, "N", "wavelengths across the dispersion"},
    {"-divergence", F_DIVERGENCE, 1, "mrad", "horizontal and vertical divergence range (mrad)"},
    {"-hdivrange", F_HDIVRANGE, 1, "mrad", "horizontal divergence range (mrad)"},
    {"-vdivrange", F_VDIVRANGE, 1, "mrad", "vertical divergence range (mrad)"},
    {"-hdivstep", F_HDIVSTEP, 1, "mrad", "horizontal divergence step (mrad)"},
    {"-vdivstep", F_VDIVSTEP, 1, "mrad", "vertical divergence step (mrad)"},
    {"-hdivsteps", F_HDIVSTEPS, 1, "N", "horizontal divergence steps"},
    {"-vdivsteps", F_VDIVSTEPS, 1, "N", "vertical divergence steps"},
    {"-divsteps", F_DIVSTEPS, 1, "N", "divergence steps in both directions"},
    {"-round_div", F_ROUND_DIV, 0, "", "trim the divergence grid to an ellipse (default)"},
    {"-square_div", F_SQUARE_DIV, 0, "", "full rectangular divergence grid"},
    {"-sourcefile", F_SOURCEFILE, 1, "FILE", "sources: X Y Z [weight lambda] per line (m); weight and lambda columns ignored"},
    {"-fluence", F_FLUENCE, 1, "ph/m^2", "integrated fluence (photons/m^2, default 1.25932e29)"},
    {"-flux", F_FLUX, 1, "ph/s", "flux (photons/s); with -exposure and -beamsize sets the fluence"},
    {"-exposure", F_EXPOSURE, 1, "s", "exposure time (s, default 1)"},
    {"-beamsize", F_BEAMSIZE, 1, "mm", "beam size (mm, default 0.1); clips the sample"},
    {"-polar", F_POLAR, 1, "K", "Kahn polarization factor (default 0: unpolarized)"},
    {"-nopolar", F_NOPOLAR, 0, "", "no polarization correction"},
    {"-polar_vector", F_POLARV, 3, "x y z", "E-vector of the beam (sets CUSTOM convention)"},
    {"-beam_vector", F_BEAMV, 3, "x y z", "beam direction (sets CUSTOM convention)"},
    {"-dmin", F_DMIN, 1, "A", "skip scattering beyond this resolution (Angstrom, default 0: off)"},
    /* detector */
    {"-distance", F_DISTANCE, 1, "mm", "sample to detector centre along the beam (mm, default 100); pivot BEAM"},
    {"-close_distance", F_CLOSE_DISTANCE, 1, "mm", "sample to detector plane along its normal (mm); pivot SAMPLE"},
    {"-pixel", F_PIXEL, 1, "mm", "pixel size (mm, default 0.1)"},
    {"-detpixels", F_DETPIXELS, 1, "N", "pixels along both axes"},
    {"-detpixels_f -detpixels_x", F_DETPIXELS_F, 1, "N", "pixels along the fast axis"},
    {"-detpixels_s -detpixels_y", F_DETPIXELS_S, 1, "N", "pixels along the slow axis"},
    {"-detsize", F_DETSIZE, 1, "mm", "detector side (mm, default 102.4)"},
    {"-detsize_f", F_DETSIZE_F, 1, "mm", "detector fast side (mm)"},
    {"-detsize_s", F_DETSIZE_S, 1, "mm", "detector slow side (mm)"},
    {"-Xbeam", F_XBEAM, 1, "mm", "direct-beam position, convention X (mm); pivot BEAM"},
    {"-Ybeam", F_YBEAM, 1, "mm", "direct-beam position, convention Y (mm); pivot BEAM"},
    {"-Xclose", F_XCLOSE, 1, "mm", "near point, fast (mm); pivot SAMPLE"},
    {"-Yclose", F_YCLOSE, 1, "mm", "near point, slow (mm); pivot SAMPLE"},
    {"-ORGX", F_ORGX, 1, "pixels", "XDS origin, fast (pixels); pivot SAMPLE"},
    {"-ORGY", F_ORGY, 1, "pixels", "XDS origin, slow (pixels); pivot SAMPLE"},
    {"-pivot", F_PIVOT, 1, "beam|sample", "rotate the detector about the beam spot or the sample"},
    {"-mosflm", F_MOSFLM, 0, "", "MOSFLM convention (default)"},
    {"-xds", F_XDS, 0, "", "XDS convention"},
    {"-adxv", F_ADXV, 0, "", "ADXV convention"},
    {"-denzo", F_DENZO, 0, "", "DENZO convention"},
    {"-dials", F_DIALS, 0, "", "DIALS convention"},
    {"-fdet_vector", F_FDET, 3, "x y z", "fast axis (sets CUSTOM convention)"},
    {"-sdet_vector", F_SDET, 3, "x y z", "slow axis (sets CUSTOM convention)"},
    {"-odet_vector", F_ODET, 3, "x y z", "detector normal (sets CUSTOM convention)"},
    {"-pix0_vector", F_PIX0, 3, "x y z", "sample to first pixel (m) (sets CUSTOM convention)"},
    {"-twotheta_axis", F_TWOTHETA_AXIS, 3, "x y z", "two-theta axis (sets CUSTOM convention)"},
    {"-detector_rotx", F_ROTX, 1, "deg", "detector rotation about x (degrees)"},
    {"-detector_roty", F_ROTY, 1, "deg", "detector rotation about y (degrees)"},
    {"-detector_rotz", F_ROTZ, 1, "deg", "detector rotation about z (degrees)"},
    {"-twotheta", F_TWOTHETA, 1, "deg", "detector two-theta swing (degrees)"},
    {"-curved_det", F_CURVED, 0, "", "every pixel at the same distance from the sample"},
    {"-point_pixel", F_POINT_PIXEL, 0, "", "solid angle 1/R^2 (no obliquity)"},
    {"-detector_abs -detector_absorb -detector_absorption", F_DET_ABS, 1, "um|inf", "sensor attenuation depth (um); inf or 0: off"},
    {"-detector_thick", F_DET_THICK, 1, "um", "sensor thickness (um, default 0)"},
    {"-detector_thicksteps -thicksteps", F_THICKSTEPS, 1, "N", "sensor layers"},
    {"-oversample", F_OVERSAMPLE, 1, "N", "sub-pixels per pixel side (default: automatic)"},
    {"-oversample_thick", F_OS_THICK, 0, "", "recompute absorption per sub-pixel"},
    {"-oversample_polar", F_OS_POLAR, 0, "", "recompute polarization per sub-pixel"},
    {"-oversample_omega", F_OS_OMEGA, 0, "", "recompute solid angle per sub-pixel"},
    {"-roi", F_ROI, 4, "xmin xmax ymin ymax", "render only these pixels (inclusive)"},
    {"-img", F_IMG, 1, "FILE", "take detector and beam parameters from an SMV header"},
    {"-mask", F_MASK, 1, "FILE", "SMV image: pixels that are 0 are skipped"},
    /* background, noise, outputs */
    {"-water", F_WATER, 1, "um", "water background thickness (um, default 0)"},
    {"-floatfile -floatimage", F_FLOATFILE, 1, "FILE", "raw float32 image (default floatimage.bin)"},
    {"-intfile -intimage", F_INTFILE, 1, "FILE", "SMV image, scaled (default intimage.img)"},
    {"-scale", F_SCALE, 1, "x", "intfile scale (default: 55000/max)"},
    {"-adc", F_ADC, 1, "counts", "offset added to SMV pixels (default 40)"},
    {"-pgmfile -pgmimage", F_PGMFILE, 1, "FILE", "8-bit PGM image (default image.pgm)"},
    {"-pgmscale", F_PGMSCALE, 1, "x", "PGM scale (default: 250/(5 rmsd))"},
    {"-nopgm", F_NOPGM, 0, "", "do not write the PGM image"},
    {"-noisefile -noiseimage", F_NOISEFILE, 1, "FILE", "SMV image with Poisson noise (default noiseimage.img)"},
    {"-nonoise", F_NONOISE, 0, "", "do not write the noise image"},
    {"-cbffile", F_CBFFILE, 1, "FILE", "miniCBF photon counts: noise image less -adc (rounded float image with -nonoise); a # template per frame in a series (nbcl)"},
    {"-nexusfile", F_NEXUSFILE, 1, "FILE", "NeXus/NXmx HDF5 file of the same counts; one file for all frames of a series (nbcl)"},
    {"-nexus_compression", F_NEXUS_COMP, 1, "deflate|lz4|bslz4", "NXmx pixel compression (default deflate; lz4, bslz4: HDF5 filter plugins) (nbcl)"},
    {"-pngfile", F_PNGFILE, 1, "FILE", "8-bit PNG preview, scaled as the PGM (nbcl)"},
    {"-seed", F_SEED, 1, "N", "noise seed (default: from the clock)"},
    {"-stol -4stol -Q -stolout", F_STOL, 1, "FILE", "amorphous S(Q) table: accepted, not used (as nanoBragg)"},
    {"-printout", F_PRINTOUT, 0, "", "trace the brightest pixel: position, S, hkl, F_cell, F_latt, omega, polarization, I (nbcl's format)"},
    {"-printout_pixel", F_PRINTOUT_PIXEL, 2, "f s", "trace pixel (fast f, slow s) instead (implies -printout)"},
    {"-noprogress", F_NOPROGRESS, 0, "", "no progress meter"},
    {"-progress", F_PROGRESS, 0, "", "progress meter on stderr (default)"},
    /* nbcl's own */
    {"-device", F_DEVICE, 1, "SPEC", "OpenCL device: cpu, gpu, P:D or a name substring (env NBCL_DEVICE); 'all' or a comma list (0:0,0:1): one engine each, frames shared"},
    {"-list_devices --list-devices", F_LIST_DEVICES, 0, "", "list OpenCL devices and exit"},
    {"-precision", F_PRECISION, 1, "single|double", "kernel precision (default: double when the device has fp64)"},
    {"-fast_math", F_FAST_MATH, 0, "", "build kernels with -cl-fast-relaxed-math (not parity-tested)"},
    {"-kernel_dir", F_KERNEL_DIR, 1, "DIR", "read kernel sources from DIR (development)"},
    {"-version --version", F_VERSION, 0, "", "print the version and exit"},
    {"-h -help --help", F_HELP, 0, "", "this help"},
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

static const flag_def *lookup(const char *arg)
{
    for (size_t i = 0; i < NFLAGS; i++) {
        const char *p = FLAGS[i].names;
        size_t n = strlen(arg);
        while (*p) {
            size_t len = strcspn(p, " ");
            if (len == n && strncmp(p, arg, n) == 0)
                return &FLAGS[i];
            p += len;
            while (*p == ' ')
                p++;
        }
    }
    return NULL;
}

void nbcl_cli_usage(FILE *out)
{
    fprintf(out,
            "usage: nbcl -cell a b c al be ga | -mat FILE   -hkl FILE | -default_F F  [options]\n"
            "nanoBragg-compatible diffraction image simulator on OpenCL devices.\n"
            "Flags are nanoBragg's (single dash, same units). Options:\n");
    for (size_t i = 0; i < NFLAGS; i++) {
        char left[160];
        char first[64];
        size_t len = strcspn(FLAGS[i].names, " ");
        if (len >= sizeof first)
            len = sizeof first - 1;
        memcpy(first, FLAGS[i].names, len);
        first[len] = 0;
        snprintf(left, sizeof left, "%s %s", first, FLAGS[i].args);
        fprintf(out, "  %-34s %s", left, FLAGS[i].help);
        if (FLAGS[i].names[len])
            fprintf(out, " [also:%s]", FLAGS[i].names + len);
        fprintf(out, "\n");
    }
    fprintf(out, "Exit codes: 0 ok, 2 usage, 3 bad parameter, 4 input file, 5 device, 6 output, "
                 "7 non-finite image, 9 missing required input, 130 interrupted.\n");
}

/* Bounds that keep the physics finite (docs/parity.md, "ranges"): far outside anything
 * realistic, so no nanoBragg command line that makes sense changes meaning, yet tight enough that
 * the sub-path arithmetic cannot overflow or underflow to 0/0. In the flags' own units. */
#define LAMBDA_MIN_A 1e-6
#define LAMBDA_MAX_A 1e6
#define PIXEL_MIN_MM 1e-6
#define PIXEL_MAX_MM 1e4
#define DISTANCE_MIN_MM 1e-6
#define DISTANCE_MAX_MM 1e9
#define WATER_MAX_UM 1e6
#define EV_A 12398.42 /* the reference's hc in eV x Angstrom */

static int in_range(const char *what, double v, double lo, double hi, const char *unit,
                    char *err, size_t errlen)
{
    if (v >= lo && v <= hi)
        return 1;
    snprintf(err, errlen, "%s %g is outside the range nbcl accepts: %g to %g %s", what, v, lo,
             hi, unit);
    return 0;
}

static int parse_double(const char *flag, const char *s, double *out, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0') {
        snprintf(err, errlen, "%s: '%s' is not a number", flag, s);
        return 0;
    }
    if (!isfinite(v) && errno != ERANGE) { /* "inf", "nan" spelled out */
        snprintf(err, errlen, "%s: '%s' is not a finite number", flag, s);
        return 0;
    }
    if (errno == ERANGE && fabs(v) > 1.0) {
        snprintf(err, errlen, "%s: '%s' is too large for double precision (at most %g)", flag,
                 s, DBL_MAX);
        return 0;
    }
    if (errno == ERANGE) { /* underflow: 0 or a subnormal, which nbcl does not compute with */
        snprintf(err, errlen,
                 "%s: '%s' is too close to zero for double precision (smallest normal %g; "
                 "write 0 for zero)",
                 flag, s, DBL_MIN);
        return 0;
    }
    *out = v;
    return 1;
}

static int parse_int(const char *flag, const char *s, int *out, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0') {
        /* a whole number written as a float (12.5, 1e3) is still not a count */
        snprintf(err, errlen, "%s: '%s' is not an integer", flag, s);
        return 0;
    }
    if (errno == ERANGE || v > 2147483647L || v < -2147483647L) {
        snprintf(err, errlen, "%s: '%s' is out of range (an integer from -2147483647 to 2147483647)",
                 flag, s);
        return 0;
    }
    *out = (int)v;
    return 1;
}

static int parse_long(const char *flag, const char *s, long *out, char *err, size_t errlen)
{
    int v;
    if (!parse_int(flag, s, &v, err, errlen))
        return 0;
    *out = v;
    return 1;
}

typedef enum { PV_NONE = 0, PV_CONV, PV_FLAG } pivot_src;

static nbcl_status ingest_header(nbcl_cli *cli, const char *path, int is_mask, char *err,
                                 size_t errlen)
{
    nbcl_config *c = &cli->cfg;
    nbcl_smv m;
    nbcl_status st = nbcl_read_smv(path, &m, err, errlen);
    if (st != NBCL_OK)
        return st;
    double v;
    c->fpixels = m.width;
    c->spixels = m.height;
    v = nbcl_smv_value_exact(&m, "PIXEL_SIZE");
    if (!isnan(v))
        c->pixel_size = v / 1000.0;
    c->detsize_f = c->pixel_size * c->fpixels;
    c->detsize_s = c->pixel_size * c->spixels;
    v = nbcl_smv_value_exact(&m, "DISTANCE");
    if (!isnan(v))
        c->distance = v / 1000.0;
    v = nbcl_smv_value_exact(&m, "CLOSE_DISTANCE");
    if (!isnan(v))
        c->close_distance = v / 1000.0;
    v = nbcl_smv_value_exact(&m, "WAVELENGTH");
    if (!isnan(v))
        c->lambda0 = v / 1e10;
    v = nbcl_smv_value_exact(&m, "BEAM_CENTER_X");
    if (!isnan(v))
        c->Xbeam = v / 1000.0;
    v = nbcl_smv_value_exact(&m, "BEAM_CENTER_Y");
    if (!isnan(v))
        c->Ybeam = is_mask ? c->detsize_s - v / 1000.0 : v / 1000.0;
    v = nbcl_smv_value_exact(&m, "ORGX");
    if (isnan(v))
        v = nbcl_smv_value_exact(&m, "XDS_ORGX");
    if (!isnan(v))
        c->ORGX = v;
    v = nbcl_smv_value_exact(&m, "ORGY");
    if (isnan(v))
        v = nbcl_smv_value_exact(&m, "XDS_ORGY");
    if (!isnan(v))
        c->ORGY = v;
    v = nbcl_smv_value_exact(&m, "PHI");
    if (!isnan(v)) {
        c->phi0 = v / RTD;
        cli->phi_deg = v;
    }
    v = nbcl_smv_value_exact(&m, "OSC_RANGE");
    if (!isnan(v)) {
        c->osc = v / RTD;
        cli->osc_deg = v;
    }
    v = nbcl_smv_value_exact(&m, "TWOTHETA");
    if (!isnan(v))
        c->twotheta = v / RTD;
    nbcl_smv_free(&m);
    /* the header's values obey the flags' ranges */
    char what[4200];
    const double vals[4] = {c->pixel_size * 1000.0, c->distance * 1000.0,
                            c->close_distance * 1000.0, c->lambda0 * 1e10};
    static const char *const keys[4] = {"PIXEL_SIZE", "DISTANCE", "CLOSE_DISTANCE", "WAVELENGTH"};
    static const double lo[4] = {PIXEL_MIN_MM, DISTANCE_MIN_MM, DISTANCE_MIN_MM, LAMBDA_MIN_A};
    static const double hi[4] = {PIXEL_MAX_MM, DISTANCE_MAX_MM, DISTANCE_MAX_MM, LAMBDA_MAX_A};
    static const char *const unit[4] = {"mm", "mm", "mm", "Angstrom"};
    for (int i = 0; i < 4; i++) {
        if (isnan(vals[i]))
            continue; /* not set (close distance) */
        snprintf(what, sizeof what, "%s: %s", path, keys[i]);
        if (!in_range(what, vals[i], lo[i], hi[i], unit[i], err, errlen))
            return NBCL_INVALID_ARGUMENT;
    }
    return NBCL_OK;
}

int nbcl_cli_parse(int argc, char **argv, nbcl_cli *cli, char *err, size_t errlen)
{
    memset(cli, 0, sizeof *cli);
    nbcl_config *c = &cli->cfg;
    nbcl_config_init(c);
    cli->floatfile = "floatimage.bin";
    cli->intfile = "intimage.img";
    cli->pgmfile = "image.pgm";
    cli->noisefile = "noiseimage.img";
    cli->write_float = cli->write_int = cli->write_pgm = cli->write_noise = 1;
    cli->progress = 1;
    cli->precision = NBCL_PRECISION_AUTO;
    cli->nframes = 1;
    cli->phi_deg = cli->osc_deg = NAN;

    /* pass 1: -img/-mask headers first (command-line values override them); in argv order, so
     * the last file read wins for shared keys */
    for (int i = 1; i < argc; i++) {
        const flag_def *f = lookup(argv[i]);
        if (!f)
            continue;
        if ((f->id == F_IMG || f->id == F_MASK) && i + 1 < argc) {
            nbcl_status st = ingest_header(cli, argv[i + 1], f->id == F_MASK, err, errlen);
            if (st != NBCL_OK) /* a signal while waiting on a FIFO is not an input error */
                return st == NBCL_INTERRUPTED        ? NBCL_EXIT_INTERRUPTED
                       : st == NBCL_INVALID_ARGUMENT ? NBCL_EXIT_PARAM /* header out of range */
                                                     : NBCL_EXIT_INPUT;
            if (f->id == F_MASK)
                c->maskfile = argv[i + 1];
            else
                c->imgfile = argv[i + 1];
        }
        if (f->nargs > 0)
            i += f->nargs;
    }

    pivot_src psrc = PV_NONE, psrc_tt = PV_NONE;
    nbcl_pivot pval = NBCL_PIVOT_BEAM, pval_tt = NBCL_PIVOT_BEAM;
    int explicit_pivot = 0;
    nbcl_pivot explicit_val = NBCL_PIVOT_BEAM;
#define PIVOT_FLAG(v) (psrc = psrc_tt = PV_FLAG, pval = pval_tt = (v))

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const flag_def *f = lookup(a);
        if (!f) {
            if (a[0] == '-')
                snprintf(err, errlen, "unknown flag '%s' (see nbcl -h)", a);
            else
                snprintf(err, errlen, "unexpected argument '%s' (flags start with '-'; see nbcl -h)", a);
            return NBCL_EXIT_USAGE;
        }
        int need = f->nargs;
        if (f->id == F_MISSET)
            need = (i + 1 < argc && strncasecmp(argv[i + 1], "rand", 4) == 0) ? 1 : 3;
        if (need > 0 && i + need >= argc) {
            snprintf(err, errlen, "%s needs %d value%s (%s)", a, need, need > 1 ? "s" : "",
                     f->args);
            return NBCL_EXIT_USAGE;
        }
        char **v = argv + i + 1;
        double d[6];
        int n;
        for (int k = 0; k < need; k++)
            if (!v[k][0]) {
                snprintf(err, errlen, "%s: empty value", a);
                return NBCL_EXIT_USAGE;
            }
#define D(k) do { if (!parse_double(a, v[k], &d[k], err, errlen)) return NBCL_EXIT_USAGE; } while (0)
#define I(dst) do { if (!parse_int(a, v[0], &n, err, errlen)) return NBCL_EXIT_USAGE; (dst) = n; } while (0)
#define POS(k, what) do { if (!(d[k] > 0)) { snprintf(err, errlen, "%s must be positive (got %s)", a, v[k]); return NBCL_EXIT_PARAM; } } while (0)
#define RANGE(k, lo, hi, unit) do { if (!in_range(a, d[k], lo, hi, unit, err, errlen)) return NBCL_EXIT_PARAM; } while (0)
#define NONNEG(k) do { if (d[k] < 0) { snprintf(err, errlen, "%s must not be negative (got %s)", a, v[k]); return NBCL_EXIT_PARAM; } } while (0)
        switch (f->id) {
        case F_HKL: c->hklfile = v[0]; break;
        case F_MAT: c->matfile = v[0]; break;
        case F_CELL:
            for (int k = 0; k < 6; k++)
                D(k);
            for (int k = 0; k < 3; k++)
                POS(k, "cell length");
            for (int k = 3; k < 6; k++)
                if (!(d[k] > 0 && d[k] < 180)) {
                    snprintf(err, errlen, "-cell: angle %s is not between 0 and 180 degrees", v[k]);
                    return NBCL_EXIT_PARAM;
                }
            c->user_cell = 1;
            c->cell[0] = d[0];
            c->cell[1] = d[1];
            c->cell[2] = d[2];
            c->cell[3] = d[3] / RTD;
            c->cell[4] = d[4] / RTD;
            c->cell[5] = d[5] / RTD;
            break;
        case F_IMG:
        case F_MASK: break; /* handled in pass 1 */
        case F_SOURCEFILE: c->sourcefile = v[0]; break;
        case F_DEFAULT_F: D(0); c->default_F = d[0]; break;
        case F_DUMP: c->dumpfile = v[0]; break;
        case F_NODUMP: c->read_dump = c->write_dump = 0; break;
        case F_PIXEL: D(0); POS(0, ""); RANGE(0, PIXEL_MIN_MM, PIXEL_MAX_MM, "mm"); c->pixel_size = d[0] / 1000.0; break;
        case F_DETPIXELS: I(c->fpixels); if (n <= 0) goto positive; c->spixels = n; break;
        case F_DETPIXELS_F: I(c->fpixels); if (n <= 0) goto positive; break;
        case F_DETPIXELS_S: I(c->spixels); if (n <= 0) goto positive; break;
        case F_DETSIZE: D(0); POS(0, ""); c->detsize_f = c->detsize_s = d[0] / 1000.0; break;
        case F_DETSIZE_F: D(0); POS(0, ""); c->detsize_f = d[0] / 1000.0; break;
        case F_DETSIZE_S: D(0); POS(0, ""); c->detsize_s = d[0] / 1000.0; break;
        case F_DISTANCE: D(0); POS(0, ""); RANGE(0, DISTANCE_MIN_MM, DISTANCE_MAX_MM, "mm"); c->distance = d[0] / 1000.0; PIVOT_FLAG(NBCL_PIVOT_BEAM); break;
        case F_CLOSE_DISTANCE: D(0); POS(0, ""); RANGE(0, DISTANCE_MIN_MM, DISTANCE_MAX_MM, "mm"); c->close_distance = d[0] / 1000.0; PIVOT_FLAG(NBCL_PIVOT_SAMPLE); break;
        case F_POINT_PIXEL: c->point_pixel = 1; break;
        case F_ROTX: D(0); c->detector_rotx = d[0] / RTD; break;
        case F_ROTY: D(0); c->detector_roty = d[0] / RTD; break;
        case F_ROTZ: D(0); c->detector_rotz = d[0] / RTD; break;
        case F_TWOTHETA:
            D(0);
            c->twotheta = d[0] / RTD;
            /* the reference swings about the sample; its convention block keeps that only for
             * CUSTOM geometry (see docs/parity.md) */
            psrc_tt = PV_FLAG;
            pval_tt = NBCL_PIVOT_SAMPLE;
            break;
        case F_CURVED: c->curved_det = 1; break;
        case F_DET_ABS:
            if (strcasecmp(v[0], "inf") == 0 || strcasecmp(v[0], "infinity") == 0) {
                c->detector_thick = 0.0;
                c->detector_mu = 0.0;
            } else {
                D(0);
                NONNEG(0);
                if (d[0] == 0.0) {
                    c->detector_thick = 0.0;
                    c->detector_mu = 0.0;
                } else {
                    c->detector_mu = 1.0 / (d[0] * 1e-6);
                }
            }
            break;
        case F_DET_THICK: D(0); NONNEG(0); c->detector_thick = d[0] * 1e-6; break;
        case F_THICKSTEPS: I(c->detector_thicksteps); if (n <= 0) goto positive; break;
        case F_MOSFLM: c->convention = NBCL_CONV_MOSFLM; psrc = psrc_tt = PV_CONV; break;
        case F_XDS: c->convention = NBCL_CONV_XDS; psrc = psrc_tt = PV_CONV; break;
        case F_ADXV: c->convention = NBCL_CONV_ADXV; psrc = psrc_tt = PV_CONV; break;
        case F_DENZO: c->convention = NBCL_CONV_DENZO; psrc = psrc_tt = PV_CONV; break;
        case F_DIALS: c->convention = NBCL_CONV_DIALS; psrc = psrc_tt = PV_CONV; break;
        case F_PIVOT:
            if (strcasecmp(v[0], "beam") == 0)
                explicit_val = NBCL_PIVOT_BEAM;
            else if (strcasecmp(v[0], "sample") == 0)
                explicit_val = NBCL_PIVOT_SAMPLE;
            else {
                snprintf(err, errlen, "-pivot: expected 'beam' or 'sample', got '%s'", v[0]);
                return NBCL_EXIT_USAGE;
            }
            explicit_pivot = 1;
            break;
        case F_FDET: case F_SDET: case F_ODET: case F_BEAMV: case F_POLARV: case F_SPINDLE:
        case F_PIX0: case F_TWOTHETA_AXIS: {
            D(0); D(1); D(2);
            double *dst = f->id == F_FDET ? c->fdet : f->id == F_SDET ? c->sdet
                        : f->id == F_ODET ? c->odet : f->id == F_BEAMV ? c->beam_vector
                        : f->id == F_POLARV ? c->polar_vector : f->id == F_SPINDLE ? c->spindle
                        : f->id == F_PIX0 ? c->pix0 : c->twotheta_axis;
            if (f->id != F_PIX0 && d[0] == 0 && d[1] == 0 && d[2] == 0) {
                snprintf(err, errlen, "%s: zero-length vector", a);
                return NBCL_EXIT_PARAM;
            }
            dst[0] = d[0];
            dst[1] = d[1];
            dst[2] = d[2];
            if (f->id == F_PIX0)
                c->pix0_given = 1;
            if (f->id == F_TWOTHETA_AXIS)
                c->twotheta_axis_given = 1;
            c->custom_vectors = 1;
            c->convention = NBCL_CONV_CUSTOM;
            break;
        }
        case F_XBEAM: D(0); c->Xbeam = d[0] / 1000.0; PIVOT_FLAG(NBCL_PIVOT_BEAM); break;
        case F_YBEAM: D(0); c->Ybeam = d[0] / 1000.0; PIVOT_FLAG(NBCL_PIVOT_BEAM); break;
        case F_XCLOSE: D(0); c->Xclose = d[0] / 1000.0; PIVOT_FLAG(NBCL_PIVOT_SAMPLE); break;
        case F_YCLOSE: D(0); c->Yclose = d[0] / 1000.0; PIVOT_FLAG(NBCL_PIVOT_SAMPLE); break;
        case F_ORGX: D(0); c->ORGX = d[0]; PIVOT_FLAG(NBCL_PIVOT_SAMPLE); break;
        case F_ORGY: D(0); c->ORGY = d[0]; PIVOT_FLAG(NBCL_PIVOT_SAMPLE); break;
        case F_LAMBDA: D(0); POS(0, ""); RANGE(0, LAMBDA_MIN_A, LAMBDA_MAX_A, "Angstrom"); c->lambda0 = d[0] / 1.0e10; break;
        case F_ENERGY: D(0); POS(0, ""); RANGE(0, EV_A / LAMBDA_MAX_A, EV_A / LAMBDA_MIN_A, "eV"); c->lambda0 = (EV_A / d[0]) / 1.0e10; break;
        case F_DISPERSION: D(0); NONNEG(0); c->dispersion = d[0] / 100.0; break;
        case F_DISPSTEPS: I(c->dispsteps); if (n < 0) goto nonneg; break;
        case F_DIVERGENCE: D(0); NONNEG(0); c->hdivrange = c->vdivrange = d[0] / 1000.0; break;
        case F_HDIVRANGE: D(0); NONNEG(0); c->hdivrange = d[0] / 1000.0; break;
        case F_VDIVRANGE: D(0); NONNEG(0); c->vdivrange = d[0] / 1000.0; break;
        case F_HDIVSTEP: D(0); NONNEG(0); c->hdivstep = d[0] / 1000.0; break;
        case F_VDIVSTEP: D(0); NONNEG(0); c->vdivstep = d[0] / 1000.0; break;
        case F_HDIVSTEPS: I(c->hdivsteps); if (n < 0) goto nonneg; break;
        case F_VDIVSTEPS: I(c->vdivsteps); if (n < 0) goto nonneg; break;
        case F_DIVSTEPS: I(c->hdivsteps); if (n < 0) goto nonneg; c->vdivsteps = n; break;
        case F_ROUND_DIV: c->round_div = 1; break;
        case F_SQUARE_DIV: c->round_div = 0; break;
        case F_POLAR: D(0); RANGE(0, -1.0, 1.0, "(a fraction)"); c->polarization = d[0]; c->nopolar = 0; break;
        case F_NOPOLAR: c->nopolar = 1; break;
        case F_NA: I(c->Na); if (n < 0) goto nonneg; break;
        case F_NB: I(c->Nb); if (n < 0) goto nonneg; break;
        case F_NC: I(c->Nc); if (n < 0) goto nonneg; break;
        case F_N: I(c->Na); if (n < 0) goto nonneg; c->Nb = c->Nc = n; break;
        case F_SAMPLESIZE: D(0); NONNEG(0); c->sample_x = c->sample_y = c->sample_z = d[0] / 1000; break;
        case F_SAMPLE_X: D(0); NONNEG(0); c->sample_x = d[0] / 1000; break;
        case F_SAMPLE_Y: D(0); NONNEG(0); c->sample_y = d[0] / 1000; break;
        case F_SAMPLE_Z: D(0); NONNEG(0); c->sample_z = d[0] / 1000; break;
        case F_SQUARE_XTAL: c->shape = NBCL_SHAPE_SQUARE; break;
        case F_ROUND_XTAL: c->shape = NBCL_SHAPE_ROUND; break;
        case F_GAUSS_XTAL: c->shape = NBCL_SHAPE_GAUSS; break;
        case F_TOPHAT: c->shape = NBCL_SHAPE_TOPHAT; break;
        case F_FUDGE: D(0); c->fudge = d[0]; break;
        case F_MOSAIC: D(0); NONNEG(0); c->mosaic_spread = d[0] / RTD; break;
        case F_MOSAIC_DOM: I(c->mosaic_domains); if (n < 0) goto nonneg; break;
        case F_PHI: D(0); c->phi0 = d[0] / RTD; cli->phi_deg = d[0]; break;
        case F_OSC: D(0); NONNEG(0); c->osc = d[0] / RTD; cli->osc_deg = d[0]; break;
        case F_NFRAMES: I(cli->nframes); if (n <= 0) goto positive; break;
        case F_FRAMES:
            if (!parse_int(a, v[0], &cli->frame_first, err, errlen) ||
                !parse_int(a, v[1], &cli->frame_last, err, errlen))
                return NBCL_EXIT_USAGE;
            break;
        case F_RESUME: cli->resume = 1; break;
        case F_PHISTEP: D(0); NONNEG(0); c->phistep = d[0] / RTD; break;
        case F_PHISTEPS: I(c->phisteps); if (n < 0) goto nonneg; break;
        case F_DMIN: D(0); NONNEG(0); c->dmin = d[0] * 1e-10; break;
        case F_OVERSAMPLE: I(c->oversample); if (n <= 0) goto positive; break;
        case F_OS_THICK: c->oversample_thick = 1; break;
        case F_OS_POLAR: c->oversample_polar = 1; break;
        case F_OS_OMEGA: c->oversample_omega = 1; break;
        case F_ROI:
            for (int k = 0; k < 4; k++)
                if (!parse_int(a, v[k], &c->roi[k], err, errlen))
                    return NBCL_EXIT_USAGE;
            if (c->roi[0] < 0 || c->roi[2] < 0 || c->roi[1] < c->roi[0] || c->roi[3] < c->roi[2]) {
                snprintf(err, errlen, "-roi: need 0 <= xmin <= xmax and 0 <= ymin <= ymax");
                return NBCL_EXIT_PARAM;
            }
            break;
        case F_WATER: D(0); NONNEG(0); RANGE(0, 0.0, WATER_MAX_UM, "um"); c->water_size = d[0] / 1e6; break;
        case F_FLUENCE: D(0); NONNEG(0); c->fluence = d[0]; break;
        case F_FLUX: D(0); NONNEG(0); c->flux = d[0]; break;
        case F_EXPOSURE: D(0); c->exposure = d[0]; break;
        case F_BEAMSIZE: D(0); c->beamsize = d[0] / 1000; break;
        case F_FLOATFILE: cli->floatfile = v[0]; cli->write_float = 1; break;
        case F_INTFILE: cli->intfile = v[0]; cli->write_int = 1; break;
        case F_SCALE: D(0); c->intfile_scale = d[0]; break;
        case F_ADC: D(0); c->adc_offset = d[0]; break;
        case F_PGMFILE: cli->pgmfile = v[0]; cli->write_pgm = 1; break;
        case F_PGMSCALE: D(0); c->pgm_scale = d[0]; cli->write_pgm = 1; break;
        case F_NOPGM: cli->write_pgm = 0; break;
        case F_NOISEFILE: cli->noisefile = v[0]; cli->write_noise = 1; break;
        case F_NONOISE: cli->write_noise = 0; break;
        case F_CBFFILE: cli->cbffile = v[0]; break;
        case F_NEXUSFILE: cli->nexusfile = v[0]; break;
        case F_PNGFILE: cli->pngfile = v[0]; break;
        case F_NEXUS_COMP:
            if (strcasecmp(v[0], "deflate") == 0)
                cli->nexus_compression = NBCL_NEXUS_DEFLATE;
            else if (strcasecmp(v[0], "lz4") == 0)
                cli->nexus_compression = NBCL_NEXUS_LZ4;
            else if (strcasecmp(v[0], "bslz4") == 0)
                cli->nexus_compression = NBCL_NEXUS_BSLZ4;
            else {
                snprintf(err, errlen, "-nexus_compression: expected deflate, lz4 or bslz4, got '%s'", v[0]);
                return NBCL_EXIT_USAGE;
            }
            break;
        case F_INTERPOLATE: c->interpolate = 1; break;
        case F_NOINTERPOLATE: c->interpolate = 0; break;
        case F_PRINTOUT: c->printout = 1; break;
        case F_PRINTOUT_PIXEL:
            if (!parse_int(a, v[0], &c->printout_fpixel, err, errlen) ||
                !parse_int(a, v[1], &c->printout_spixel, err, errlen))
                return NBCL_EXIT_USAGE;
            if (c->printout_fpixel < 0 || c->printout_spixel < 0) {
                snprintf(err, errlen, "-printout_pixel: pixel indices start at 0 (got %s %s)",
                         v[0], v[1]);
                return NBCL_EXIT_PARAM;
            }
            c->printout = 1;
            break;
        case F_NOPROGRESS: cli->progress = 0; break;
        case F_PROGRESS: cli->progress = 1; break;
        case F_SEED: if (!parse_long(a, v[0], &c->seed, err, errlen)) return NBCL_EXIT_USAGE; c->seed_set = 1; break;
        case F_MOSAIC_SEED: if (!parse_long(a, v[0], &c->mosaic_seed, err, errlen)) return NBCL_EXIT_USAGE; break;
        case F_MISSET_SEED: if (!parse_long(a, v[0], &c->misset_seed, err, errlen)) return NBCL_EXIT_USAGE; c->misset_seed_set = 1; break;
        case F_MISSET:
            if (need == 1) {
                c->misset_mode = -1;
            } else {
                D(0); D(1); D(2);
                c->misset_mode = 1;
                c->misset[0] = d[0] / RTD;
                c->misset[1] = d[1] / RTD;
                c->misset[2] = d[2] / RTD;
            }
            break;
        case F_STOL: break;
        case F_HELP: cli->help = 1; break;
        case F_DEVICE: cli->device = v[0]; break;
        case F_LIST_DEVICES: cli->list_devices = 1; break;
        case F_PRECISION:
            if (strcasecmp(v[0], "single") == 0 || strcmp(v[0], "32") == 0 || strcasecmp(v[0], "float") == 0)
                cli->precision = NBCL_PRECISION_F32;
            else if (strcasecmp(v[0], "double") == 0 || strcmp(v[0], "64") == 0)
                cli->precision = NBCL_PRECISION_F64;
            else {
                snprintf(err, errlen, "-precision: expected 'single' or 'double', got '%s'", v[0]);
                return NBCL_EXIT_USAGE;
            }
            break;
        case F_VERSION: cli->version = 1; break;
        case F_FAST_MATH: cli->fast_math = 1; break;
        case F_KERNEL_DIR: cli->kernel_dir = v[0]; break;
        }
        i += need;
        continue;
    positive:
        snprintf(err, errlen, "%s must be a positive integer (got %s)", a, v[0]);
        return NBCL_EXIT_PARAM;
    nonneg:
        snprintf(err, errlen, "%s must not be negative (got %s)", a, v[0]);
        return NBCL_EXIT_PARAM;
    }
#undef D
#undef I
#undef POS
#undef NONNEG
#undef RANGE
#undef PIVOT_FLAG
    /* spec-a-cli precedence: explicit -pivot > pivot-setting flags (argv order) > the
     * convention's default. -twotheta asks for a sample pivot only in CUSTOM geometry. */
    if (explicit_pivot) {
        c->pivot = explicit_val;
        c->pivot_given = 1;
    } else if (c->convention == NBCL_CONV_CUSTOM ? psrc_tt == PV_FLAG : psrc == PV_FLAG) {
        c->pivot = c->convention == NBCL_CONV_CUSTOM ? pval_tt : pval;
        c->pivot_given = 1;
    }
    if (c->user_cell && c->matfile) {
        snprintf(err, errlen, "-cell and -mat both give the crystal: use one of them");
        return NBCL_EXIT_USAGE;
    }
    if (!c->misset_seed_set && c->seed_set) {
        c->misset_seed = c->seed;
        c->misset_seed_set = 1;
    }
    return 0;
}

size_t nbcl_cli_files(const nbcl_cli *cli, nbcl_file_ref *out, size_t max)
{
    const nbcl_config *c = &cli->cfg;
    const int cache_out = c->hklfile && c->write_dump; /* written after a good run */
    const int cache_in = !c->hklfile && c->read_dump;  /* read when it exists */
    const nbcl_file_ref all[] = {
        {"-floatfile", cli->write_float ? cli->floatfile : NULL, 1},
        {"-intfile", cli->write_int ? cli->intfile : NULL, 1},
        {"-pgmfile", cli->write_pgm ? cli->pgmfile : NULL, 1},
        {"-noisefile", cli->write_noise ? cli->noisefile : NULL, 1},
        {"-cbffile", cli->cbffile, 1},
        {"-nexusfile", cli->nexusfile, 1},
        {"-pngfile", cli->pngfile, 1},
        {"-dumpfile (the structure-factor cache)", cache_out ? c->dumpfile : NULL, 1},
        {"-dumpfile (the structure-factor cache)", cache_in ? c->dumpfile : NULL, 0},
        {"-hkl", c->hklfile, 0},
        {"-mat", c->matfile, 0},
        {"-sourcefile", c->sourcefile, 0},
        {"-img", c->imgfile, 0},
        {"-mask", c->maskfile, 0},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i].path && all[i].path[0] && n < max)
            out[n++] = all[i];
    return n;
}
