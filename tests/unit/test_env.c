/* NBCL_* read once into nbcl_env_options (engine/src/core/env.c): every kind of variable lands in
 * its field, an empty value is unset, an unknown one is refused with a message naming the
 * variable and its values while the valid ones are still filled, and init gives "unset" for all. */
#include "nbcl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const VARS[] = {
    "NBCL_DEVICE", "NBCL_CACHE",   "NBCL_CACHE_DIR",   "XDG_CACHE_HOME",      "HOME",
    "NBCL_KERNEL_DIR", "NBCL_BUILD_OPTIONS", "NBCL_KERNEL", "NBCL_STATS", "NBCL_HOST_THREADS",
    "NBCL_ZERO_COPY", "NBCL_TIMING", "NBCL_VERBOSE", "NBCL_LAUNCH_SECONDS", "NBCL_BATCH"};

static int clear_all(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++)
        unsetenv(VARS[i]);
    return 0;
}

static void assert_unset(const nbcl_env_options *o)
{
    assert_null(o->device);
    assert_int_equal(o->cache, NBCL_CACHE_AUTO);
    assert_null(o->cache_dir);
    assert_null(o->xdg_cache_home);
    assert_null(o->home);
    assert_null(o->kernel_dir);
    assert_null(o->build_options);
    assert_int_equal(o->kernel, -1);
    assert_int_equal(o->stats, -1);
    assert_int_equal(o->host_threads, 0);
    assert_int_equal(o->zero_copy, -1);
    assert_int_equal(o->timing, 0);
    assert_int_equal(o->verbose, 0);
    assert_true(o->launch_seconds < 0.0);
    assert_int_equal(o->batch, 0);
}

static void test_init_and_empty_environment(void **state)
{
    (void)state;
    nbcl_env_options o;
    memset(&o, 0x5a, sizeof o);
    nbcl_env_options_init(&o);
    assert_unset(&o);
    memset(&o, 0x5a, sizeof o);
    assert_int_equal(nbcl_env_options_read(&o, NULL, 0), NBCL_OK);
    assert_unset(&o);
    /* empty values count as unset */
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++)
        setenv(VARS[i], "", 1);
    assert_int_equal(nbcl_env_options_read(&o, NULL, 0), NBCL_OK);
    assert_unset(&o);
    assert_int_equal(nbcl_env_check(NULL, 0), NBCL_OK);
}

static void test_every_kind(void **state)
{
    (void)state;
    setenv("NBCL_DEVICE", "0:1", 1);
    setenv("NBCL_CACHE", "No", 1);
    setenv("NBCL_CACHE_DIR", "/tmp/c", 1);
    setenv("XDG_CACHE_HOME", "/tmp/x", 1);
    setenv("HOME", "/tmp/h", 1);
    setenv("NBCL_KERNEL_DIR", "/tmp/k", 1);
    setenv("NBCL_BUILD_OPTIONS", "-DX=1", 1);
    setenv("NBCL_KERNEL", "SIMD", 1);
    setenv("NBCL_STATS", "host", 1);
    setenv("NBCL_HOST_THREADS", "3", 1);
    setenv("NBCL_ZERO_COPY", "0", 1);
    setenv("NBCL_TIMING", "1", 1);
    setenv("NBCL_VERBOSE", "1", 1);
    setenv("NBCL_LAUNCH_SECONDS", "0.125", 1);
    setenv("NBCL_BATCH", "4", 1);
    nbcl_env_options o;
    assert_int_equal(nbcl_env_options_read(&o, NULL, 0), NBCL_OK);
    assert_string_equal(o.device, "0:1");
    assert_int_equal(o.cache, NBCL_CACHE_OFF);
    assert_string_equal(o.cache_dir, "/tmp/c");
    assert_string_equal(o.xdg_cache_home, "/tmp/x");
    assert_string_equal(o.home, "/tmp/h");
    assert_string_equal(o.kernel_dir, "/tmp/k");
    assert_string_equal(o.build_options, "-DX=1");
    assert_int_equal(o.kernel, 1);
    assert_int_equal(o.stats, 1);
    assert_int_equal(o.host_threads, 3);
    assert_int_equal(o.zero_copy, 0);
    assert_int_equal(o.timing, 1);
    assert_int_equal(o.verbose, 1);
    assert_true(o.launch_seconds == 0.125);
    assert_int_equal(o.batch, 4);
    clear_all(NULL);
}

/* each refusal names the variable, the value and what is allowed; the other (valid) variables
 * are still read */
static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value, *message;
    } bad[] = {
        {"NBCL_KERNEL", "vector", "NBCL_KERNEL='vector': expected scalar|simd (or unset)"},
        {"NBCL_STATS", "gpu", "NBCL_STATS='gpu': expected device|host (or unset)"},
        {"NBCL_CACHE", "maybe",
         "NBCL_CACHE='maybe': expected auto|on|off|1|0|yes|no|true|false (or unset)"},
        {"NBCL_ZERO_COPY", "yes", "NBCL_ZERO_COPY='yes': expected 0|1 (or unset)"},
        {"NBCL_HOST_THREADS", "-2", "NBCL_HOST_THREADS='-2': expected an integer >= 1 (or unset)"},
        {"NBCL_BATCH", "0", "NBCL_BATCH='0': expected an integer >= 1 (or unset)"},
        {"NBCL_LAUNCH_SECONDS", "86401",
         "NBCL_LAUNCH_SECONDS='86401': expected a number of seconds from 0 to 86400 (or unset)"},
        {"NBCL_LAUNCH_SECONDS", "fast",
         "NBCL_LAUNCH_SECONDS='fast': expected a number of seconds from 0 to 86400 (or unset)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_all(NULL);
        setenv("NBCL_TIMING", "1", 1);
        setenv(bad[i].name, bad[i].value, 1);
        nbcl_env_options o;
        char err[256] = "";
        assert_int_equal(nbcl_env_options_read(&o, err, sizeof err), NBCL_INVALID_ARGUMENT);
        assert_string_equal(err, bad[i].message);
        assert_int_equal(o.timing, 1);
        char err2[256] = "";
        assert_int_equal(nbcl_env_check(err2, sizeof err2), NBCL_INVALID_ARGUMENT);
        assert_string_equal(err2, bad[i].message);
    }
    clear_all(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_and_empty_environment, clear_all),
        cmocka_unit_test_setup(test_every_kind, clear_all),
        cmocka_unit_test_setup(test_refusals, clear_all),
    };
    return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
