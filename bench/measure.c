/* nbcl-bench measurements: one row (case x size x device x precision) through the engine API,
 * and the reference nanoBragg binary run as a child process with the same argv. */
#include "bench.h"
#include "args.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bench_trace_ev *bench_trace_add(bench_run *run, const char *name, const char *cat, int pid,
                                int tid, double ts_s, double dur_s)
{
    if (!run->profile)
        return NULL;
    if (run->ntrace == run->cap_trace) {
        size_t cap = run->cap_trace ? 2 * run->cap_trace : 256;
        bench_trace_ev *nt = realloc(run->trace, cap * sizeof *nt);
        if (!nt)
            return NULL;
        run->trace = nt;
        run->cap_trace = cap;
    }
    bench_trace_ev *e = &run->trace[run->ntrace++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->cat, sizeof e->cat, "%s", cat);
    e->pid = pid;
    e->tid = tid;
    e->ts_s = ts_s;
    e->dur_s = dur_s > 0 ? dur_s : 0;
    e->tiles = -1;
    e->event_s = -1;
    return e;
}

static void trace_tag(bench_trace_ev *e, const bench_row *r, const char *phase)
{
    if (!e)
        return;
    snprintf(e->case_name, sizeof e->case_name, "%s", r->case_name);
    e->size = r->size;
    snprintf(e->phase, sizeof e->phase, "%s", phase);
}

static int row_pid(const bench_row *r)
{
    return 1 + r->device_index * 2 + (r->precision == 64);
}

/* trace events for one render: phases placed in order inside the render's host interval */
static void trace_render(bench_run *run, const bench_row *r, double start, const nbcl_render_timing *tm,
                         const char *phase)
{
    if (!run->profile)
        return;
    double ts = start - run->t0;
    bench_trace_ev *e = bench_trace_add(run, "upload", "render", row_pid(r), 1, ts, tm->upload_s);
    trace_tag(e, r, phase);
    e = bench_trace_add(run, tm->kernel_name ? tm->kernel_name : "nbcl_k_pixel", "kernel",
                        row_pid(r), 1, ts + tm->upload_s, tm->kernel_s);
    trace_tag(e, r, phase);
    if (e) {
        e->tiles = (long)tm->tiles;
        e->event_s = tm->kernel_s;
    }
    e = bench_trace_add(run, "readback", "render", row_pid(r), 1,
                        ts + tm->upload_s + tm->kernel_s, tm->readback_s);
    trace_tag(e, r, phase);
}

static void trace_stats(bench_run *run, const nbcl_engine *eng, const bench_row *r,
                        const char *phase)
{
    if (!run->profile)
        return;
    nbcl_stats_profile p;
    nbcl_engine_stats_profile(eng, &p);
    for (size_t i = 0; i < p.ncalls; i++) {
        const nbcl_stats_call *c = &p.calls[i];
        int is_kernel = strncmp(c->routine, "CLBlast", 7) == 0;
        bench_trace_ev *e = bench_trace_add(run, c->routine, is_kernel ? "stats" : "stats-io",
                                            row_pid(r), 2, c->host_start - run->t0, c->wall_s);
        trace_tag(e, r, phase);
        if (e)
            e->event_s = c->event_s;
    }
}

/* status plus "prefix" "msg" (truncated to the row's buffer) */
static void measure_process(bench_run *run, bench_row *row, const bench_argv *argv);

/* what a row does after each timed render: trace it, time the statistics, keep the image */
typedef struct row_hook {
    bench_run *run;
    bench_row *row;
    nbcl_engine *eng;
    const nbcl_scene *scene;
    bench_series stats_s;
    nbcl_stats stats;           /* of the last render */
    nbcl_image last;
} row_hook;

static int row_each(void *user, nbcl_image *img, const nbcl_render_timing *tm, double start,
                    double wall_s)
{
    row_hook *h = user;
    (void)wall_s;
    trace_render(h->run, h->row, start, tm, "warm");
    h->row->interpolation_fallback |= tm->interpolation_fallback;
    double q0 = bench_now();
    nbcl_image_stats(h->eng, h->scene, img, &h->stats);
    double q = bench_now() - q0;
    trace_stats(h->run, h->eng, h->row, "warm");
    if (!bench_series_add(&h->stats_s, q)) {
        BENCH_SET_STATUS(h->row, "error", "", "out of memory for samples");
        return 0;
    }
    nbcl_image_free(&h->last);
    h->last = *img;
    img->data = NULL;
    return 1;
}

