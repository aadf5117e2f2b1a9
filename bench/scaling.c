/* nbcl-bench --scaling: warm throughput against detector size, mosaic domains and phi steps, on
 * every device x precision of the run (docs/benchmarks.md, "Scaling").
 *
 * One engine per device x precision serves every point (the engine does not depend on the
 * scene). Each point builds its scene, renders --warmup untimed images, then scal_repeats timed
 * ones; no statistics, no reference. A failed point is recorded with its error and the sweep
 * goes on (after an error the engine is rebuilt for the next point). */
#include "bench.h"
#include "args.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const bench_sweep_def bench_sweeps[] = {
    {"size", "detector_size", "Detector size (`perf` case)",
     "`perf` argv with `-detpixels N`", "scaling_size.png", {256, 512, 1024, 2048, 4096, 0}},
    {"domains", "mosaic_domains", "Mosaic domains (256², `heavy`-like)",
     "`heavy` crystal at 256², `-mosaic 0.5 -mosaic_dom D`, `-phi 0.2 -osc 1.0 -phisteps 1`, "
     "`-oversample 1`",
     "scaling_domains.png", {1, 10, 100, 1000, 0}},
    {"phisteps", "phi_steps", "φ steps (256², `heavy`-like)",
     "`heavy` crystal at 256², `-phi 0.2 -osc 1.0 -phisteps P`, `-mosaic 0.5 -mosaic_dom 1`, "
     "`-oversample 1`",
     "scaling_phisteps.png", {1, 2, 5, 10, 20, 0}},
};
const size_t bench_nsweeps = sizeof bench_sweeps / sizeof bench_sweeps[0];

size_t bench_sweep_nvalues(const bench_sweep_def *s)
{
    size_t n = 0;
    while (n < BENCH_SWEEP_MAX_VALUES && s->values[n])
        n++;
    return n;
}

/* the heavy case's crystal at 256x256 with `domains` mosaic domains and `phisteps` phi steps,
 * oversample 1 (phi starts at 0.2 deg, as in the heavy case) */
static int heavy_like_argv(int domains, int phisteps, bench_argv *out)
{
    char d[16], p[16];
    snprintf(d, sizeof d, "%d", domains);
    snprintf(p, sizeof p, "%d", phisteps);
    const char *const l[] = {"nbcl", "-cell", "70", "80", "90", "75", "85", "95", "-misset", "10",
                             "20", "30", "-lambda", "1.0", "-N", "5", "-default_F", "100",
                             "-distance", "100", "-mosaic", "0.5", "-mosaic_dom", d,
                             "-mosaic_seed", "4321", "-phi", "0.2", "-osc", "1.0", "-phisteps", p,
                             "-oversample", "1", "-detpixels", "256", "-nonoise", "-nopgm",
                             "-noprogress", NULL};
    memset(out, 0, sizeof *out);
    for (const char *const *a = l; *a; a++)
        if (!bench_argv_push(out, *a)) {
            bench_argv_free(out);
            return 0;
        }
    return 1;
}

static int sweep_argv(bench_run *run, int sweep, int value, bench_argv *out, char *err,
                      size_t errlen)
{
    const char *name = bench_sweeps[sweep].name;
    if (!strcmp(name, "size"))
        return bench_case_argv("perf", value, run->thicksteps, run->inputs_dir, out, err, errlen);
    int ok = !strcmp(name, "domains") ? heavy_like_argv(value, 1, out)
                                      : heavy_like_argv(1, value, out);
    if (!ok)
        snprintf(err, errlen, "out of memory building the argv of sweep %s", name);
    return ok;
}

static bench_scal_point *add_point(bench_run *run)
{
    if (run->nscal == run->cap_scal) {
        size_t cap = run->cap_scal ? 2 * run->cap_scal : 32;
        bench_scal_point *np = realloc(run->scal, cap * sizeof *np);
        if (!np)
            return NULL;
        run->scal = np;
        run->cap_scal = cap;
    }
    bench_scal_point *pt = &run->scal[run->nscal++];
    memset(pt, 0, sizeof *pt);
    return pt;
}

