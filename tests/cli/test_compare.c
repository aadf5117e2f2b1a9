/* nbcl-compare: exit codes (ok, below threshold, usage, I/O, size mismatch, device), metrics in
 * --json against nbcl_compare_host, SMV input, ROI, the diff PNG. */
#include "nbcl_test.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char g_dir[1024];
static char g_a[1100], g_b[1100], g_c[1100], g_odd[1100], g_rect[1100], g_smv[1100];
static float *g_fa, *g_fb;
#define NPIX (64 * 64)

static int write_raw(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    fclose(f);
    return w == len ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s", nbcl_test_tmpdir());
    g_fa = malloc(NPIX * sizeof(float));
    g_fb = malloc(NPIX * sizeof(float));
    uint32_t s = 12345;
    for (int i = 0; i < NPIX; i++) {
        s = s * 1664525u + 1013904223u;
        g_fa[i] = (float)(s >> 8) / (float)(1 << 24) * 100.0f;
        g_fb[i] = g_fa[i] * (1.0f + 0.02f * ((float)(i % 7) - 3.0f) / 3.0f);
    }
    snprintf(g_a, sizeof g_a, "%s/a.bin", g_dir);
    snprintf(g_b, sizeof g_b, "%s/b.bin", g_dir);
    snprintf(g_c, sizeof g_c, "%s/c.bin", g_dir);
    snprintf(g_odd, sizeof g_odd, "%s/odd.bin", g_dir);
    snprintf(g_rect, sizeof g_rect, "%s/rect.bin", g_dir);
    snprintf(g_smv, sizeof g_smv, "%s/a.img", g_dir);
    if (write_raw(g_a, g_fa, NPIX * sizeof(float)) || write_raw(g_b, g_fb, NPIX * sizeof(float)) ||
        write_raw(g_c, g_fa, 100 * sizeof(float)) || write_raw(g_odd, "abcdefg", 7) ||
        write_raw(g_rect, g_fa, 96 * 32 * sizeof(float)))
        return -1;
    /* SMV of round(a): same size, carries 64x64 in its header */
    uint16_t *pix = malloc(NPIX * sizeof *pix);
    for (int i = 0; i < NPIX; i++)
        pix[i] = (uint16_t)lround(g_fa[i]);
    nbcl_smv_header_info h;
    memset(&h, 0, sizeof h);
    h.fpixels = h.spixels = 64;
    h.pixel_size_mm = 0.1;
    h.distance_mm = 100;
    h.wavelength_A = 1;
    char err[512];
    nbcl_status st = nbcl_write_smv(g_smv, &h, pix, err, sizeof err);
    free(pix);
    return st == NBCL_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_fa);
    free(g_fb);
    return 0;
}

static char g_env[2048]; /* environment assignments put before the command ("" = none) */

/* run nbcl-compare with args; stdout to out.txt, stderr to err.txt; returns the exit code */
static int run(const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s '%s' %s >'%s/out.txt' 2>'%s/err.txt'", g_env,
             nbcl_test_bin("nbcl-compare"), args, g_dir, g_dir);
    return nbcl_test_run(cmd);
}

static char *out_text(void)
{
    char p[1100];
    snprintf(p, sizeof p, "%s/out.txt", g_dir);
    return nbcl_test_read_file(p, NULL);
}

static char *err_text(void)
{
    char p[1100];
    snprintf(p, sizeof p, "%s/err.txt", g_dir);
    return nbcl_test_read_file(p, NULL);
}

static void test_binary_exists(void **state)
{
    (void)state;
    FILE *f = fopen(nbcl_test_bin("nbcl-compare"), "rb");
    if (!f)
        fail_msg("%s not built", nbcl_test_bin("nbcl-compare"));
    fclose(f);
    assert_int_equal(run("--help"), 0);
    char *o = out_text();
    assert_non_null(strstr(o, "exit codes"));
    free(o);
}

static void test_ok_and_threshold(void **state)
{
    (void)state;
    char args[9000];
    snprintf(args, sizeof args, "'%s' '%s' --fpixels 64 --host", g_a, g_a);
    assert_int_equal(run(args), 0);
    char *o = out_text();
    assert_non_null(strstr(o, "correlation:    1\n"));
    free(o);
    snprintf(args, sizeof args, "'%s' '%s' --fpixels 64 --host --threshold 0.5", g_a, g_b);
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, "'%s' '%s' --fpixels 64 --host --threshold 0.99999999", g_a, g_b);
    assert_int_equal(run(args), 1);
    char *e = err_text();
    assert_non_null(strstr(e, "below the threshold"));
    free(e);
    /* a square raw image needs no --fpixels */
    snprintf(args, sizeof args, "'%s' '%s' --host -q", g_a, g_b);
    assert_int_equal(run(args), 0);
    o = out_text();
    assert_string_equal(o, "");
    free(o);
}

