/* Non-finite images (issue 14 class 4) in the library: the statistics count NaN and infinite
 * pixels of the ROI on the device path (CLBlast) and on the host path alike, a good image counts
 * none, nbcl_image_check_finite() names the cause, and single precision folds the scale into the
 * amplitudes when only the float sum would overflow. */
#include "nbcl_test.h"
#include "nbcl_scene_internal.h" /* white-box: the scene's fields */

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nbcl_scene *scene(double default_F, double fluence, int pixels)
{
    nbcl_config c;
    nbcl_test_cubic_config(&c, 100.0, 5, default_F, pixels);
    c.fluence = fluence;
    c.oversample = 1;
    nbcl_scene *s = NULL;
    char err[1024];
    if (nbcl_scene_build(&c, &s, err, sizeof err) != NBCL_OK)
        fail_msg("scene: %s", err);
    return s;
}

static void check_counts(nbcl_engine *e, nbcl_scene *s, nbcl_image *img, size_t want,
                         size_t want_nan, int fx, int fy)
{
    nbcl_stats a, b;
    assert_int_equal(nbcl_image_stats(e, s, img, &a), NBCL_OK);
    nbcl_image_stats_host(s, img, &b);
    const nbcl_stats *st[2] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(st[k]->nonfinite, want);
        assert_int_equal(st[k]->nonfinite_nan, want_nan);
        assert_int_equal(st[k]->nonfinite_fpixel, fx);
        assert_int_equal(st[k]->nonfinite_spixel, fy);
    }
}

static void test_counts_device_and_host(void **state)
{
    (void)state;
    nbcl_engine *e = nbcl_test_engine(NBCL_PRECISION_AUTO);
    assert_non_null(e);
    nbcl_scene *s = scene(100.0, 1.25932e29, 64);
    nbcl_image img;
    assert_int_equal(nbcl_image_alloc(&img, 64, 64), NBCL_OK);
    for (int i = 0; i < 64 * 64; i++)
        img.data[i] = 1.0f + (float)(i % 13);
    check_counts(e, s, &img, 0, 0, -1, -1);
    char err[1024];
    nbcl_stats st;
    nbcl_image_stats_host(s, &img, &st);
    assert_int_equal(nbcl_image_check_finite(s, &st, NBCL_PRECISION_F64, err, sizeof err),
                     NBCL_OK);
    img.data[5 * 64 + 9] = INFINITY; /* first in raster order: (9, 5) */
    img.data[40 * 64 + 2] = NAN;
    img.data[41 * 64 + 3] = -INFINITY;
    check_counts(e, s, &img, 3, 1, 9, 5);
    /* outside the ROI they do not count */
    s->roi[2] = 6;
    check_counts(e, s, &img, 2, 1, 2, 40);
    s->roi[2] = 0;
    nbcl_image_free(&img);
    nbcl_scene_destroy(s);
}

/* the message names the cause found by the host's double evaluation of the first bad pixel */
static void test_check_finite_causes(void **state)
{
    (void)state;
    char err[1024];
    nbcl_stats st;
    memset(&st, 0, sizeof st);
    st.nonfinite = 4;
    st.nonfinite_fpixel = 3;
    st.nonfinite_spixel = 2;
    /* the pixel is beyond the float image even in double */
    nbcl_scene *s = scene(1e200, 1.25932e29, 16);
    assert_int_equal(nbcl_image_check_finite(s, &st, NBCL_PRECISION_F64, err, sizeof err),
                     NBCL_NONFINITE);
    assert_non_null(strstr(err, "4 infinite pixels (first at fast 3, slow 2)"));
    assert_non_null(strstr(err, "exceeds the float image"));
    nbcl_scene_destroy(s);
    /* the pixel fits: in single precision the float arithmetic overflowed on the way */
    s = scene(100.0, 1.25932e29, 16);
    st.nonfinite_nan = 4;
    assert_int_equal(nbcl_image_check_finite(s, &st, NBCL_PRECISION_F32, err, sizeof err),
                     NBCL_NONFINITE);
    assert_non_null(strstr(err, "4 NaN pixels"));
    assert_non_null(strstr(err, "-precision double"));
    /* ... and in double the device disagrees with the host */
    assert_int_equal(nbcl_image_check_finite(s, &st, NBCL_PRECISION_F64, err, sizeof err),
                     NBCL_NONFINITE);
    assert_non_null(strstr(err, "differs from the host"));
    nbcl_scene_destroy(s);
}

/* -default_F 1e20 -fluence 1e-10: F^2 = 1e40 passes FLT_MAX, the pixels (~0.08) do not. Single
 * precision folds the scale into F and gives double's image. */
static void test_single_precision_scaled_amplitudes(void **state)
{
    (void)state;
    nbcl_engine *e32 = nbcl_test_engine(NBCL_PRECISION_F32);
    nbcl_engine *e64 = nbcl_test_engine(NBCL_PRECISION_F64);
    assert_non_null(e32);
    assert_non_null(e64);
    nbcl_scene *s = scene(1e20, 1e-10, 48);
    nbcl_image a = {0}, b = {0};
    assert_int_equal(nbcl_render(e32, s, NULL, &a, NULL), NBCL_OK);
    assert_int_equal(nbcl_render(e64, s, NULL, &b, NULL), NBCL_OK);
    double vmax = 0;
    for (int i = 0; i < 48 * 48; i++)
        vmax = b.data[i] > vmax ? b.data[i] : vmax;
    assert_true(vmax > 1e-3 && vmax < 1.0);
    for (int i = 0; i < 48 * 48; i++) {
        if (!isfinite(a.data[i]))
            fail_msg("single-precision pixel %d is %g", i, (double)a.data[i]);
        assert_close(a.data[i], b.data[i], 1e-5 * vmax, 1e-3);
    }
    nbcl_image_free(&a);
    nbcl_image_free(&b);
    nbcl_scene_destroy(s);
}

int main(void)
{
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_device_and_host),
        cmocka_unit_test(test_check_finite_causes),
        cmocka_unit_test(test_single_precision_scaled_amplitudes),
    };
    int rc = cmocka_run_group_tests_name("nonfinite", tests, NULL, NULL);
    nbcl_test_engines_release();
    return rc;
}
