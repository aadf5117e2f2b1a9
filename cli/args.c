/* nanoBragg's command line (spec-a-cli), parsed from one table: each flag's spellings, values,
 * unit conversion, checks, destination and help text are a row of FLAGS below; the help
 * (nbcl_cli_usage, and from it the man page) is generated from the same rows. Only flags with
 * real logic (-cell, -misset, -energy, -detector_abs, -roi, -printout_pixel, word choices, the
 * -img/-mask headers) have handlers. Flags are matched exactly (the reference matches substrings,
 * which is how -misset_seed also sets -misset and -twotheta_axis also sets -twotheta;
 * docs/parity.md). Values are converted to SI at parse time. */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RTD (180.0 / M_PI)

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

/* what the parse has seen so far beyond the nbcl_cli it fills */
typedef struct nbcl_cli_state {
    nbcl_cli *cli;
    char *err;
    size_t errlen;
    pivot_src psrc, psrc_tt;          /* last pivot-setting flag or convention (and for CUSTOM) */
    nbcl_pivot pval, pval_tt;
    int explicit_pivot;               /* -pivot given */
    nbcl_pivot explicit_val;
} nbcl_cli_state;

/* the member a destination names (NBCL_CLI_DST_* in args.h) */
_Static_assert(sizeof(nbcl_convention) == sizeof(int) && sizeof(nbcl_shape) == sizeof(int),
               "conventions and shapes are stored as int");
static void *member(nbcl_cli *cli, size_t dst)
{
    return (char *)cli + NBCL_CLI_DST_OFFSET(dst);
}

/* an integer into an int, enum or double destination */
static void store_int(nbcl_cli *cli, size_t dst, int v)
{
    if (NBCL_CLI_DST_TYPE(dst) == NBCL_DST_DOUBLE)
        *(double *)member(cli, dst) = v;
    else
        *(int *)member(cli, dst) = v;
}

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

/* ------------------------------------------------------------------ handlers: flags with logic */
static int reject(nbcl_cli_state *st, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int reject(nbcl_cli_state *st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, st->errlen, fmt, ap);
    va_end(ap);
    return code;
}

static int number(nbcl_cli_state *st, const char *a, const char *s, double *out)
{
    return parse_double(a, s, out, st->err, st->errlen) ? 0 : NBCL_EXIT_USAGE;
}

/* -cell a b c al be ga: positive lengths, angles strictly between 0 and 180 degrees */
static int h_cell(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v, int need)
{
    (void)f;
    (void)need;
    nbcl_config *c = &st->cli->cfg;
    double d[6];
    for (int k = 0; k < 6; k++)
        if (number(st, a, v[k], &d[k]))
            return NBCL_EXIT_USAGE;
    for (int k = 0; k < 3; k++)
        if (!(d[k] > 0))
            return reject(st, NBCL_EXIT_PARAM, "%s must be positive (got %s)", a, v[k]);
    for (int k = 3; k < 6; k++)
        if (!(d[k] > 0 && d[k] < 180))
            return reject(st, NBCL_EXIT_PARAM, "-cell: angle %s is not between 0 and 180 degrees",
                        v[k]);
    c->user_cell = 1;
    for (int k = 0; k < 6; k++)
        c->cell[k] = k < 3 ? d[k] : d[k] / RTD;
    return 0;
}

/* -img/-mask: their headers were read before the other flags (nbcl_cli_parse) */
static int h_header(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v, int need)
{
    (void)st, (void)f, (void)a, (void)v, (void)need;
    return 0;
}

/* -energy eV: the wavelength, hc / E, in the range -lambda accepts */
static int h_energy(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v, int need)
{
    (void)f;
    (void)need;
    double d;
    if (number(st, a, v[0], &d))
        return NBCL_EXIT_USAGE;
    if (!(d > 0))
        return reject(st, NBCL_EXIT_PARAM, "%s must be positive (got %s)", a, v[0]);
    if (!in_range(a, d, EV_A / LAMBDA_MAX_A, EV_A / LAMBDA_MIN_A, "eV", st->err, st->errlen))
        return NBCL_EXIT_PARAM;
    st->cli->cfg.lambda0 = (EV_A / d) / 1.0e10;
    return 0;
}

/* -detector_abs um|inf: the attenuation depth; inf or 0 switch absorption off */
static int h_det_abs(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v, int need)
{
    (void)f;
    (void)need;
    nbcl_config *c = &st->cli->cfg;
    double d = 0.0;
    if (strcasecmp(v[0], "inf") != 0 && strcasecmp(v[0], "infinity") != 0) {
        if (number(st, a, v[0], &d))
            return NBCL_EXIT_USAGE;
        if (d < 0)
            return reject(st, NBCL_EXIT_PARAM, "%s must not be negative (got %s)", a, v[0]);
    }
    if (d == 0.0) {
        c->detector_thick = 0.0;
        c->detector_mu = 0.0;
    } else {
        c->detector_mu = 1.0 / (d * 1e-6);
    }
    return 0;
}

/* a word from a list, case-insensitively: its index, or -1 */
static int choice(const char *s, const char *const *words)
{
    for (int k = 0; words[k]; k++)
        if (strcasecmp(s, words[k]) == 0)
            return k;
    return -1;
}

