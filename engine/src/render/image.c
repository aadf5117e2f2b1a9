/* Host passes over a rendered image: the reference's statistics and the integer images (SMV,
 * PGM). Large images are split into fixed row blocks that run on all host CPUs; partial results
 * are combined in block order, so every result is the same for any number of threads. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"

#define BLOCK_PIXELS 65536 /* pixels per row block (rounded to whole rows) */

/* The block passes also in AVX2 and AVX-512 (x86-64-v4) versions, picked at load time where
 * the CPU has them (GCC's function clones, glibc's ifunc): two and four times the vector width
 * for the double lanes (the SMV conversion in pass 2 runs ~1.4x faster with AVX-512 than with
 * AVX2 here). ISO C mode contracts nothing into fused multiply-adds, so every version rounds
 * every operation the same way: the same bits on every x86-64. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&   \
    !defined(__SANITIZE_ADDRESS__)
#define HOST_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define HOST_CLONES
#endif

typedef struct row_blocks {
    int y0, y1;        /* rows covered, inclusive */
    int rows;          /* rows per block */
    size_t n;          /* blocks */
} row_blocks;

static row_blocks make_blocks(int y0, int y1, int width)
{
    row_blocks b = {y0, y1, 1, 0};
    if (width > 0 && width < BLOCK_PIXELS)
        b.rows = BLOCK_PIXELS / width;
    b.n = y1 >= y0 ? (size_t)(y1 - y0) / (size_t)b.rows + 1 : 0;
    return b;
}

static void block_rows(const row_blocks *b, size_t i, int *ya, int *yb)
{
    *ya = b->y0 + (int)i * b->rows;
    *yb = *ya + b->rows - 1 < b->y1 ? *ya + b->rows - 1 : b->y1;
}

/* ------------------------------------------------------------------ statistics */
typedef struct stat_part {
    double sum, sq, ss, max_I;
    size_t n;
    int mx, my;
} stat_part;

typedef struct stat_job {
    const float *data;
    const unsigned char *mask;
    int width, x0, x1;
    row_blocks rb;
    double avg;
    stat_part *part;
    uint16_t *u16;        /* the SMV image made in pass 2, or NULL */
    double scale, offset; /* its scale and ADC offset */
} stat_job;

/* pass 1: max, sum and sum of squares over unmasked ROI pixels. Branch-free lanes of 8 so the
 * compiler vectorises the loop; the first pixel reaching a new maximum is searched for only in
 * the (few) rows whose maximum beats the best so far. */
#define LANES 8
/* GCC and clang vectorise sums but not `v > m ? v : m` (a NaN v keeps m, which no max
 * instruction promises for either operand order), so the maximum is written in their vector
 * extension: a lane-wise compare and bitwise select, any ISA. */
