/* Several frames of a rotation series per launch (nbcl_render_frames, docs/kernels.md "Frames
 * per launch"): every frame byte-identical to rendering it alone, in both precisions; frames
 * that cannot share launches (other parameters, interpolation) rendered alone; and the series
 * pipeline's files the same whatever the batch size (NBCL_BATCH). */
#include "nbcl_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define NFR 7

/* light frames: 2 mosaic domains x 2 phi steps, a detector whose pixel count is no multiple of
 * the vector width, a ROI */
static void light_config(nbcl_config *c)
{
    nbcl_test_cubic_config(c, 100.0, 12, 100.0, 40);
    c->spixels = 37;
    c->mosaic_spread = 0.3 * M_PI / 180;
    c->mosaic_domains = 2;
    c->phisteps = 2;
    c->osc = 0.4 * M_PI / 180;
    c->oversample = 1;
    c->lambda0 = 1e-10;
    c->distance = 0.05;
    c->pixel_size = 0.4e-3;
    c->roi[0] = 3;
    c->roi[1] = 38;
    c->roi[2] = 1;
    c->roi[3] = 33;
}

/* frame k (0-based) of the rotation series of cfg: phi stepped by osc, inputs shared */
static nbcl_scene *frame_scene(const nbcl_config *cfg, const nbcl_scene *base, int k)
{
    nbcl_config fc = *cfg;
    fc.phi0 = cfg->phi0 + (double)k * cfg->osc;
    nbcl_scene *s = NULL;
    char err[1024];
    if (nbcl_scene_build_shared(&fc, base, &s, err, sizeof err) != NBCL_OK)
        fail_msg("frame %d: %s", k, err);
    return s;
}

static nbcl_scene *build(const nbcl_config *cfg)
{
    nbcl_scene *s = NULL;
    char err[1024];
    if (nbcl_scene_build(cfg, &s, err, sizeof err) != NBCL_OK)
        fail_msg("scene: %s", err);
    return s;
}

static void destroy_frames(nbcl_scene **s, int n, nbcl_scene *base)
{
    for (int k = 0; k < n; k++)
        nbcl_scene_destroy(s[k]);
    nbcl_scene_destroy(base);
}

/* renders scenes[0..n) together and each alone: same bytes, same solid-angle sums; returns the
 * timings of the joint render in tm */
static void assert_frames_equal_alone(nbcl_engine *e, nbcl_scene **scenes, int n,
                                      nbcl_render_timing *tm)
{
    nbcl_image joint[NFR];
    assert_int_equal(nbcl_render_frames(e, (const nbcl_scene *const *)scenes, (size_t)n, NULL,
                                        joint, tm),
                     NBCL_OK);
    for (int k = 0; k < n; k++) {
        nbcl_image alone = {0};
        nbcl_render_timing t1;
        assert_int_equal(nbcl_render(e, scenes[k], NULL, &alone, &t1), NBCL_OK);
        assert_int_equal(t1.batch, 1);
        size_t npix = (size_t)alone.fpixels * alone.spixels;
        if (memcmp(joint[k].data, alone.data, npix * sizeof(float)) != 0)
            fail_msg("frame %d of %d differs from its render alone", k, n);
        assert_true(joint[k].omega_sum == alone.omega_sum);
        double sum = 0;
        for (size_t i = 0; i < npix; i++)
            sum += alone.data[i];
        assert_true(sum > 0); /* the frame has signal */
        nbcl_image_free(&alone);
        nbcl_image_free(&joint[k]);
    }
}

