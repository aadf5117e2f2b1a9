/* An nbcl built without MPI must refuse to run under an MPI launcher (issue 11): R copies would
 * render and write the same files. cli/ranks.c is compiled here without NBCL_HAVE_MPI, whatever
 * the nbcl of this build uses, and fed the launchers' environment variables. */
#include "nbcl_test.h"

#include <stdlib.h>
#include <string.h>

#undef NBCL_HAVE_MPI
#include "../../cli/ranks.c"

static void clear_env(void)
{
    unsetenv("OMPI_COMM_WORLD_SIZE");
    unsetenv("PMI_SIZE");
    unsetenv("PMIX_SIZE");
    unsetenv("PMIX_RANK");
}

static int init_with(const char *var, const char *value, char *err, size_t errlen)
{
    clear_env();
    if (var)
        setenv(var, value, 1);
    int argc = 1;
    char *args[] = {"nbcl", NULL};
    char **argv = args;
    nbcl_ranks r;
    err[0] = 0;
    int rc = nbcl_ranks_init(&argc, &argv, &r, err, errlen);
    assert_int_equal(r.rank, 0);
    assert_int_equal(r.size, 1);
    assert_int_equal(nbcl_ranks_max(&r, 6), 6);
    assert_int_equal(nbcl_ranks_sum(&r, 5), 5);
    clear_env();
    return rc;
}

static void refuses_under_launchers(void **state)
{
    (void)state;
    char err[1024];
    assert_int_equal(init_with(NULL, NULL, err, sizeof err), 0);
    assert_int_equal(init_with("OMPI_COMM_WORLD_SIZE", "1", err, sizeof err), 0);
    assert_int_not_equal(init_with("OMPI_COMM_WORLD_SIZE", "2", err, sizeof err), 0);
    assert_non_null(strstr(err, "built without MPI"));
    assert_non_null(strstr(err, "OMPI_COMM_WORLD_SIZE=2"));
    assert_int_not_equal(init_with("PMI_SIZE", "4", err, sizeof err), 0);
    assert_non_null(strstr(err, "PMI_SIZE"));
    assert_int_not_equal(init_with("PMIX_RANK", "0", err, sizeof err), 0);
    assert_non_null(strstr(err, "PMIX_RANK"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(refuses_under_launchers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
