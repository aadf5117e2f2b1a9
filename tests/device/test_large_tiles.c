/* Tiled rendering (issue 5): a detector renders in tiles bounded by the device's single-allocation
 * limit and by work per launch; the result must not depend on the tiling.
 *   - forced small tiles (nbcl_render_opts.max_tile_pixels) give a byte-identical image to one
 *     tile, in both precisions, with and without an ROI, and the tile count is as asked;
 *   - progress is reported once per tile, monotonically, ending at the total; returning non-zero
 *     from it, or the engine's cancel token, stops the render with NBCL_INTERRUPTED and no
 *     image; two engines with tokens of their own stop independently;
 *   - a detector whose float image is larger than the device's CL_DEVICE_MAX_MEM_ALLOC_SIZE renders
 *     in several tiles and matches the host evaluation. On PoCL the test makes the device small
 *     with POCL_MEMORY_LIMIT=1 (1 GiB of global memory, 256 MiB per buffer), so an 8200 x 8200
 *     image (269 MB of floats) exceeds one buffer; on other devices it runs only if the image
 *     needed stays below 100 Mpixels, else that case is skipped.
 * Exit 77 (skipped) without an OpenCL device. */
#include "nbcl_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static nbcl_scene *make_scene(int fpix, int spix, int N, int oversample, int mosaic_domains,
                              const int *roi)
{
    nbcl_config c;
    nbcl_config_init(&c);
    c.user_cell = 1;
    c.cell[0] = c.cell[1] = c.cell[2] = 100.0;
    c.cell[3] = c.cell[4] = c.cell[5] = M_PI / 2;
    c.default_F = 100.0;
    c.read_dump = c.write_dump = 0;
    c.Na = c.Nb = c.Nc = N;
    c.fpixels = fpix;
    c.spixels = spix;
    c.oversample = oversample;
    if (mosaic_domains > 1) {
        c.mosaic_spread = 0.5 * M_PI / 180.0;
        c.mosaic_domains = mosaic_domains;
    }
    if (roi)
        memcpy(c.roi, roi, sizeof c.roi);
    nbcl_scene *s = NULL;
    char err[2048];
    nbcl_status st = nbcl_scene_build(&c, &s, err, sizeof err);
    if (st != NBCL_OK)
        fail_msg("scene: %s", err);
    return s;
}

typedef struct progress_log {
    size_t calls, last_done, total;
    int monotonic;
    size_t stop_after; /* return 1 at this call (0: never) */
    size_t max_step;   /* the largest launch, in pixels */
    size_t unaligned;  /* launch ends (before the last) not on a multiple of 16 pixels */
} progress_log;

static int on_progress(void *user, size_t done, size_t total)
{
    progress_log *p = user;
    p->calls++;
    if (done <= p->last_done || done > total)
        p->monotonic = 0;
    if (done > p->last_done && done - p->last_done > p->max_step)
        p->max_step = done - p->last_done;
    if (done < total && done % 16 != 0)
        p->unaligned++;
    p->last_done = done;
    p->total = total;
    return p->stop_after && p->calls >= p->stop_after;
}

static void render_tiles(nbcl_engine *e, const nbcl_scene *s, size_t max_tile, nbcl_image *img,
                         nbcl_render_timing *tm, progress_log *pl)
{
    nbcl_render_opts o = {0};
    o.max_tile_pixels = max_tile;
    memset(pl, 0, sizeof *pl);
    pl->monotonic = 1;
    o.progress = on_progress;
    o.progress_user = pl;
    nbcl_status st = nbcl_render(e, s, &o, img, tm);
    if (st != NBCL_OK)
        fail_msg("render (max_tile_pixels %zu): %s: %s", max_tile, nbcl_status_str(st),
                 nbcl_engine_last_error(e));
}

