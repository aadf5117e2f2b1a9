/* Host image passes (engine/src/render/image.c): the reference's statistics and the SMV/PGM
 * integer images (also both in one sweep), computed in row blocks, in parallel for large images.
 * Checked against plain one-pixel-at-a-time loops, with a mask, a ROI, ties for the maximum
 * across block boundaries, and the same bits for any number of host threads. */
#include "nbcl_test.h"
#include "nbcl_internal.h"
#include "nbcl_scene_internal.h" /* white-box: the scene's fields */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the reference's statistics, written the simplest way (long double sums) */
static void naive_stats(const nbcl_scene *s, const nbcl_image *img, nbcl_stats *o)
{
    long double sum = 0, sq = 0;
    double max_I = 0;
    size_t n = 0;
    int mx = 0, my = 0;
    for (int y = s->roi[2]; y <= s->roi[3]; y++)
        for (int x = s->roi[0]; x <= s->roi[1]; x++) {
            size_t i = (size_t)y * img->fpixels + x;
            if (s->mask && !s->mask[i])
                continue;
            double v = img->data[i];
            if (v > max_I) {
                max_I = v;
                mx = x;
                my = y;
            }
            sum += v;
            sq += (long double)v * v;
            n++;
        }
    double mean = (double)(sum / (n ? n : 1));
    long double ss = 0;
    size_t m = 0;
    for (int y = s->roi[2]; y <= s->roi[3]; y++)
        for (int x = s->roi[0]; x <= s->roi[1]; x++) {
            long double d = img->data[(size_t)y * img->fpixels + x] - mean;
            ss += d * d;
            m++;
        }
    memset(o, 0, sizeof *o);
    o->max_I = max_I;
    o->max_fpixel = mx;
    o->max_spixel = my;
    o->sum = (double)sum;
    o->mean = mean;
    o->rms = sqrt((double)(sq / ((n > 1 ? n : 2) - 1)));
    o->rmsd = sqrt((double)(ss / ((m > 1 ? m : 2) - 1)));
    o->n = n;
}

static unsigned g_seed = 12345;
static double urand(void)
{
    g_seed = g_seed * 1103515245u + 12345u;
    return (g_seed >> 8) / 16777216.0;
}

static void fill(nbcl_image *img, int w, int h)
{
    assert_int_equal(nbcl_image_alloc(img, w, h), NBCL_OK);
    for (size_t i = 0; i < (size_t)w * h; i++)
        img->data[i] = (float)(1000.0 * urand() * urand() * urand());
}

static void set_threads(int n)
{
    char v[16];
    snprintf(v, sizeof v, "%d", n);
    setenv("NBCL_HOST_THREADS", v, 1);
}

static void check_close(const nbcl_stats *a, const nbcl_stats *b)
{
    assert_true(a->max_I == b->max_I);
    assert_int_equal(a->max_fpixel, b->max_fpixel);
    assert_int_equal(a->max_spixel, b->max_spixel);
    assert_int_equal(a->n, b->n);
    assert_true(fabs(a->sum - b->sum) <= 1e-12 * fabs(b->sum));
    assert_true(fabs(a->mean - b->mean) <= 1e-12 * fabs(b->mean));
    assert_true(fabs(a->rms - b->rms) <= 1e-12 * fabs(b->rms));
    assert_true(fabs(a->rmsd - b->rmsd) <= 1e-11 * fabs(b->rmsd));
}

/* A 1000x700 image is 11 row blocks; the result is the plain loop's, bit for bit the same for
 * 1 and 5 threads. */
static void test_stats_match_and_thread_independent(void **state)
{
    (void)state;
    nbcl_scene s;
    memset(&s, 0, sizeof s);
    nbcl_image img;
    fill(&img, 1000, 700);
    s.roi[0] = 3;
    s.roi[1] = 996; /* a row length that is not a multiple of the 8 lanes */
    s.roi[2] = 5;
    s.roi[3] = 690;
    nbcl_stats want, one, five;
    naive_stats(&s, &img, &want);
    set_threads(1);
    nbcl_image_stats_host(&s, &img, &one);
    set_threads(5);
    nbcl_image_stats_host(&s, &img, &five);
    unsetenv("NBCL_HOST_THREADS");
    check_close(&one, &want);
    assert_memory_equal(&one, &five, sizeof one);
    nbcl_image_free(&img);
}

/* The maximum is reached twice, in different blocks and at the end of a row tail: the first in
 * raster order is reported. Masked pixels never count, not even when they hold the maximum. */