#if defined(__GNUC__)
#define STAT_VEC_MAX 1
typedef float stat_v8f __attribute__((vector_size(32)));
typedef int stat_v8i __attribute__((vector_size(32)));
#else
#define STAT_VEC_MAX 0
#endif
HOST_CLONES static void stat_pass1(void *ctx, size_t i)
{
    stat_job *j = ctx;
    stat_part *p = &j->part[i];
    double sum8[LANES] = {0}, sq8[LANES] = {0}, max_I = 0;
    size_t n = 0;
    int mx = 0, my = 0, ya, yb;
    block_rows(&j->rb, i, &ya, &yb);
    const int x0 = j->x0, x1 = j->x1, nx = x1 - x0 + 1;
    for (int y = ya; y <= yb; y++) {
        const float *row = j->data + (size_t)y * j->width + x0;
        const unsigned char *mrow = j->mask ? j->mask + (size_t)y * j->width + x0 : NULL;
        double rmax8[LANES] = {0};
        int x = 0;
        if (mrow) {
            size_t cnt8[LANES] = {0};
            for (; x + LANES <= nx; x += LANES)
                for (int k = 0; k < LANES; k++) {
                    double v = mrow[x + k] ? (double)row[x + k] : 0.0;
                    sum8[k] += v;
                    sq8[k] += v * v;
                    rmax8[k] = v > rmax8[k] ? v : rmax8[k];
                    cnt8[k] += mrow[x + k] != 0;
                }
            for (int k = 0; k < LANES; k++)
                n += cnt8[k];
        } else {
#if STAT_VEC_MAX
            /* the maximum in float lanes by compare and select (the value is the same: the
             * doubles are the floats converted) */
            stat_v8f m8 = {0};
            for (; x + LANES <= nx; x += LANES) {
                stat_v8f f8;
                memcpy(&f8, row + x, sizeof f8);
                stat_v8i gt = f8 > m8;
                m8 = (stat_v8f)(((stat_v8i)f8 & gt) | ((stat_v8i)m8 & ~gt));
                for (int k = 0; k < LANES; k++) {
                    double v = row[x + k];
                    sum8[k] += v;
                    sq8[k] += v * v;
                }
            }
            for (int k = 0; k < LANES; k++)
                rmax8[k] = m8[k];
#else
            for (; x + LANES <= nx; x += LANES)
                for (int k = 0; k < LANES; k++) {
                    double v = row[x + k];
                    sum8[k] += v;
                    sq8[k] += v * v;
                    rmax8[k] = v > rmax8[k] ? v : rmax8[k];
                }
#endif
            n += (size_t)x;
        }
        for (; x < nx; x++) { /* the row's tail */
            if (mrow && !mrow[x])
                continue;
            double v = row[x];
            sum8[x % LANES] += v;
            sq8[x % LANES] += v * v;
            rmax8[0] = v > rmax8[0] ? v : rmax8[0];
            n++;
        }
        double rmax = rmax8[0];
        for (int k = 1; k < LANES; k++)
            rmax = rmax8[k] > rmax ? rmax8[k] : rmax;
        if (rmax > max_I) {
            for (int xx = 0; xx < nx; xx++)
                if ((!mrow || mrow[xx]) && (double)row[xx] == rmax) {
                    max_I = rmax;
                    mx = x0 + xx;
                    my = y;
                    break;
                }
        }
    }
    double sum = 0, sq = 0;
    for (int k = 0; k < LANES; k++) {
        sum += sum8[k];
        sq += sq8[k];
    }
    p->sum = sum;
    p->sq = sq;
    p->max_I = max_I;
    p->mx = mx;
    p->my = my;
    p->n = n;
}

/* one row's squared deviations from avg, into the 8 lanes (lane = column % 8) */
static void ss_row(const float *row, int nx, double avg, double ss8[LANES])
{
    int x = 0;
    for (; x + LANES <= nx; x += LANES)
        for (int k = 0; k < LANES; k++) {
            double d = row[x + k] - avg;
            ss8[k] += d * d;
        }
    for (; x < nx; x++) {
        double d = row[x] - avg;
        ss8[x % LANES] += d * d;
    }
}

/* one row of an SMV image: columns x0..x1 converted, the rest 0 */
static void u16_row(const float *row, int width, int x0, int x1, double scale, double offset,
                    uint16_t *o)
{
    memset(o, 0, (size_t)x0 * sizeof *o);
    memset(o + x1 + 1, 0, (size_t)(width - 1 - x1) * sizeof *o);
    for (int x = x0; x <= x1; x++) {
        double t = row[x] * scale + offset;
        t = t > 65535.0 ? 65535.0 : t;
        t = t > 0.0 ? t : 0.0; /* negative or NaN: 0 (the cast of those is undefined) */
        /* floorf of a non-negative float is its truncation (no libm call) */
        o[x] = (uint16_t)(int)(float)(t + 0.5);
    }
}

static double lanes_sum(const double v[LANES])
{
    double s = 0;
    for (int k = 0; k < LANES; k++)
        s += v[k];
    return s;
}

/* pass 2: squared deviations from the mean over the whole ROI (mask not applied, as in the
 * reference); with u16 set, the same sweep also writes the block's rows of the SMV image */
