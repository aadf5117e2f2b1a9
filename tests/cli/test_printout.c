/* -printout and -printout_pixel (issue 14 class 8): the pixel trace of the library
 * (nbcl_scene_pixel_trace) against the per-pixel function the device runs, and the CLI's trace
 * against the image it writes. The library part needs no device. */
#include "nbcl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nbcl_scene *small_scene(int oversample, double water_um)
{
    nbcl_config c;
    nbcl_test_cubic_config(&c, 100.0, 5, 100.0, 64);
    c.oversample = oversample;
    c.water_size = water_um * 1e-6;
    nbcl_scene *s = NULL;
    char err[1024];
    if (nbcl_scene_build(&c, &s, err, sizeof err) != NBCL_OK)
        fail_msg("scene: %s", err);
    return s;
}

/* the trace's value is the pixel the device function computes; with one sub-path the printed
 * terms multiply to it; the geometry is the textbook one */
static void test_trace_terms(void **state)
{
    (void)state;
    nbcl_scene *s = small_scene(1, 10.0);
    const int px[][2] = {{40, 30}, {0, 0}, {63, 63}, {32, 32}, {10, 50}};
    for (size_t i = 0; i < sizeof px / sizeof px[0]; i++) {
        nbcl_pixel_trace t;
        assert_int_equal(nbcl_scene_pixel_trace(s, px[i][0], px[i][1], &t), NBCL_OK);
        assert_true(t.in_roi);
        assert_false(t.masked);
        assert_close((double)(float)t.value, nbcl_scene_pixel_host(s, px[i][0], px[i][1]), 0, 0);
        double rebuilt = t.scale * (t.I_bg + t.F_cell * t.F_cell * t.F_latt * t.F_latt) *
                         t.omega * t.polar * t.capture;
        assert_close(t.value, rebuilt, 0, 1e-12);
        assert_close(t.subpaths, 1.0, 0, 0);
        /* MOSFLM: beam along x, the detector plane at x = distance = 0.1 m */
        assert_close(t.pos[0], 0.1, 1e-15, 0);
        assert_close(t.airpath, sqrt(t.pos[0] * t.pos[0] + t.pos[1] * t.pos[1] + t.pos[2] * t.pos[2]), 0, 1e-15);
        /* h = a . S with a = 100 A along x (S in 1/m, a in m) */
        assert_close(t.hkl[0], 100e-10 * t.scattering[0], 1e-15, 1e-12);
        assert_close(t.stol, 0.5 * sqrt(t.scattering[0] * t.scattering[0] + t.scattering[1] * t.scattering[1] + t.scattering[2] * t.scattering[2]), 0, 1e-15);
        assert_close(t.lambda, 1e-10, 0, 1e-15);
        assert_true(t.I_bg > 0);
    }
    /* outside the detector */
    nbcl_pixel_trace t;
    assert_int_equal(nbcl_scene_pixel_trace(s, 64, 0, &t), NBCL_INVALID_ARGUMENT);
    assert_int_equal(nbcl_scene_pixel_trace(s, 0, -1, &t), NBCL_INVALID_ARGUMENT);
    nbcl_scene_destroy(s);
    /* oversampled: the value is still the whole pixel, the sub-path count the product */
    s = small_scene(3, 0.0);
    assert_int_equal(nbcl_scene_pixel_trace(s, 40, 30, &t), NBCL_OK);
    assert_close((double)(float)t.value, nbcl_scene_pixel_host(s, 40, 30), 0, 0);
    assert_close(t.subpaths, 9.0, 0, 0);
    nbcl_scene_destroy(s);
}

static char g_dir[4096];

static int run_nbcl(const char *args, char **out, char **err)
{
    char cmd[16384], o[4200], e[4200];
    snprintf(o, sizeof o, "%s/out.txt", g_dir);
    snprintf(e, sizeof e, "%s/err.txt", g_dir);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' -cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 64 "
             "-oversample 1 -noprogress -nopgm -nonoise -intfile int.img -floatfile float.bin "
             "%s >'%s' 2>'%s'",
             g_dir, nbcl_test_bin("nbcl"), args, o, e);
    int rc = nbcl_test_run(cmd);
    *out = nbcl_test_read_file(o, NULL);
    *err = nbcl_test_read_file(e, NULL);
    assert_non_null(*out);
    assert_non_null(*err);
    return rc;
}

static double field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p)
        fail_msg("no '%s' in: %s", key, text);
    return strtod(p + strlen(key), NULL);
}

static float *read_float_image(void)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/float.bin", g_dir);
    size_t len = 0;
    float *img = nbcl_test_read_file(p, &len);
    assert_non_null(img);
    assert_int_equal(len, 64 * 64 * sizeof(float));
    return img;
}

static void test_cli(void **state)
{
    (void)state;
    nbcl_test_need_device();
    char cmd[8300];
    snprintf(g_dir, sizeof g_dir, "%s/printout", nbcl_test_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", g_dir, g_dir);
    assert_int_equal(nbcl_test_run(cmd), 0);
    char *out, *err;

    /* -printout_pixel: that pixel, its value equal to the written image's (float rounding) */
    assert_int_equal(run_nbcl("-printout_pixel 40 30", &out, &err), 0);
    assert_non_null(strstr(out, "pixel trace (nbcl format"));
    assert_non_null(strstr(out, "  pixel          fast 40 slow 30\n"));
    float *img = read_float_image();
    double v = img[30 * 64 + 40];
    assert_close(field(out, "  I              "), v, 0, 1e-7);
    assert_close(field(out, "; image "), v, 0, 1e-8);
    double F_cell = field(out, "  F_cell         "), F_latt = field(out, "  F_latt         ");
    double omega = field(out, "  omega          "), polar = field(out, "  polarization   ");
    double scale = field(out, "  scale          ");
    assert_close(F_cell, 100.0, 0, 0);
    assert_close(scale * F_cell * F_cell * F_latt * F_latt * omega * polar, v, 0, 1e-6);
    free(img);
    free(out);
    free(err);

    /* -printout alone: the brightest pixel, one trace only */
    assert_int_equal(run_nbcl("-printout", &out, &err), 0);
    img = read_float_image();
    int best = 0;
    for (int i = 1; i < 64 * 64; i++)
        if (img[i] > img[best])
            best = i;
    char want[128];
    snprintf(want, sizeof want, "  pixel          fast %d slow %d\n", best % 64, best / 64);
    assert_non_null(strstr(out, want));
    const char *first = strstr(out, "pixel trace");
    assert_null(strstr(first + 1, "pixel trace"));
    free(img);
    free(out);
    free(err);

    /* a pixel off the detector: exit 3 before any work, nothing written */
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.bin '%s'/*.img", g_dir, g_dir);
    assert_int_equal(nbcl_test_run(cmd), 0);
    assert_int_equal(run_nbcl("-printout_pixel 64 0", &out, &err), 3);
    assert_non_null(strstr(err, "-printout_pixel 64 0 lies outside the 64x64 detector"));
    free(out);
    free(err);
    assert_int_equal(run_nbcl("-printout_pixel -1 0", &out, &err), 3);
    assert_non_null(strstr(err, "-printout_pixel"));
    free(out);
    free(err);
    char p[4200];
    snprintf(p, sizeof p, "%s/float.bin", g_dir);
    assert_null(fopen(p, "rb"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_terms),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests_name("printout", tests, NULL, NULL);
}