/* cold: a fresh engine (context, queue, program build or cache load), the first render and the
 * first statistics call. 0 with the row's status set on failure. */
static int measure_cold(bench_run *run, bench_row *row, const nbcl_scene *scene, nbcl_engine **eng)
{
    char err[16384];
    double c0 = bench_now();
    nbcl_status s = bench_engine_create(run, row->device_index, row->precision, eng, err,
                                        sizeof err);
    row->cold_engine_s = bench_now() - c0;
    if (s != NBCL_OK) {
        BENCH_SET_STATUS(row, s == NBCL_NO_FP64 ? "unsupported" : "error",
                         s == NBCL_NO_FP64 ? "" : "engine: ", err);
        return 0;
    }
    trace_tag(bench_trace_add(run, "engine_create", "engine", row_pid(row), 0, c0 - run->t0,
                              row->cold_engine_s),
              row, "cold");
    const nbcl_build_facts *f = nbcl_engine_build_facts(*eng);
    if (f) {
        row->facts = *f;
        row->cold_build_s = f->build_seconds;
        snprintf(row->cache_state, sizeof row->cache_state, "%s", f->cache_state);
    }
    nbcl_render_timing tm;
    nbcl_image img = {0};
    double r0 = bench_now();
    s = nbcl_render(*eng, scene, NULL, &img, &tm);
    row->cold_render_s = bench_now() - r0;
    if (s != NBCL_OK) {
        BENCH_SET_STATUS(row, s == NBCL_INTERRUPTED ? "interrupted" : "error", "render: ",
                         nbcl_engine_last_error(*eng));
        nbcl_image_free(&img);
        return 0;
    }
    trace_render(run, row, r0, &tm, "cold");
    row->cold_kernel_s = tm.kernel_s;
    row->cold_upload_s = tm.upload_s;
    row->cold_readback_s = tm.readback_s;
    row->cold_total_s = row->cold_engine_s + row->cold_render_s;
    row->warm.tiles = tm.tiles; /* the warm renders say the same, when they run */
    snprintf(row->warm.kernel_name, sizeof row->warm.kernel_name, "%s",
             tm.kernel_name ? tm.kernel_name : "nbcl_k_pixel");
    nbcl_stats stats;
    double s0 = bench_now();
    nbcl_image_stats(*eng, scene, &img, &stats);
    row->cold_stats_s = bench_now() - s0;
    trace_stats(run, *eng, row, "cold");
    {
        char ferr[1024]; /* a NaN or infinite image is no result to time */
        if (nbcl_image_check_finite(scene, &stats, nbcl_engine_precision(*eng), ferr,
                                    sizeof ferr) != NBCL_OK) {
            nbcl_image_free(&img);
            BENCH_SET_STATUS(row, "error", "", ferr);
            return 0;
        }
    }
    nbcl_image_free(&img);
    bench_progress(run, "  cold: engine %.3f s (build/cache %.3f s, %s), first render %.3f s, "
                        "statistics %.3f s",
                   row->cold_engine_s, row->cold_build_s, row->cache_state, row->cold_render_s,
                   row->cold_stats_s);
    return 1;
}

/* the last warm image against the reference's */
static void compare_reference(nbcl_engine *eng, bench_row *row, const nbcl_image *last)
{
    if (!row->ref || strcmp(row->ref->run.status, "ok") || !last->data)
        return;
    if (row->ref->npix != row->work.pixels) {
        snprintf(row->error, sizeof row->error,
                 "reference image has %zu pixels, ours %zu: not compared", row->ref->npix,
                 row->work.pixels);
        return;
    }
    nbcl_compare_result cr;
    nbcl_compare_device(eng, last->data, row->ref->image, row->work.pixels, &cr);
    row->have_cmp = 1;
    row->corr_warm = cr.corr;
    row->sum_ratio = cr.ratio; /* ours / reference */
    row->rmse = cr.rmse;
    row->max_rel = cr.max_rel;
    if (row->warm.wall.n && row->ref->run.warm.n)
        row->speedup_warm = row->ref->run.warm.median / row->warm.wall.median;
    if (row->cold_total_s > 0 && row->ref->run.cold_s > 0)
        row->speedup_cold = row->ref->run.cold_s / row->cold_total_s;
}

