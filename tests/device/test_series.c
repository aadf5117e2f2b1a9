/* The series pipeline through the library API (nbcl_series_run, nbcl/nbcl_output.h): the frame
 * plan (first/last, ranks, resume), the per-frame callback, a series sink (how container
 * formats plug in), the output stage of one frame against a direct render, and that a frame's
 * scene built with shared inputs equals a scene built from scratch. */
#include "nbcl_test.h"
#include "nbcl_scene_internal.h" /* white-box: the scene's fields */
#include "render/pack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static nbcl_engine *g_eng;
static nbcl_config g_cfg;
static nbcl_scene *g_base;

static int group_setup(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        exit(nbcl_test_skip_all());
    g_eng = nbcl_test_engine(NBCL_PRECISION_F64);
    if (!g_eng)
        return -1;
    nbcl_config_init(&g_cfg);
    g_cfg.user_cell = 1;
    g_cfg.cell[0] = 60;
    g_cfg.cell[1] = 70;
    g_cfg.cell[2] = 80;
    g_cfg.cell[3] = g_cfg.cell[4] = g_cfg.cell[5] = M_PI / 2;
    g_cfg.Na = g_cfg.Nb = g_cfg.Nc = 5;
    g_cfg.default_F = 100;
    g_cfg.read_dump = g_cfg.write_dump = 0;
    g_cfg.fpixels = g_cfg.spixels = 48;
    g_cfg.osc = 0.4 * M_PI / 180;
    g_cfg.seed = 3;
    g_cfg.seed_set = 1;
    g_cfg.misset_seed = 5;
    g_cfg.misset_seed_set = 1;
    char err[1024];
    if (nbcl_scene_build(&g_cfg, &g_base, err, sizeof err) != NBCL_OK) {
        fprintf(stderr, "scene: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    nbcl_scene_destroy(g_base);
    nbcl_test_engines_release();
    return 0;
}

static void opts(nbcl_series_opts *o, int nframes)
{
    nbcl_series_opts_init(o);
    o->nframes = nframes;
    o->phi0_deg = 0;
    o->osc_deg = 0.4;
    o->seed = 3;
    o->misset_seed = 5;
}

/* what the callbacks saw */
typedef struct seen {
    int frames[64], n;
    double sum[64];     /* image sum per frame number */
    int sink_frames, sink_closed, sink_ok;
} seen;

static void on_frame(void *user, const nbcl_series_frame *f)
{
    seen *s = user;
    double sum = 0;
    size_t npix = (size_t)f->image->fpixels * f->image->spixels;
    for (size_t i = 0; i < npix; i++)
        sum += f->image->data[i];
    s->frames[s->n++] = f->frame;
    s->sum[f->frame] = sum;
    assert_true(fabs(f->products->header.phi_deg - (f->frame - 1) * 0.4) < 1e-12);
}

static nbcl_status sink_write(void *user, const nbcl_series_frame *f, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    seen *s = user;
    assert_non_null(f->products);
    s->sink_frames++;
    return NBCL_OK;
}

static nbcl_status sink_close(void *user, int ok, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    seen *s = user;
    s->sink_closed++;
    s->sink_ok = ok;
    return NBCL_OK;
}

static int has(const seen *s, int k)
{
    for (int i = 0; i < s->n; i++)
        if (s->frames[i] == k)
            return 1;
    return 0;
}

/* frames first..last of this rank's share, each once; the sink sees each and is closed ok */
static void plan_ranks_and_sink(void **state)
{
    (void)state;
    nbcl_series_opts o;
    opts(&o, 7);
    o.first = 2;
    o.last = 6;
    o.rank = 1;
    o.nranks = 2;
    seen s = {0};
    o.on_frame = on_frame;
    o.on_frame_user = &s;
    nbcl_series_sink sink = {&s, sink_write, sink_close};
    o.sinks = &sink;
    o.nsinks = 1;
    nbcl_series_result r;
    char err[1024];
    nbcl_engine *e[1] = {g_eng};
    assert_int_equal(nbcl_series_run(e, 1, &g_cfg, g_base, &o, &r, err, sizeof err), NBCL_OK);
    /* frames 2..6 with (k-1) % 2 == 1: 2, 4, 6 */
    assert_int_equal(s.n, 3);
    assert_true(has(&s, 2) && has(&s, 4) && has(&s, 6));
    assert_int_equal(r.rendered, 3);
    assert_int_equal(r.written, 3);
    assert_int_equal(s.sink_frames, 3);
    assert_int_equal(s.sink_closed, 1);
    assert_int_equal(s.sink_ok, 1);
    /* the frames differ (the crystal turns) */
    assert_true(s.sum[2] != s.sum[4] && s.sum[4] != s.sum[6]);
}

/* frame k through the series equals nbcl_render of nbcl_scene_build(frame k's config) */
static void frame_equals_direct_render(void **state)
{
    (void)state;
    const char *dir = nbcl_test_workdir("series_direct");
    assert_non_null(dir);
    char tmpl[4200];
    snprintf(tmpl, sizeof tmpl, "%s/f_##.bin", dir);
    nbcl_series_opts o;
    opts(&o, 4);
    o.first = o.last = 3;
    o.path[NBCL_OUT_FLOAT] = tmpl;
    char err[1024];
    nbcl_engine *e[1] = {g_eng};
    assert_int_equal(nbcl_series_run(e, 1, &g_cfg, g_base, &o, NULL, err, sizeof err), NBCL_OK);

    nbcl_config fc;
    nbcl_series_frame_config(&g_cfg, &o, 3, &fc);
    assert_true(fc.phi0 == (0.0 + 2 * 0.4) / (180.0 / M_PI));
    assert_int_equal(fc.seed, nbcl_frame_seed(3, 3));
    nbcl_scene *s = NULL, *shared = NULL;
    assert_int_equal(nbcl_scene_build(&fc, &s, err, sizeof err), NBCL_OK);
    assert_int_equal(nbcl_scene_build_shared(&fc, g_base, &shared, err, sizeof err), NBCL_OK);
    nbcl_kernel_inputs ks, kshared;
    assert_int_equal(nbcl__pack_kernel_inputs(s, &ks), NBCL_OK);
    assert_int_equal(nbcl__pack_kernel_inputs(shared, &kshared), NBCL_OK);
    assert_memory_equal(ks.P, kshared.P, sizeof ks.P);
    assert_memory_equal(ks.IP, kshared.IP, sizeof ks.IP);
    assert_memory_equal(ks.src, kshared.src, sizeof(double) * NBCL_SRC_STRIDE * ks.nsrc);
    nbcl__kernel_inputs_free(&ks);
    nbcl__kernel_inputs_free(&kshared);
    assert_memory_equal(s->orient, shared->orient,
                        sizeof(double) * 9 * (size_t)s->phisteps * s->mosaic_domains);
    assert_true(shared->hkl.F == g_base->hkl.F && shared->mask == g_base->mask);
    nbcl_image img = {0};
    nbcl_render_timing tm;
    assert_int_equal(nbcl_render(g_eng, s, NULL, &img, &tm), NBCL_OK);
    char path[4300];
    snprintf(path, sizeof path, "%s/f_03.bin", dir);
    float *data = NULL;
    size_t n = 0;
    assert_int_equal(nbcl_read_float(path, &data, &n, err, sizeof err), NBCL_OK);
    assert_int_equal(n, (size_t)img.fpixels * img.spixels);
    assert_memory_equal(data, img.data, n * sizeof(float));
    assert_true(nbcl_output_file_complete(NBCL_OUT_FLOAT, path, 48, 48));
    assert_false(nbcl_output_file_complete(NBCL_OUT_FLOAT, path, 48, 47));
    free(data);
    nbcl_image_free(&img);
    nbcl_scene_destroy(s);
    nbcl_scene_destroy(shared); /* borrowed inputs stay with the base (ASan checks the rest) */
}

/* resume: complete frames are skipped; the products of a frame match the output rules */
static void resume_and_products(void **state)
{
    (void)state;
    const char *dir = nbcl_test_workdir("series_resume");
    assert_non_null(dir);
    char tf[4200], ti[4200];
    snprintf(tf, sizeof tf, "%s/f_#.bin", dir);
    snprintf(ti, sizeof ti, "%s/i_#.img", dir);
    nbcl_series_opts o;
    opts(&o, 3);
    o.path[NBCL_OUT_FLOAT] = tf;
    o.path[NBCL_OUT_SMV] = ti;
    char err[1024];
    nbcl_engine *e[1] = {g_eng};
    nbcl_series_result r;
    assert_int_equal(nbcl_series_run(e, 1, &g_cfg, g_base, &o, &r, err, sizeof err), NBCL_OK);
    assert_int_equal(r.written, 3);
    char p2[4300];
    snprintf(p2, sizeof p2, "%s/i_2.img", dir);
    assert_true(nbcl_output_file_complete(NBCL_OUT_SMV, p2, 48, 48));
    assert_int_equal(truncate(p2, 700), 0);
    assert_false(nbcl_output_file_complete(NBCL_OUT_SMV, p2, 48, 48));
    o.resume = 1;
    seen s = {0};
    o.on_frame = on_frame;
    o.on_frame_user = &s;
    assert_int_equal(nbcl_series_run(e, 1, &g_cfg, g_base, &o, &r, err, sizeof err), NBCL_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.frames[0], 2);
    assert_int_equal(r.skipped, 2);
    assert_true(nbcl_output_file_complete(NBCL_OUT_SMV, p2, 48, 48));
    /* scale rules */
    nbcl_stats st = {0};
    st.max_I = 110.0;
    st.rmsd = 2.0;
    assert_true(fabs(nbcl_output_intfile_scale(g_base, &st) - 500.0) < 1e-12);
    assert_true(fabs(nbcl_output_pgm_scale(g_base, &st, 500.0) - 25.0) < 1e-12);
    st.max_I = 0;
    st.rmsd = 0;
    assert_true(nbcl_output_intfile_scale(g_base, &st) == 1.0);
    assert_true(nbcl_output_pgm_scale(g_base, &st, 1.0) == 1.0);
}

static nbcl_cancel *g_token;

static void cancel_after_first(void *user, const nbcl_series_frame *f)
{
    (void)f;
    int *n = user;
    if (++*n == 1)
        nbcl_cancel_trigger(g_token);
}

/* a cancel token stops the series — its own (opts.cancel) or its engine's
 * (nbcl_engine_opts.cancel); with keep_finished_on_cancel the frames done are committed whole and
 * nothing else is left */
static void cancel_series(int by_engine)
{
    const char *dir = nbcl_test_workdir(by_engine ? "series_cancel_engine" : "series_cancel");
    assert_non_null(dir);
    char tf[4200];
    snprintf(tf, sizeof tf, "%s/f_##.bin", dir);
    nbcl_series_opts o;
    opts(&o, 40);
    o.path[NBCL_OUT_FLOAT] = tf;
    o.keep_finished_on_cancel = 1;
    int n = 0;
    g_token = nbcl_cancel_create();
    assert_non_null(g_token);
    nbcl_engine *e[1] = {g_eng};
    if (by_engine) {
        e[0] = nbcl_test_engine_with(nbcl_engine_precision(g_eng), NULL, g_token);
        assert_non_null(e[0]);
    } else {
        o.cancel = g_token;
    }
    o.on_frame = cancel_after_first;
    o.on_frame_user = &n;
    nbcl_series_result r;
    char err[1024];
    assert_int_equal(nbcl_series_run(e, 1, &g_cfg, g_base, &o, &r, err, sizeof err),
                     NBCL_INTERRUPTED);
    assert_true(nbcl_cancel_triggered(g_token));
    assert_true(r.written >= 1 && r.written < 40);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq %d && ! ls -A '%s' | grep -q tmp",
             dir, r.written, dir);
    assert_int_equal(nbcl_test_run(cmd), 0);
    char p1[4300];
    snprintf(p1, sizeof p1, "%s/f_01.bin", dir);
    assert_true(nbcl_output_file_complete(NBCL_OUT_FLOAT, p1, 48, 48));
    if (by_engine)
        nbcl_engine_destroy(e[0]);
    nbcl_cancel_destroy(g_token);
    g_token = NULL;
}

static void cancel_token(void **state)
{
    (void)state;
    cancel_series(0);
}

static void cancel_engine_token(void **state)
{
    (void)state;
    cancel_series(1);
}

/* the device pool: one engine for a plain spec, all or none for a list */
static void engine_pool(void **state)
{
    (void)state;
    nbcl_engine_opts eo;
    nbcl_engine_opts_init(&eo);
    eo.device = getenv("NBCL_TEST_DEVICE");
    nbcl_engine *e[4] = {NULL};
    size_t n = 9;
    char err[4096];
    assert_int_equal(nbcl_engine_create_list(&eo, e, 4, &n, err, sizeof err), NBCL_OK);
    assert_int_equal(n, 1);
    assert_non_null(e[0]);
    const nbcl_device_info *d = nbcl_engine_device(e[0]);
    char twice[64];
    snprintf(twice, sizeof twice, "%u:%u,%u:%u", d->platform_index, d->device_index,
             d->platform_index, d->device_index);
    nbcl_engine_destroy(e[0]);
    eo.device = twice;
    n = 9;
    assert_int_equal(nbcl_engine_create_list(&eo, e, 4, &n, err, sizeof err),
                     NBCL_INVALID_ARGUMENT);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, "repeats"));
    eo.device = "all";
    assert_int_equal(nbcl_engine_create_list(&eo, e, 4, &n, err, sizeof err), NBCL_OK);
    size_t all = 0;
    assert_int_equal(nbcl_device_list(NULL, 0, &all), NBCL_OK);
    assert_int_equal(n, all < 4 ? all : 4);
    for (size_t i = 0; i < n; i++)
        nbcl_engine_destroy(e[i]);
}