static void test_stats_ties_and_mask(void **state)
{
    (void)state;
    nbcl_scene s;
    memset(&s, 0, sizeof s);
    nbcl_image img;
    const int w = 517, h = 400; /* 126 rows per block, a tail of 5 pixels per row */
    fill(&img, w, h);
    s.roi[0] = 0;
    s.roi[1] = w - 1;
    s.roi[2] = 0;
    s.roi[3] = h - 1;
    img.data[(size_t)300 * w + 516] = 5000.0f; /* row tail, block 2 */
    img.data[(size_t)390 * w + 2] = 5000.0f;   /* same value, later */
    img.data[(size_t)10 * w + 7] = 9000.0f;    /* larger, but masked */
    s.mask = malloc((size_t)w * h);
    assert_non_null(s.mask);
    memset(s.mask, 1, (size_t)w * h);
    s.mask[(size_t)10 * w + 7] = 0;
    for (int x = 0; x < w; x += 3)
        s.mask[(size_t)200 * w + x] = 0;
    nbcl_stats want, got, got3;
    naive_stats(&s, &img, &want);
    set_threads(1);
    nbcl_image_stats_host(&s, &img, &got);
    set_threads(3);
    nbcl_image_stats_host(&s, &img, &got3);
    unsetenv("NBCL_HOST_THREADS");
    assert_true(got.max_I == 5000.0);
    assert_int_equal(got.max_fpixel, 516);
    assert_int_equal(got.max_spixel, 300);
    assert_int_equal(got.n, (size_t)w * h - 1 - (w + 2) / 3);
    check_close(&got, &want);
    assert_memory_equal(&got, &got3, sizeof got);
    free(s.mask);
    nbcl_image_free(&img);
}

static uint16_t want_u16(float v, double scale, double offset)
{
    double t = v * scale + offset;
    if (t > 65535.0)
        t = 65535.0;
    if (!(t > 0.0))
        t = 0.0;
    return (uint16_t)floorf((float)(t + 0.5));
}

/* Every pixel: the formula inside the ROI (clamped at 0 and 65535, NaN as 0), 0 outside. */
static void test_u16_and_u8(void **state)
{
    (void)state;
    nbcl_image img;
    const int w = 300, h = 450;
    fill(&img, w, h);
    img.data[(size_t)100 * w + 100] = NAN;
    img.data[(size_t)100 * w + 101] = -7.0f;
    img.data[(size_t)100 * w + 102] = 1e30f;
    int roi[4] = {10, 289, 20, 440};
    uint16_t *u = malloc((size_t)w * h * 2);
    uint8_t *b = malloc((size_t)w * h);
    assert_non_null(u);
    assert_non_null(b);
    memset(u, 0xab, (size_t)w * h * 2); /* every pixel must be written */
    memset(b, 0xab, (size_t)w * h);
    set_threads(4);
    nbcl_image_to_u16(&img, roi, 37.5, 40.0, u);
    nbcl_image_to_u8(&img, roi, 0.9, b);
    unsetenv("NBCL_HOST_THREADS");
    size_t bad = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int in = x >= roi[0] && x <= roi[1] && y >= roi[2] && y <= roi[3];
            uint16_t wu = in ? want_u16(img.data[i], 37.5, 40.0) : 0;
            double t = img.data[i] * 0.9;
            uint8_t wb = !in || !(t > 0) ? 0 : (t > 255 ? 255 : (uint8_t)t);
            bad += u[i] != wu;
            bad += b[i] != wb;
        }
    assert_int_equal(bad, 0);
    assert_int_equal(u[(size_t)100 * w + 100], 0);
    assert_int_equal(u[(size_t)100 * w + 101], 0); /* -7 * 37.5 + 40 < 0 */
    assert_int_equal(u[(size_t)100 * w + 102], 65535);
    assert_int_equal(b[(size_t)100 * w + 102], 255);
    free(u);
    free(b);
    nbcl_image_free(&img);
}

static double scale_from_max(const nbcl_scene *s, const nbcl_stats *st)
{
    (void)s;
    return st->max_I > 0 ? 55000.0 / st->max_I : 1.0;
}

/* The fused pass (statistics, then the RMSD sweep that also writes the SMV image) gives the
 * same statistics, bit for bit, as nbcl_image_stats_host and the same pixels as
 * nbcl_image_to_u16 at the scale of the maximum: with a mask, a ROI that leaves rows and
 * columns out, a NaN and values beyond the 16-bit range, on 1 and 3 threads. */