static void tiles_identical(nbcl_precision prec, const int *roi)
{
    nbcl_engine *e = nbcl_test_engine(prec);
    if (!e) {
        fprintf(stderr, "no engine for precision %d: skipped\n", (int)prec);
        skip();
    }
    /* 96 x 80 = 7680 pixels: one default tile (at least 16384 pixels) */
    nbcl_scene *s = make_scene(96, 80, 5, 2, 3, roi);
    size_t npix = 96 * 80;
    nbcl_image ref = {0}, img = {0};
    nbcl_render_timing tm;
    progress_log pl;
    render_tiles(e, s, 0, &ref, &tm, &pl);
    assert_int_equal(tm.tiles, 1);
    assert_int_equal(pl.calls, 1);
    assert_int_equal(pl.last_done, npix);
    double sum = 0;
    for (size_t i = 0; i < npix; i++)
        sum += ref.data[i];
    assert_true(sum > 0 && isfinite(sum));

    /* an engine with each NBCL_ZERO_COPY setting (given directly: engines take their settings
     * when created) */
    nbcl_engine *ez[2];
    for (int zc = 0; zc < 2; zc++) {
        nbcl_env_options env;
        nbcl_env_options_init(&env);
        env.zero_copy = zc;
        ez[zc] = nbcl_test_engine_with(prec, &env, NULL);
        assert_non_null(ez[zc]);
    }
    /* multiples of 64 give exactly ceil(npix / max) tiles; the kernel writing the host image in
     * place (zero copy) and a device buffer read back give the same bytes */
    const size_t sizes[] = {64, 1024, 4096, 7680, 1 << 20};
    for (size_t k = 0; k < 2 * sizeof sizes / sizeof sizes[0]; k++) {
        int zc = k % 2;
        render_tiles(ez[zc], s, sizes[k / 2], &img, &tm, &pl);
        assert_int_equal(tm.zero_copy, zc);
        size_t want = (npix + sizes[k / 2] - 1) / sizes[k / 2];
        if (tm.tiles != want)
            fail_msg("max_tile_pixels %zu: %zu tiles, expected %zu", sizes[k / 2], tm.tiles, want);
        assert_int_equal(pl.calls, want);
        assert_true(pl.monotonic);
        assert_int_equal(pl.last_done, npix);
        assert_int_equal(pl.total, npix);
        if (memcmp(img.data, ref.data, npix * sizeof(float)) != 0) {
            size_t i = 0;
            while (img.data[i] == ref.data[i])
                i++;
            fail_msg("max_tile_pixels %zu, zero copy %d: pixel %zu differs: %.9g vs one tile %.9g",
                     sizes[k / 2], zc, i, img.data[i], ref.data[i]);
        }
        nbcl_image_free(&img);
    }
    /* sizes that are not a multiple of the work-group: never more tiles than asked for */
    const size_t odd[] = {1, 100, 1000, 3333};
    for (size_t k = 0; k < 2 * sizeof odd / sizeof odd[0]; k++) {
        render_tiles(ez[k % 2], s, odd[k / 2], &img, &tm, &pl);
        size_t most = (npix + odd[k / 2] - 1) / odd[k / 2];
        assert_true(tm.tiles >= 2 && tm.tiles <= most);
        assert_int_equal(pl.calls, tm.tiles);
        assert_memory_equal(img.data, ref.data, npix * sizeof(float));
        nbcl_image_free(&img);
    }
    nbcl_engine_destroy(ez[0]);
    nbcl_engine_destroy(ez[1]);
    nbcl_image_free(&ref);
    nbcl_scene_destroy(s);
}

static void test_tiles_f64(void **state)
{
    (void)state;
    tiles_identical(NBCL_PRECISION_F64, NULL);
}

static void test_tiles_f32(void **state)
{
    (void)state;
    tiles_identical(NBCL_PRECISION_F32, NULL);
}

static void test_tiles_roi(void **state)
{
    (void)state;
    const int roi[4] = {5, 70, 3, 60};
    tiles_identical(NBCL_PRECISION_AUTO, roi);
}