/* the float and SMV files of frames 1..n in dir: byte-compared with ref's, or absent */
static void check_files(const char *dir, const char *ref, int n, int absent_from)
{
    for (int k = 1; k <= n; k++) {
        for (int kind = 0; kind < 2; kind++) {
            char a[4300], b[4300];
            snprintf(a, sizeof a, "%s/%c_%d.%s", dir, "fi"[kind], k, kind ? "img" : "bin");
            snprintf(b, sizeof b, "%s/%c_%d.%s", ref, "fi"[kind], k, kind ? "img" : "bin");
            if (absent_from > 0 && k >= absent_from) {
                assert_int_equal(access(a, F_OK), -1);
                continue;
            }
            char cmd[9000];
            snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
            assert_int_equal(system(cmd), 0);
        }
    }
    char cmd[4400]; /* no temporary file left */
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q tmp", dir);
    assert_int_not_equal(system(cmd), 0);
}

static nbcl_status fail_frame_4(void *user, const nbcl_series_frame *f, char *err, size_t errlen)
{
    (void)user;
    if (f->frame != 4)
        return NBCL_OK;
    snprintf(err, errlen, "frame 4 refused");
    return NBCL_NONFINITE;
}

/* Frames 1..3 whose float files are links to one FIFO: its reader gets frame 1, 2, 3 whole and
 * in that order (such outputs keep one writer: two would interleave the stream), the same
 * bytes as the regular files of ref. */