/* One point on a warm engine (*eng created here when NULL, destroyed after a failed render). */
static void measure_point(bench_run *run, bench_scal_point *pt, const bench_argv *av,
                          nbcl_engine **eng)
{
    char err[8192];
    nbcl_scene *scene = NULL;

    snprintf(pt->status, sizeof pt->status, "ok");
    if (!bench_workload_scene(av, &scene, &pt->work, err, sizeof err)) {
        BENCH_SET_STATUS(pt, "error", "", err);
        return;
    }
    if (!*eng) {
        double c0 = bench_now();
        nbcl_status s = bench_engine_create(run, pt->device_index, pt->precision, eng, err,
                                            sizeof err);
        if (s != NBCL_OK) {
            BENCH_SET_STATUS(pt, s == NBCL_NO_FP64 ? "unsupported" : "error",
                             s == NBCL_NO_FP64 ? "" : "engine: ", err);
            *eng = NULL;
            nbcl_scene_destroy(scene);
            return;
        }
        const nbcl_device_info *d = &run->devices[pt->device_index];
        bench_progress(run, "  scaling engine %u:%u %s: created in %.3f s", d->platform_index,
                       d->device_index, bench_precision_name(pt->precision), bench_now() - c0);
    }
    const nbcl_build_facts *f = nbcl_engine_build_facts(*eng);
    if (f)
        pt->facts = *f;
    if (bench_warm_loop(run, *eng, scene, &pt->work, run->scal_repeats, NULL, NULL, &pt->warm,
                        pt->status, sizeof pt->status, pt->error, sizeof pt->error) ==
        BENCH_LOOP_RENDER_FAILED) {
        nbcl_engine_destroy(*eng); /* a fresh engine for the next point */
        *eng = NULL;
    }
    nbcl_scene_destroy(scene);
}

void bench_run_scaling(bench_run *run)
{
    size_t per_combo = 0;
    for (size_t w = 0; w < bench_nsweeps; w++)
        per_combo += bench_sweep_nvalues(&bench_sweeps[w]);
    size_t ncombo = 0;
    for (size_t d = 0; d < run->ndevices; d++)
        ncombo += run->precision_mode == 1 ? 2 : 1;
    size_t total = per_combo * ncombo, done_n = 0;
    bench_log(run, "scaling: %zu points (%zu device x precision), %d warm-up + %d repeats each",
              total, ncombo, run->warmup, run->scal_repeats);

    for (size_t d = 0; d < run->ndevices && !bench_interrupted; d++) {
        int precs[2], nprec = bench_precisions(run, d, precs);
        for (int p = 0; p < nprec && !bench_interrupted; p++) {
            nbcl_engine *eng = NULL;
            int unsupported = 0;
            char unsupported_msg[1024] = "";
            for (size_t w = 0; w < bench_nsweeps && !bench_interrupted; w++) {
                const bench_sweep_def *sw = &bench_sweeps[w];
                for (size_t k = 0; k < bench_sweep_nvalues(sw) && !bench_interrupted; k++) {
                    bench_scal_point *pt = add_point(run);
                    if (!pt) {
                        bench_log(run, "scaling: out of memory");
                        nbcl_engine_destroy(eng);
                        run->failures++;
                        return;
                    }
                    pt->sweep = (int)w;
                    pt->value = sw->values[k];
                    pt->device_index = (int)d;
                    pt->precision = precs[p];
                    done_n++;
                    char err[1024];
                    bench_argv av;
                    if (!sweep_argv(run, (int)w, pt->value, &av, err, sizeof err)) {
                        BENCH_SET_STATUS(pt, "error", "", err);
                        run->failures++;
                        continue;
                    }
                    char extra[128];
                    snprintf(extra, sizeof extra, "-device %u:%u -precision %s",
                             run->devices[d].platform_index, run->devices[d].device_index,
                             bench_precision_name(pt->precision));
                    char *cl = bench_argv_cmdline("nbcl", &av, extra);
                    snprintf(pt->cmdline, sizeof pt->cmdline, "%s", cl ? cl : "");
                    free(cl);
                    if (unsupported) {
                        /* the device has no fp64: every point of this precision says so */
                        BENCH_SET_STATUS(pt, "unsupported", "", unsupported_msg);
                    } else {
                        bench_progress(run, "[scaling %zu/%zu] %s %d on %u:%u, %s precision", done_n,
                                       total, sw->name, pt->value, run->devices[d].platform_index,
                                       run->devices[d].device_index,
                                       bench_precision_name(pt->precision));
                        double t = bench_now();
                        measure_point(run, pt, &av, &eng);
                        if (!strcmp(pt->status, "ok"))
                            bench_progress(run,
                                           "[scaling %zu/%zu] %s %d: warm median %.4f s wall, "
                                           "%.4f s kernel; %.3g pixels/s, %.3g subpaths/s "
                                           "(wall) (%.1f s)",
                                           done_n, total, sw->name, pt->value,
                                           pt->warm.wall.median, pt->warm.kernel.median,
                                           pt->warm.pix_per_s_wall, pt->warm.sub_per_s_wall,
                                           bench_now() - t);
                        else
                            bench_progress(run, "[scaling %zu/%zu] %s %d: %s: %s", done_n, total,
                                           sw->name, pt->value, pt->status, pt->error);
                        if (!strcmp(pt->status, "unsupported")) {
                            unsupported = 1;
                            snprintf(unsupported_msg, sizeof unsupported_msg, "%s", pt->error);
                        }
                        if (!strcmp(pt->status, "error"))
                            run->failures++;
                    }
                    bench_command(run, pt->status, pt->cmdline);
                    bench_argv_free(&av);
                }
            }
            nbcl_engine_destroy(eng);
        }
    }
    if (bench_interrupted)
        bench_log(run, "scaling: interrupted after %zu of %zu points", run->nscal, total);
}

