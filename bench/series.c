/* nbcl-bench --series N: a dataset (issue 11) as whole processes, side by side:
 *   nbcl -nframes N            one process renders the series (frames/s of the pipeline)
 *   nbcl once per frame        N processes with -phi stepped (what a user did before -nframes)
 *   reference once per frame   N processes of nanoBragg with -phi stepped (with --reference)
 * on every device x precision of the run, for the light 20-frame case of the issue
 * (-N 20 -mosaic 0.2 -mosaic_dom 2 -phisteps 2 -oversample 1, 512^2 unless --sizes).
 * Results: series.json and series.md in the bundle, and the log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define SERIES_OSC 0.5

typedef struct series_point {
    char who[32];              /* nbcl-series | nbcl-per-frame | reference-per-frame */
    char device[64];
    int precision;
    char status[16];
    double wall_s;             /* whole wall time of the N frames (median over repeats) */
    double fps;
} series_point;

static void light_argv(bench_argv *a, int size)
{
    char sz[32];
    static const char *const base[] = {"-cell", "100", "100", "100", "90", "90", "90",
                                       "-default_F", "100", "-N", "20", "-mosaic", "0.2",
                                       "-mosaic_dom", "2", "-phisteps", "2", "-oversample", "1",
                                       "-lambda", "1", "-distance", "100", "-osc", "0.5",
                                       "-seed", "1", "-nopgm", "-nonoise", "-noprogress"};
    memset(a, 0, sizeof *a);
    bench_argv_push(a, "nbcl");
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        bench_argv_push(a, base[i]);
    snprintf(sz, sizeof sz, "%d", size);
    bench_argv_push(a, "-detpixels");
    bench_argv_push(a, sz);
}

/* prog, the case's arguments, then extra (NULL-terminated); returns the count */
static int base_av(char **av, const bench_argv *a, const char *prog, char *const *extra)
{
    int n = 0;
    av[n++] = (char *)prog;
    for (int i = 1; i < a->argc; i++)
        av[n++] = a->argv[i];
    for (; extra && *extra; extra++)
        av[n++] = *extra;
    return n;
}

/* run av (NULL-terminated) in a fresh directory; wall time or -1 */
static double timed(bench_run *run, char **av)
{
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/.seriestmp-XXXXXX", run->outdir);
    if (!mkdtemp(dir))
        return -1;
    double w = -1;
    int st = bench_spawn(av, dir, NULL, &w, NULL);
    bench_rmtree(dir);
    return st == 0 ? w : -1;
}

/* the series in one process: median wall of 1 + repeats runs (the first warms the caches) */
static double one_process(bench_run *run, const bench_argv *a, const char *prog, char *const *extra,
                          int nframes)
{
    char *av[BENCH_MAX_ARGS + 16];
    char nf[16];
    snprintf(nf, sizeof nf, "%d", nframes);
    int n = base_av(av, a, prog, extra);
    av[n++] = "-nframes";
    av[n++] = nf;
    av[n++] = "-floatfile";
    av[n++] = "f_####.bin";
    av[n++] = "-intfile";
    av[n++] = "i_####.img";
    av[n] = NULL;
    double v[8];
    int reps = run->ref_repeats < 1 ? 1 : (run->ref_repeats > 7 ? 7 : run->ref_repeats);
    if (timed(run, av) < 0)
        return -1;
    for (int r = 0; r < reps; r++)
        if ((v[r] = timed(run, av)) < 0)
            return -1;
    bench_summary s;
    bench_summarise(v, (size_t)reps, &s);
    return s.median;
}

/* N processes, frame k with -phi (k-1)*osc, one after the other in one directory */
static double per_frame(bench_run *run, const bench_argv *a, const char *prog, char *const *extra,
                        int nframes)
{
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/.seriestmp-XXXXXX", run->outdir);
    if (!mkdtemp(dir))
        return -1;
    double total = 0;
    for (int k = 1; k <= nframes && !bench_interrupted; k++) {
        char *av[BENCH_MAX_ARGS + 16], phi[64], ff[32], fi[32];
        snprintf(phi, sizeof phi, "%.17g", (k - 1) * SERIES_OSC);
        snprintf(ff, sizeof ff, "f_%04d.bin", k);
        snprintf(fi, sizeof fi, "i_%04d.img", k);
        int n = base_av(av, a, prog, extra);
        av[n++] = "-phi";
        av[n++] = phi;
        av[n++] = "-floatfile";
        av[n++] = ff;
        av[n++] = "-intfile";
        av[n++] = fi;
        av[n] = NULL;
        double w = 0;
        if (bench_spawn(av, dir, NULL, &w, NULL) != 0) {
            total = -1;
            break;
        }
        total += w;
    }
    bench_rmtree(dir);
    return total;
}

static void add_point(series_point *pts, int *np, const char *who, const char *dev, int prec,
                      double wall, int nframes)
{
    series_point *p = &pts[(*np)++];
    memset(p, 0, sizeof *p);
    snprintf(p->who, sizeof p->who, "%s", who);
    snprintf(p->device, sizeof p->device, "%s", dev);
    p->precision = prec;
    snprintf(p->status, sizeof p->status, wall > 0 ? "ok" : "error");
    p->wall_s = wall;
    p->fps = wall > 0 ? nframes / wall : 0;
}