HOST_CLONES static void stat_pass2(void *ctx, size_t i)
{
    stat_job *j = ctx;
    double ss8[LANES] = {0};
    int ya, yb;
    block_rows(&j->rb, i, &ya, &yb);
    const int nx = j->x1 - j->x0 + 1;
    for (int y = ya; y <= yb; y++) {
        const float *row = j->data + (size_t)y * j->width;
        ss_row(row + j->x0, nx, j->avg, ss8);
        if (j->u16)
            u16_row(row, j->width, j->x0, j->x1, j->scale, j->offset,
                    j->u16 + (size_t)y * j->width);
    }
    j->part[i].ss = lanes_sum(ss8);
}

/* the stats ROI clipped to the image (rows y0..y1, none when the ROI is empty) in row blocks */
static void stat_job_init(stat_job *j, const nbcl_scene *s, const nbcl_image *img, int *y0,
                          int *y1)
{
    memset(j, 0, sizeof *j);
    j->data = img->data;
    j->mask = s->mask;
    j->width = img->fpixels;
    j->x0 = s->roi[0] > 0 ? s->roi[0] : 0; /* clipped as the conversions clip it */
    j->x1 = s->roi[1] < img->fpixels - 1 ? s->roi[1] : img->fpixels - 1;
    *y0 = s->roi[2] > 0 ? s->roi[2] : 0;
    *y1 = s->roi[3] < img->spixels - 1 ? s->roi[3] : img->spixels - 1;
    if (j->x1 < j->x0)
        *y1 = *y0 - 1; /* an empty ROI: no rows */
    j->rb = make_blocks(*y0, *y1, img->fpixels);
}

/* pass 1's partials in block order: max (first pixel in raster order), sums, count */
static void stat_combine1(const stat_job *j, nbcl_stats *out, double *sumsqr)
{
    double sum = 0, sq = 0, max_I = 0;
    size_t n = 0;
    int mx = 0, my = 0;
    for (size_t i = 0; i < j->rb.n; i++) {
        const stat_part *p = &j->part[i];
        sum += p->sum;
        sq += p->sq;
        n += p->n;
        if (p->max_I > max_I) { /* blocks in raster order: the first pixel reaching the max */
            max_I = p->max_I;
            mx = p->mx;
            my = p->my;
        }
    }
    out->max_I = max_I;
    out->max_fpixel = mx;
    out->max_spixel = my;
    out->sum = sum;
    out->n = n;
    *sumsqr = sq;
}

/* The reference's statistics: max, mean and RMS over the ROI skipping masked pixels, RMSD over
 * the whole ROI. With u16, pass 2 also makes the SMV image at scale_of(s, statistics so far) and
 * the scene's ADC offset (the scale needs max_I, the RMSD the mean: both after pass 1). */
static void stats_run(const nbcl_scene *s, const nbcl_image *img, nbcl_stats *out, uint16_t *u16,
                      double (*scale_of)(const nbcl_scene *, const nbcl_stats *))
{
    memset(out, 0, sizeof *out);
    stat_job j;
    int y0, y1;
    stat_job_init(&j, s, img, &y0, &y1);
    stat_part one;
    memset(&one, 0, sizeof one);
    j.part = j.rb.n > 1 ? calloc(j.rb.n, sizeof *j.part) : &one;
    if (!j.part) { /* no memory for the partials: one block, one thread */
        j.rb.rows = y1 - y0 + 1;
        j.rb.n = 1;
        j.part = &one;
    }
    size_t npix = (size_t)img->fpixels * (size_t)img->spixels;
    nbcl__parallel_chunks(j.rb.n, npix, stat_pass1, &j);
    double sumsqr;
    stat_combine1(&j, out, &sumsqr);
    size_t nn = out->n ? out->n : 1;
    j.avg = out->sum / nn;
    out->mean = j.avg;
    if (nn <= 1)
        nn = 2;
    if (u16) {
        j.u16 = u16;
        j.scale = scale_of(s, out);
        j.offset = s->adc_offset;
        /* rows outside the ROI (pass 2 writes the ROI's rows) */
        int top = j.rb.n ? y0 : img->spixels, bottom = j.rb.n ? y1 + 1 : img->spixels;
        memset(u16, 0, (size_t)top * (size_t)img->fpixels * sizeof *u16);
        memset(u16 + (size_t)bottom * img->fpixels, 0,
               (size_t)(img->spixels - bottom) * (size_t)img->fpixels * sizeof *u16);
    }
    nbcl__parallel_chunks(j.rb.n, npix, stat_pass2, &j);
    double ss = 0;
    for (size_t i = 0; i < j.rb.n; i++)
        ss += j.part[i].ss;
    size_t m = j.rb.n ? (size_t)(y1 - y0 + 1) * (size_t)(j.x1 - j.x0 + 1) : 0;
    if (m <= 1)
        m = 2;
    if (j.part != &one)
        free(j.part);
    out->rms = sqrt(sumsqr / (nn - 1));
    out->rmsd = sqrt(ss / (m - 1));
    nbcl__stats_count_nonfinite(s, img, out);
}