static int h_pivot(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v, int need)
{
    (void)f, (void)a, (void)need;
    static const char *const words[] = {"beam", "sample", NULL};
    int k = choice(v[0], words);
    if (k < 0)
        return reject(st, NBCL_EXIT_USAGE, "-pivot: expected 'beam' or 'sample', got '%s'", v[0]);
    st->explicit_val = k == 0 ? NBCL_PIVOT_BEAM : NBCL_PIVOT_SAMPLE;
    st->explicit_pivot = 1;
    return 0;
}

static int h_nexus_comp(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v,
                        int need)
{
    (void)f, (void)a, (void)need;
    static const char *const words[] = {"deflate", "lz4", "bslz4", NULL};
    static const nbcl_nexus_compression val[] = {NBCL_NEXUS_DEFLATE, NBCL_NEXUS_LZ4,
                                                 NBCL_NEXUS_BSLZ4};
    int k = choice(v[0], words);
    if (k < 0)
        return reject(st, NBCL_EXIT_USAGE,
                    "-nexus_compression: expected deflate, lz4 or bslz4, got '%s'", v[0]);
    st->cli->nexus_compression = val[k];
    return 0;
}

static int h_precision(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v,
                       int need)
{
    (void)f, (void)a, (void)need;
    static const char *const words[] = {"single", "32", "float", "double", "64", NULL};
    int k = choice(v[0], words);
    if (k < 0)
        return reject(st, NBCL_EXIT_USAGE, "-precision: expected 'single' or 'double', got '%s'",
                    v[0]);
    st->cli->precision = k < 3 ? NBCL_PRECISION_F32 : NBCL_PRECISION_F64;
    return 0;
}

/* -roi xmin xmax ymin ymax: inclusive pixel bounds, in order */
static int h_roi(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v, int need)
{
    (void)f;
    (void)need;
    int *r = st->cli->cfg.roi;
    for (int k = 0; k < 4; k++)
        if (!parse_int(a, v[k], &r[k], st->err, st->errlen))
            return NBCL_EXIT_USAGE;
    if (r[0] < 0 || r[2] < 0 || r[1] < r[0] || r[3] < r[2])
        return reject(st, NBCL_EXIT_PARAM, "-roi: need 0 <= xmin <= xmax and 0 <= ymin <= ymax");
    return 0;
}

static int h_printout_pixel(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v,
                            int need)
{
    (void)f;
    (void)need;
    nbcl_config *c = &st->cli->cfg;
    if (!parse_int(a, v[0], &c->printout_fpixel, st->err, st->errlen) ||
        !parse_int(a, v[1], &c->printout_spixel, st->err, st->errlen))
        return NBCL_EXIT_USAGE;
    if (c->printout_fpixel < 0 || c->printout_spixel < 0)
        return reject(st, NBCL_EXIT_PARAM, "-printout_pixel: pixel indices start at 0 (got %s %s)",
                    v[0], v[1]);
    c->printout = 1;
    return 0;
}

/* -misset rx ry rz (degrees) or -misset random: need is 3 or 1 (values_needed) */
static int h_misset(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v, int need)
{
    (void)f;
    nbcl_config *c = &st->cli->cfg;
    if (need == 1) {
        c->misset_mode = -1;
        return 0;
    }
    double d[3];
    for (int k = 0; k < 3; k++)
        if (number(st, a, v[k], &d[k]))
            return NBCL_EXIT_USAGE;
    c->misset_mode = 1;
    for (int k = 0; k < 3; k++)
        c->misset[k] = d[k] / RTD;
    return 0;
}

/* ------------------------------------------------------------------ the table */
/* destinations: the member's offset and type; a member of another type does not compile */
#define DST_IS(m, T) (0 * sizeof(char[_Generic(((nbcl_cli *)0)->m, T: 1, default: -1)]))
#define DST(m, code, T) (((offsetof(nbcl_cli, m) + 1) << 3) + (code) + DST_IS(m, T))
#define I_(m) DST(m, NBCL_DST_INT, int)
#define D_(m) DST(m, NBCL_DST_DOUBLE, double)
#define L_(m) DST(m, NBCL_DST_LONG, long)
#define S_(m) DST(m, NBCL_DST_TEXT, const char *)
#define V_(m) DST(m, NBCL_DST_VEC3, double *) /* a double[3] (it decays in _Generic) */
#define E_(m)                                                                                   \
    (((offsetof(nbcl_cli, m) + 1) << 3) + NBCL_DST_ENUM +                                       \
     0 * sizeof(char[_Generic(((nbcl_cli *)0)->m, nbcl_convention: 1, nbcl_shape: 1, default: -1)]))