static int write_results(bench_run *run, const series_point *pts, int np, int nframes, int size)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/series.json", run->outdir);
    FILE *j = fopen(path, "w");
    snprintf(path, sizeof path, "%s/series.md", run->outdir);
    FILE *m = fopen(path, "w");
    if (!j || !m) {
        if (j)
            fclose(j);
        if (m)
            fclose(m);
        return 0;
    }
    fprintf(j, "{\"frames\": %d, \"size\": %d, \"osc_deg\": %g, \"points\": [", nframes, size,
            SERIES_OSC);
    fprintf(m, "# Series: %d frames of %d^2 (light: -N 20 -mosaic 0.2 -mosaic_dom 2 -phisteps 2 "
               "-oversample 1 -osc %g)\n\n"
               "Whole wall time of the N frames; per-frame runs step -phi by -osc. The reference "
               "(its own precision) is listed once per nbcl device x precision: its speed-up is "
               "against that series.\n\n"
               "| how | device | precision | status | wall s | frames/s | series speed-up |\n"
               "|---|---|---|---|---:|---:|---:|\n",
            nframes, size, SERIES_OSC);
    for (int i = 0; i < np; i++) {
        const series_point *p = &pts[i];
        double series_wall = 0;
        for (int k = 0; k < np; k++)
            if (!strcmp(pts[k].who, "nbcl-series") && !strcmp(pts[k].device, p->device) &&
                pts[k].precision == p->precision)
                series_wall = pts[k].wall_s;
        double speedup = series_wall > 0 && p->wall_s > 0 ? p->wall_s / series_wall : 0;
        fprintf(j, "%s{\"how\": \"%s\", \"device\": \"%s\", \"precision\": \"%s\", \"status\": "
                   "\"%s\", \"wall_s\": %.6f, \"frames_per_s\": %.4f, \"series_speedup\": %.3f}",
                i ? ", " : "", p->who, p->device, bench_precision_name(p->precision), p->status,
                p->wall_s, p->fps, speedup);
        fprintf(m, "| %s | %s | %s | %s | %.3f | %.2f | %.1fx |\n", p->who, p->device,
                bench_precision_name(p->precision), p->status, p->wall_s, p->fps, speedup);
    }
    fprintf(j, "]}\n");
    int ok = fclose(j) == 0;
    ok &= fclose(m) == 0;
    return ok;
}

int bench_run_series(bench_run *run, int nframes)
{
    int size = run->nsizes ? run->sizes[0] : 512;
    bench_argv a;
    light_argv(&a, size);
    series_point pts[64];
    int np = 0;
    if (!run->nbcl_path[0]) {
        bench_log(run, "series: no nbcl executable beside nbcl-bench");
        bench_argv_free(&a);
        return 0;
    }
    if (run->reference) {
        bench_progress(run, "series: reference once per frame, %d frames", nframes);
        double w = per_frame(run, &a, run->reference, NULL, nframes);
        add_point(pts, &np, "reference-per-frame", "reference", 64, w, nframes);
    }
    for (size_t d = 0; d < run->ndevices && !bench_interrupted; d++) {
        int precs[2];
        int nprec = bench_precisions(run, d, precs);
        char dev[64];
        snprintf(dev, sizeof dev, "%u:%u", run->devices[d].platform_index,
                 run->devices[d].device_index);
        for (int p = 0; p < nprec && np < 60 && !bench_interrupted; p++) {
            char *extra[] = {"-device", dev, "-precision",
                             (char *)bench_precision_name(precs[p]), NULL};
            bench_progress(run, "series: nbcl -nframes %d on %s, %s", nframes, dev,
                           bench_precision_name(precs[p]));
            double ws = one_process(run, &a, run->nbcl_path, extra, nframes);
            add_point(pts, &np, "nbcl-series", dev, precs[p], ws, nframes);
            bench_progress(run, "series: nbcl once per frame on %s, %s", dev,
                           bench_precision_name(precs[p]));
            double wf = per_frame(run, &a, run->nbcl_path, extra, nframes);
            add_point(pts, &np, "nbcl-per-frame", dev, precs[p], wf, nframes);
            bench_log(run, "series %s %s: nbcl -nframes %.3f s, nbcl per frame %.3f s (%.1fx)",
                      dev, bench_precision_name(precs[p]), ws, wf, ws > 0 ? wf / ws : 0.0);
            if (ws <= 0 || wf <= 0)
                run->failures++;
        }
    }
    /* the reference row's speed-up is against each nbcl series: repeat it per device x prec */
    for (int i = 0; i < np && run->reference; i++)
        if (!strcmp(pts[i].who, "nbcl-series") && np < 64) {
            series_point r = pts[0];
            snprintf(r.device, sizeof r.device, "%s", pts[i].device);
            r.precision = pts[i].precision;
            pts[np++] = r;
        }
    int ok = write_results(run, run->reference ? pts + 1 : pts, run->reference ? np - 1 : np,
                           nframes, size);
    bench_argv_free(&a);
    if (!ok)
        bench_log(run, "series: cannot write series.json/series.md: %s", strerror(errno));
    return ok;
}
