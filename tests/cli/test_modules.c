/* CBFlib, HDF5 and Open MPI live in modules loaded on first use (docs/architecture.md
 * "Modules"): a plain run loads none of them; a -cbffile run loads CBFlib; a module that is
 * missing, broken or lacks its entry point refuses the run before any work with a message
 * naming the module, the path tried and the loader's reason (nbcl: exit 6, nbcl-compare: exit
 * 3, under an MPI launcher: exit 2) and no file.
 * The missing and broken modules are made without touching the build: a copy of the shared
 * libnbcl in a scratch lib/ (found first through LD_LIBRARY_PATH, as libnbcl's RUNPATH comes
 * after it) looks for its modules in that lib/nbcl, which holds what each case needs. */
#include "nbcl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE                                                                                 \
    "-cell 100 100 100 90 90 90 -lambda 1.2 -N 3 -default_F 100 -distance 60 -detpixels 16 " \
    "-oversample 1 -noprogress -nopgm -nonoise "

static char g_lib[4096]; /* the scratch lib/ with the copy of libnbcl */

static char *slurp(const char *dir, const char *name)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    char *s = nbcl_test_read_file(p, NULL);
    return s ? s : calloc(1, 1);
}

/* number of entries in dir other than the captured out.txt and err.txt */
static int outputs_in(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "exit $(ls -A '%s' | grep -v -x -e out.txt -e err.txt | wc -l)", dir);
    return nbcl_test_run(cmd);
}

/* run `env PROGRAM args` in dir (out.txt, err.txt), with the scratch libnbcl when g_lib is set */
static int run_in(const char *dir, const char *env, const char *prog, const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s%s%s %s '%s' %s > out.txt 2> err.txt", dir,
             g_lib[0] ? "LD_LIBRARY_PATH='" : "", g_lib[0] ? g_lib : "", g_lib[0] ? "'" : "",
             env ? env : "", nbcl_test_bin(prog), args);
    return nbcl_test_run(cmd);
}

/* a scratch lib/ holding a copy of the build's shared libnbcl (its links and file) and an
 * empty nbcl/; 0 when the programs do not link a shared libnbcl (NBCL_BUILD_SHARED=OFF) */
static int scratch_lib(const char *name)
{
    const char *d = nbcl_test_workdir(name);
    assert_non_null(d);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "ls '%s'/../lib/libnbcl.so.* > /dev/null 2>&1 && mkdir -p '%s/lib/nbcl' && "
             "cp -P '%s'/../lib/libnbcl.so.* '%s/lib/'",
             getenv("NBCL_BIN_DIR"), d, getenv("NBCL_BIN_DIR"), d);
    if (nbcl_test_run(cmd) != 0)
        return 0;
    snprintf(g_lib, sizeof g_lib, "%s/lib", d);
    return 1;
}

static void assert_says(const char *dir, const char *what)
{
    char *e = slurp(dir, "err.txt");
    if (!strstr(e, what))
        fail_msg("stderr lacks '%s': %s", what, e);
    free(e);
}

/* LD_DEBUG=files lists every object the loader maps: a plain render maps none of the three
 * libraries nor a module; a -cbffile render maps CBFlib through nbcl-cbf.so (so the check can
 * see a library when it is there) */
static void plain_run_loads_none(void **state)
{
    (void)state;
    nbcl_test_need_device();
    g_lib[0] = 0;
    const char *d = nbcl_test_workdir("plain");
    assert_int_equal(run_in(d, "LD_DEBUG=files", "nbcl", BASE "-floatfile f.bin"), 0);
    char *e = slurp(d, "err.txt");
    assert_non_null(strstr(e, "file=libOpenCL.so")); /* the listing is there */
    const char *never[] = {"libhdf5", "libcbf", "libmpi", "nbcl-cbf.so", "nbcl-nexus.so",
                           "nbcl-mpi.so", "libcurl"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strstr(e, never[i]))
            fail_msg("a plain nbcl run loaded %s", never[i]);
    free(e);
    d = nbcl_test_workdir("cbfrun");
    assert_int_equal(run_in(d, "LD_DEBUG=files", "nbcl", BASE "-floatfile f.bin -cbffile c.cbf"), 0);
    e = slurp(d, "err.txt");
    assert_non_null(strstr(e, "nbcl-cbf.so"));
    assert_non_null(strstr(e, "libcbf"));
    assert_null(strstr(e, "nbcl-nexus.so"));
    assert_null(strstr(e, "libmpi"));
    free(e);
}

/* no module at all: -cbffile and -nexusfile refuse before any work (exit 6, nothing written),
 * naming the module, the path tried and dlerror(); a run that needs neither still works with
 * this very libnbcl; nbcl-compare cannot read a CBF (exit 3) */
static void missing_modules(void **state)
{
    (void)state;
    if (!scratch_lib("missing"))
        skip();
    const char *d = nbcl_test_workdir("missing_run");
    char want[8400];
    assert_int_equal(run_in(d, NULL, "nbcl", BASE "-floatfile f.bin -cbffile c.cbf"), 6);
    assert_says(d, "nbcl: -cbffile c.cbf: ");
    snprintf(want, sizeof want, "%s/nbcl/nbcl-cbf.so", g_lib);
    assert_says(d, want);
    assert_says(d, "No such file or directory");
    assert_int_equal(outputs_in(d), 0);
    assert_int_equal(run_in(d, NULL, "nbcl", BASE "-floatfile f.bin -nexusfile s.nxs"), 6);
    assert_says(d, "nbcl: -nexusfile s.nxs: ");
    snprintf(want, sizeof want, "%s/nbcl/nbcl-nexus.so", g_lib);
    assert_says(d, want);
    assert_int_equal(outputs_in(d), 0);
    /* nbcl-compare reads through the same library */
    char cbf[4400];
    snprintf(cbf, sizeof cbf, "%s/x.cbf", d);
    FILE *f = fopen(cbf, "w");
    assert_non_null(f);
    fputs("###CBF: VERSION 1.5\n", f);
    fclose(f);
    assert_int_equal(run_in(d, NULL, "nbcl-compare", "x.cbf x.cbf --host"), 3);
    assert_says(d, "nbcl-cbf.so");
    if (nbcl_test_have_device()) {
        assert_int_equal(run_in(d, NULL, "nbcl", BASE "-floatfile f.bin"), 0);
        assert_int_equal(outputs_in(d), 3); /* f.bin, intimage.img (the default), x.cbf */
    }
    g_lib[0] = 0;
}

