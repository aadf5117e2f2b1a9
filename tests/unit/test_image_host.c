/* Host image passes (engine/src/render/image.c): the reference's statistics and the SMV/PGM integer
 * images, computed in parallel row blocks. Checked against plain one-pixel-at-a-time loops, with
 * a mask, a ROI, ties for the maximum across block boundaries, and the same bits for any number
 * of host threads. */
#include "nbcl_test.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_match_and_thread_independent),
        cmocka_unit_test(test_stats_ties_and_mask),
        cmocka_unit_test(test_u16_and_u8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
