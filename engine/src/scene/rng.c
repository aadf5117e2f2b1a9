/* Random deviates that reproduce nanoBragg's sequences bit for bit.
 *
 * The generator is the "minimal standard" Lehmer LCG (multiplier 16807, modulus 2^31-1,
 * evaluated with Schrage's factorisation) behind a 32-slot Bays-Durham shuffle, returning a
 * float.  Everything layered on top (Poisson, Gaussian, spherical-cap rotations, the noise
 * image) keeps the reference's float/double type at every intermediate step and evaluates the
 * same operations in the same order, because the golden tests compare integers produced from
 * these floats.  Do not "simplify" casts or regroup products here: each one is deliberate.
 *
 * Unlike the reference, all state lives in nbcl_rng, so independent streams do not interfere.
 * The reference shares one set of statics, which gives the same sequences as long as every
 * stream starts from a seed <= 0 (see docs: a positive user seed is the one case where the
 * reference's output depends on which stream ran before). */
#include "nbcl_rng.h"
#include "nbcl/nbcl.h"

#include <math.h>
#include <string.h>

/* Lehmer / Schrage constants: MOD = MULT*QUOT + REM */
#define LCG_MULT 16807L
#define LCG_MOD 2147483647L
#define LCG_QUOT 127773L
#define LCG_REM 2836L
#define SHUFFLE_SLOTS 32
#define SHUFFLE_WARMUP 8 /* extra LCG steps discarded while filling the table */
#define SHUFFLE_BUCKET (1L + (LCG_MOD - 1L) / SHUFFLE_SLOTS)

/* ulp guard: the largest value ran1 may return is 1 - 1.2e-7 (as a double, then narrowed) */
static const double k_unit_scale = 1.0 / 2147483647.0;
static const double k_top = 1.0 - 1.2e-7;

/* pi as the C library's M_PI spells it (not available in strict C11) */
static const double k_pi = 3.14159265358979323846;

static long lcg_advance(long x)
{
    long hi = x / LCG_QUOT;
    long next = LCG_MULT * (x - hi * LCG_QUOT) - LCG_REM * hi;
    return next < 0 ? next + LCG_MOD : next;
}

/* Seed the LCG from idum (any value <= 0 or a fresh generator) and refill the shuffle table. */
static void shuffle_reload(nbcl_rng *r)
{
    /* the reference maps a non-negative idum to 1 and a negative one to its magnitude */
    long x = (r->idum >= 0) ? 1L : -r->idum;
    for (int slot = SHUFFLE_SLOTS + SHUFFLE_WARMUP - 1; slot >= 0; --slot) {
        x = lcg_advance(x);
        if (slot < SHUFFLE_SLOTS)
            r->iv[slot] = x;
    }
    r->idum = x;
    r->iy = r->iv[0];
}

void nbcl_rng_init(nbcl_rng *r, long seed)
{
    memset(r, 0, sizeof *r);
    r->idum = seed;
    r->pd_oldm = -1.0f; /* "no cached mean yet" */
}

float nbcl_ran1(nbcl_rng *r)
{
    if (r->idum <= 0 || r->iy == 0)
        shuffle_reload(r);

    r->idum = lcg_advance(r->idum);
    long pick = r->iy / SHUFFLE_BUCKET;
    r->iy = r->iv[pick];
    r->iv[pick] = r->idum;

    float u = (float)(k_unit_scale * (double)r->iy);
    if ((double)u > k_top)
        return (float)k_top;
    return u;
}

/* ln Gamma(arg) with Lanczos' 6-term series; float in, float out, double inside. */
static float ln_gamma_f(float arg)
{
    static const double series[6] = {
        76.18009172947146,     -86.50532032941677,    24.01409824083091,
        -1.231739572450155,    0.1208650973866179e-2, -0.5395239384953e-5,
    };
    const double z = (double)arg;
    double shifted = z;
    double lead = z + 5.5;
    lead -= (z + 0.5) * log(lead);
    double sum = 1.000000000190015;
    for (int i = 0; i < 6; ++i) {
        shifted += 1.0;
        sum += series[i] / shifted;
    }
    return (float)(-lead + log(2.5066282746310005 * sum / z));
}

float nbcl_gaussdev(nbcl_rng *r)
{
    if (r->gd_iset) {
        r->gd_iset = 0;
        return r->gd_gset;
    }
    /* polar Box-Muller: a point uniformly inside the unit disc (origin excluded) */
    float px, py, rr;
    do {
        px = (float)(2.0 * (double)nbcl_ran1(r) - 1.0);
        py = (float)(2.0 * (double)nbcl_ran1(r) - 1.0);
        rr = px * px + py * py;
    } while ((double)rr >= 1.0 || rr == 0.0f);

    const float scale = (float)sqrt(-2.0 * log((double)rr) / (double)rr);
    r->gd_gset = px * scale; /* kept for the next call */
    r->gd_iset = 1;
    return py * scale;
}

