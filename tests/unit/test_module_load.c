/* nbcl_module_load (engine/src/core/module.c) as the static libnbcl.a sees it, linked into this
 * program in the build's bin/: modules are found in ../lib/nbcl, loaded once, checked; a bad
 * name or a missing module gives NULL and a message naming the file(s) tried. */
#include "nbcl_test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nbcl_modules.h"

static void loads_once_and_checks_the_head(void **state)
{
    (void)state;
    char err[2048] = "";
    const nbcl_cbf_module *cbf = nbcl_module_load("cbf", 0, err, sizeof err);
    if (!cbf)
        fail_msg("%s", err);
    assert_int_equal(cbf->head.abi, NBCL_MODULE_ABI);
    assert_string_equal(cbf->head.version, nbcl_version());
    assert_non_null(cbf->encode);
    assert_non_null(cbf->read);
    assert_ptr_equal(nbcl_module_load("cbf", 0, err, sizeof err), cbf);
    assert_ptr_equal(nbcl__cbf_module(err, sizeof err), cbf);
    const nbcl_nexus_module *nx = nbcl__nexus_module(err, sizeof err);
    if (!nx)
        fail_msg("%s", err);
    assert_ptr_not_equal((const void *)nx, (const void *)cbf);
    assert_int_equal(nx->filter_available(NBCL_NEXUS_DEFLATE), 1);
    assert_int_equal(nbcl_format_load(NBCL_FORMAT_CBF, err, sizeof err), NBCL_OK);
    assert_int_equal(nbcl_format_load(NBCL_FORMAT_HDF5, err, sizeof err), NBCL_OK);
    assert_int_equal(nbcl_format_load(NBCL_FORMAT_SMV, err, sizeof err), NBCL_OK);
}

static void bad_names_and_missing_modules(void **state)
{
    (void)state;
    char err[4096] = "";
    const char *bad[] = {"", "../cbf", "CBF", "cbf.so", "a-b", "abcdefghijklmnopq", NULL};
    for (int i = 0; bad[i]; i++) {
        err[0] = 0;
        assert_null(nbcl_module_load(bad[i], 0, err, sizeof err));
        assert_non_null(strstr(err, "invalid module name"));
    }
    assert_null(nbcl_module_load(NULL, 0, err, sizeof err));
    assert_non_null(nbcl_module_load("cbf", 0, NULL, 0)); /* no message buffer: fine */
    assert_null(nbcl_module_load("nosuch", 0, NULL, 0));
    err[0] = 0;
    assert_null(nbcl_module_load("nosuch", 0, err, sizeof err));
    /* the program's ../lib/nbcl, then the install folder */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    char want[4200];
    snprintf(want, sizeof want, "cannot be loaded from %s/../lib/nbcl/nbcl-nosuch.so", exe);
    if (!strstr(err, want))
        fail_msg("'%s' lacks '%s'", err, want);
    assert_non_null(strstr(err, "(also tried "));
    assert_non_null(strstr(err, "/nbcl/nbcl-nosuch.so)"));
    assert_non_null(strstr(err, "No such file or directory"));
    /* a failure is not remembered as a module, nor does it disturb the loaded ones */
    assert_null(nbcl_module_load("nosuch", 0, err, sizeof err));
    assert_non_null(nbcl_module_load("cbf", 0, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_once_and_checks_the_head),
        cmocka_unit_test(bad_names_and_missing_modules),
    };
    return cmocka_run_group_tests_name("module_load", tests, NULL, NULL);
}