static void test_cancel(void **state)
{
    (void)state;
    nbcl_engine *e = nbcl_test_engine(NBCL_PRECISION_AUTO);
    assert_non_null(e);
    nbcl_scene *s = make_scene(64, 64, 1, 1, 1, NULL);
    nbcl_image img = {0};
    nbcl_render_timing tm;
    nbcl_render_opts o = {0};
    progress_log pl;
    memset(&pl, 0, sizeof pl);
    pl.monotonic = 1;
    pl.stop_after = 2;
    o.max_tile_pixels = 512;
    o.progress = on_progress;
    o.progress_user = &pl;
    assert_int_equal(nbcl_render(e, s, &o, &img, &tm), NBCL_INTERRUPTED);
    assert_null(img.data);
    assert_int_equal(tm.tiles, 2);
    assert_int_equal(pl.calls, 2);

    /* two engines in one process with tokens of their own: triggering one token stops only the
     * renders of its engine (before the first launch: no tile, no image); the other engine, and
     * one without a token, render on; a reset token lets its engine render again */
    nbcl_cancel *ta = nbcl_cancel_create(), *tb = nbcl_cancel_create();
    assert_non_null(ta);
    assert_non_null(tb);
    nbcl_engine *ea = nbcl_test_engine_with(NBCL_PRECISION_AUTO, NULL, ta);
    nbcl_engine *eb = nbcl_test_engine_with(NBCL_PRECISION_AUTO, NULL, tb);
    assert_non_null(ea);
    assert_non_null(eb);
    for (int round = 0; round < 2; round++) {
        nbcl_engine *stopped = round ? eb : ea, *running = round ? ea : eb;
        nbcl_cancel_trigger(round ? tb : ta);
        assert_int_equal(nbcl_cancel_triggered(round ? ta : tb), 0);
        assert_int_equal(nbcl_render(stopped, s, NULL, &img, &tm), NBCL_INTERRUPTED);
        assert_null(img.data);
        assert_int_equal(tm.tiles, 0);
        assert_non_null(strstr(nbcl_engine_last_error(stopped), "interrupted"));
        assert_int_equal(nbcl_render(running, s, NULL, &img, &tm), NBCL_OK);
        assert_non_null(img.data);
        assert_true(tm.tiles >= 1);
        nbcl_image_free(&img);
        assert_int_equal(nbcl_render(e, s, NULL, &img, &tm), NBCL_OK);
        assert_non_null(img.data);
        nbcl_image_free(&img);
        nbcl_cancel_reset(round ? tb : ta);
        assert_int_equal(nbcl_render(stopped, s, NULL, &img, &tm), NBCL_OK);
        assert_non_null(img.data);
        nbcl_image_free(&img);
    }
    nbcl_engine_destroy(ea);
    nbcl_engine_destroy(eb);
    nbcl_cancel_destroy(ta);
    nbcl_cancel_destroy(tb);
    nbcl_scene_destroy(s);
}

/* launches sized by work (issue 14, class 6): NBCL_LAUNCH_SECONDS=0 makes every launch as
 * small as the device allows (so a signal is acted on soonest); the image and the solid angle
 * are the same bytes as in one launch, for both kernels and precisions, with an ROI, and every
 * launch boundary is a whole number of vector work-items (16 pixels) */
/* the environment is read once: an engine keeps the NBCL_* values it was created with (a later
 * setenv changes nothing), and options that carry the settings leave the environment unread
 * (even a value nbcl_env_options_read would refuse) */