/* Poisson, small mean: count uniform deviates until their running product drops to e^-mean. */
static float poisson_by_products(nbcl_rng *r, float mean)
{
    if (mean != r->pd_oldm) {
        r->pd_oldm = mean;
        r->pd_g = (float)exp((double)(-mean));
    }
    float count = -1.0f;
    float product = 1.0f;
    do {
        count += 1.0f;
        product *= nbcl_ran1(r);
    } while (product > r->pd_g);
    return count;
}

/* Poisson, larger mean: rejection against a Lorentzian envelope. */
static float poisson_by_rejection(nbcl_rng *r, float mean)
{
    if (mean != r->pd_oldm) {
        r->pd_oldm = mean;
        r->pd_sq = (float)sqrt(2.0 * (double)mean);
        r->pd_alxm = (float)log((double)mean);
        r->pd_g = mean * r->pd_alxm - ln_gamma_f((float)((double)mean + 1.0));
    }
    float lor, k, ratio;
    do {
        do {
            lor = (float)tan(k_pi * (double)nbcl_ran1(r));
            k = r->pd_sq * lor + mean;
        } while (k < 0.0f);
        k = (float)floor((double)k);
        const float log_ratio = k * r->pd_alxm - ln_gamma_f((float)((double)k + 1.0)) - r->pd_g;
        ratio = (float)(0.9 * (1.0 + (double)(lor * lor)) * exp((double)log_ratio));
    } while (nbcl_ran1(r) > ratio);
    return k;
}

float nbcl_poidev(nbcl_rng *r, float xm)
{
    if ((double)xm > 1.0e6) /* Gaussian approximation; leaves the cached mean alone */
        return (float)((double)xm + sqrt((double)xm) * (double)nbcl_gaussdev(r));
    if ((double)xm < 12.0)
        return poisson_by_products(r, xm);
    return poisson_by_rejection(r, xm);
}

void nbcl_mosaic_rotation_umat(nbcl_rng *r, float mosaicity, double umat[9])
{
    /* three uniform deviates on [-1,1): axis longitude, axis height, angle fraction */
    const double d_lon = 2.0 * (double)nbcl_ran1(r) - 1.0;
    const double d_h = 2.0 * (double)nbcl_ran1(r) - 1.0;
    const double d_ang = 2.0 * (double)nbcl_ran1(r) - 1.0;

    const double ring = sqrt(1.0 - d_h * d_h);
    /* float product of the float cap and a float cube root, as in the reference */
    const float angle_f =
        mosaicity * powf((float)(1.0 - d_ang * d_ang), (float)(1.0 / 3.0));
    const double angle = (double)angle_f;

    const double ax = ring * sin(k_pi * d_lon);
    const double ay = ring * cos(k_pi * d_lon);
    const double az = d_h;

    /* Rodrigues: R = c I + (1-c) a a^T + s [a]x, grouped as the reference groups it */
    const double c = cos(angle);
    const double omc = 1.0 - c;
    const double s = sin(angle);
    const double omc_x = omc * ax;
    const double omc_xy = omc_x * ay;
    const double omc_xz = omc_x * az;
    const double omc_yz = omc * ay * az;

    umat[0] = c + omc * (ax * ax);
    umat[1] = omc_xy - s * az;
    umat[2] = omc_xz + s * ay;
    umat[3] = omc_xy + s * az;
    umat[4] = c + omc * (ay * ay);
    umat[5] = omc_yz - s * ax;
    umat[6] = omc_xz - s * ay;
    umat[7] = omc_yz + s * ax;
    umat[8] = c + omc * (az * az);
}

typedef struct {
    double x, y, z;
} vec3;

static double vec3_norm(vec3 v)
{
    return sqrt(v.x * v.x + v.y * v.y + v.z * v.z);
}

static vec3 vec3_div_if_positive(vec3 v, double m)
{
    if (m > 0) {
        v.x /= m;
        v.y /= m;
        v.z /= m;
    }
    return v;
}

