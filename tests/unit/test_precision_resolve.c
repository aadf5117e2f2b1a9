/* The precision decision (issue 5: "double precision on a device without fp64"). No device here
 * lacks fp64 (PoCL, NVIDIA and oclgrind all have it), so the decision is tested directly:
 * nbcl__precision_resolve (engine/src/core/engine.c) is what nbcl_engine_create applies to the
 * device's CL_DEVICE_DOUBLE_FP_CONFIG, and NBCL_NO_FP64 is what the CLI turns into exit 5 with a
 * one-line message naming the device. */
#include "nbcl_test.h"
#include "nbcl_kcache.h"

#include <string.h>

static void test_auto(void **state)
{
    (void)state;
    nbcl_precision p = (nbcl_precision)-1;
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_AUTO, 1, &p), NBCL_OK);
    assert_int_equal(p, NBCL_PRECISION_F64);
    p = (nbcl_precision)-1;
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_AUTO, 0, &p), NBCL_OK);
    assert_int_equal(p, NBCL_PRECISION_F32);
}

static void test_single_always_works(void **state)
{
    (void)state;
    for (int fp64 = 0; fp64 <= 1; fp64++) {
        nbcl_precision p = (nbcl_precision)-1;
        assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_F32, fp64, &p), NBCL_OK);
        assert_int_equal(p, NBCL_PRECISION_F32);
    }
}

static void test_double_needs_fp64(void **state)
{
    (void)state;
    nbcl_precision p = (nbcl_precision)-1;
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_F64, 1, &p), NBCL_OK);
    assert_int_equal(p, NBCL_PRECISION_F64);
    /* no fp64: refused, never silently downgraded, and *out untouched */
    p = (nbcl_precision)-1;
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_F64, 0, &p), NBCL_NO_FP64);
    assert_int_equal((int)p, -1);
    /* a NULL out is allowed */
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_F64, 0, NULL), NBCL_NO_FP64);
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_F64, 1, NULL), NBCL_OK);
}

static void test_invalid_values(void **state)
{
    (void)state;
    const int bad[] = {-1, 1, 16, 31, 33, 63, 65, 128};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nbcl_precision p = (nbcl_precision)-7;
        assert_int_equal(nbcl__precision_resolve((nbcl_precision)bad[i], 1, &p),
                         NBCL_INVALID_ARGUMENT);
        assert_int_equal(nbcl__precision_resolve((nbcl_precision)bad[i], 0, &p),
                         NBCL_INVALID_ARGUMENT);
        assert_int_equal((int)p, -7);
    }
}

static void test_status_text(void **state)
{
    (void)state;
    /* what the CLI prints when nothing better is known */
    assert_string_equal(nbcl_status_name(NBCL_NO_FP64), "NBCL_NO_FP64");
    assert_non_null(strstr(nbcl_status_str(NBCL_NO_FP64), "double"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto),
        cmocka_unit_test(test_single_always_works),
        cmocka_unit_test(test_double_needs_fp64),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_status_text),
    };
    return cmocka_run_group_tests_name("precision_resolve", tests, NULL, NULL);
}