void nbcl_image_stats_host(const nbcl_scene *s, const nbcl_image *img, nbcl_stats *out)
{
    stats_run(s, img, out, NULL, NULL);
}

void nbcl__image_stats_u16(const nbcl_scene *s, const nbcl_image *img, nbcl_stats *out,
                           uint16_t *u16,
                           double (*scale_of)(const nbcl_scene *, const nbcl_stats *))
{
    stats_run(s, img, out, u16, scale_of);
}

/* ------------------------------------------------------------------ non-finite pixels */
void nbcl__stats_count_nonfinite(const nbcl_scene *s, const nbcl_image *img, nbcl_stats *st)
{
    st->nonfinite = st->nonfinite_nan = 0;
    st->nonfinite_fpixel = st->nonfinite_spixel = -1;
    /* a NaN or an infinity in the ROI makes a sum NaN or infinite, and finite floats cannot
     * overflow a double sum (3.4e38^2 x 2^31 pixels < 1e87): a good image costs no extra pass */
    if (isfinite(st->sum) && isfinite(st->rms) && isfinite(st->rmsd) && isfinite(st->max_I))
        return;
    int x0 = s->roi[0] > 0 ? s->roi[0] : 0, y0 = s->roi[2] > 0 ? s->roi[2] : 0;
    int x1 = s->roi[1] < img->fpixels - 1 ? s->roi[1] : img->fpixels - 1;
    int y1 = s->roi[3] < img->spixels - 1 ? s->roi[3] : img->spixels - 1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            float v = img->data[(size_t)y * img->fpixels + x];
            if (isfinite(v))
                continue;
            if (!st->nonfinite) {
                st->nonfinite_fpixel = x;
                st->nonfinite_spixel = y;
            }
            st->nonfinite++;
            st->nonfinite_nan += isnan(v) != 0;
        }
}

nbcl_status nbcl_image_check_finite(const nbcl_scene *s, const nbcl_stats *st,
                                    nbcl_precision precision, char *err, size_t errlen)
{
    if (!s || !st)
        return NBCL_INVALID_ARGUMENT;
    if (!st->nonfinite)
        return NBCL_OK;
    int x = st->nonfinite_fpixel, y = st->nonfinite_spixel;
    size_t ninf = st->nonfinite - st->nonfinite_nan;
    char what[160];
    if (st->nonfinite_nan && ninf)
        snprintf(what, sizeof what, "%zu NaN and %zu infinite", st->nonfinite_nan, ninf);
    else
        snprintf(what, sizeof what, "%zu %s", st->nonfinite, ninf ? "infinite" : "NaN");
    /* the cause: the same pixel again on the host, in double */
    nbcl_pixel_trace t;
    const char *cause;
    char buf[512];
    if (nbcl_scene_pixel_trace(s, x, y, &t) != NBCL_OK) {
        cause = "cause unknown";
    } else if (isnan(t.value)) {
        snprintf(buf, sizeof buf,
                 "the physics of that pixel is undefined in double precision too (wavelength "
                 "%g m, sample-to-pixel distance %g m, |S| %g 1/m): an extreme geometry, "
                 "wavelength, cell or mosaic value; see -printout_pixel %d %d",
                 t.lambda, t.airpath, 2.0 * t.stol, x, y);
        cause = buf;
    } else if (!(fabs(t.value) <= FLT_MAX)) {
        snprintf(buf, sizeof buf,
                 "the intensity (%.3g photons in double precision) exceeds the float image's "
                 "largest value (%.3g): lower -default_F or the -hkl amplitudes (I scales as "
                 "F^2), -fluence/-flux or -water",
                 t.value, (double)FLT_MAX);
        cause = buf;
    } else if (precision == NBCL_PRECISION_F32) {
        snprintf(buf, sizeof buf,
                 "the intensity overflowed single precision on the way (in double it is %.3g "
                 "photons): use -precision double",
                 t.value);
        cause = buf;
    } else {
        snprintf(buf, sizeof buf,
                 "the device's value differs from the host's (%.3g photons in double): a device "
                 "or driver fault",
                 t.value);
        cause = buf;
    }
    snprintf(err, errlen, "the image has %s pixel%s (first at fast %d, slow %d): %s", what,
             st->nonfinite > 1 ? "s" : "", x, y, cause);
    return NBCL_NONFINITE;
}

