/* What a case row and a scaling point share: the scene and workload of an argv, an engine on a
 * device x precision, and the one measuring loop of warm renders. */
#include "bench.h"
#include "args.h"

#include <stdlib.h>
#include <string.h>

void bench_set_status(char *status, size_t scap, char *error, size_t ecap, const char *st,
                      const char *prefix, const char *msg)
{
    snprintf(status, scap, "%s", st);
    snprintf(error, ecap, "%s%s", prefix, msg);
}

int bench_workload_scene(const bench_argv *argv, nbcl_scene **scene, bench_workload *w,
                         char *err, size_t errlen)
{
    char msg[16384];
    nbcl_cli cli;
    *scene = NULL;
    memset(w, 0, sizeof *w);
    if (nbcl_cli_parse(argv->argc, (char **)argv->argv, &cli, msg, sizeof msg)) {
        snprintf(err, errlen, "argument error: %s", msg);
        return 0;
    }
    /* hermetic: never read an Fdump.bin lying in the working directory (the reference does
     * when there is no -hkl) and never write one there; the reference runs in a clean
     * directory, so both sides see the same inputs */
    cli.cfg.read_dump = 0;
    cli.cfg.write_dump = 0;
    double t = bench_now();
    nbcl_status s = nbcl_scene_build(&cli.cfg, scene, msg, sizeof msg);
    w->scene_build_s = bench_now() - t;
    if (s != NBCL_OK) {
        snprintf(err, errlen, "scene: %s", msg);
        return 0;
    }
    nbcl_scene_info info, *sc = &info;
    nbcl_scene_get_info(*scene, &info);
    w->fpixels = sc->fpixels;
    w->spixels = sc->spixels;
    w->pixels = (size_t)sc->fpixels * (size_t)sc->spixels;
    w->layers = sc->thicksteps > 0 ? sc->thicksteps : 1;
    w->oversample = sc->oversample;
    w->sources = sc->sources;
    w->phisteps = sc->phisteps;
    w->domains = sc->mosaic_domains;
    w->subpaths = (double)w->pixels * (double)sc->steps * (double)w->layers;
    return 1;
}

static void engine_log(void *user, nbcl_log_level level, const char *msg)
{
    bench_run *run = user;
    static const char *names[] = {"debug", "info", "warn", "error"};
    bench_log(run, "engine %s: %s", names[level >= 0 && level <= 3 ? level : 0], msg);
}

nbcl_status bench_engine_create(bench_run *run, int device_index, int precision,
                                nbcl_engine **eng, char *err, size_t errlen)
{
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    char spec[32];
    const nbcl_device_info *d = &run->devices[device_index];
    snprintf(spec, sizeof spec, "%u:%u", d->platform_index, d->device_index);
    o.device = spec;
    o.precision = precision == 64 ? NBCL_PRECISION_F64 : NBCL_PRECISION_F32;
    o.cancel = bench_cancel;
    o.env = &bench_env;
    o.log = engine_log;
    o.log_user = run;
    return nbcl_engine_create(&o, eng, err, errlen);
}

int bench_warm_loop(bench_run *run, nbcl_engine *eng, const nbcl_scene *scene,
                    const bench_workload *work, int repeats, bench_each_fn each, void *user,
                    bench_warm *out, char *status, size_t scap, char *error, size_t ecap)
{
    bench_series wall = {0}, kern = {0}, up = {0}, rb = {0};
    nbcl_image img = {0};
    nbcl_render_timing tm;
    int rc = BENCH_LOOP_OK;
    double last_note = bench_now();
    for (int i = 0; i < run->warmup + repeats; i++) {
        int timed = i >= run->warmup;
        if (bench_interrupted) {
            bench_set_status(status, scap, error, ecap, "interrupted", "",
                             "interrupted by a signal");
            rc = BENCH_LOOP_FAILED;
            break;
        }
        double w0 = bench_now();
        nbcl_status s = nbcl_render(eng, scene, NULL, &img, &tm);
        double w = bench_now() - w0;
        if (s != NBCL_OK) {
            bench_set_status(status, scap, error, ecap,
                             s == NBCL_INTERRUPTED ? "interrupted" : "error",
                             timed ? "render: " : "warm-up render: ", nbcl_engine_last_error(eng));
            rc = BENCH_LOOP_RENDER_FAILED;
            break;
        }
        if (timed) {
            out->tiles = tm.tiles;
            snprintf(out->kernel_name, sizeof out->kernel_name, "%s",
                     tm.kernel_name ? tm.kernel_name : "nbcl_k_pixel");
            if (!bench_series_add(&wall, w) || !bench_series_add(&kern, tm.kernel_s) ||
                !bench_series_add(&up, tm.upload_s) || !bench_series_add(&rb, tm.readback_s)) {
                bench_set_status(status, scap, error, ecap, "error", "",
                                 "out of memory for samples");
                rc = BENCH_LOOP_FAILED;
                break;
            }
            if (each && !each(user, &img, &tm, w0, w)) {
                rc = BENCH_LOOP_FAILED; /* the hook set the status */
                break;
            }
            if (bench_now() - last_note > 5.0 && i + 1 < run->warmup + repeats) {
                bench_progress(run, "  warm: %d/%d repeats", i + 1 - run->warmup, repeats);
                last_note = bench_now();
            }
        }
        nbcl_image_free(&img);
    }
    nbcl_image_free(&img);
    if (rc == BENCH_LOOP_OK) { /* a failed loop reports no partial samples */
        bench_summarise(wall.v, wall.n, &out->wall);
        bench_summarise(kern.v, kern.n, &out->kernel);
        bench_summarise(up.v, up.n, &out->upload);
        bench_summarise(rb.v, rb.n, &out->readback);
    }
    if (rc == BENCH_LOOP_OK && wall.n > 0 && out->wall.median > 0) {
        out->pix_per_s_wall = (double)work->pixels / out->wall.median;
        out->sub_per_s_wall = work->subpaths / out->wall.median;
        if (out->kernel.median > 0) {
            out->pix_per_s_kernel = (double)work->pixels / out->kernel.median;
            out->sub_per_s_kernel = work->subpaths / out->kernel.median;
        }
    }
    bench_series_free(&wall);
    bench_series_free(&kern);
    bench_series_free(&up);
    bench_series_free(&rb);
    return rc;
}