static vec3 vec3_unit_cross(vec3 a, vec3 b)
{
    vec3 c = {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
    return vec3_div_if_positive(c, vec3_norm(c));
}

void nbcl_umat2misset(const double umat[9], double missets[3])
{
    vec3 row[3];
    double len[3];
    for (int i = 0; i < 3; ++i) {
        row[i] = (vec3){umat[3 * i], umat[3 * i + 1], umat[3 * i + 2]};
        len[i] = vec3_norm(row[i]);
        row[i] = vec3_div_if_positive(row[i], len[i]);
    }

    /* two null rows: replace both with their identity rows (lengths are never negative) */
    static const vec3 ident[3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    for (int keep = 0; keep < 3; ++keep) {
        int a = (keep + 1) % 3, b = (keep + 2) % 3;
        if (len[keep] >= 0 && len[a] <= 0 && len[b] <= 0) {
            row[a] = ident[a];
            row[b] = ident[b];
        }
    }

    /* a single null row becomes the cross product of the other two (done twice, as the
     * reference does, so that a row filled in the first pass feeds the second) */
    for (int pass = 0; pass < 2; ++pass) {
        vec3 fill[3];
        for (int i = 0; i < 3; ++i)
            fill[i] = vec3_unit_cross(row[(i + 1) % 3], row[(i + 2) % 3]);
        for (int i = 0; i < 3; ++i)
            if (len[i] <= 0)
                row[i] = fill[i];
    }

    for (int i = 0; i < 3; ++i)
        row[i] = vec3_div_if_positive(row[i], vec3_norm(row[i]));

    const vec3 X = row[0], Y = row[1], Z = row[2];
    if (Z.x * Z.x < 1.0) {
        missets[0] = atan2(Z.y, Z.z);
        missets[1] = atan2(-Z.x, sqrt(Z.y * Z.y + Z.z * Z.z));
        missets[2] = atan2(Y.x, X.x);
    } else { /* gimbal lock */
        missets[0] = atan2(1.0, 1.0) * 4;
        missets[1] = atan2(1.0, 1.0) * 2;
        missets[2] = atan2(X.y, -Y.y);
    }
}

/* (unsigned short)value as x86-64 compilers emit it for the reference (truncate to a 32-bit
 * int, keep the low 16 bits; out-of-range and NaN give 0), without undefined behaviour. */
static uint16_t to_u16_like_reference(double value)
{
    if (!(value > -2147483649.0 && value < 2147483648.0))
        return 0;
    return (uint16_t)(uint32_t)(int32_t)value;
}

/* one pixel of the SMV noise image from its Poisson deviate */
static uint16_t noise_pixel(float deviate, double adc_offset, int *clipped)
{
    double counts = (double)deviate + adc_offset;
    if (counts > 65535.0) {
        counts = 65535.0;
        ++*clipped;
    }
    return to_u16_like_reference(counts);
}

static int in_roi(const int roi[4], int f, int s)
{
    return !roi || (s >= roi[2] && s <= roi[3] && f >= roi[0] && f <= roi[1]);
}

double nbcl_noise_poisson(const float *img, int fpixels, int spixels, const int roi[4], long seed,
                          float *dev)
{
    nbcl_rng gen;
    nbcl_rng_init(&gen, seed);
    double photons = 0.0;
    size_t idx = 0;
    for (int s = 0; s < spixels; ++s)
        for (int f = 0; f < fpixels; ++f, ++idx) {
            dev[idx] = in_roi(roi, f, s) ? nbcl_poidev(&gen, img[idx]) : 0.0f;
            photons += (double)dev[idx];
        }
    return photons;
}

void nbcl_noise_from_poisson(const float *dev, int fpixels, int spixels, const int roi[4],
                             double adc_offset, uint16_t *out, int *overloads)
{
    int clipped = 0;
    size_t idx = 0;
    for (int s = 0; s < spixels; ++s)
        for (int f = 0; f < fpixels; ++f, ++idx)
            out[idx] = in_roi(roi, f, s) ? noise_pixel(dev[idx], adc_offset, &clipped) : 0;
    if (overloads)
        *overloads = clipped;
}

double nbcl_noise_image(const float *img, int fpixels, int spixels, const int roi[4],
                        long seed, double adc_offset, uint16_t *out, int *overloads)
{
    nbcl_rng gen;
    nbcl_rng_init(&gen, seed);
    double photons = 0.0;
    int clipped = 0;
    size_t idx = 0;
    for (int s = 0; s < spixels; ++s)
        for (int f = 0; f < fpixels; ++f, ++idx) {
            if (!in_roi(roi, f, s)) {
                out[idx] = 0;
                continue;
            }
            float deviate = nbcl_poidev(&gen, img[idx]);
            photons += (double)deviate;
            out[idx] = noise_pixel(deviate, adc_offset, &clipped);
        }
    if (overloads)
        *overloads = clipped;
    return photons;
}