static void test_env_read_once(void **state)
{
    (void)state;
    setenv("NBCL_KERNEL", "scalar", 1);
    nbcl_engine *e = nbcl_test_engine_with(NBCL_PRECISION_AUTO, NULL, NULL);
    if (!e)
        skip();
    nbcl_scene *s = make_scene(32, 32, 1, 1, 1, NULL);
    nbcl_image img = {0};
    nbcl_render_timing tm;
    setenv("NBCL_KERNEL", "simd", 1);
    assert_int_equal(nbcl_render(e, s, NULL, &img, &tm), NBCL_OK);
    assert_string_equal(tm.kernel_name, "nbcl_k_pixel");
    nbcl_image_free(&img);
    nbcl_engine_destroy(e);

    setenv("NBCL_KERNEL", "vector", 1);
    char err[512];
    assert_int_equal(nbcl_env_options_read(NULL, err, sizeof err), NBCL_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "NBCL_KERNEL='vector': expected scalar|simd"));
    nbcl_env_options env;
    nbcl_env_options_init(&env);
    env.kernel = 0;
    e = nbcl_test_engine_with(NBCL_PRECISION_AUTO, &env, NULL);
    assert_non_null(e);
    assert_int_equal(nbcl_render(e, s, NULL, &img, &tm), NBCL_OK);
    assert_string_equal(tm.kernel_name, "nbcl_k_pixel");
    nbcl_image_free(&img);
    nbcl_engine_destroy(e);
    assert_null(nbcl_test_engine_with(NBCL_PRECISION_AUTO, NULL, NULL)); /* refused */
    unsetenv("NBCL_KERNEL");
    nbcl_scene_destroy(s);
}

static void launch_by_work(nbcl_precision prec, const char *kernel)
{
    /* NBCL_KERNEL and NBCL_LAUNCH_SECONDS as an engine's settings: one engine with launches of
     * (far) more than the whole image, one with the smallest launches */
    nbcl_env_options env;
    nbcl_env_options_init(&env);
    env.kernel = strcmp(kernel, "simd") == 0;
    env.launch_seconds = 86400.0;
    nbcl_engine *e = nbcl_test_engine_with(prec, &env, NULL);
    env.launch_seconds = 0.0;
    nbcl_engine *e0 = nbcl_test_engine_with(prec, &env, NULL);
    if (!e || !e0) {
        fprintf(stderr, "no engine for precision %d: skipped\n", (int)prec);
        nbcl_engine_destroy(e);
        nbcl_engine_destroy(e0);
        skip();
    }
    const int roi[4] = {7, 90, 2, 61};
    nbcl_scene *s = make_scene(96, 80, 5, 3, 2, roi);
    size_t npix = 96 * 80;
    nbcl_image ref = {0}, img = {0};
    nbcl_render_timing tm;
    progress_log pl;
    render_tiles(e, s, 0, &ref, &tm, &pl);
    assert_int_equal(tm.tiles, 1);
    const char *ran = tm.kernel_name;
    render_tiles(e0, s, 0, &img, &tm, &pl);
    assert_string_equal(tm.kernel_name, ran);
    const nbcl_device_info *di = nbcl_engine_device(e);
    int simd = strcmp(ran, "nbcl_k_pixel_simd") == 0;
    size_t vw = simd ? (nbcl_engine_precision(e) == NBCL_PRECISION_F64 ? 8 : 16) : 1;
    size_t cus = di->compute_units ? di->compute_units : 1;
    size_t smallest = strcmp(di->device_type, "CPU") == 0 ? cus * vw : cus * 64 * vw;
    smallest = smallest < 16 ? 16 : (smallest + 15) / 16 * 16;
    fprintf(stderr, "%s: %zu launches, largest %zu pixels (bound %zu)\n", ran, tm.tiles,
            pl.max_step, smallest);
    assert_true(tm.tiles >= (npix + smallest - 1) / smallest);
    assert_true(pl.max_step <= smallest);
    assert_int_equal(pl.unaligned, 0);
    assert_int_equal(pl.calls, tm.tiles);
    assert_int_equal(pl.last_done, npix);
    if (memcmp(img.data, ref.data, npix * sizeof(float)) != 0) {
        size_t i = 0;
        while (img.data[i] == ref.data[i])
            i++;
        fail_msg("%s: pixel %zu differs: %.9g in small launches, %.9g in one", ran, i,
                 img.data[i], ref.data[i]);
    }
    assert_true(img.omega_sum == ref.omega_sum);
    double sum = 0;
    for (size_t i = 0; i < npix; i++)
        sum += ref.data[i];
    assert_true(sum > 0 && isfinite(sum));
    nbcl_engine_destroy(e);
    nbcl_engine_destroy(e0);
    nbcl_image_free(&img);
    nbcl_image_free(&ref);
    nbcl_scene_destroy(s);
}