/* a rotation series' frames share launches and each is the same as alone, in both precisions */
static void batch_equals_alone(void **state)
{
    (void)state;
    nbcl_test_need_device();
    static const nbcl_precision prec[] = {NBCL_PRECISION_F32, NBCL_PRECISION_F64};
    for (int p = 0; p < 2; p++) {
        nbcl_engine *e = nbcl_test_engine(prec[p]);
        assert_non_null(e);
        nbcl_config cfg;
        light_config(&cfg);
        nbcl_scene *base = build(&cfg), *s[NFR];
        for (int k = 0; k < NFR; k++)
            s[k] = frame_scene(&cfg, base, k);
        assert_true(nbcl_scenes_batchable(s[0], s[NFR - 1]));
        nbcl_render_timing tm[NFR];
        assert_frames_equal_alone(e, s, NFR, tm);
        /* the vector kernel (CPU devices) takes them in one launch series, the scalar one
         * alone: tiles are counted once per batch */
        int vector = nbcl_render_batch_max(e, base) > 1;
        assert_int_equal(tm[0].batch, vector ? NFR : 1);
        assert_true(tm[0].tiles >= 1);
        assert_true(vector ? tm[1].tiles == 0 : tm[1].tiles >= 1);
        destroy_frames(s, NFR, base);
    }
}

/* a frame with another parameter (distance) splits the run: the frames before and after it
 * still share, it renders alone, every image as alone */
static void differing_parameters_split(void **state)
{
    (void)state;
    nbcl_test_need_device();
    nbcl_engine *e = nbcl_test_engine(NBCL_PRECISION_F32);
    assert_non_null(e);
    nbcl_config cfg, far;
    light_config(&cfg);
    nbcl_scene *base = build(&cfg), *s[5];
    far = cfg;
    far.distance = 0.06;
    for (int k = 0; k < 5; k++) {
        if (k == 2) {
            nbcl_config fc = far;
            fc.phi0 = 2 * cfg.osc;
            char err[1024];
            assert_int_equal(nbcl_scene_build_shared(&fc, base, &s[k], err, sizeof err), NBCL_OK);
        } else {
            s[k] = frame_scene(&cfg, base, k);
        }
    }
    assert_true(nbcl_scenes_batchable(s[0], s[1]));
    assert_false(nbcl_scenes_batchable(s[1], s[2]));
    assert_false(nbcl_scenes_batchable(s[2], s[3]));
    assert_true(nbcl_scenes_batchable(s[3], s[4]));
    nbcl_render_timing tm[5];
    assert_frames_equal_alone(e, s, 5, tm);
    if (nbcl_render_batch_max(e, base) > 1) {
        assert_int_equal(tm[0].batch, 2);
        assert_int_equal(tm[2].batch, 1);
        assert_int_equal(tm[3].batch, 2);
    }
    destroy_frames(s, 5, base);
}

/* interpolation keeps per-run state (its first fallback switches it off): never batched; a grid
 * read by another build is never assumed to be the same grid */
static void interpolation_alone(void **state)
{
    (void)state;
    nbcl_test_need_device();
    char path[4200];
    snprintf(path, sizeof path, "%s/grid.hkl", nbcl_test_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int h = -3; h <= 3; h++)
        for (int k = -3; k <= 3; k++)
            for (int l = -3; l <= 3; l++)
                fprintf(f, "%d %d %d %g\n", h, k, l, 20.0 + h + 2 * k + 3 * l);
    fclose(f);
    nbcl_config cfg;
    light_config(&cfg);
    cfg.hklfile = path;
    cfg.interpolate = 0;
    nbcl_scene *g1 = build(&cfg), *g2 = build(&cfg);
    nbcl_scene *g1a = frame_scene(&cfg, g1, 1), *g1b = frame_scene(&cfg, g1, 2);
    assert_true(nbcl_scenes_batchable(g1a, g1b)); /* one grid, shared */
    assert_false(nbcl_scenes_batchable(g1, g2));  /* two reads of the file */
    nbcl_scene_destroy(g1a);
    nbcl_scene_destroy(g1b);
    nbcl_scene_destroy(g1);
    nbcl_scene_destroy(g2);
    cfg.interpolate = 1;
    nbcl_scene *base = build(&cfg), *s[2];
    for (int k = 0; k < 2; k++)
        s[k] = frame_scene(&cfg, base, k);
    assert_false(nbcl_scenes_batchable(s[0], s[1]));
    nbcl_engine *e = nbcl_test_engine(NBCL_PRECISION_F64);
    assert_non_null(e);
    assert_int_equal(nbcl_render_batch_max(e, base), 1);
    nbcl_render_timing tm[2];
    assert_frames_equal_alone(e, s, 2, tm);
    assert_int_equal(tm[0].batch, 1);
    assert_int_equal(tm[1].batch, 1);
    destroy_frames(s, 2, base);
}