void bench_measure_row(bench_run *run, bench_row *row, const bench_argv *argv)
{
    char err[16384];
    nbcl_scene *scene = NULL;
    nbcl_engine *eng = NULL;

    snprintf(row->status, sizeof row->status, "ok");
    if (!bench_workload_scene(argv, &scene, &row->work, err, sizeof err)) {
        BENCH_SET_STATUS(row, "error", "", err);
        return;
    }
    if (!measure_cold(run, row, scene, &eng)) {
        nbcl_engine_destroy(eng);
        nbcl_scene_destroy(scene);
        return;
    }
    /* the measuring loop: warm-up, then timed repeats on the same engine */
    row_hook h = {.run = run, .row = row, .eng = eng, .scene = scene};
    int rc = bench_warm_loop(run, eng, scene, &row->work, run->repeats, row_each, &h, &row->warm,
                             row->status, sizeof row->status, row->error, sizeof row->error);
    if (rc == BENCH_LOOP_OK) {
        bench_summarise(h.stats_s.v, h.stats_s.n, &row->warm_stats);
        if (row->warm.wall.n > 0) {
            row->img_sum = h.stats.sum;
            row->img_max = h.stats.max_I;
            row->img_mean = h.stats.mean;
            row->img_rms = h.stats.rms;
            nbcl_stats_profile p;
            nbcl_engine_stats_profile(eng, &p);
            row->stats_on_device = p.on_device;
            snprintf(row->stats_reason, sizeof row->stats_reason, "%s", p.reason);
        }
        compare_reference(eng, row, &h.last);
    }
    nbcl_image_free(&h.last);
    bench_series_free(&h.stats_s);
    /* the engine is released first: the child process gets the device to itself */
    nbcl_engine_destroy(eng);
    if (rc == BENCH_LOOP_OK)
        measure_process(run, row, argv);
    nbcl_scene_destroy(scene);
}

/* ------------------------------------------------------------------ reference */
/* argv for a child process: prog, the case's arguments (relative input paths made absolute,
 * since the child runs in its own directory), then extra (NULL-terminated). av holds pointers
 * into argv, store and extra. Returns the count. */
static int child_argv(const char *prog, const bench_argv *argv, char *const *extra, char **av,
                      char (*store)[4352])
{
    char cwd[4096];
    int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
    int n = 0;
    av[n++] = (char *)prog;
    for (int i = 1; i < argv->argc; i++) {
        const char *a = argv->argv[i];
        if (have_cwd && a[0] != '-' && a[0] != '/' && access(a, R_OK) == 0) {
            snprintf(store[i], sizeof store[i], "%s/%s", cwd, a);
            av[n++] = store[i];
        } else {
            av[n++] = argv->argv[i];
        }
    }
    for (; extra && *extra; extra++)
        av[n++] = *extra;
    av[n] = NULL;
    return n;
}

/* 1 + repeats runs of av in a fresh temporary directory under the bundle (cleaned before every
 * run: the reference reads any Fdump.bin it finds); the first run's output goes to the log.
 * Leaves the directory in *dir for the caller to read files from, then remove. */