static void test_launch_work_f64_simd(void **state)
{
    (void)state;
    launch_by_work(NBCL_PRECISION_F64, "simd");
}

static void test_launch_work_f32_simd(void **state)
{
    (void)state;
    launch_by_work(NBCL_PRECISION_F32, "simd");
}

static void test_launch_work_scalar(void **state)
{
    (void)state;
    launch_by_work(NBCL_PRECISION_AUTO, "scalar");
}

/* a detector larger than one device buffer */
static void test_image_exceeds_max_alloc(void **state)
{
    (void)state;
    nbcl_engine *e = nbcl_test_engine(NBCL_PRECISION_AUTO);
    assert_non_null(e);
    const nbcl_device_info *di = nbcl_engine_device(e);
    uint64_t maxalloc = di->max_alloc_bytes;
    int side = (int)ceil(sqrt((double)maxalloc / sizeof(float))) + 8;
    fprintf(stderr, "device %s: max single allocation %.0f MiB, global %.0f MiB\n",
            di->device_name, maxalloc / 1048576.0, di->global_mem_bytes / 1048576.0);
    if ((double)side * side > 100e6) {
        fprintf(stderr, "an image above %.0f MiB would need %dx%d pixels: skipped (set "
                        "POCL_MEMORY_LIMIT=1 on PoCL)\n", maxalloc / 1048576.0, side, side);
        skip();
    }
    nbcl_scene *s = make_scene(side, side, 1, 1, 1, NULL);
    size_t npix = (size_t)side * side;
    assert_true(npix * sizeof(float) > maxalloc);
    nbcl_image img = {0};
    nbcl_render_timing tm;
    progress_log pl;
    render_tiles(e, s, 0, &img, &tm, &pl);
    fprintf(stderr, "%dx%d (%.0f MiB of floats) in %zu tiles, %.2f s (kernels %.2f s)\n", side,
            side, npix * 4.0 / 1048576.0, tm.tiles, tm.wall_s, tm.kernel_s);
    assert_true(tm.tiles >= 2);
    assert_true(tm.tiles >= (npix * sizeof(float) + maxalloc - 1) / maxalloc);
    assert_int_equal(pl.calls, tm.tiles);
    assert_int_equal(pl.last_done, npix);
    /* spot checks against the host evaluation: corners, centre, tile edges */
    double tol = nbcl_engine_precision(e) == NBCL_PRECISION_F64 ? 1e-9 : 1e-4;
    size_t per = (npix + tm.tiles - 1) / tm.tiles;
    size_t probe[] = {0, (size_t)side - 1, npix / 2 + (size_t)side / 2, npix - 1, per - 1, per,
                      per + 1, 2 * per - 1, npix - per};
    for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
        size_t i = probe[k] < npix ? probe[k] : npix - 1;
        int fp = (int)(i % (size_t)side), sp = (int)(i / (size_t)side);
        double want = nbcl_scene_pixel_host(s, fp, sp);
        assert_close(img.data[i], want, 1e-30, tol);
    }
    for (size_t i = 0; i < npix; i++)
        if (!isfinite(img.data[i]))
            fail_msg("pixel %zu is %g", i, img.data[i]);
    nbcl_image_free(&img);
    nbcl_scene_destroy(s);
}

int main(void)
{
    /* PoCL: a 1 GiB device (max single buffer 256 MiB) unless the caller chose otherwise; must
     * be set before the first OpenCL call */
    setenv("POCL_MEMORY_LIMIT", "1", 0);
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiles_f64),
        cmocka_unit_test(test_tiles_f32),
        cmocka_unit_test(test_tiles_roi),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_env_read_once),
        cmocka_unit_test(test_launch_work_f64_simd),
        cmocka_unit_test(test_launch_work_f32_simd),
        cmocka_unit_test(test_launch_work_scalar),
        cmocka_unit_test(test_image_exceeds_max_alloc),
    };
    int rc = cmocka_run_group_tests_name("large_tiles", tests, NULL, NULL);
    nbcl_test_engines_release();
    return rc;
}