/* ------------------------------------------------------------------ charts */
int bench_write_scaling_charts(bench_run *run, char *err, size_t errlen)
{
    enum { MAXS = 16 };
    int ok = 1;
    for (size_t w = 0; w < bench_nsweeps; w++) {
        const bench_sweep_def *sw = &bench_sweeps[w];
        size_t nx = bench_sweep_nvalues(sw);
        double x[BENCH_SWEEP_MAX_VALUES];
        for (size_t k = 0; k < nx; k++)
            x[k] = sw->values[k];
        /* series: device x precision in the order they ran */
        int sdev[MAXS], sprec[MAXS];
        size_t ns = 0;
        for (size_t i = 0; i < run->nscal; i++) {
            const bench_scal_point *pt = &run->scal[i];
            if (pt->sweep != (int)w)
                continue;
            size_t s;
            for (s = 0; s < ns; s++)
                if (sdev[s] == pt->device_index && sprec[s] == pt->precision)
                    break;
            if (s == ns && ns < MAXS) {
                sdev[ns] = pt->device_index;
                sprec[ns] = pt->precision;
                ns++;
            }
        }
        if (!ns)
            continue;
        static double ys[MAXS][BENCH_SWEEP_MAX_VALUES], yk[MAXS][BENCH_SWEEP_MAX_VALUES];
        static char labels[MAXS][300];
        bench_line_series series[MAXS];
        for (size_t s = 0; s < ns; s++) {
            for (size_t k = 0; k < nx; k++) {
                ys[s][k] = yk[s][k] = NAN;
                for (size_t i = 0; i < run->nscal; i++) {
                    const bench_scal_point *pt = &run->scal[i];
                    if (pt->sweep == (int)w && pt->value == sw->values[k] &&
                        pt->device_index == sdev[s] && pt->precision == sprec[s] &&
                        !strcmp(pt->status, "ok")) {
                        ys[s][k] = pt->warm.sub_per_s_wall;
                        yk[s][k] = pt->warm.sub_per_s_kernel;
                    }
                }
            }
            const nbcl_device_info *d = &run->devices[sdev[s]];
            snprintf(labels[s], sizeof labels[s], "%s, device %u:%u %s",
                     sprec[s] == 64 ? "double" : "single", d->platform_index, d->device_index,
                     d->device_name_normalised);
            series[s].label = labels[s];
            series[s].y = ys[s];
            series[s].y_dashed = yk[s];
        }
        char title[128];
        const char *xl = !strcmp(sw->name, "size")      ? "detector size (pixels per side)"
                         : !strcmp(sw->name, "domains") ? "mosaic domains"
                                                        : "phi steps";
        snprintf(title, sizeof title, "Scaling: sub-paths/s against %s",
                 !strcmp(sw->name, "size")      ? "detector size (perf)"
                 : !strcmp(sw->name, "domains") ? "mosaic domains (256\xC2\xB2, heavy-like)"
                                                : "phi steps (256\xC2\xB2, heavy-like)");
        bench_line_chart c = {title, xl, "sub-paths / s (warm median)",
                              "solid, filled: host wall time; dashed, hollow: kernel time "
                              "(OpenCL profiling); \xC3\x97: not measured",
                              x, nx, series, ns};
        char path[4400], e2[1024];
        snprintf(path, sizeof path, "%s/%s", run->outdir, sw->png);
        if (bench_write_line_chart(&c, path, e2, sizeof e2)) {
            run->scal_png |= 1u << w;
        } else {
            if (ok)
                snprintf(err, errlen, "%s", e2);
            ok = 0;
        }
    }
    return ok;
}