/* ------------------------------------------------------------------ integer images */
typedef struct conv_job {
    const float *data;
    int width, height;
    int roi[4];        /* clipped to the image */
    double scale, offset;
    void *out;
    int u8;
    row_blocks rb;
} conv_job;

HOST_CLONES static void conv_block(void *ctx, size_t i)
{
    conv_job *j = ctx;
    int ya, yb;
    block_rows(&j->rb, i, &ya, &yb);
    size_t es = j->u8 ? 1 : 2;
    for (int y = ya; y <= yb; y++) {
        size_t base = (size_t)y * j->width;
        unsigned char *orow = (unsigned char *)j->out + base * es;
        if (y < j->roi[2] || y > j->roi[3] || j->roi[1] < j->roi[0]) {
            memset(orow, 0, (size_t)j->width * es);
            continue;
        }
        int x0 = j->roi[0], x1 = j->roi[1];
        const float *row = j->data + base;
        if (!j->u8) {
            u16_row(row, j->width, x0, x1, j->scale, j->offset, (uint16_t *)orow);
            continue;
        }
        memset(orow, 0, (size_t)x0);
        memset(orow + x1 + 1, 0, (size_t)(j->width - 1 - x1));
        for (int x = x0; x <= x1; x++) {
            double t = row[x] * j->scale;
            t = t > 255.0 ? 255.0 : t;
            t = t > 0.0 ? t : 0.0; /* negative or NaN: 0 (the cast of those is undefined) */
            orow[x] = (unsigned char)(int)t;
        }
    }
}

static void convert(const nbcl_image *img, const int roi[4], double scale, double offset,
                    void *out, int u8)
{
    conv_job j;
    memset(&j, 0, sizeof j);
    j.data = img->data;
    j.width = img->fpixels;
    j.height = img->spixels;
    j.roi[0] = roi[0] > 0 ? roi[0] : 0;
    j.roi[1] = roi[1] < img->fpixels - 1 ? roi[1] : img->fpixels - 1;
    j.roi[2] = roi[2] > 0 ? roi[2] : 0;
    j.roi[3] = roi[3] < img->spixels - 1 ? roi[3] : img->spixels - 1;
    j.scale = scale;
    j.offset = offset;
    j.out = out;
    j.u8 = u8;
    j.rb = make_blocks(0, img->spixels - 1, img->fpixels);
    nbcl__parallel_chunks(j.rb.n, (size_t)img->fpixels * (size_t)img->spixels, conv_block, &j);
}

void nbcl_image_to_u16(const nbcl_image *img, const int roi[4], double scale, double offset,
                       uint16_t *out)
{
    convert(img, roi, scale, offset, out, 0);
}

void nbcl_image_to_u8(const nbcl_image *img, const int roi[4], double scale, uint8_t *out)
{
    convert(img, roi, scale, 0.0, out, 1);
}