#define ROW(nm, k, n, ar, hp, ...)                                                              \
    {.names = nm, .kind = NBCL_FLAG_##k, .nargs = n, .args = ar, .help = hp, __VA_ARGS__}
#define CODE(fn) .handler = fn
#define POS .check = NBCL_CHECK_POSITIVE
#define NONNEG .check = NBCL_CHECK_NONNEG
#define RANGE(l, h, u) .lo = (l), .hi = (h), .unit = u
#define MM .div = 1000.0
#define DEG .div = RTD
#define CONV(v) .dst = {E_(cfg.convention)}, .ival = (v), .pivot = NBCL_PIV_CONV
#define SHAPE(v) .dst = {E_(cfg.shape)}, .ival = (v)
#define VEC(m) .dst = {V_(cfg.m)}, .check = NBCL_CHECK_NONZERO

static const nbcl_cli_flag FLAGS[] = {
    /* crystal */
    ROW("-cell", CODE, 6, "a b c al be ga", "unit cell (Angstrom, degrees); alternative to -mat", CODE(h_cell)),
    ROW("-mat -matrix", TEXT, 1, "FILE", "MOSFLM A matrix (reciprocal axes x lambda); alternative to -cell", .dst = {S_(cfg.matfile)}),
    ROW("-misset", CODE, -1, "rx ry rz|random", "crystal rotations about x,y,z (degrees), or random orientation", CODE(h_misset)),
    ROW("-misset_seed", LONG, 1, "N", "seed for -misset random (default: the -seed value)", .dst = {L_(cfg.misset_seed)}, .also = I_(cfg.misset_seed_set), .also_val = 1),
    ROW("-N", INT, 1, "N", "unit cells along a, b and c (default 1)", .dst = {D_(cfg.Na), D_(cfg.Nb), D_(cfg.Nc)}, NONNEG),
    ROW("-Na", INT, 1, "N", "unit cells along a", .dst = {D_(cfg.Na)}, NONNEG),
    ROW("-Nb", INT, 1, "N", "unit cells along b", .dst = {D_(cfg.Nb)}, NONNEG),
    ROW("-Nc", INT, 1, "N", "unit cells along c", .dst = {D_(cfg.Nc)}, NONNEG),
    ROW("-samplesize -sample_size -xtalsize -xtal_size", DOUBLE, 1, "mm", "crystal full width in x, y and z (mm); overrides -N", .dst = {D_(cfg.sample_x), D_(cfg.sample_y), D_(cfg.sample_z)}, NONNEG, MM),
    ROW("-sample_thick -sample_x -xtal_thick -xtal_x", DOUBLE, 1, "mm", "crystal size along x (mm)", .dst = {D_(cfg.sample_x)}, NONNEG, MM),
    ROW("-sample_width -sample_y -xtal_width -xtal_y -width", DOUBLE, 1, "mm", "crystal size along y (mm)", .dst = {D_(cfg.sample_y)}, NONNEG, MM),
    ROW("-sample_height -sample_z -xtal_height -xtal_z -height -sample_heigh -xtal_heigh -heigh", DOUBLE, 1, "mm", "crystal size along z (mm)", .dst = {D_(cfg.sample_z)}, NONNEG, MM),
    ROW("-square_xtal", SET, 0, "", "parallelepiped crystal, sincg lattice transform (default)", SHAPE(NBCL_SHAPE_SQUARE)),
    ROW("-round_xtal", SET, 0, "", "ellipsoidal crystal (sinc3)", SHAPE(NBCL_SHAPE_ROUND)),
    ROW("-gauss_xtal", SET, 0, "", "Gaussian spots", SHAPE(NBCL_SHAPE_GAUSS)),
    ROW("-tophat_spots -binary_spots", SET, 0, "", "flat-top spots clipped at the FWHM", SHAPE(NBCL_SHAPE_TOPHAT)),
    ROW("-fudge", DOUBLE, 1, "x", "spot shape scale factor (default 1)", .dst = {D_(cfg.fudge)}),
    ROW("-mosaic -mosaici -mosaic_spr -mosaic_spread", DOUBLE, 1, "deg", "isotropic mosaic spread (degrees, default 0)", .dst = {D_(cfg.mosaic_spread)}, NONNEG, DEG),
    ROW("-mosaic_dom -mosaic_domains", INT, 1, "N", "mosaic domains (default 1, or 10 with a spread)", .dst = {I_(cfg.mosaic_domains)}, NONNEG),
    ROW("-mosaic_seed", LONG, 1, "N", "seed for mosaic domains (default 12345678)", .dst = {L_(cfg.mosaic_seed)}),
    ROW("-phi", DOUBLE, 1, "deg", "starting spindle angle (degrees, default 0)", .dst = {D_(cfg.phi0)}, DEG, .raw = D_(phi_deg)),
    ROW("-osc", DOUBLE, 1, "deg", "oscillation range (degrees)", .dst = {D_(cfg.osc)}, NONNEG, DEG, .raw = D_(osc_deg)),
    ROW("-phistep", DOUBLE, 1, "deg", "spindle step (degrees)", .dst = {D_(cfg.phistep)}, NONNEG, DEG),
    ROW("-phisteps", INT, 1, "N", "spindle steps (default 1)", .dst = {I_(cfg.phisteps)}, NONNEG),
    ROW("-nframes", INT, 1, "N", "nbcl: a series of N frames, frame k at -phi + (k-1) -osc (names: templates with #)", .dst = {I_(nframes)}, POS),
    ROW("-frames", INT, 2, "FIRST LAST", "nbcl: render only frames FIRST..LAST of the -nframes series", .dst = {I_(frame_first), I_(frame_last)}),
    ROW("-resume", SET, 0, "", "nbcl: skip frames whose files already exist complete", .dst = {I_(resume)}, .ival = 1),
    ROW("-spindle_axis", VEC3, 3, "x y z", "spindle rotation axis (sets CUSTOM convention)", VEC(spindle)),
    /* structure factors */
    ROW("-hkl", TEXT, 1, "FILE", "text file of h k l F (P1, no symmetry); writes Fdump.bin", .dst = {S_(cfg.hklfile)}),
    ROW("-default_F", DOUBLE, 1, "F", "structure factor of every reflection not in -hkl (default 0)", .dst = {D_(cfg.default_F)}),
    ROW("-dump -dumpfile", TEXT, 1, "FILE", "binary cache of -hkl (default Fdump.bin); read when -hkl is absent", .dst = {S_(cfg.dumpfile)}),
    ROW("-nodump", SET, 0, "", "neither read nor write the Fdump.bin cache", .dst = {I_(cfg.read_dump), I_(cfg.write_dump)}, .ival = 0),
    ROW("-interpolate", SET, 0, "", "tricubic interpolation of F (default: on when any N <= 2)", .dst = {I_(cfg.interpolate)}, .ival = 1),
    ROW("-nointerpolate", SET, 0, "", "nearest-neighbour F", .dst = {I_(cfg.interpolate)}, .ival = 0),
    /* beam */
    ROW("-lambda -wave", DOUBLE, 1, "A", "wavelength (Angstrom, default 1)", .dst = {D_(cfg.lambda0)}, POS, RANGE(LAMBDA_MIN_A, LAMBDA_MAX_A, "Angstrom"), .div = 1.0e10),
    ROW("-energy", CODE, 1, "eV", "photon energy (eV); alternative to -lambda", CODE(h_energy)),
    ROW("-dispersion", DOUBLE, 1, "%", "spectral width delta-lambda/lambda (percent, default 0)", .dst = {D_(cfg.dispersion)}, NONNEG, .div = 100.0),
    ROW("-dispsteps", INT, 1, "N", "wavelengths across the dispersion", .dst = {I_(cfg.dispsteps)}, NONNEG),
    ROW("-divergence", DOUBLE, 1, "mrad", "horizontal and vertical divergence range (mrad)", .dst = {D_(cfg.hdivrange), D_(cfg.vdivrange)}, NONNEG, MM),
    ROW("-hdivrange", DOUBLE, 1, "mrad", "horizontal divergence range (mrad)", .dst = {D_(cfg.hdivrange)}, NONNEG, MM),
    ROW("-vdivrange", DOUBLE, 1, "mrad", "vertical divergence range (mrad)", .dst = {D_(cfg.vdivrange)}, NONNEG, MM),
    ROW("-hdivstep", DOUBLE, 1, "mrad", "horizontal divergence step (mrad)", .dst = {D_(cfg.hdivstep)}, NONNEG, MM),
    ROW("-vdivstep", DOUBLE, 1, "mrad", "vertical divergence step (mrad)", .dst = {D_(cfg.vdivstep)}, NONNEG, MM),
    ROW("-hdivsteps", INT, 1, "N", "horizontal divergence steps", .dst = {I_(cfg.hdivsteps)}, NONNEG),
    ROW("-vdivsteps", INT, 1, "N", "vertical divergence steps", .dst = {I_(cfg.vdivsteps)}, NONNEG),
    ROW("-divsteps", INT, 1, "N", "divergence steps in both directions", .dst = {I_(cfg.hdivsteps), I_(cfg.vdivsteps)}, NONNEG),
    ROW("-round_div", SET, 0, "", "trim the divergence grid to an ellipse (default)", .dst = {I_(cfg.round_div)}, .ival = 1),
    ROW("-square_div", SET, 0, "", "full rectangular divergence grid", .dst = {I_(cfg.round_div)}, .ival = 0),
    ROW("-sourcefile", TEXT, 1, "FILE", "sources: X Y Z [weight lambda] per line (m); weight and lambda columns ignored", .dst = {S_(cfg.sourcefile)}),
    ROW("-fluence", DOUBLE, 1, "ph/m^2", "integrated fluence (photons/m^2, default 1.25932e29)", .dst = {D_(cfg.fluence)}, NONNEG),
    ROW("-flux", DOUBLE, 1, "ph/s", "flux (photons/s); with -exposure and -beamsize sets the fluence", .dst = {D_(cfg.flux)}, NONNEG),
    ROW("-exposure", DOUBLE, 1, "s", "exposure time (s, default 1)", .dst = {D_(cfg.exposure)}),
    ROW("-beamsize", DOUBLE, 1, "mm", "beam size (mm, default 0.1); clips the sample", .dst = {D_(cfg.beamsize)}, MM),
    ROW("-polar", DOUBLE, 1, "K", "Kahn polarization factor (default 0: unpolarized)", .dst = {D_(cfg.polarization)}, RANGE(-1.0, 1.0, "(a fraction)"), .also = I_(cfg.nopolar), .also_val = 0),
    ROW("-nopolar", SET, 0, "", "no polarization correction", .dst = {I_(cfg.nopolar)}, .ival = 1),
    ROW("-polar_vector", VEC3, 3, "x y z", "E-vector of the beam (sets CUSTOM convention)", VEC(polar_vector)),
    ROW("-beam_vector", VEC3, 3, "x y z", "beam direction (sets CUSTOM convention)", VEC(beam_vector)),
    ROW("-dmin", DOUBLE, 1, "A", "skip scattering beyond this resolution (Angstrom, default 0: off)", .dst = {D_(cfg.dmin)}, NONNEG, .mul = 1e-10),
    /* detector */
    ROW("-distance", DOUBLE, 1, "mm", "sample to detector centre along the beam (mm, default 100); pivot BEAM", .dst = {D_(cfg.distance)}, POS, RANGE(DISTANCE_MIN_MM, DISTANCE_MAX_MM, "mm"), MM, .pivot = NBCL_PIV_BEAM),
    ROW("-close_distance", DOUBLE, 1, "mm", "sample to detector plane along its normal (mm); pivot SAMPLE", .dst = {D_(cfg.close_distance)}, POS, RANGE(DISTANCE_MIN_MM, DISTANCE_MAX_MM, "mm"), MM, .pivot = NBCL_PIV_SAMPLE),
    ROW("-pixel", DOUBLE, 1, "mm", "pixel size (mm, default 0.1)", .dst = {D_(cfg.pixel_size)}, POS, RANGE(PIXEL_MIN_MM, PIXEL_MAX_MM, "mm"), MM),
    ROW("-detpixels", INT, 1, "N", "pixels along both axes", .dst = {I_(cfg.fpixels), I_(cfg.spixels)}, POS),
    ROW("-detpixels_f -detpixels_x", INT, 1, "N", "pixels along the fast axis", .dst = {I_(cfg.fpixels)}, POS),
    ROW("-detpixels_s -detpixels_y", INT, 1, "N", "pixels along the slow axis", .dst = {I_(cfg.spixels)}, POS),
    ROW("-detsize", DOUBLE, 1, "mm", "detector side (mm, default 102.4)", .dst = {D_(cfg.detsize_f), D_(cfg.detsize_s)}, POS, MM),
    ROW("-detsize_f", DOUBLE, 1, "mm", "detector fast side (mm)", .dst = {D_(cfg.detsize_f)}, POS, MM),
    ROW("-detsize_s", DOUBLE, 1, "mm", "detector slow side (mm)", .dst = {D_(cfg.detsize_s)}, POS, MM),
    ROW("-Xbeam", DOUBLE, 1, "mm", "direct-beam position, convention X (mm); pivot BEAM", .dst = {D_(cfg.Xbeam)}, MM, .pivot = NBCL_PIV_BEAM),
    ROW("-Ybeam", DOUBLE, 1, "mm", "direct-beam position, convention Y (mm); pivot BEAM", .dst = {D_(cfg.Ybeam)}, MM, .pivot = NBCL_PIV_BEAM),
    ROW("-Xclose", DOUBLE, 1, "mm", "near point, fast (mm); pivot SAMPLE", .dst = {D_(cfg.Xclose)}, MM, .pivot = NBCL_PIV_SAMPLE),
    ROW("-Yclose", DOUBLE, 1, "mm", "near point, slow (mm); pivot SAMPLE", .dst = {D_(cfg.Yclose)}, MM, .pivot = NBCL_PIV_SAMPLE),
    ROW("-ORGX", DOUBLE, 1, "pixels", "XDS origin, fast (pixels); pivot SAMPLE", .dst = {D_(cfg.ORGX)}, .pivot = NBCL_PIV_SAMPLE),
    ROW("-ORGY", DOUBLE, 1, "pixels", "XDS origin, slow (pixels); pivot SAMPLE", .dst = {D_(cfg.ORGY)}, .pivot = NBCL_PIV_SAMPLE),
    ROW("-pivot", CODE, 1, "beam|sample", "rotate the detector about the beam spot or the sample", CODE(h_pivot)),
    ROW("-mosflm", SET, 0, "", "MOSFLM convention (default)", CONV(NBCL_CONV_MOSFLM)),
    ROW("-xds", SET, 0, "", "XDS convention", CONV(NBCL_CONV_XDS)),
    ROW("-adxv", SET, 0, "", "ADXV convention", CONV(NBCL_CONV_ADXV)),
    ROW("-denzo", SET, 0, "", "DENZO convention", CONV(NBCL_CONV_DENZO)),
    ROW("-dials", SET, 0, "", "DIALS convention", CONV(NBCL_CONV_DIALS)),
    ROW("-fdet_vector", VEC3, 3, "x y z", "fast axis (sets CUSTOM convention)", VEC(fdet)),
    ROW("-sdet_vector", VEC3, 3, "x y z", "slow axis (sets CUSTOM convention)", VEC(sdet)),
    ROW("-odet_vector", VEC3, 3, "x y z", "detector normal (sets CUSTOM convention)", VEC(odet)),
    ROW("-pix0_vector", VEC3, 3, "x y z", "sample to first pixel (m) (sets CUSTOM convention)", .dst = {V_(cfg.pix0)}, .also = I_(cfg.pix0_given), .also_val = 1),
    ROW("-twotheta_axis", VEC3, 3, "x y z", "two-theta axis (sets CUSTOM convention)", VEC(twotheta_axis), .also = I_(cfg.twotheta_axis_given), .also_val = 1),
    ROW("-detector_rotx", DOUBLE, 1, "deg", "detector rotation about x (degrees)", .dst = {D_(cfg.detector_rotx)}, DEG),
    ROW("-detector_roty", DOUBLE, 1, "deg", "detector rotation about y (degrees)", .dst = {D_(cfg.detector_roty)}, DEG),
    ROW("-detector_rotz", DOUBLE, 1, "deg", "detector rotation about z (degrees)", .dst = {D_(cfg.detector_rotz)}, DEG),
    /* the reference swings about the sample; its convention block keeps that only for CUSTOM
     * geometry (see docs/parity.md) */
    ROW("-twotheta", DOUBLE, 1, "deg", "detector two-theta swing (degrees)", .dst = {D_(cfg.twotheta)}, DEG, .pivot = NBCL_PIV_TWOTHETA),
    ROW("-curved_det", SET, 0, "", "every pixel at the same distance from the sample", .dst = {I_(cfg.curved_det)}, .ival = 1),
    ROW("-point_pixel", SET, 0, "", "solid angle 1/R^2 (no obliquity)", .dst = {I_(cfg.point_pixel)}, .ival = 1),
    ROW("-detector_abs -detector_absorb -detector_absorption", CODE, 1, "um|inf", "sensor attenuation depth (um); inf or 0: off", CODE(h_det_abs)),
    ROW("-detector_thick", DOUBLE, 1, "um", "sensor thickness (um, default 0)", .dst = {D_(cfg.detector_thick)}, NONNEG, .mul = 1e-6),
    ROW("-detector_thicksteps -thicksteps", INT, 1, "N", "sensor layers", .dst = {I_(cfg.detector_thicksteps)}, POS),
    ROW("-oversample", INT, 1, "N", "sub-pixels per pixel side (default: automatic)", .dst = {I_(cfg.oversample)}, POS),
    ROW("-oversample_thick", SET, 0, "", "recompute absorption per sub-pixel", .dst = {I_(cfg.oversample_thick)}, .ival = 1),
    ROW("-oversample_polar", SET, 0, "", "recompute polarization per sub-pixel", .dst = {I_(cfg.oversample_polar)}, .ival = 1),
    ROW("-oversample_omega", SET, 0, "", "recompute solid angle per sub-pixel", .dst = {I_(cfg.oversample_omega)}, .ival = 1),
    ROW("-roi", CODE, 4, "xmin xmax ymin ymax", "render only these pixels (inclusive)", CODE(h_roi)),
    ROW("-img", CODE, 1, "FILE", "take detector and beam parameters from an SMV header", CODE(h_header)),
    ROW("-mask", CODE, 1, "FILE", "SMV image: pixels that are 0 are skipped", CODE(h_header), .ival = 1),
    /* background, noise, outputs */
    ROW("-water", DOUBLE, 1, "um", "water background thickness (um, default 0)", .dst = {D_(cfg.water_size)}, NONNEG, RANGE(0.0, WATER_MAX_UM, "um"), .div = 1e6),
    ROW("-floatfile -floatimage", TEXT, 1, "FILE", "raw float32 image (default floatimage.bin)", .dst = {S_(floatfile)}, .also = I_(write_float), .also_val = 1),
    ROW("-intfile -intimage", TEXT, 1, "FILE", "SMV image, scaled (default intimage.img)", .dst = {S_(intfile)}, .also = I_(write_int), .also_val = 1),
    ROW("-scale", DOUBLE, 1, "x", "intfile scale (default: 55000/max)", .dst = {D_(cfg.intfile_scale)}),
    ROW("-adc", DOUBLE, 1, "counts", "offset added to SMV pixels (default 40)", .dst = {D_(cfg.adc_offset)}),
    ROW("-pgmfile -pgmimage", TEXT, 1, "FILE", "8-bit PGM image (default image.pgm)", .dst = {S_(pgmfile)}, .also = I_(write_pgm), .also_val = 1),
    ROW("-pgmscale", DOUBLE, 1, "x", "PGM scale (default: 250/(5 rmsd))", .dst = {D_(cfg.pgm_scale)}, .also = I_(write_pgm), .also_val = 1),
    ROW("-nopgm", SET, 0, "", "do not write the PGM image", .dst = {I_(write_pgm)}, .ival = 0),
    ROW("-noisefile -noiseimage", TEXT, 1, "FILE", "SMV image with Poisson noise (default noiseimage.img)", .dst = {S_(noisefile)}, .also = I_(write_noise), .also_val = 1),
    ROW("-nonoise", SET, 0, "", "do not write the noise image", .dst = {I_(write_noise)}, .ival = 0),
    ROW("-cbffile", TEXT, 1, "FILE", "miniCBF photon counts: noise image less -adc (rounded float image with -nonoise); a # template per frame in a series (nbcl)", .dst = {S_(cbffile)}),
    ROW("-nexusfile", TEXT, 1, "FILE", "NeXus/NXmx HDF5 file of the same counts; one file for all frames of a series (nbcl)", .dst = {S_(nexusfile)}),
    ROW("-nexus_compression", CODE, 1, "deflate|lz4|bslz4", "NXmx pixel compression (default deflate; lz4, bslz4: HDF5 filter plugins) (nbcl)", CODE(h_nexus_comp)),
    ROW("-pngfile", TEXT, 1, "FILE", "8-bit PNG preview, scaled as the PGM (nbcl)", .dst = {S_(pngfile)}),
    ROW("-seed", LONG, 1, "N", "noise seed (default: from the clock)", .dst = {L_(cfg.seed)}, .also = I_(cfg.seed_set), .also_val = 1),
    ROW("-stol -4stol -Q -stolout", IGNORE, 1, "FILE", "amorphous S(Q) table: accepted, not used (as nanoBragg)", .dst = {NBCL_CLI_NO_DST}),
    ROW("-printout", SET, 0, "", "trace the brightest pixel: position, S, hkl, F_cell, F_latt, omega, polarization, I (nbcl's format)", .dst = {I_(cfg.printout)}, .ival = 1),
    ROW("-printout_pixel", CODE, 2, "f s", "trace pixel (fast f, slow s) instead (implies -printout)", CODE(h_printout_pixel)),
    ROW("-noprogress", SET, 0, "", "no progress meter", .dst = {I_(progress)}, .ival = 0),
    ROW("-progress", SET, 0, "", "progress meter on stderr (default)", .dst = {I_(progress)}, .ival = 1),
    /* nbcl's own */
    ROW("-device", TEXT, 1, "SPEC", "OpenCL device: cpu, gpu, P:D or a name substring (env NBCL_DEVICE); 'all' or a comma list (0:0,0:1): one engine each, frames shared", .dst = {S_(device)}),
    ROW("-list_devices --list-devices", SET, 0, "", "list OpenCL devices and exit", .dst = {I_(list_devices)}, .ival = 1),
    ROW("-precision", CODE, 1, "single|double", "kernel precision (default: double when the device has fp64)", CODE(h_precision)),
    ROW("-fast_math", SET, 0, "", "build kernels with -cl-fast-relaxed-math (not parity-tested)", .dst = {I_(fast_math)}, .ival = 1),
    ROW("-kernel_dir", TEXT, 1, "DIR", "read kernel sources from DIR (development)", .dst = {S_(kernel_dir)}),
    ROW("-version --version", SET, 0, "", "print the version and exit", .dst = {I_(version)}, .ival = 1),
    ROW("-h -help --help", SET, 0, "", "this help", .dst = {I_(help)}, .ival = 1),
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

const nbcl_cli_flag *nbcl_cli_flags(size_t *n)
{
    if (n)
        *n = NFLAGS;
    return FLAGS;
}

const nbcl_cli_flag *nbcl_cli_flag_find(const char *arg)
{
    size_t n = strlen(arg);
    for (size_t i = 0; i < NFLAGS; i++) {
        const char *p = FLAGS[i].names;
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

/* the help: one line per row, the first spelling with its values, the aliases after */
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

/* ------------------------------------------------------------------ applying a row */
/* one value of an integer row, checked */
static int take_int(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, const char *s,
                    int *out)
{
    if (!parse_int(a, s, out, st->err, st->errlen))
        return NBCL_EXIT_USAGE;
    if (f->check == NBCL_CHECK_POSITIVE && *out <= 0)
        return reject(st, NBCL_EXIT_PARAM, "%s must be a positive integer (got %s)", a, s);
    if (f->check == NBCL_CHECK_NONNEG && *out < 0)
        return reject(st, NBCL_EXIT_PARAM, "%s must not be negative (got %s)", a, s);
    return 0;
}

/* one value of a number row, checked against its sign and range (in the flag's unit) */
static int take_double(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, const char *s,
                       double *out)
{
    if (number(st, a, s, out))
        return NBCL_EXIT_USAGE;
    if (f->check == NBCL_CHECK_POSITIVE && !(*out > 0))
        return reject(st, NBCL_EXIT_PARAM, "%s must be positive (got %s)", a, s);
    if (f->check == NBCL_CHECK_NONNEG && *out < 0)
        return reject(st, NBCL_EXIT_PARAM, "%s must not be negative (got %s)", a, s);
    if (f->lo < f->hi && !in_range(a, *out, f->lo, f->hi, f->unit, st->err, st->errlen))
        return NBCL_EXIT_PARAM;
    return 0;
}

static int apply_vec3(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v)
{
    nbcl_config *c = &st->cli->cfg;
    double d[3];
    for (int k = 0; k < 3; k++)
        if (number(st, a, v[k], &d[k]))
            return NBCL_EXIT_USAGE;
    if (f->check == NBCL_CHECK_NONZERO && d[0] == 0 && d[1] == 0 && d[2] == 0)
        return reject(st, NBCL_EXIT_PARAM, "%s: zero-length vector", a);
    memcpy(member(st->cli, f->dst[0]), d, sizeof d);
    c->custom_vectors = 1;
    c->convention = NBCL_CONV_CUSTOM;
    return 0;
}

/* a number in the flag's unit to the stored one (SI): v / div * mul, a 0 factor meaning 1 */
static double to_unit(const nbcl_cli_flag *f, double v)
{
    return v / (f->div != 0.0 ? f->div : 1.0) * (f->mul != 0.0 ? f->mul : 1.0);
}

/* the row's values into its destinations; 0 or an exit code */
static int apply_values(nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a, char **v,
                        int need)
{
    nbcl_cli *cli = st->cli;
    int rc = 0, n = 0;
    double d = 0.0;
    long l = 0;
    switch (f->kind) {
    case NBCL_FLAG_SET:
        for (int k = 0; k < 3 && f->dst[k]; k++)
            store_int(cli, f->dst[k], f->ival);
        break;
    case NBCL_FLAG_INT:
        for (int k = 0; k < need && !rc; k++) /* several values: one destination each */
            if (!(rc = take_int(st, f, a, v[k], &n)))
                store_int(cli, f->dst[k], n);
        for (int k = 1; need == 1 && !rc && k < 3 && f->dst[k]; k++) /* one: into all */
            store_int(cli, f->dst[k], n);
        break;
    case NBCL_FLAG_LONG:
        if (!parse_long(a, v[0], &l, st->err, st->errlen))
            return NBCL_EXIT_USAGE;
        *(long *)member(cli, f->dst[0]) = l;
        break;
    case NBCL_FLAG_DOUBLE:
        if ((rc = take_double(st, f, a, v[0], &d)))
            return rc;
        for (int k = 0; k < 3 && f->dst[k]; k++)
            *(double *)member(cli, f->dst[k]) = to_unit(f, d);
        if (f->raw)
            *(double *)member(cli, f->raw) = d;
        break;
    case NBCL_FLAG_VEC3: rc = apply_vec3(st, f, a, v); break;
    case NBCL_FLAG_TEXT: *(const char **)member(cli, f->dst[0]) = v[0]; break;
    case NBCL_FLAG_IGNORE: break;
    case NBCL_FLAG_CODE: rc = f->handler(st, f, a, v, need); break;
    }
    if (rc)
        return rc;
    if (f->also)
        store_int(cli, f->also, f->also_val);
    return 0;
}

/* what the flag says about the pivot, remembered for nbcl_cli_parse's resolution */
static void note_pivot(nbcl_cli_state *st, nbcl_cli_pivot p)
{
    switch (p) {
    case NBCL_PIV_NONE: break;
    case NBCL_PIV_BEAM:
    case NBCL_PIV_SAMPLE:
        st->psrc = st->psrc_tt = PV_FLAG;
        st->pval = st->pval_tt = p == NBCL_PIV_BEAM ? NBCL_PIVOT_BEAM : NBCL_PIVOT_SAMPLE;
        break;
    case NBCL_PIV_CONV: st->psrc = st->psrc_tt = PV_CONV; break;
    case NBCL_PIV_TWOTHETA:
        st->psrc_tt = PV_FLAG;
        st->pval_tt = NBCL_PIVOT_SAMPLE;
        break;
    }
}

/* values the flag at argv[i] takes: its row's count; -misset (the one variable flag) takes one
 * word "random..." or three angles */
static int values_needed(const nbcl_cli_flag *f, int argc, char **argv, int i)
{
    if (f->nargs >= 0)
        return f->nargs;
    return (i + 1 < argc && strncasecmp(argv[i + 1], "rand", 4) == 0) ? 1 : 3;
}

/* ------------------------------------------------------------------ the parse */
static void set_defaults(nbcl_cli *cli)
{
    memset(cli, 0, sizeof *cli);
    nbcl_config_init(&cli->cfg);
    cli->floatfile = "floatimage.bin";
    cli->intfile = "intimage.img";
    cli->pgmfile = "image.pgm";
    cli->noisefile = "noiseimage.img";
    cli->write_float = cli->write_int = cli->write_pgm = cli->write_noise = 1;
    cli->progress = 1;
    cli->precision = NBCL_PRECISION_AUTO;
    cli->nframes = 1;
    cli->phi_deg = cli->osc_deg = NAN;
}

/* pass 1: -img/-mask headers first (command-line values override them); in argv order, so the
 * last file read wins for shared keys */
static int read_headers(int argc, char **argv, nbcl_cli *cli, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const nbcl_cli_flag *f = nbcl_cli_flag_find(argv[i]);
        if (!f)
            continue;
        if (f->handler == h_header && i + 1 < argc) {
            int is_mask = f->ival;
            nbcl_status st = ingest_header(cli, argv[i + 1], is_mask, err, errlen);
            if (st != NBCL_OK) /* a signal while waiting on a FIFO is not an input error */
                return st == NBCL_INTERRUPTED        ? NBCL_EXIT_INTERRUPTED
                       : st == NBCL_INVALID_ARGUMENT ? NBCL_EXIT_PARAM /* header out of range */
                                                     : NBCL_EXIT_INPUT;
            if (is_mask)
                cli->cfg.maskfile = argv[i + 1];
            else
                cli->cfg.imgfile = argv[i + 1];
        }
        if (f->nargs > 0)
            i += f->nargs;
    }
    return 0;
}

/* pass 2: every flag in argv order */
static int read_flags(int argc, char **argv, nbcl_cli_state *st)
{
    char *err = st->err;
    size_t errlen = st->errlen;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const nbcl_cli_flag *f = nbcl_cli_flag_find(a);
        if (!f) {
            if (a[0] == '-')
                snprintf(err, errlen, "unknown flag '%s' (see nbcl -h)", a);
            else
                snprintf(err, errlen, "unexpected argument '%s' (flags start with '-'; see nbcl -h)", a);
            return NBCL_EXIT_USAGE;
        }
        int need = values_needed(f, argc, argv, i);
        if (need > 0 && i + need >= argc) {
            snprintf(err, errlen, "%s needs %d value%s (%s)", a, need, need > 1 ? "s" : "",
                     f->args);
            return NBCL_EXIT_USAGE;
        }
        char **v = argv + i + 1;
        for (int k = 0; k < need; k++)
            if (!v[k][0]) {
                snprintf(err, errlen, "%s: empty value", a);
                return NBCL_EXIT_USAGE;
            }
        int rc = apply_values(st, f, a, v, need);
        if (rc)
            return rc;
        note_pivot(st, f->pivot);
        i += need;
    }
    return 0;
}

int nbcl_cli_parse(int argc, char **argv, nbcl_cli *cli, char *err, size_t errlen)
{
    set_defaults(cli);
    nbcl_config *c = &cli->cfg;
    int rc = read_headers(argc, argv, cli, err, errlen);
    if (rc)
        return rc;
    nbcl_cli_state st = {.cli = cli, .err = err, .errlen = errlen, .pval = NBCL_PIVOT_BEAM,
                         .pval_tt = NBCL_PIVOT_BEAM, .explicit_val = NBCL_PIVOT_BEAM};
    rc = read_flags(argc, argv, &st);
    if (rc)
        return rc;
    /* spec-a-cli precedence: explicit -pivot > pivot-setting flags (argv order) > the
     * convention's default. -twotheta asks for a sample pivot only in CUSTOM geometry. */
    if (st.explicit_pivot) {
        c->pivot = st.explicit_val;
        c->pivot_given = 1;
    } else if (c->convention == NBCL_CONV_CUSTOM ? st.psrc_tt == PV_FLAG : st.psrc == PV_FLAG) {
        c->pivot = c->convention == NBCL_CONV_CUSTOM ? st.pval_tt : st.pval;
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