static void test_usage_errors(void **state)
{
    (void)state;
    char args[9000];
    assert_int_equal(run(""), 2);
    snprintf(args, sizeof args, "'%s'", g_a);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof args, "'%s' '%s' '%s'", g_a, g_a, g_a);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof args, "'%s' '%s' --bogus", g_a, g_a);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof args, "'%s' '%s' --threshold abc", g_a, g_a);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof args, "'%s' '%s' --fpixels 0", g_a, g_a);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof args, "'%s' '%s' --roi 1 2 3", g_a, g_a);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof args, "'%s' '%s' --roi 5 2 0 1 --host", g_a, g_a);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof args, "'%s' '%s' --host --device cpu", g_a, g_a);
    assert_int_equal(run(args), 2);
    /* 96x32 raw float: not square, so the size must be given */
    snprintf(args, sizeof args, "'%s' '%s' --host", g_rect, g_rect);
    assert_int_equal(run(args), 2);
    snprintf(args, sizeof args, "'%s' '%s' --host --fpixels 96", g_rect, g_rect);
    assert_int_equal(run(args), 0);
    /* an NBCL_* variable with a value outside its list */
    snprintf(g_env, sizeof g_env, "NBCL_KERNEL=vector");
    snprintf(args, sizeof args, "'%s' '%s' --host", g_a, g_a);
    assert_int_equal(run(args), 2);
    g_env[0] = '\0';
    char *e = err_text();
    assert_non_null(strstr(e, "NBCL_KERNEL='vector': expected scalar|simd"));
    free(e);
}

static void test_io_errors(void **state)
{
    (void)state;
    char args[9000];
    snprintf(args, sizeof args, "'%s/missing.bin' '%s' --host", g_dir, g_a);
    assert_int_equal(run(args), 3);
    char *e = err_text();
    assert_non_null(strstr(e, "missing.bin"));
    free(e);
    snprintf(args, sizeof args, "'%s' '%s' --host --fpixels 1", g_odd, g_a);
    assert_int_equal(run(args), 3);
    snprintf(args, sizeof args, "'%s' '%s' --host --diff-png '%s/no/such/dir/d.png'", g_a, g_b,
             g_dir);
    assert_int_equal(run(args), 3);
}

static void test_size_mismatch(void **state)
{
    (void)state;
    char args[9000];
    snprintf(args, sizeof args, "'%s' '%s' --host --fpixels 10", g_c, g_a);
    assert_int_equal(run(args), 4); /* 4096 pixels are not 10 wide */
    snprintf(args, sizeof args, "'%s' '%s' --host", g_smv, g_rect);
    assert_int_equal(run(args), 4); /* 64x64 against 64x48 */
    char *e = err_text();
    assert_non_null(strstr(e, "size mismatch"));
    free(e);
    snprintf(args, sizeof args, "'%s' '%s' --host --fpixels 48", g_a, g_a);
    assert_int_equal(run(args), 4); /* 4096 pixels are not 48 wide */
    snprintf(args, sizeof args, "'%s' '%s' --host --roi 0 64 0 10", g_a, g_a);
    assert_int_equal(run(args), 4);
    snprintf(args, sizeof args, "'%s' '%s' --host --fpixels 32", g_smv, g_a);
    assert_int_equal(run(args), 4); /* the SMV says 64 */
}

static void test_device_error(void **state)
{
    (void)state;
    char args[9000];
    snprintf(args, sizeof args, "'%s' '%s' --device no-such-device-anywhere", g_a, g_b);
    assert_int_equal(run(args), 5);
}

static json_object *field(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v))
        fail_msg("no \"%s\" in the JSON output", k);
    return v;
}