/* NBCL_MODULE_DIR is tried first (a libnbcl whose own nbcl/ is empty still writes CBF with it),
 * and a libnbcl reached through a link in a folder without nbcl/ finds the modules next to its
 * real file */
static void module_dir_and_links(void **state)
{
    (void)state;
    nbcl_test_need_device();
    if (!scratch_lib("envdir"))
        skip();
    char env[4400];
    snprintf(env, sizeof env, "NBCL_MODULE_DIR='%s/../lib/nbcl'", getenv("NBCL_BIN_DIR"));
    const char *d = nbcl_test_workdir("envdir_run");
    assert_int_equal(run_in(d, env, "nbcl", BASE "-floatfile f.bin -cbffile c.cbf"), 0);
    assert_int_equal(outputs_in(d), 3); /* f.bin, intimage.img, c.cbf */
    /* the same libnbcl without it: refused, naming its own nbcl/ first */
    assert_int_equal(run_in(d, NULL, "nbcl", BASE "-floatfile g.bin -cbffile g.cbf"), 6);
    assert_int_equal(outputs_in(d), 3);
    /* links only: lib/ holds symbolic links to the build's libnbcl files, no nbcl/ */
    const char *l = nbcl_test_workdir("links");
    assert_non_null(l);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/lib' && for f in '%s'/../lib/libnbcl.so.*; do "
             "ln -s \"$(readlink -f \"$f\")\" '%s/lib/'\"$(basename \"$f\")\"; done",
             l, getenv("NBCL_BIN_DIR"), l);
    assert_int_equal(nbcl_test_run(cmd), 0);
    snprintf(g_lib, sizeof g_lib, "%s/lib", l);
    d = nbcl_test_workdir("links_run");
    assert_int_equal(run_in(d, "LD_DEBUG=files", "nbcl", BASE "-floatfile f.bin -cbffile c.cbf"), 0);
    assert_int_equal(outputs_in(d), 3);
    char want[4400];
    snprintf(want, sizeof want, "needed by %s/libnbcl.so", g_lib); /* the link was used */
    assert_says(d, want);
    g_lib[0] = 0;
}

/* a module file that is not a library, and one that lacks its entry point (another module
 * under its name) */
static void broken_modules(void **state)
{
    (void)state;
    if (!scratch_lib("broken"))
        skip();
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             ": > '%s/nbcl/nbcl-nexus.so' && cp '%s'/../lib/nbcl/nbcl-nexus.so '%s/nbcl/nbcl-cbf.so'",
             g_lib, getenv("NBCL_BIN_DIR"), g_lib);
    assert_int_equal(nbcl_test_run(cmd), 0);
    const char *d = nbcl_test_workdir("broken_run");
    char want[8400];
    assert_int_equal(run_in(d, NULL, "nbcl", BASE "-floatfile f.bin -cbffile c.cbf"), 6);
    snprintf(want, sizeof want, "%s/nbcl/nbcl-cbf.so lacks its entry point nbcl_module_cbf", g_lib);
    assert_says(d, want);
    assert_int_equal(outputs_in(d), 0);
    assert_int_equal(run_in(d, NULL, "nbcl", BASE "-floatfile f.bin -nexusfile s.nxs"), 6);
    snprintf(want, sizeof want, "cannot be loaded from %s/nbcl/nbcl-nexus.so", g_lib);
    assert_says(d, want);
    assert_says(d, "file too short"); /* dlerror() */
    assert_int_equal(outputs_in(d), 0);
    g_lib[0] = 0;
}

/* under an MPI launcher (its environment), without the MPI module: refused like a build without
 * MPI (exit 2), naming the module; nothing written */
static void mpi_module_missing(void **state)
{
    (void)state;
    if (!scratch_lib("mpi"))
        skip();
    char probe[4400];
    snprintf(probe, sizeof probe, "test -e '%s'/../lib/nbcl/nbcl-mpi.so", getenv("NBCL_BIN_DIR"));
    int with_mpi = nbcl_test_run(probe) == 0;
    const char *d = nbcl_test_workdir("mpi_run");
    assert_int_equal(run_in(d, "env OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0", "nbcl",
                            BASE "-floatfile f.bin"),
                     2);
    if (with_mpi) {
        assert_says(d, "OMPI_COMM_WORLD_SIZE=2");
        assert_says(d, "nbcl-mpi.so");
        assert_says(d, "No such file or directory");
    } else {
        assert_says(d, "built without MPI");
    }
    assert_int_equal(outputs_in(d), 0);
    g_lib[0] = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_run_loads_none),
        cmocka_unit_test(missing_modules),
        cmocka_unit_test(broken_modules),
        cmocka_unit_test(module_dir_and_links),
        cmocka_unit_test(mpi_module_missing),
    };
    return cmocka_run_group_tests_name("modules", tests, NULL, NULL);
}