static void run_series(bench_run *run, char **av, int repeats, const char *who, const char *label,
                       const char *outname, bench_proc *p, char *dir, size_t dcap)
{
    char *status = p->status, *error = p->error;
    const size_t scap = sizeof p->status, ecap = sizeof p->error;
    snprintf(status, scap, "ok");
    snprintf(dir, dcap, "%s/.proctmp-XXXXXX", run->outdir);
    if (!mkdtemp(dir)) {
        snprintf(status, scap, "error");
        snprintf(error, ecap, "cannot create a temporary directory in %.900s", run->outdir);
        dir[0] = '\0';
        return;
    }
    char logpath[4400], outpath[4400], fdump[4400];
    snprintf(logpath, sizeof logpath, "%s/run.log", dir);
    snprintf(outpath, sizeof outpath, "%s/%s", dir, outname);
    snprintf(fdump, sizeof fdump, "%s/Fdump.bin", dir);
    bench_series warm = {0};
    for (int i = 0; i < 1 + repeats; i++) {
        if (bench_interrupted) {
            snprintf(status, scap, "interrupted");
            snprintf(error, ecap, "interrupted by a signal");
            break;
        }
        unlink(outpath);
        unlink(fdump);
        double w = 0, rss = 0;
        int st = bench_spawn(av, dir, i == 0 ? logpath : NULL, &w, &rss);
        if (rss > p->max_rss_bytes)
            p->max_rss_bytes = rss;
        if (st != 0) {
            snprintf(status, scap, "error");
            snprintf(error, ecap, "%s exited with status %d%s", av[0], st,
                     st == 127 ? " (could not execute)" : "");
            break;
        }
        if (i == 0)
            p->cold_s = w;
        else
            bench_series_add(&warm, w);
        bench_progress(run, "  %s %s run %d/%d: %.3f s", who, label, i + 1, 1 + repeats, w);
    }
    bench_summarise(warm.v, warm.n, &p->warm);
    bench_series_free(&warm);
    /* keep the child's own output in bench.log */
    FILE *lf = fopen(logpath, "rb");
    if (lf && run->log) {
        fprintf(run->log, "----- %s output (%s, first run) -----\n", who, label);
        char buf[8192];
        size_t len;
        while ((len = fread(buf, 1, sizeof buf, lf)) > 0)
            fwrite(buf, 1, len, run->log);
        fprintf(run->log, "----- end of %s output -----\n", who);
        fflush(run->log);
    }
    if (lf)
        fclose(lf);
}

void bench_measure_reference(bench_run *run, bench_ref *ref, const bench_argv *argv,
                             const char *label)
{
    /* the same argv with the reference binary and a float file in its own clean directory */
    char *av[BENCH_MAX_ARGS + 4];
    static char store[BENCH_MAX_ARGS][4352];
    char *extra[] = {"-floatfile", "ref_float.bin", NULL};
    child_argv(run->reference, argv, extra, av, store);
    char *cmd = bench_argv_cmdline(run->reference, argv, "-floatfile ref_float.bin");
    snprintf(ref->run.cmdline, sizeof ref->run.cmdline, "(cd <clean temp dir> && %s)", cmd ? cmd : "?");
    free(cmd);
    char dir[4400];
    run_series(run, av, run->ref_repeats, "reference", label, "ref_float.bin", &ref->run, dir,
               sizeof dir);
    if (!strcmp(ref->run.status, "ok")) {
        char err[1024], floatpath[4500];
        snprintf(floatpath, sizeof floatpath, "%s/ref_float.bin", dir);
        if (nbcl_read_float(floatpath, &ref->image, &ref->npix, err, sizeof err) != NBCL_OK) {
            snprintf(ref->run.status, sizeof ref->run.status, "error");
            snprintf(ref->run.error, sizeof ref->run.error, "reference float image: %.900s", err);
        }
    }
    bench_command(run, ref->run.status, ref->run.cmdline);
    if (dir[0])
        bench_rmtree(dir);
}

/* The row's argv run by the nbcl executable as a whole process, on the row's device and
 * precision, writing the same files as the reference (float image, SMV). */
static void measure_process(bench_run *run, bench_row *row, const bench_argv *argv)
{
    bench_proc *p = &row->proc;
    if (run->no_process)
        return;
    if (!run->nbcl_path[0]) {
        snprintf(p->status, sizeof p->status, "skipped");
        snprintf(p->error, sizeof p->error, "no nbcl executable beside nbcl-bench");
        return;
    }
    char dev[64];
    snprintf(dev, sizeof dev, "%u:%u", row->dev.platform_index, row->dev.device_index);
    char *av[BENCH_MAX_ARGS + 10];
    static char store[BENCH_MAX_ARGS][4352];
    char *extra[] = {"-device", dev, "-precision", (char *)bench_precision_name(row->precision),
                     "-floatfile", "nbcl_float.bin", NULL};
    child_argv(run->nbcl_path, argv, extra, av, store);
    char more[128];
    snprintf(more, sizeof more, "-device %s -precision %s -floatfile nbcl_float.bin", dev,
             bench_precision_name(row->precision));
    char *cmd = bench_argv_cmdline(run->nbcl_path, argv, more);
    snprintf(p->cmdline, sizeof p->cmdline, "(cd <clean temp dir> && %s)", cmd ? cmd : "?");
    free(cmd);
    char label[96], dir[4400];
    snprintf(label, sizeof label, "%s %d %s", row->case_name, row->size,
             bench_precision_name(row->precision));
    run_series(run, av, run->ref_repeats, "nbcl process", label, "nbcl_float.bin", p, dir,
               sizeof dir);
    bench_command(run, p->status, p->cmdline);
    if (dir[0])
        bench_rmtree(dir);
    if (!strcmp(p->status, "ok") && row->ref && !strcmp(row->ref->run.status, "ok") &&
        row->ref->run.warm.n && p->warm.n && p->warm.median > 0)
        row->speedup_process = row->ref->run.warm.median / p->warm.median;
}

