/* status strings and names, version, OpenCL error names, SHA-256, cancel tokens */
#include "nbcl_test.h"
#include "nbcl_internal.h"

#include <stdio.h>
#include <string.h>

static void test_status_strings(void **state)
{
    (void)state;
    assert_string_equal(nbcl_status_str(NBCL_OK), "success");
    assert_string_equal(nbcl_status_str(NBCL_NO_FP64), "device lacks double precision");
    assert_string_equal(nbcl_status_str(NBCL_INTERRUPTED), "interrupted");
    assert_string_equal(nbcl_status_name(NBCL_OK), "NBCL_OK");
    assert_string_equal(nbcl_status_name(NBCL_IO), "NBCL_IO");
    assert_string_equal(nbcl_status_name(NBCL_BUILD_FAILED), "NBCL_BUILD_FAILED");
    assert_string_equal(nbcl_status_name(NBCL_DEVICE_MEMORY), "NBCL_DEVICE_MEMORY");
    /* every code has a distinct, non-empty name and message */
#define NBCL_X_(name, code, msg)                                        \
    assert_string_equal(nbcl_status_name(NBCL_##name), "NBCL_" #name);   \
    assert_string_equal(nbcl_status_str(NBCL_##name), msg);
    NBCL_STATUS_MAP(NBCL_X_)
#undef NBCL_X_
    /* out-of-range values still give static strings */
    assert_non_null(nbcl_status_str((nbcl_status)-999));
    assert_string_equal(nbcl_status_name((nbcl_status)-999), "NBCL_UNKNOWN");
}

static void test_version(void **state)
{
    (void)state;
    const char *v = nbcl_version();
    assert_non_null(v);
    assert_true(strlen(v) >= 5); /* x.y.z */
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.", NBCL_VERSION_MAJOR, NBCL_VERSION_MINOR);
    assert_true(strncmp(v, expect, strlen(expect)) == 0);
    assert_non_null(nbcl_git_sha());
    assert_true(strlen(nbcl_git_sha()) > 0);
}

static void test_cl_error_names(void **state)
{
    (void)state;
    assert_string_equal(nbcl__cl_error_name(CL_SUCCESS), "CL_SUCCESS");
    assert_string_equal(nbcl__cl_error_name(CL_BUILD_PROGRAM_FAILURE), "CL_BUILD_PROGRAM_FAILURE");
    assert_string_equal(nbcl__cl_error_name(CL_INVALID_COMMAND_QUEUE), "CL_INVALID_COMMAND_QUEUE");
    assert_string_equal(nbcl__cl_error_name(CL_MEM_OBJECT_ALLOCATION_FAILURE),
                        "CL_MEM_OBJECT_ALLOCATION_FAILURE");
    assert_string_equal(nbcl__cl_error_name(CL_INVALID_DEVICE_PARTITION_COUNT),
                        "CL_INVALID_DEVICE_PARTITION_COUNT");
    assert_string_equal(nbcl__cl_error_name(CL_KERNEL_ARG_INFO_NOT_AVAILABLE),
                        "CL_KERNEL_ARG_INFO_NOT_AVAILABLE");
    assert_string_equal(nbcl__cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    assert_string_equal(nbcl__cl_error_name(-12345), "CL_UNKNOWN_ERROR(-12345)");
    /* every CL 1.2 code from 0 to -19 and -30 to -68 has a real name */
    for (cl_int c = 0; c >= -68; c--) {
        if (c < -19 && c > -30)
            continue;
        assert_true(strncmp(nbcl__cl_error_name(c), "CL_UNKNOWN", 10) != 0);
    }
}

static void test_sha256(void **state)
{
    (void)state;
    char hex[65];
    nbcl__sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    nbcl__sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    nbcl__sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_errf_and_clock(void **state)
{
    (void)state;
    char buf[8];
    nbcl__errf(buf, sizeof buf, "%s-%d", "abcdef", 42);
    assert_string_equal(buf, "abcdef-"); /* truncated, terminated */
    nbcl__errf(NULL, 0, "ignored %d", 1);  /* NULL-safe */
    double t0 = nbcl__now();
    double t1 = nbcl__now();
    assert_true(t0 > 0.0);
    assert_true(t1 >= t0);
}

/* tokens are independent objects; NULL is a token never triggered; nbcl_cancel_use installs
 * the calling thread's token and returns the one before */
static void test_cancel_tokens(void **state)
{
    (void)state;
    nbcl_cancel *a = nbcl_cancel_create(), *b = nbcl_cancel_create();
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(nbcl_cancel_triggered(a), 0);
    nbcl_cancel_trigger(a);
    assert_int_equal(nbcl_cancel_triggered(a), 1);
    assert_int_equal(nbcl_cancel_triggered(b), 0);
    nbcl_cancel_trigger(NULL);
    assert_int_equal(nbcl_cancel_triggered(NULL), 0);
    nbcl_cancel_reset(a);
    assert_int_equal(nbcl_cancel_triggered(a), 0);
    assert_null(nbcl_cancel_use(a));
    assert_ptr_equal(nbcl_cancel_use(b), a);
    assert_ptr_equal(nbcl_cancel_use(NULL), b);
    nbcl_cancel_use(a);
    nbcl_cancel_destroy(a); /* destroying the installed token uninstalls it */
    assert_null(nbcl_cancel_use(NULL));
    nbcl_cancel_destroy(b);
    nbcl_cancel_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_strings), cmocka_unit_test(test_version),
        cmocka_unit_test(test_cl_error_names), cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_errf_and_clock), cmocka_unit_test(test_cancel_tokens),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
