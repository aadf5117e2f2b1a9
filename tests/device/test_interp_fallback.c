/* Interpolation leaving the HKL grid (docs/parity.md P-11): the first pixel, in raster order,
 * whose tricubic neighbourhood leaves the grid uses default_F for that reflection and nearest F
 * after it; every later pixel is rendered with nearest F. Both kernels must agree with the
 * host evaluation of the same rule, and the first pixel must be reported. */
#include "nbcl_test.h"
#include "nbcl_scene_internal.h" /* white-box: the scene's fields */
#include "render/pack.h"
#include "nbcl_host_physics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nbcl_scene *make_scene(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/small.hkl", nbcl_test_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    /* a grid that covers only the inner part of the detector */
    for (int h = -4; h <= 4; h++)
        for (int k = -4; k <= 4; k++)
            for (int l = -4; l <= 4; l++)
                fprintf(f, "%d %d %d %g\n", h, k, l, 10.0 + h + 2 * k + 3 * l + 0.1 * h * k);
    fclose(f);
    static char hkl[4200];
    snprintf(hkl, sizeof hkl, "%s", path);
    nbcl_config c;
    nbcl_config_init(&c);
    c.user_cell = 1;
    c.cell[0] = c.cell[1] = c.cell[2] = 40.0;
    c.cell[3] = c.cell[4] = c.cell[5] = M_PI / 2;
    c.misset_mode = 1;
    c.misset[0] = 0.1;
    c.misset[1] = 0.2;
    c.misset[2] = 0.3;
    c.Na = c.Nb = c.Nc = 2;
    c.interpolate = 1;
    c.hklfile = hkl;
    c.write_dump = c.read_dump = 0;
    c.default_F = 3.0;
    c.lambda0 = 1.0e-10;
    c.distance = 0.05;
    c.fpixels = c.spixels = 48;
    c.pixel_size = 0.5e-3;
    c.oversample = 1;
    /* the ROI starts near the beam, inside the grid, so some pixels interpolate first */
    c.roi[0] = 20;
    c.roi[1] = 44;
    c.roi[2] = 22;
    c.roi[3] = 46;
    nbcl_scene *s = NULL;
    char err[1024];
    if (nbcl_scene_build(&c, &s, err, sizeof err) != NBCL_OK)
        fail_msg("scene: %s", err);
    return s;
}

static void fallback_switches_to_nearest(void **state)
{
    (void)state;
    nbcl_scene *s = make_scene();
    const int fp = s->fpixels, sp = s->spixels;
    /* host: raster order with the run-level switch */
    double *host = malloc(sizeof(double) * fp * sp);
    assert_non_null(host);
    int switched = 0;
    long first = -1;
    nbcl_kernel_inputs k;
    assert_int_equal(nbcl__pack_kernel_inputs(s, &k), NBCL_OK);
    int *ip = k.IP;
    for (int y = 0; y < sp; y++)
        for (int x = 0; x < fp; x++) {
            int fb = 0;
            double om = 0;
            if (x < s->roi[0] || x > s->roi[1] || y < s->roi[2] || y > s->roi[3]) {
                host[y * fp + x] = 0.0;
                continue;
            }
            ip[NBCL_IP_INTERPOLATE] = switched ? 0 : 1;
            host[y * fp + x] =
                (float)nbcl_pixel_value(x, y, k.P, ip, k.src, k.orient, s->hkl.F, &fb, &om);
            if (fb && !switched) {
                switched = 1;
                first = (long)y * fp + x;
            }
        }
    assert_true(switched);
    assert_true(first > 22 * fp + 20); /* some pixels before it are interpolated */

    static const char *kernels[2] = {"scalar", "simd"};
    /* both kernels, device buffer and zero copy; then both kernels in the smallest launches
     * (NBCL_LAUNCH_SECONDS=0: 16 to 32 pixels each on a CPU, the switch lands in one of them) */
    for (int kz = 0; kz < 6; kz++) {
        int small = kz >= 4, kk = small ? kz - 4 : kz / 2;
        /* the settings NBCL_KERNEL, NBCL_ZERO_COPY and NBCL_LAUNCH_SECONDS would give, set
         * directly (an engine takes them at creation, never from the environment later) */
        nbcl_env_options env;
        nbcl_env_options_init(&env);
        env.kernel = kk; /* 0 scalar, 1 simd */
        env.zero_copy = kz % 2;
        env.launch_seconds = small ? 0.0 : 0.25;
        nbcl_engine *e = nbcl_test_engine_with(NBCL_PRECISION_F64, &env, NULL);
        if (!e)
            skip();
        nbcl_image img;
        nbcl_render_timing tm;
        nbcl_render_opts ro = {0};
        ro.max_tile_pixels = small ? 0 : 256; /* the switch lands inside a tile */
        assert_int_equal(nbcl_render(e, s, &ro, &img, &tm), NBCL_OK);
        assert_true(tm.interpolation_fallback);
        assert_int_equal(tm.zero_copy, kz % 2);
        assert_int_equal(tm.fallback_pixel, first);
        for (int i = 0; i < fp * sp; i++)
            if (!nbcl_test_close(img.data[i], host[i], 1e-30, 1e-6))
                fail_msg("%s kernel: pixel %d = %.9g, host %.9g (first fallback %ld)",
                         kernels[kk], i, img.data[i], host[i], first);
        nbcl_image_free(&img);
        nbcl_engine_destroy(e);
    }
    free(host);
    nbcl__kernel_inputs_free(&k);
    nbcl_scene_destroy(s);
}

int main(void)
{
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fallback_switches_to_nearest),
    };
    int rc = cmocka_run_group_tests_name("interp_fallback", tests, NULL, NULL);
    nbcl_test_engines_release();
    return rc;
}
