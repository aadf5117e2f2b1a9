/* Large detector (issue 5, label `large`): a 16384 x 16384 render (1 GiB of floats) succeeds on
 * PoCL within the machine's memory, in tiles, on a device whose single buffer is smaller than the
 * image. On PoCL the test sets POCL_MEMORY_LIMIT=2 (2 GiB device, 512 MiB per buffer) unless the
 * caller set it. Two runs of a cheap scene (cubic cell, N 1, one source, oversample 1):
 *   1. the library: nbcl_render in tiles; spot checks against the host evaluation;
 *   2. the CLI: nbcl -detpixels 16384 writing the float and SMV images (1.5 GB, removed after).
 * Peak memory of this process and of nbcl is printed and bounded (3 GiB each).
 * About 20 s + 25 s on 2 cores (PoCL). Exit 77 (skipped) without an OpenCL device. */
#include "nbcl_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define SIDE 16384
#define MAX_RSS_KB (3L * 1024 * 1024)

static void test_library(void **state)
{
    (void)state;
    nbcl_engine *e = nbcl_test_engine(NBCL_PRECISION_AUTO);
    assert_non_null(e);
    const nbcl_device_info *di = nbcl_engine_device(e);
    nbcl_config c;
    nbcl_config_init(&c);
    c.user_cell = 1;
    c.cell[0] = c.cell[1] = c.cell[2] = 100.0;
    c.cell[3] = c.cell[4] = c.cell[5] = M_PI / 2;
    c.default_F = 100.0;
    c.read_dump = c.write_dump = 0;
    c.fpixels = c.spixels = SIDE;
    c.oversample = 1;
    nbcl_scene *s = NULL;
    char err[2048];
    if (nbcl_scene_build(&c, &s, err, sizeof err) != NBCL_OK)
        fail_msg("scene: %s", err);
    size_t npix = (size_t)SIDE * SIDE;
    nbcl_image img = {0};
    nbcl_render_timing tm;
    nbcl_status st = nbcl_render(e, s, NULL, &img, &tm);
    if (st != NBCL_OK)
        fail_msg("render: %s: %s", nbcl_status_str(st), nbcl_engine_last_error(e));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr,
            "%s: max buffer %.0f MiB; %dx%d in %zu tiles, %.1f s (kernels %.1f s), peak RSS "
            "%.0f MiB\n",
            di->device_name, di->max_alloc_bytes / 1048576.0, SIDE, SIDE, tm.tiles, tm.wall_s,
            tm.kernel_s, ru.ru_maxrss / 1024.0);
    assert_true(tm.tiles >= 2);
    assert_true(npix * sizeof(float) <= di->max_alloc_bytes ||
                tm.tiles >= npix * sizeof(float) / di->max_alloc_bytes);
    assert_true(ru.ru_maxrss < MAX_RSS_KB);
    double tol = nbcl_engine_precision(e) == NBCL_PRECISION_F64 ? 1e-9 : 1e-4;
    size_t probe[] = {0, SIDE - 1, npix / 2 + SIDE / 2, npix - SIDE, npix - 1, 12345678,
                      (size_t)1 << 22, ((size_t)1 << 22) - 1};
    for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
        size_t i = probe[k];
        assert_close(img.data[i], nbcl_scene_pixel_host(s, (int)(i % SIDE), (int)(i / SIDE)),
                     1e-30, tol);
    }
    size_t bad = 0;
    for (size_t i = 0; i < npix; i++)
        bad += !isfinite(img.data[i]) || img.data[i] < 0;
    assert_int_equal(bad, 0);
    nbcl_image_free(&img);
    nbcl_scene_destroy(s);
    nbcl_test_engines_release();
}

static void test_cli(void **state)
{
    (void)state;
    char dir[4200], cmd[16384], fpath[4400], ipath[4400];
    snprintf(dir, sizeof dir, "%s/large16384", nbcl_test_tmpdir());
    mkdir(dir, 0755);
    snprintf(fpath, sizeof fpath, "%s/float.bin", dir);
    snprintf(ipath, sizeof ipath, "%s/int.img", dir);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && /usr/bin/env time -f 'nbcl: %%e s, peak RSS %%M KiB' '%s' -cell 100 100 "
             "100 90 90 90 -default_F 100 -N 1 -oversample 1 -detpixels %d -floatfile float.bin "
             "-intfile int.img -nopgm -nonoise -noprogress > out.txt 2> err.txt",
             dir, nbcl_test_bin("nbcl"), SIDE);
    int have_time = access("/usr/bin/time", X_OK) == 0;
    if (!have_time) /* GNU time is optional: run without the report */
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && '%s' -cell 100 100 100 90 90 90 -default_F 100 -N 1 -oversample 1 "
                 "-detpixels %d -floatfile float.bin -intfile int.img -nopgm -nonoise "
                 "-noprogress > out.txt 2> err.txt",
                 dir, nbcl_test_bin("nbcl"), SIDE);
    int rc = nbcl_test_run(cmd);
    char ep[4400];
    snprintf(ep, sizeof ep, "%s/err.txt", dir);
    char *err = nbcl_test_read_file(ep, NULL);
    fprintf(stderr, "%s", err ? err : "");
    if (rc != 0)
        fail_msg("nbcl -detpixels %d: exit %d: %s", SIDE, rc, err ? err : "");
    struct stat st;
    assert_int_equal(stat(fpath, &st), 0);
    assert_int_equal((size_t)st.st_size, (size_t)SIDE * SIDE * sizeof(float));
    assert_int_equal(stat(ipath, &st), 0);
    assert_int_equal((size_t)st.st_size, 512 + (size_t)SIDE * SIDE * 2);
    if (err && have_time) {
        const char *p = strstr(err, "peak RSS ");
        if (p)
            assert_true(atol(p + 9) < MAX_RSS_KB);
    }
    free(err);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    nbcl_test_run(cmd);
}

int main(void)
{
    setenv("POCL_MEMORY_LIMIT", "2", 0);
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests_name("render_16384", tests, NULL, NULL);
}