static void fifo_frames_in_order(const char *ref)
{
    const char *dir = nbcl_test_workdir("series_fifo");
    assert_non_null(dir);
    char ff[4300], link[4300], tf[4300], ti[4300];
    snprintf(ff, sizeof ff, "%s/ff", dir);
    assert_int_equal(mkfifo(ff, 0644), 0);
    for (int k = 1; k <= 3; k++) {
        snprintf(link, sizeof link, "%s/f_%d.bin", dir, k);
        assert_int_equal(symlink("ff", link), 0);
    }
    int in = open(ff, O_RDONLY | O_NONBLOCK); /* 3 x 9 KiB: the pipe holds them, read after */
    assert_true(in >= 0);
    snprintf(tf, sizeof tf, "%s/f_#.bin", dir);
    snprintf(ti, sizeof ti, "%s/i_#.img", dir);
    nbcl_series_opts o;
    opts(&o, 9);
    o.last = 3;
    o.max_batch = 3; /* one render: both writers would start on frames 1 and 2 at once */
    o.path[NBCL_OUT_FLOAT] = tf;
    o.path[NBCL_OUT_SMV] = ti;
    nbcl_engine *e[1] = {g_eng};
    char err[1024];
    setenv("NBCL_HOST_THREADS", "2", 1);
    nbcl_status st = nbcl_series_run(e, 1, &g_cfg, g_base, &o, NULL, err, sizeof err);
    unsetenv("NBCL_HOST_THREADS");
    assert_int_equal(st, NBCL_OK);
    size_t frame = 48 * 48 * sizeof(float);
    unsigned char *got = malloc(3 * frame + 1), *want = malloc(frame);
    assert_true(got && want);
    assert_int_equal(read(in, got, 3 * frame + 1), (ssize_t)(3 * frame));
    close(in);
    for (int k = 1; k <= 3; k++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/f_%d.bin", ref, k);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fread(want, 1, frame, f), frame);
        fclose(f);
        assert_memory_equal(got + (size_t)(k - 1) * frame, want, frame);
    }
    free(got);
    free(want);
}

