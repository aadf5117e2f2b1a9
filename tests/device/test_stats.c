/* Image statistics and image comparison on the device (CLBlast) against the host computation:
 * random images, ROI, mask, ties for the maximum, negative and zero images, both engine
 * precisions, the host fallback. */
#include "nbcl_test.h"
#include "nbcl_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REL 1e-9

static nbcl_engine *g_eng;
static nbcl_scene *g_scene;

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static double urand(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) * (1.0 / 9007199254740992.0);
}

static int group_setup(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        exit(nbcl_test_skip_all());
    g_eng = nbcl_test_engine(NBCL_PRECISION_AUTO);
    if (!g_eng)
        return -1;
    nbcl_config cfg;
    nbcl_config_init(&cfg);
    cfg.user_cell = 1;
    cfg.cell[0] = cfg.cell[1] = cfg.cell[2] = 100;
    cfg.cell[3] = cfg.cell[4] = cfg.cell[5] = M_PI / 2;
    cfg.default_F = 100;
    cfg.read_dump = cfg.write_dump = 0; /* hermetic: no Fdump.bin from the working directory */
    cfg.fpixels = cfg.spixels = 96;
    char err[1024];
    if (nbcl_scene_build(&cfg, &g_scene, err, sizeof err) != NBCL_OK) {
        fprintf(stderr, "scene: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    nbcl_scene_destroy(g_scene);
    nbcl_test_engines_release();
    return 0;
}

/* reset the scene's ROI to the full detector and drop any mask */
static void full_roi(nbcl_scene *s, int f, int sp)
{
    s->fpixels = f;
    s->spixels = sp;
    s->roi[0] = 0;
    s->roi[1] = f - 1;
    s->roi[2] = 0;
    s->roi[3] = sp - 1;
    free(s->mask);
    s->mask = NULL;
}

static void check_stats(nbcl_engine *e, const nbcl_scene *s, const nbcl_image *img, int expect_device)
{
    nbcl_stats d, h;
    memset(&d, 0xA5, sizeof d);
    assert_int_equal(nbcl_image_stats(e, s, img, &d), NBCL_OK);
    nbcl_stats_profile p;
    nbcl_engine_stats_profile(e, &p);
    if (expect_device) {
        if (!p.on_device)
            fail_msg("statistics fell back to the host: %s", p.reason);
        assert_true(e->clblast_used);
        assert_true(p.ncalls >= 5);
        assert_string_equal(p.what, "stats");
    } else if (e) {
        assert_false(p.on_device);
        assert_true(strlen(p.reason) > 0);
    } else { /* no engine: no profile kept */
        assert_string_equal(p.what, "");
        assert_int_equal(p.ncalls, 0);
    }
    nbcl_image_stats_host(s, img, &h);
    assert_close(d.max_I, h.max_I, 0, 0);
    assert_int_equal(d.max_fpixel, h.max_fpixel);
    assert_int_equal(d.max_spixel, h.max_spixel);
    assert_int_equal(d.n, h.n);
    assert_close(d.sum, h.sum, 1e-12, REL);
    assert_close(d.mean, h.mean, 1e-12, REL);
    assert_close(d.rms, h.rms, 1e-12, REL);
    assert_close(d.rmsd, h.rmsd, 1e-12, REL);
}

static void test_stats_random_full(void **state)
{
    (void)state;
    nbcl_image img;
    assert_int_equal(nbcl_image_alloc(&img, 300, 200), NBCL_OK);
    for (size_t i = 0; i < 300 * 200; i++)
        img.data[i] = (float)(1000.0 * urand() * urand() * urand());
    full_roi(g_scene, 300, 200);
    check_stats(g_eng, g_scene, &img, 1);
    nbcl_image_free(&img);
}

static void test_stats_roi_mask(void **state)
{
    (void)state;
    int f = 257, sp = 131; /* odd sizes: no power-of-two luck in the reductions */
    nbcl_image img;
    assert_int_equal(nbcl_image_alloc(&img, f, sp), NBCL_OK);
    for (size_t i = 0; i < (size_t)f * sp; i++)
        img.data[i] = (float)(50.0 * urand());
    full_roi(g_scene, f, sp);
    /* the global maximum outside the ROI must not count */
    img.data[0] = 1e6f;
    g_scene->roi[0] = 10;
    g_scene->roi[1] = 200;
    g_scene->roi[2] = 5;
    g_scene->roi[3] = 120;
    check_stats(g_eng, g_scene, &img, 1);
    /* a mask that hides the ROI's maximum: mean/RMS skip it, RMSD does not */
    g_scene->mask = malloc((size_t)f * sp);
    for (size_t i = 0; i < (size_t)f * sp; i++)
        g_scene->mask[i] = urand() < 0.8;
    size_t hot = (size_t)50 * f + 60;
    img.data[hot] = 5000.0f;
    g_scene->mask[hot] = 0;
    check_stats(g_eng, g_scene, &img, 1);
    nbcl_stats d;
    nbcl_image_stats(g_eng, g_scene, &img, &d);
    assert_true(d.max_I < 5000.0);
    full_roi(g_scene, f, sp);
    nbcl_image_free(&img);
}

static void test_stats_ties_first_pixel(void **state)
{
    (void)state;
    int f = 128, sp = 128;
    nbcl_image img;
    assert_int_equal(nbcl_image_alloc(&img, f, sp), NBCL_OK);
    for (size_t i = 0; i < (size_t)f * sp; i++)
        img.data[i] = (float)(10.0 * urand());
    /* the same maximum at many places, as a symmetric pattern gives it */
    size_t spots[] = {9000, 77, 16000, 4096, 12345, 78};
    for (size_t k = 0; k < sizeof spots / sizeof spots[0]; k++)
        img.data[spots[k]] = 99.5f;
    full_roi(g_scene, f, sp);
    check_stats(g_eng, g_scene, &img, 1);
    nbcl_stats d;
    nbcl_image_stats(g_eng, g_scene, &img, &d);
    assert_int_equal(d.max_fpixel, 77 % f);
    assert_int_equal(d.max_spixel, 77 / f);
    nbcl_image_free(&img);
}

static void test_stats_zero_negative_tiny(void **state)
{
    (void)state;
    nbcl_image img;
    /* all zero: max at (0,0), rms/rmsd 0 */
    assert_int_equal(nbcl_image_alloc(&img, 40, 30), NBCL_OK);
    full_roi(g_scene, 40, 30);
    check_stats(g_eng, g_scene, &img, 1);
    /* all negative: max_I stays 0 like the reference's loop */
    for (size_t i = 0; i < 40 * 30; i++)
        img.data[i] = (float)(-1.0 - urand());
    check_stats(g_eng, g_scene, &img, 1);
    nbcl_image_free(&img);
    /* one pixel (n-1 guards) */
    assert_int_equal(nbcl_image_alloc(&img, 1, 1), NBCL_OK);
    img.data[0] = 7.0f;
    full_roi(g_scene, 1, 1);
    check_stats(g_eng, g_scene, &img, 1);
    nbcl_image_free(&img);
}

/* a flat image (spread far below the level): the one-pass variance would cancel, so the device
 * centres the pixels before summing squares; with and without a mask */
static void test_stats_flat_image(void **state)
{
    (void)state;
    int f = 200, sp = 150;
    nbcl_image img;
    assert_int_equal(nbcl_image_alloc(&img, f, sp), NBCL_OK);
    for (size_t i = 0; i < (size_t)f * sp; i++)
        img.data[i] = (float)(1000.0 + 0.01 * urand());
    full_roi(g_scene, f, sp);
    check_stats(g_eng, g_scene, &img, 1);
    nbcl_stats_profile p;
    nbcl_engine_stats_profile(g_eng, &p);
    int centred = 0;
    for (size_t i = 0; i < p.ncalls; i++)
        centred |= strcmp(p.calls[i].routine, "CLBlastDaxpy") == 0;
    assert_true(centred);
    g_scene->roi[0] = 3;
    g_scene->roi[1] = 150;
    g_scene->mask = malloc((size_t)f * sp);
    for (size_t i = 0; i < (size_t)f * sp; i++)
        g_scene->mask[i] = urand() < 0.9;
    check_stats(g_eng, g_scene, &img, 1);
    full_roi(g_scene, f, sp);
    /* a spread image takes the one-pass route: no centring */
    for (size_t i = 0; i < (size_t)f * sp; i++)
        img.data[i] = (float)(10.0 * urand());
    check_stats(g_eng, g_scene, &img, 1);
    nbcl_engine_stats_profile(g_eng, &p);
    for (size_t i = 0; i < p.ncalls; i++)
        assert_string_not_equal(p.calls[i].routine, "CLBlastDaxpy");
    nbcl_image_free(&img);
}

static void test_stats_both_precisions(void **state)
{
    (void)state;
    nbcl_image img;
    assert_int_equal(nbcl_image_alloc(&img, 64, 64), NBCL_OK);
    for (size_t i = 0; i < 64 * 64; i++)
        img.data[i] = (float)(1e-3 + 1e4 * urand() * urand());
    full_roi(g_scene, 64, 64);
    nbcl_engine *e32 = nbcl_test_engine(NBCL_PRECISION_F32);
    assert_non_null(e32);
    check_stats(e32, g_scene, &img, e32->info.has_fp64);
    if (g_eng->info.has_fp64) {
        nbcl_engine *e64 = nbcl_test_engine(NBCL_PRECISION_F64);
        assert_non_null(e64);
        check_stats(e64, g_scene, &img, 1);
    }
    nbcl_image_free(&img);
}

static void test_stats_host_fallback(void **state)
{
    (void)state;
    nbcl_image img;
    assert_int_equal(nbcl_image_alloc(&img, 32, 16), NBCL_OK);
    for (size_t i = 0; i < 32 * 16; i++)
        img.data[i] = (float)urand();
    full_roi(g_scene, 32, 16);
    check_stats(NULL, g_scene, &img, 0); /* no engine: host path, same numbers */
    nbcl_stats d;
    assert_int_equal(nbcl_image_stats(g_eng, NULL, &img, &d), NBCL_INVALID_ARGUMENT);
    assert_int_equal(nbcl_image_stats(g_eng, g_scene, NULL, &d), NBCL_INVALID_ARGUMENT);
    nbcl_image_free(&img);
}

/* the scene's own render through the CLI's path: render, then statistics */
static void test_stats_rendered_image(void **state)
{
    (void)state;
    nbcl_scene *s = NULL;
    nbcl_config cfg;
    nbcl_config_init(&cfg);
    cfg.user_cell = 1;
    cfg.cell[0] = cfg.cell[1] = cfg.cell[2] = 100;
    cfg.cell[3] = cfg.cell[4] = cfg.cell[5] = M_PI / 2;
    cfg.default_F = 100;
    cfg.read_dump = cfg.write_dump = 0;
    cfg.lambda0 = 6.2e-10;
    cfg.Na = cfg.Nb = cfg.Nc = 5;
    cfg.distance = 0.1;
    cfg.fpixels = cfg.spixels = 64;
    char err[1024];
    assert_int_equal(nbcl_scene_build(&cfg, &s, err, sizeof err), NBCL_OK);
    nbcl_image img = {0};
    assert_int_equal(nbcl_render(g_eng, s, NULL, &img, NULL), NBCL_OK);
    check_stats(g_eng, s, &img, 1); /* symmetric pattern: ties for the maximum */
    nbcl_image_free(&img);
    nbcl_scene_destroy(s);
}

static void check_compare(nbcl_engine *e, const float *a, const float *b, size_t n, int expect_device)
{
    nbcl_compare_result d, h;
    assert_int_equal(nbcl_compare_device(e, a, b, n, &d), NBCL_OK);
    nbcl_stats_profile p;
    nbcl_engine_stats_profile(e, &p);
    if (expect_device && !p.on_device)
        fail_msg("comparison fell back to the host: %s", p.reason);
    if (expect_device)
        assert_string_equal(p.what, "compare");
    nbcl_compare_host(a, b, n, &h);
    assert_int_equal(d.n, h.n);
    assert_close(d.sum_a, h.sum_a, 1e-12, REL);
    assert_close(d.sum_b, h.sum_b, 1e-12, REL);
    assert_close(d.ratio, h.ratio, 1e-12, REL);
    assert_close(d.corr, h.corr, 1e-12, REL);
    assert_close(d.mse, h.mse, 1e-15, REL);
    assert_close(d.rmse, h.rmse, 1e-15, REL);
    assert_close(d.max_abs, h.max_abs, 0, 0);
    assert_close(d.max_rel, h.max_rel, 0, 1e-15);
    assert_int_equal(d.worst_index, h.worst_index);
}

static void test_compare_random(void **state)
{
    (void)state;
    size_t n = 100003;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        a[i] = (float)(100 * urand());
        b[i] = a[i] * (float)(1.0 + 0.01 * (urand() - 0.5));
    }
    b[17] = 0.0f; /* zero in b: no relative error there */
    check_compare(g_eng, a, b, n, 1);
    /* identical images: correlation 1, no error, worst index 0 */
    check_compare(g_eng, a, a, n, 1);
    nbcl_compare_result r;
    nbcl_compare_device(g_eng, a, a, n, &r);
    assert_close(r.corr, 1.0, 1e-12, 0);
    assert_true(r.max_abs == 0 && r.worst_index == 0 && r.ratio == 1.0);
    /* ties in the worst difference: the first index wins */
    for (size_t i = 0; i < n; i++)
        b[i] = a[i];
    b[5000] = a[5000] + 8.0f;
    b[300] = a[300] - 8.0f;
    b[90000] = a[90000] + 8.0f;
    a[300] = 64.0f; b[300] = 56.0f;
    a[5000] = 64.0f; b[5000] = 72.0f;
    a[90000] = 64.0f; b[90000] = 72.0f;
    check_compare(g_eng, a, b, n, 1);
    nbcl_compare_device(g_eng, a, b, n, &r);
    assert_int_equal(r.worst_index, 300);
    /* a constant image against a varying one: correlation 0 as on the host */
    for (size_t i = 0; i < n; i++)
        a[i] = 3.0f;
    check_compare(g_eng, a, b, n, 1);
    check_compare(NULL, a, b, n, 0);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_random_full),
        cmocka_unit_test(test_stats_roi_mask),
        cmocka_unit_test(test_stats_ties_first_pixel),
        cmocka_unit_test(test_stats_zero_negative_tiny),
        cmocka_unit_test(test_stats_flat_image),
        cmocka_unit_test(test_stats_both_precisions),
        cmocka_unit_test(test_stats_host_fallback),
        cmocka_unit_test(test_stats_rendered_image),
        cmocka_unit_test(test_compare_random),
    };
    return cmocka_run_group_tests_name("stats", tests, group_setup, group_teardown);
}