static void check_json_against_host(const char *extra, const float *a, const float *b, size_t n)
{
    char args[9000];
    snprintf(args, sizeof args, "'%s' '%s' --json %s", g_a, g_b, extra);
    assert_int_equal(run(args), 0);
    char *o = out_text();
    json_object *j = json_tokener_parse(o);
    if (!j)
        fail_msg("not JSON: %s", o);
    nbcl_compare_result h;
    nbcl_compare_host(a, b, n, &h);
    assert_int_equal(json_object_get_int64(field(j, "n")), (int64_t)n);
    assert_close(json_object_get_double(field(j, "correlation")), h.corr, 1e-12, 1e-9);
    assert_close(json_object_get_double(field(j, "sum_a")), h.sum_a, 1e-9, 1e-9);
    assert_close(json_object_get_double(field(j, "sum_b")), h.sum_b, 1e-9, 1e-9);
    assert_close(json_object_get_double(field(j, "sum_ratio")), h.ratio, 1e-12, 1e-9);
    assert_close(json_object_get_double(field(j, "mse")), h.mse, 1e-15, 1e-9);
    assert_close(json_object_get_double(field(j, "rmse")), h.rmse, 1e-15, 1e-9);
    assert_close(json_object_get_double(field(j, "max_abs_diff")), h.max_abs, 0, 1e-15);
    assert_close(json_object_get_double(field(j, "max_rel_diff")), h.max_rel, 0, 1e-12);
    json_object_put(j);
    free(o);
}

static void test_json_metrics_device_and_host(void **state)
{
    (void)state;
    check_json_against_host("--host", g_fa, g_fb, NPIX);
    if (nbcl_test_have_device()) {
        check_json_against_host("", g_fa, g_fb, NPIX);
        char *o = out_text();
        assert_non_null(strstr(o, "(CLBlast)"));
        free(o);
        /* CLBlast is loaded on first use: a library that cannot be loaded sends the reduction to
         * the host, which gives the same numbers and says why */
        char fake[1200];
        snprintf(fake, sizeof fake, "%s/fakeblas", g_dir);
        mkdir(fake, 0755);
        char lib[1300];
        snprintf(lib, sizeof lib, "%s/libclblast.so.1", fake);
        assert_int_equal(write_raw(lib, "not a library", 13), 0);
        snprintf(g_env, sizeof g_env, "LD_LIBRARY_PATH='%s'", fake);
        check_json_against_host("", g_fa, g_fb, NPIX);
        g_env[0] = '\0';
        o = out_text();
        assert_non_null(strstr(o, "device path unavailable: CLBlast cannot be loaded"));
        free(o);
    }
    /* ROI: the same numbers as the host on the copied window; worst pixel in image coordinates */
    float ra[20 * 10], rb[20 * 10];
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 20; x++) {
            ra[y * 20 + x] = g_fa[(y + 30) * 64 + x + 5];
            rb[y * 20 + x] = g_fb[(y + 30) * 64 + x + 5];
        }
    check_json_against_host("--host --roi 5 24 30 39", ra, rb, 200);
    nbcl_compare_result h;
    nbcl_compare_host(ra, rb, 200, &h);
    char *o = out_text();
    json_object *j = json_tokener_parse(o);
    json_object *wp = field(j, "worst_pixel");
    assert_int_equal(json_object_get_int(field(wp, "fast")), (int)(h.worst_index % 20) + 5);
    assert_int_equal(json_object_get_int(field(wp, "slow")), (int)(h.worst_index / 20) + 30);
    json_object_put(j);
    free(o);
}

static void test_smv_and_diff_png(void **state)
{
    (void)state;
    char args[9000], png[1100];
    snprintf(png, sizeof png, "%s/diff.png", g_dir);
    remove(png);
    /* SMV (size from its header) against a raw float image without --fpixels */
    snprintf(args, sizeof args, "'%s' '%s' --host --threshold 0.999 --diff-png '%s'", g_smv, g_a,
             png);
    assert_int_equal(run(args), 0);
    char *o = out_text();
    assert_non_null(strstr(o, "(smv)"));
    assert_non_null(strstr(o, "64 x 64"));
    free(o);
    size_t len = 0;
    unsigned char *p = nbcl_test_read_file(png, &len);
    assert_non_null(p);
    assert_true(len > 8);
    assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
    free(p);
}

/* NaN and infinite pixels (issue 14 class 7): counted per image, never "max abs diff 0": exit 6
 * unless --allow-nonfinite and both images hold the same ones; the metrics cover the pixels
 * finite in both (worst pixel in image coordinates). On the host and on the device. */