static void test_stats_u16_fused(void **state)
{
    (void)state;
    nbcl_scene s;
    memset(&s, 0, sizeof s);
    nbcl_image img;
    const int w = 700, h = 300; /* 93 rows per block: 4 blocks, the last one short */
    fill(&img, w, h);
    s.roi[0] = 5;
    s.roi[1] = 650;
    s.roi[2] = 7;
    s.roi[3] = 280;
    s.adc_offset = 40.0;
    img.data[(size_t)100 * w + 100] = -3.0f;
    img.data[(size_t)2 * w + 3] = 1e30f; /* outside the ROI: 0 in the SMV image */
    s.mask = malloc((size_t)w * h);
    assert_non_null(s.mask);
    memset(s.mask, 1, (size_t)w * h);
    for (int x = 0; x < w; x += 7)
        s.mask[(size_t)50 * w + x] = 0;
    size_t npix = (size_t)w * h;
    uint16_t *want = malloc(npix * 2), *got = malloc(npix * 2);
    assert_non_null(want);
    assert_non_null(got);
    for (int threads = 1; threads <= 3; threads += 2) {
        set_threads(threads);
        nbcl_stats ref, fused;
        nbcl_image_stats_host(&s, &img, &ref);
        double scale = scale_from_max(&s, &ref);
        nbcl_image_to_u16(&img, s.roi, scale, s.adc_offset, want);
        memset(got, 0xab, npix * 2); /* every pixel must be written */
        nbcl__image_stats_u16(&s, &img, &fused, got, scale_from_max);
        assert_memory_equal(&fused, &ref, sizeof ref);
        assert_memory_equal(got, want, npix * 2);
        /* and the plain formula, pixel by pixel */
        size_t bad = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * w + x;
                int in = x >= s.roi[0] && x <= s.roi[1] && y >= s.roi[2] && y <= s.roi[3];
                bad += got[i] != (in ? want_u16(img.data[i], scale, 40.0) : 0);
            }
        assert_int_equal(bad, 0);
        assert_int_equal(got[(size_t)100 * w + 100], 0); /* -3 * scale + 40 < 0 */
        assert_int_equal(got[(size_t)2 * w + 3], 0);
    }
    unsetenv("NBCL_HOST_THREADS");
    /* ROIs reaching past the image on either side: clipped to it, the same way by all passes */
    const int rois[2][4] = {{600, w + 10, 250, h + 5}, {-2, 30, -1, 20}};
    for (int r = 0; r < 2; r++) {
        memcpy(s.roi, rois[r], sizeof s.roi);
        nbcl_stats ref, fused;
        nbcl_image_stats_host(&s, &img, &ref);
        nbcl_image_to_u16(&img, s.roi, scale_from_max(&s, &ref), s.adc_offset, want);
        memset(got, 0xab, npix * 2);
        nbcl__image_stats_u16(&s, &img, &fused, got, scale_from_max);
        assert_memory_equal(&fused, &ref, sizeof ref);
        assert_memory_equal(got, want, npix * 2);
        nbcl_scene clipped = s; /* the plain loops over the ROI inside the image */
        clipped.roi[0] = s.roi[0] > 0 ? s.roi[0] : 0;
        clipped.roi[1] = s.roi[1] < w - 1 ? s.roi[1] : w - 1;
        clipped.roi[2] = s.roi[2] > 0 ? s.roi[2] : 0;
        clipped.roi[3] = s.roi[3] < h - 1 ? s.roi[3] : h - 1;
        nbcl_stats plain;
        naive_stats(&clipped, &img, &plain);
        check_close(&ref, &plain);
    }
    /* an empty ROI: no statistics, an all-zero image */
    s.roi[0] = 10;
    s.roi[1] = 9;
    nbcl_stats none;
    memset(got, 0xab, npix * 2);
    nbcl__image_stats_u16(&s, &img, &none, got, scale_from_max);
    assert_int_equal(none.n, 0);
    assert_true(none.max_I == 0.0);
    size_t nonzero = 0;
    for (size_t i = 0; i < npix; i++)
        nonzero += got[i] != 0;
    assert_int_equal(nonzero, 0);
    free(want);
    free(got);
    free(s.mask);
    nbcl_image_free(&img);
}

/* Threads for a pass: one per million pixels up to the CPUs, never more than the chunks, and
 * NBCL_HOST_THREADS when set (even for a small image). */
static void test_host_threads_for(void **state)
{
    (void)state;
    unsetenv("NBCL_HOST_THREADS");
    int cpus = nbcl__host_threads();
    assert_true(cpus >= 1);
    assert_int_equal(nbcl__host_threads_for(4, (size_t)512 * 512), 1);
    assert_int_equal(nbcl__host_threads_for(16, (size_t)1024 * 1024), 1);
    int big = nbcl__host_threads_for(256, (size_t)4096 * 4096);
    assert_int_equal(big, cpus < 16 ? cpus : 16);
    assert_int_equal(nbcl__host_threads_for(1, (size_t)4096 * 4096), 1);
    assert_int_equal(nbcl__host_threads_for(0, 0), 1);
    set_threads(3);
    assert_int_equal(nbcl__host_threads_for(4, (size_t)512 * 512), 3);
    assert_int_equal(nbcl__host_threads_for(2, (size_t)512 * 512), 2);
    unsetenv("NBCL_HOST_THREADS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_match_and_thread_independent),
        cmocka_unit_test(test_stats_ties_and_mask),
        cmocka_unit_test(test_u16_and_u8),
        cmocka_unit_test(test_stats_u16_fused),
        cmocka_unit_test(test_host_threads_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