/* ------------------------------------------------------------------ --peak */
int bench_precisions(const bench_run *run, size_t d, int precs[2])
{
    if (run->precision_mode == 1) {
        precs[0] = 32;
        precs[1] = 64;
        return 2;
    }
    if (run->precision_mode == 32 || run->precision_mode == 64)
        precs[0] = run->precision_mode;
    else
        precs[0] = run->devices[d].has_fp64 ? 64 : 32;
    return 1;
}

void bench_measure_peaks(bench_run *run)
{
    free(run->peaks);
    run->npeaks = 0;
    run->peaks = calloc(run->ndevices * 2 + 1, sizeof *run->peaks);
    if (!run->peaks)
        return;
    for (size_t d = 0; d < run->ndevices && !bench_interrupted; d++) {
        int precs[2], nprec = bench_precisions(run, d, precs);
        for (int p = 0; p < nprec; p++) {
            bench_peak *pk = &run->peaks[run->npeaks++];
            pk->device_index = (int)d;
            pk->precision = precs[p];
            nbcl_engine_opts o;
            nbcl_engine_opts_init(&o);
            char spec[32], err[2048];
            snprintf(spec, sizeof spec, "%u:%u", run->devices[d].platform_index,
                     run->devices[d].device_index);
            o.device = spec;
            o.precision = precs[p] == 64 ? NBCL_PRECISION_F64 : NBCL_PRECISION_F32;
            o.cancel = bench_cancel;
            o.env = &bench_env;
            nbcl_engine *eng = NULL;
            nbcl_status s = nbcl_engine_create(&o, &eng, err, sizeof err);
            if (s == NBCL_OK)
                s = nbcl_measure_peak(eng, &pk->flops_per_s);
            if (s == NBCL_OK) {
                snprintf(pk->status, sizeof pk->status, "ok");
                bench_progress(run, "peak of device %s, %s precision: %.1f GFLOP/s", spec,
                               bench_precision_name(precs[p]), pk->flops_per_s * 1e-9);
            } else {
                snprintf(pk->status, sizeof pk->status, "%s",
                         s == NBCL_NO_FP64 ? "unsupported" : "error");
                snprintf(pk->error, sizeof pk->error, "%.500s",
                         eng ? nbcl_engine_last_error(eng) : err);
                bench_progress(run, "peak of device %s, %s precision: %s", spec,
                               bench_precision_name(precs[p]), pk->error);
            }
            nbcl_engine_destroy(eng);
        }
    }
}

const bench_peak *bench_find_peak(const bench_run *run, int device_index, int precision)
{
    for (size_t i = 0; i < run->npeaks; i++)
        if (run->peaks[i].device_index == device_index && run->peaks[i].precision == precision &&
            !strcmp(run->peaks[i].status, "ok"))
            return &run->peaks[i];
    return NULL;
}

double bench_row_peak_fraction(const bench_run *run, const bench_row *r)
{
    const bench_peak *pk = bench_find_peak(run, r->device_index, r->precision);
    if (!pk || pk->flops_per_s <= 0 || r->warm.sub_per_s_kernel <= 0 ||
        strstr(r->cmdline, "-interpolate"))
        return 0.0;
    double ops = r->precision == 64 ? BENCH_OPS_PER_SUBPATH_F64 : BENCH_OPS_PER_SUBPATH_F32;
    return r->warm.sub_per_s_kernel * ops / pk->flops_per_s;
}