/* Two writers (the calling thread joins the writer thread once its renders are done): the
 * callbacks still come in frame order and every file is the one a single writer makes. A frame
 * that fails its check stops the series there: the frames before it are committed, none after
 * it (the other writer may have made it already). */
static void two_writers(void **state)
{
    (void)state;
    const char *dir = nbcl_test_workdir("series_two_writers");
    const char *ref = nbcl_test_workdir("series_one_writer");
    const char *bad = nbcl_test_workdir("series_check_fails");
    assert_true(dir && ref && bad);
    char tf[3][4200], ti[3][4200];
    const char *dirs[3] = {dir, ref, bad};
    for (int d = 0; d < 3; d++) {
        snprintf(tf[d], sizeof tf[d], "%s/f_#.bin", dirs[d]);
        snprintf(ti[d], sizeof ti[d], "%s/i_#.img", dirs[d]);
    }
    nbcl_engine *e[1] = {g_eng};
    char err[1024];
    for (int d = 0; d < 3; d++) {
        nbcl_series_opts o;
        opts(&o, 9);
        o.max_batch = 2; /* several batches, the last frames queued when the renders end */
        o.path[NBCL_OUT_FLOAT] = tf[d];
        o.path[NBCL_OUT_SMV] = ti[d];
        seen s = {0};
        o.on_frame = on_frame;
        o.on_frame_user = &s;
        if (d == 2)
            o.check_frame = fail_frame_4;
        setenv("NBCL_HOST_THREADS", d == 1 ? "1" : "2", 1); /* one writer, or two */
        nbcl_series_result r;
        nbcl_status st = nbcl_series_run(e, 1, &g_cfg, g_base, &o, &r, err, sizeof err);
        unsetenv("NBCL_HOST_THREADS");
        assert_int_equal(st, d == 2 ? NBCL_NONFINITE : NBCL_OK);
        assert_int_equal(r.written, d == 2 ? 3 : 9);
        assert_int_equal(s.n, d == 2 ? 3 : 9);
        for (int i = 0; i < s.n; i++)
            assert_int_equal(s.frames[i], i + 1);
    }
    check_files(dir, ref, 9, 0);
    check_files(bad, ref, 9, 4);
    fifo_frames_in_order(ref);
}

/* a bad plan is refused before anything is rendered */
static void bad_plan(void **state)
{
    (void)state;
    nbcl_series_opts o;
    opts(&o, 3);
    o.first = 3;
    o.last = 2;
    char err[1024];
    nbcl_engine *e[1] = {g_eng};
    assert_int_equal(nbcl_series_run(e, 1, &g_cfg, g_base, &o, NULL, err, sizeof err),
                     NBCL_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "frame plan"));
    opts(&o, 3);
    o.rank = 2;
    o.nranks = 2;
    assert_int_equal(nbcl_series_run(e, 1, &g_cfg, g_base, &o, NULL, err, sizeof err),
                     NBCL_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_ranks_and_sink),
        cmocka_unit_test(frame_equals_direct_render),
        cmocka_unit_test(resume_and_products),
        cmocka_unit_test(cancel_token),
        cmocka_unit_test(cancel_engine_token),
        cmocka_unit_test(engine_pool),
        cmocka_unit_test(bad_plan),
        cmocka_unit_test(two_writers),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