static void test_nonfinite(void **state)
{
    (void)state;
    char pa[1100], pb[1100], pc[1100], args[9000];
    float *na = malloc(NPIX * sizeof(float)), *nb = malloc(NPIX * sizeof(float));
    float *nc = malloc(NPIX * sizeof(float));
    assert_non_null(na);
    assert_non_null(nb);
    assert_non_null(nc);
    memcpy(na, g_fa, NPIX * sizeof(float));
    memcpy(nb, g_fb, NPIX * sizeof(float));
    na[3 * 64 + 7] = NAN;  /* first non-finite of A at (7, 3) */
    na[10 * 64 + 1] = INFINITY;
    nb[3 * 64 + 7] = NAN;  /* the same NaN in B ... */
    nb[10 * 64 + 1] = -INFINITY; /* ... but -inf where A has +inf */
    memcpy(nc, na, NPIX * sizeof(float)); /* C: exactly A's non-finite pixels */
    nc[20 * 64 + 20] = 1e6f; /* and one large finite difference: the worst pixel */
    snprintf(pa, sizeof pa, "%s/nan_a.bin", g_dir);
    snprintf(pb, sizeof pb, "%s/nan_b.bin", g_dir);
    snprintf(pc, sizeof pc, "%s/nan_c.bin", g_dir);
    assert_int_equal(write_raw(pa, na, NPIX * sizeof(float)), 0);
    assert_int_equal(write_raw(pb, nb, NPIX * sizeof(float)), 0);
    assert_int_equal(write_raw(pc, nc, NPIX * sizeof(float)), 0);
    const char *where[2] = {"--host", ""};
    for (int w = 0; w < (nbcl_test_have_device() ? 2 : 1); w++) {
        /* a finite image against one with NaN/inf: exit 6, counts printed, no agreement */
        snprintf(args, sizeof args, "'%s' '%s' %s", g_a, pa, where[w]);
        assert_int_equal(run(args), 6);
        char *o = out_text(), *e = err_text();
        assert_non_null(strstr(o, "non-finite A:   0 (0 NaN, 0 infinite)\n"));
        assert_non_null(strstr(o, "non-finite B:   2 (1 NaN, 1 infinite), first at pixel (7, 3)"));
        assert_non_null(strstr(o, "NOT in agreement"));
        assert_non_null(strstr(o, "(4094 pixels compared)"));
        assert_non_null(strstr(e, "non-finite pixels: 0 in A, 2 in B"));
        free(o);
        free(e);
        /* allowed, but A and B differ in kind at (1, 10): still exit 6 */
        snprintf(args, sizeof args, "'%s' '%s' --allow-nonfinite %s", pa, pb, where[w]);
        assert_int_equal(run(args), 6);
        e = err_text();
        assert_non_null(strstr(e, "1 differing"));
        free(e);
        /* without the option the same non-finite pixels are still an error */
        snprintf(args, sizeof args, "'%s' '%s' --json %s", pa, pc, where[w]);
        assert_int_equal(run(args), 6);
        o = out_text();
        json_object *j = json_tokener_parse(o);
        assert_non_null(j);
        assert_int_equal(json_object_get_int64(field(j, "nonfinite_a")), 2);
        assert_int_equal(json_object_get_int64(field(j, "nonfinite_b")), 2);
        assert_int_equal(json_object_get_int64(field(j, "nan_a")), 1);
        assert_int_equal(json_object_get_int64(field(j, "nonfinite_mismatch")), 0);
        assert_false(json_object_get_boolean(field(j, "pass")));
        json_object_put(j);
        free(o);
        /* allowed and identical: exit 0, metrics over the 4094 finite pixels, worst at (20, 20) */
        snprintf(args, sizeof args, "'%s' '%s' --json --allow-nonfinite %s", pa, pc, where[w]);
        assert_int_equal(run(args), 0);
        o = out_text();
        j = json_tokener_parse(o);
        assert_non_null(j);
        assert_int_equal(json_object_get_int64(field(j, "n")), NPIX - 2);
        assert_true(json_object_get_boolean(field(j, "pass")));
        json_object *wp = field(j, "worst_pixel");
        assert_int_equal(json_object_get_int(field(wp, "fast")), 20);
        assert_int_equal(json_object_get_int(field(wp, "slow")), 20);
        double diff = 1e6 - (double)na[20 * 64 + 20];
        assert_close(json_object_get_double(field(j, "max_abs_diff")), diff, 0, 1e-12);
        assert_true(isfinite(json_object_get_double(field(j, "sum_a"))));
        json_object_put(j);
        free(o);
    }
    free(na);
    free(nb);
    free(nc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_exists),
        cmocka_unit_test(test_ok_and_threshold),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_size_mismatch),
        cmocka_unit_test(test_device_error),
        cmocka_unit_test(test_json_metrics_device_and_host),
        cmocka_unit_test(test_smv_and_diff_png),
        cmocka_unit_test(test_nonfinite),
    };
    return cmocka_run_group_tests_name("compare", tests, group_setup, group_teardown);
}