static size_t seen_tiles;

static void count_tiles(void *user, const nbcl_series_frame *f)
{
    *(size_t *)user += f->timing->tiles;
}

/* the series pipeline: the same files with every frame alone (max_batch 1), in batches of 3
 * (7 frames: 3 + 2 + 2) and as it chooses */
static void series_any_batch_size(void **state)
{
    (void)state;
    nbcl_test_need_device();
    static const int batch[] = {1, 3, 0};
    static const nbcl_precision prec[] = {NBCL_PRECISION_F32, NBCL_PRECISION_F64};
    for (int p = 0; p < 2; p++) {
        nbcl_engine *e = nbcl_test_engine(prec[p]);
        assert_non_null(e);
        nbcl_config cfg;
        light_config(&cfg);
        nbcl_scene *base = build(&cfg);
        char *files[3][NFR];
        for (int b = 0; b < 3; b++) {
            char name[64], tmpl[4200], err[1024];
            snprintf(name, sizeof name, "series_%d_%d", p, b);
            const char *dir = nbcl_test_workdir(name);
            assert_non_null(dir);
            snprintf(tmpl, sizeof tmpl, "%s/f_#.bin", dir);
            nbcl_series_opts o;
            nbcl_series_opts_init(&o);
            o.nframes = NFR;
            o.osc_deg = 0.4;
            o.path[NBCL_OUT_FLOAT] = tmpl;
            o.max_batch = batch[b];
            seen_tiles = 0;
            o.on_frame = count_tiles;
            o.on_frame_user = &seen_tiles;
            nbcl_series_result r;
            assert_int_equal(nbcl_series_run(&e, 1, &cfg, base, &o, &r, err, sizeof err),
                             NBCL_OK);
            assert_int_equal(r.written, NFR);
            /* launches are counted on a batch's first frame: 7 frames alone are 7 counts, in
             * batches of 3 three (light frames: one launch each) */
            if (b == 0)
                assert_int_equal(seen_tiles, NFR);
            else if (b == 1 && nbcl_render_batch_max(e, base) > 1)
                assert_int_equal(seen_tiles, 3);
            for (int k = 0; k < NFR; k++) {
                char fp[4300];
                snprintf(fp, sizeof fp, "%s/f_%d.bin", dir, k + 1);
                size_t len = 0;
                files[b][k] = nbcl_test_read_file(fp, &len);
                assert_non_null(files[b][k]);
                assert_int_equal(len, 40 * 37 * sizeof(float));
            }
        }
        for (int k = 0; k < NFR; k++) {
            assert_memory_equal(files[0][k], files[1][k], 40 * 37 * sizeof(float));
            assert_memory_equal(files[0][k], files[2][k], 40 * 37 * sizeof(float));
            if (k > 0) /* the frames are different images */
                assert_true(memcmp(files[0][k], files[0][k - 1], 40 * 37 * sizeof(float)) != 0);
            for (int b = 0; b < 3; b++)
                free(files[b][k]);
        }
        nbcl_scene_destroy(base);
    }
}

static int teardown(void **state)
{
    (void)state;
    nbcl_test_engines_release();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_equals_alone),
        cmocka_unit_test(differing_parameters_split),
        cmocka_unit_test(interpolation_alone),
        cmocka_unit_test(series_any_batch_size),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
