/* nbcl — nanoBragg-compatible command line on OpenCL devices. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "ranks.h"
#include "summary.h"

/* One signal is enough (docs/reliability.md): the render stops after the launch under way,
 * which launches sized by work keep well under a second. A launch whose single work-item is
 * minutes of work (tens of thousands of sub-pixels per pixel) cannot be cut short, so a signal
 * during the render also arms a grace timer: a render still running when it fires ends the
 * process at once (no output file exists while rendering). */
#define NBCL_STOP_GRACE_S 3
static volatile sig_atomic_t g_rendering;
/* the run's cancel token: given to the engines and the series, installed for file waits on the
 * threads that read inputs and write outputs (nbcl_cancel_use), triggered by the handlers */
static nbcl_cancel *g_cancel;
/* 0 once an OpenCL platform other than PoCL may be loaded: the end of the run then keeps
 * exit() and the drivers' exit-time hooks (end_process) */
static int g_pocl_or_none = 1;
/* the NBCL_* settings, read once (main) and handed to the engines */
static nbcl_env_options g_env;
static nbcl_status g_env_st;
static char g_env_err[512];

static void on_alarm(int sig)
{
    (void)sig;
    if (!g_rendering)
        return;
    static const char msg[] = "nbcl: render interrupted (not waiting for the long launch "
                              "under way)\n";
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */
    }
    nbcl_outfile_abort_all_signal_safe(); /* any temporary opened since the signal */
    _exit(NBCL_EXIT_INTERRUPTED);
}

/* a single run: stop the render and remove every temporary file at once */
static void on_signal(int sig)
{
    (void)sig;
    nbcl_cancel_trigger(g_cancel);
    nbcl_outfile_abort_all_signal_safe();
    if (g_rendering)
        alarm(NBCL_STOP_GRACE_S);
}

/* a series: the first signal stops after the frame in flight (finished frames are kept); a
 * second one removes every temporary file and exits */
static void on_signal_series(int sig)
{
    (void)sig;
    if (nbcl_cancel_triggered(g_cancel)) {
        nbcl_outfile_abort_all_signal_safe();
        _exit(NBCL_EXIT_INTERRUPTED);
    }
    nbcl_cancel_trigger(g_cancel);
}

/* 1 the first time a warning starting like msg is seen: a series renders many frames (on
 * several threads) and each render would repeat the same warning with other numbers */
static int first_of_its_kind(const char *msg)
{
    enum { KINDS = 32, PREFIX = 40 };
    static char seen[KINDS][PREFIX + 1];
    static int nseen;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int first = 1;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nseen && first; i++)
        first = strncmp(seen[i], msg, PREFIX) != 0;
    if (first && nseen < KINDS)
        snprintf(seen[nseen++], PREFIX + 1, "%s", msg);
    pthread_mutex_unlock(&mu);
    return first;
}

static void log_cb(void *user, nbcl_log_level level, const char *msg)
{
    (void)user;
    if (level == NBCL_LOG_WARN) { /* errors come back as the failing call's message */
        if (first_of_its_kind(msg))
            fprintf(stderr, "nbcl: %s\n", msg);
    } else if (g_env.verbose == 1) {
        fprintf(stderr, "nbcl: %s\n", msg);
    }
}

static int progress_cb(void *user, size_t done, size_t total)
{
    (void)user;
    fprintf(stderr, "\rnbcl: rendering %3.0f%% (%zu of %zu pixels)", 100.0 * done / total, done,
            total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
    return nbcl_cancel_triggered(g_cancel);
}

/* NBCL_TIMING=1: wall time of each phase of the run on stderr, to see where a whole process
 * spends its time (docs/performance.md) */
static struct {
    int on;
    double t0, last;
    char line[1024];
    size_t len;
} g_tm;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void timing_add(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void timing_add(const char *fmt, ...)
{
    if (!g_tm.on || g_tm.len >= sizeof g_tm.line)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g_tm.line + g_tm.len, sizeof g_tm.line - g_tm.len, fmt, ap);
    va_end(ap);
    if (n > 0)
        g_tm.len += (size_t)n;
}

static void phase(const char *name)
{
    if (!g_tm.on)
        return;
    double t = now_s();
    timing_add(" %s %.1f", name, 1e3 * (t - g_tm.last));
    g_tm.last = t;
}

static void phase_report(void)
{
    if (g_tm.on)
        fprintf(stderr, "nbcl: timing (ms):%s, total %.1f\n", g_tm.line,
                1e3 * (now_s() - g_tm.t0));
}

/* The scene is set up (inputs read, HKL parsed, geometry) on a second thread while the main
 * thread starts the device (OpenCL platform, context, program): the two are independent, and
 * each can take tens of milliseconds (PoCL loads LLVM; a large HKL file takes long to parse).
 * Every OpenCL call stays on the main thread, which tools with per-thread state (oclgrind's
 * uninitialized-value checker) need. */
typedef struct scene_job {
    const nbcl_config *cfg;
    nbcl_scene *scene;
    nbcl_status st;
    char err[16384];
    pthread_t tid;
    int threaded;
} scene_job;

static void *scene_thread(void *arg)
{
    scene_job *j = arg;
    nbcl_cancel *prev = nbcl_cancel_use(g_cancel); /* a FIFO input stops waiting on a signal */
    j->st = nbcl_scene_build(j->cfg, &j->scene, j->err, sizeof j->err);
    nbcl_cancel_use(prev);
    return NULL;
}

static void scene_start(scene_job *j)
{
    j->threaded = pthread_create(&j->tid, NULL, scene_thread, j) == 0;
}

/* the scene, once ready (built here when no thread could be started) */
static nbcl_status scene_wait(scene_job *j)
{
    if (j->threaded)
        pthread_join(j->tid, NULL);
    else
        scene_thread(j);
    j->threaded = 0;
    return j->st;
}

static int list_devices(void)
{
    g_pocl_or_none = 0;
    size_t n = 0;
    if (nbcl_device_list(NULL, 0, &n) != NBCL_OK || n == 0) {
        printf("no OpenCL devices found (is an ICD installed? see README)\n");
        return NBCL_EXIT_DEVICE;
    }
    nbcl_device_info *d = calloc(n, sizeof *d);
    if (!d)
        return NBCL_EXIT_DEVICE;
    nbcl_device_list(d, n, &n);
    for (size_t i = 0; i < n; i++)
        printf("%u:%u  %-4s %s | %s | %s | driver %s | %u CUs | %.0f MiB | fp64 %s\n",
               d[i].platform_index, d[i].device_index, d[i].device_type, d[i].device_name,
               d[i].platform_name, d[i].device_version, d[i].driver_version, d[i].compute_units,
               d[i].global_mem_bytes / 1048576.0, d[i].has_fp64 ? "yes" : "no");
    free(d);
    return 0;
}

static int status_exit(nbcl_status st)
{
    switch (st) {
    case NBCL_IO:
    case NBCL_PARSE:
        return NBCL_EXIT_INPUT;
    case NBCL_INVALID_ARGUMENT:
    case NBCL_OUT_OF_MEMORY: /* a detector too large for this machine's memory */
        return NBCL_EXIT_PARAM;
    case NBCL_INTERRUPTED:
        return NBCL_EXIT_INTERRUPTED;
    default:
        return NBCL_EXIT_DEVICE;
    }
}

/* ---------------------------------------------------------------- checks before any work */
/* -nframes, -frames and the per-frame name templates */
static int check_series(const nbcl_cli *cli, const char *const outs[NBCL_OUT_KINDS])
{
    char err[1024];
    if (cli->frame_first || cli->frame_last) {
        if (cli->frame_first < 1 || cli->frame_last < cli->frame_first ||
            cli->frame_last > cli->nframes) {
            fprintf(stderr, "nbcl: -frames %d %d: need 1 <= FIRST <= LAST <= %d (-nframes)\n",
                    cli->frame_first, cli->frame_last, cli->nframes);
            return NBCL_EXIT_PARAM;
        }
    }
    if (cli->nframes > 1)
        for (int k = 0; k < NBCL_OUT_KINDS; k++)
            if (outs[k] && nbcl_template_check(nbcl_output_kind_flag((nbcl_output_kind)k), outs[k],
                                               cli->nframes, err, sizeof err) != NBCL_OK) {
                fprintf(stderr, "nbcl: %s\n", err);
                return NBCL_EXIT_USAGE;
            }
    return 0;
}

/* host memory the outputs need, checked before rendering */
static int check_memory(const nbcl_scene *scene, const nbcl_cli *cli, size_t in_flight)
{
    int fpixels, spixels;
    nbcl_scene_size(scene, &fpixels, &spixels);
    size_t npx = (size_t)fpixels * spixels;
    double need = (double)npx * (sizeof(float) + (cli->write_int || cli->write_noise ? 2 : 0) +
                                 (cli->write_pgm ? 1 : 0) + (nbcl_scene_mask(scene) ? 1 : 0));
    need *= (double)in_flight;
    long pages = sysconf(_SC_AVPHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    double have = (pages > 0 && psize > 0) ? (double)pages * psize : 0;
    FILE *mi = fopen("/proc/meminfo", "r");
    if (mi) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, mi))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                have = (double)kb * 1024.0;
        fclose(mi);
    }
    if (have > 0 && need > 0.9 * have) {
        fprintf(stderr, "nbcl: detector too large for memory: %dx%d pixels need %.1f GiB, "
                        "%.1f GiB are available\n",
                fpixels, spixels, need / 1073741824.0, have / 1073741824.0);
        return NBCL_EXIT_PARAM;
    }
    return 0;
}

/* ---------------------------------------------------------------- engines */
#define MAX_ENGINES 16

typedef struct engines {
    nbcl_engine *e[MAX_ENGINES];
    size_t n;
    nbcl_status st;
    char err[16384];
} engines;

/* the device spec of this process: -device, else with several GPUs on the node and several
 * ranks, the GPU of this node-local rank */
static const char *rank_device(const nbcl_cli *cli, const nbcl_ranks *rk, char *buf, size_t cap)
{
    if (cli->device || g_env.device || rk->size <= 1)
        return cli->device;
    nbcl_device_info d[MAX_ENGINES];
    size_t n = 0, gpus = 0;
    g_pocl_or_none = 0; /* engines_create decides again */
    if (nbcl_device_list(d, MAX_ENGINES, &n) != NBCL_OK)
        return NULL;
    for (size_t i = 0; i < n && i < MAX_ENGINES; i++)
        gpus += strcmp(d[i].device_type, "GPU") == 0;
    if (gpus < 2)
        return NULL;
    size_t want = (size_t)rk->local_rank % gpus;
    for (size_t i = 0; i < n && i < MAX_ENGINES; i++)
        if (strcmp(d[i].device_type, "GPU") == 0 && want-- == 0) {
            snprintf(buf, cap, "%u:%u", d[i].platform_index, d[i].device_index);
            return buf;
        }
    return NULL;
}

static void engines_create(engines *en, const nbcl_cli *cli, const char *spec)
{
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    o.device = spec;
    o.precision = cli->precision;
    o.fast_math = cli->fast_math;
    o.kernel_dir = cli->kernel_dir;
    o.log = log_cb;
    o.cancel = g_cancel;
    o.env = &g_env;
    en->st = nbcl_engine_create_list(&o, en->e, MAX_ENGINES, &en->n, en->err, sizeof en->err);
    g_pocl_or_none = en->st == NBCL_OK && en->n > 0;
    for (size_t i = 0; i < en->n; i++)
        if (!strstr(nbcl_engine_device(en->e[i])->platform_name, "Portable Computing Language"))
            g_pocl_or_none = 0;
}

static void engines_destroy(engines *en)
{
    for (size_t i = 0; i < en->n; i++)
        nbcl_engine_destroy(en->e[i]);
    en->n = 0;
}

/* ---------------------------------------------------------------- what a run prints */
typedef struct run_ctx {
    const nbcl_cli *cli;
    int series;           /* more than one frame */
    int tty_progress;
    size_t engines;
    const engines *en;
} run_ctx;

/* one frame of a single run: the reference's lines, in its order */
static void print_single(const nbcl_series_frame *f, const nbcl_cli *cli)
{
    nbcl_scene_info scene;
    nbcl_scene_get_info(f->scene, &scene);
    const nbcl_image *img = f->image;
    const nbcl_frame_products *p = f->products;
    size_t npix = (size_t)img->fpixels * img->spixels;
    (void)cli;
    if (f->timing->interpolation_fallback)
        printf("WARNING: out of range for three point interpolation at pixel %ld %ld: default_F "
               "used there, nearest-neighbour F for the rest of the image\n",
               f->timing->fallback_pixel % img->fpixels, f->timing->fallback_pixel / img->fpixels);
    printf("\n");
    printf("solid angle subtended by detector = %g steradian ( %g%% sphere)\n",
           img->omega_sum / scene.steps, 100 * img->omega_sum / scene.steps / 4 / M_PI);
    if (f->path[NBCL_OUT_FLOAT])
        printf("writing %s as %zu %zu-byte floats\n", f->path[NBCL_OUT_FLOAT], npix,
               sizeof(float));
    printf("max_I = %g  at %g %g\n", p->stats.max_I, p->max_x, p->max_y);
    printf("mean= %g rms= %g rmsd= %g\n", p->stats.mean, p->stats.rms, p->stats.rmsd);
    printf("intfile_scale = %g\n", p->intfile_scale);
    if (f->path[NBCL_OUT_SMV])
        printf("writing %s as %zu-byte integers\n", f->path[NBCL_OUT_SMV], sizeof(uint16_t));
    if (f->path[NBCL_OUT_PGM]) {
        printf("pgm_scale = %g\n", p->pgm_scale);
        printf("writing %s as %zu-byte integers\n", f->path[NBCL_OUT_PGM], sizeof(uint8_t));
    }
    if (f->path[NBCL_OUT_PNG])
        printf("writing %s as an 8-bit PNG (pgm_scale %g)\n", f->path[NBCL_OUT_PNG], p->pgm_scale);
    if (f->path[NBCL_OUT_NOISE]) {
        printf("%.0f photons on noise image (%d overloads)\n", p->photons, p->overloads);
        printf("writing %s as %zu-byte integers\n", f->path[NBCL_OUT_NOISE], sizeof(uint16_t));
    }
}

/* one frame of a series: one line */
static void print_frame(const nbcl_series_frame *f, size_t engines)
{
    const nbcl_frame_products *p = f->products;
    char line[8192];
    int n = snprintf(line, sizeof line, "frame %d of %d: phi %.17g deg, max_I %g, mean %g, "
                     "intfile_scale %g", f->frame, f->nframes, f->phi_deg, p->stats.max_I,
                     p->stats.mean, p->intfile_scale);
    nbcl_scene_info si;
    nbcl_scene_get_info(f->scene, &si);
    if (si.misset_deg[0] != 0 || si.misset_deg[1] != 0 || si.misset_deg[2] != 0)
        n += snprintf(line + n, sizeof line - (size_t)n, ", misset %f %f %f deg (seed %ld)",
                      si.misset_deg[0], si.misset_deg[1], si.misset_deg[2], f->misset_seed);
    if (f->path[NBCL_OUT_NOISE])
        n += snprintf(line + n, sizeof line - (size_t)n, ", %.0f noise photons (seed %ld)",
                      p->photons, f->seed);
    for (int k = 0; k < NBCL_OUT_KINDS && n < (int)sizeof line - 1; k++)
        if (f->path[k])
            n += snprintf(line + n, sizeof line - (size_t)n, ", %s", f->path[k]);
    if (engines > 1 && n < (int)sizeof line - 1)
        n += snprintf(line + n, sizeof line - (size_t)n, " (device %zu)", f->engine + 1);
    if (f->timing->interpolation_fallback && n < (int)sizeof line - 1)
        snprintf(line + n, sizeof line - (size_t)n, " (WARNING: interpolation left the HKL grid)");
    printf("%s\n", line);
    fflush(stdout);
}

/* before a frame's files are begun: -printout's trace, then no NaN or infinite pixel (the
 * frame fails with nothing written: exit NBCL_EXIT_NONFINITE) */
static nbcl_status check_frame(void *user, const nbcl_series_frame *f, char *err, size_t errlen)
{
    const run_ctx *rc = user;
    const nbcl_config *cfg = &rc->cli->cfg;
    const nbcl_stats *st = &f->products->stats;
    if (cfg->printout) /* the pixel asked for, else the brightest (or first non-finite) one */
        nbcl_print_pixel_trace(stdout, f->scene, f->image,
                               cfg->printout_fpixel >= 0 ? cfg->printout_fpixel
                               : st->nonfinite           ? st->nonfinite_fpixel
                                                         : st->max_fpixel,
                               cfg->printout_spixel >= 0 ? cfg->printout_spixel
                               : st->nonfinite           ? st->nonfinite_spixel
                                                         : st->max_spixel);
    return nbcl_image_check_finite(f->scene, st, nbcl_engine_precision(rc->en->e[f->engine]), err,
                                   errlen);
}

static void on_frame(void *user, const nbcl_series_frame *f)
{
    const run_ctx *rc = user;
    if (rc->series)
        print_frame(f, rc->engines);
    else
        print_single(f, rc->cli);
}

static void on_series_progress(void *user, const nbcl_series_progress *p)
{
    const run_ctx *rc = user;
    char eta[64] = "?";
    if (p->eta_s >= 0)
        snprintf(eta, sizeof eta, "%.0f s", p->eta_s);
    fprintf(stderr, "%snbcl: %d of %d frames%s, %.2f frames/s, ETA %s%s",
            rc->tty_progress ? "\r" : "", p->done, p->total, p->skipped ? " (some resumed)" : "",
            p->rate_fps, eta, rc->tty_progress ? (p->done == p->total ? "\n" : "") : "\n");
    fflush(stderr);
}

/* ---------------------------------------------------------------- the run */
static void series_opts_fill(nbcl_series_opts *so, const nbcl_cli *cli, const nbcl_scene *base,
                             const nbcl_ranks *rk, const char *const outs[NBCL_OUT_KINDS])
{
    nbcl_series_opts_init(so);
    so->nframes = cli->nframes;
    so->first = cli->frame_first;
    so->last = cli->frame_last;
    so->phi0_deg = isnan(cli->phi_deg) ? cli->cfg.phi0 * (180.0 / M_PI) : cli->phi_deg;
    /* the step: -osc as given, else the oscillation the scene derived (-phistep, defaults) */
    nbcl_scene_info bi;
    nbcl_scene_get_info(base, &bi);
    so->osc_deg = isnan(cli->osc_deg) ? bi.osc * (180.0 / M_PI) : cli->osc_deg;
    so->stills = cli->cfg.misset_mode == -1;
    so->seed = cli->cfg.seed;
    so->misset_seed = cli->cfg.misset_seed;
    for (int k = 0; k < NBCL_OUT_KINDS; k++)
        so->path[k] = outs[k];
    so->resume = cli->resume;
    so->rank = rk->rank;
    so->nranks = rk->size;
    so->keep_finished_on_cancel = cli->nframes > 1;
    int sv = g_env.stats; /* NBCL_STATS: 0 device, 1 host, -1 unset */
    so->stats = sv == 0 ? NBCL_STATS_DEVICE : sv == 1 ? NBCL_STATS_HOST : NBCL_STATS_AUTO;
    so->cbf_path = NULL; /* -cbffile is the NBCL_OUT_CBF kind (a template in a series) */
    so->nexus_path = cli->nexusfile;
    so->nexus_compression = (int)cli->nexus_compression;
    so->cancel = g_cancel;
}

static void timing_series(const nbcl_series_result *r)
{
    timing_add(" render %.1f (upload %.1f kernel %.1f readback %.1f, %zu tiles) stats %.1f "
               "convert %.1f",
               1e3 * r->render_s, 1e3 * r->upload_s, 1e3 * r->kernel_s, 1e3 * r->readback_s,
               r->tiles, 1e3 * r->stats_s, 1e3 * r->convert_s);
    static const char *const names[NBCL_OUT_KINDS] = {"floatfile", "intfile", "pgmfile",
                                                      "noisefile", "pngfile", "cbffile"};
    for (int k = 0; k < NBCL_OUT_KINDS; k++)
        if (r->write_s[k] > 0)
            timing_add(" %s %.1f", names[k], 1e3 * r->write_s[k]);
    timing_add(" commit %.1f", 1e3 * r->commit_s);
}

/* after the frames: the exit code and its message */
static int series_finish(const nbcl_cli *cli, const nbcl_ranks *rk, nbcl_status st,
                         const nbcl_series_result *res, const char *err)
{
    if (st == NBCL_INTERRUPTED) {
        if (cli->nframes > 1)
            fprintf(stderr, "nbcl: interrupted: %d finished frames kept, none partial; run again "
                            "with -resume to render the rest%s\n", res->written,
                    cli->nexusfile ? " (no NXmx file: it needs every frame; run the series "
                                     "again without -resume for it)" : "");
        else
            fprintf(stderr, "nbcl: %s: no output written\n", err);
        return NBCL_EXIT_INTERRUPTED;
    }
    if (st != NBCL_OK) {
        fprintf(stderr, "nbcl: %s\n", err);
        return res->check_failed    ? NBCL_EXIT_NONFINITE
               : res->output_failed ? NBCL_EXIT_OUTPUT
                                    : status_exit(st);
    }
    if (res->counts_written)
        printf("photon counts (%s): %zu overloads (>= %d), %zu masked; wrote%s%s%s%s\n",
               cli->write_noise ? "noise image less its ADC offset" : "float image rounded",
               res->counts_overloads, NBCL_COUNTS_SATURATION, res->counts_masked,
               cli->cbffile ? " miniCBF " : "", cli->cbffile ? cli->cbffile : "",
               cli->nexusfile ? " NXmx " : "", cli->nexusfile ? cli->nexusfile : "");
    if (cli->nframes > 1 && cli->nexusfile)
        printf("photon counts of frames %d to %d in NXmx %s\n",
               cli->frame_first > 0 ? cli->frame_first : 1,
               cli->frame_last > 0 ? cli->frame_last : cli->nframes, cli->nexusfile);
    if (cli->cfg.hklfile && cli->cfg.write_dump && cli->cfg.dumpfile && rk->rank == 0)
        return -1; /* the caller writes the dump file */
    return 0;
}

/* what a rank tells the others at the end (summed in main, by every rank alike) */
typedef struct run_out {
    int series;
    long written, skipped;
    double wall_s;
} run_out;

static void print_devices(const engines *en, const nbcl_cli *cli, const nbcl_ranks *rk)
{
    for (size_t i = 0; i < en->n; i++) {
        const nbcl_device_info *di = nbcl_engine_device(en->e[i]);
        printf("  device: %s (%s, %s), %s precision\n", di->device_name, di->platform_name,
               di->driver_version,
               nbcl_engine_precision(en->e[i]) == NBCL_PRECISION_F64 ? "double" : "single");
    }
    if (cli->nframes > 1 && rk->size > cli->nframes)
        fprintf(stderr, "nbcl: note: %d ranks for %d frames: ranks %d to %d have nothing to do\n",
                rk->size, cli->nframes, cli->nframes, rk->size - 1);
    fflush(stdout);
}

/* before any work: no file named twice (two outputs, or an output over an input), and every
 * output writable: its directory exists, it is not a directory (docs/reliability.md) */
static int check_files(const nbcl_cli *cli, char *err, size_t errlen)
{
    nbcl_file_ref files[NBCL_CLI_MAX_FILES];
    size_t nf = nbcl_cli_files(cli, files, NBCL_CLI_MAX_FILES);
    if (nbcl_files_check_distinct(files, nf, err, errlen) != NBCL_OK) {
        fprintf(stderr, "nbcl: %s\n", err);
        return NBCL_EXIT_USAGE;
    }
    for (size_t i = 0; i < nf; i++) {
        if (files[i].is_output && files[i].path != cli->cfg.dumpfile && /* cache: best effort */
            nbcl_outfile_check(files[i].path, err, errlen) != NBCL_OK) {
            fprintf(stderr, "nbcl: %s %s\n", files[i].role, err);
            return NBCL_EXIT_OUTPUT;
        }
    }
    return 0;
}

/* -nexusfile: one process writes it in one go, to a regular file, with an available filter.
 * -cbffile and -nexusfile: their writers (CBFlib, HDF5) are modules that libnbcl loads on first
 * use; loaded here, so that a missing one refuses the run before any work */
static int check_formats(const nbcl_cli *cli, const nbcl_ranks *rk)
{
    if (cli->nframes > 1 && cli->nexusfile && (rk->size > 1 || cli->resume)) {
        fprintf(stderr, "nbcl: -nexusfile with %s: one NXmx file holds the whole series (or the "
                        "-frames range) and is written by one process in one go; use -frames "
                        "ranges with a file each instead\n",
                rk->size > 1 ? "several MPI ranks" : "-resume");
        return NBCL_EXIT_USAGE;
    }
    char err[2048];
    const char *flag = NULL, *file = NULL;
    if (cli->cbffile && nbcl_format_load(NBCL_FORMAT_CBF, err, sizeof err) != NBCL_OK)
        flag = "-cbffile", file = cli->cbffile;
    else if (cli->nexusfile && nbcl_format_load(NBCL_FORMAT_HDF5, err, sizeof err) != NBCL_OK)
        flag = "-nexusfile", file = cli->nexusfile;
    if (flag) {
        fprintf(stderr, "nbcl: %s %s: %s\n", flag, file, err);
        return NBCL_EXIT_OUTPUT;
    }
    struct stat nxst; /* HDF5 seeks: an NXmx file cannot be a device or FIFO written in place */
    if (cli->nexusfile && stat(cli->nexusfile, &nxst) == 0 && !S_ISREG(nxst.st_mode)) {
        fprintf(stderr, "nbcl: -nexusfile %s: an NXmx file must be a regular file\n",
                cli->nexusfile);
        return NBCL_EXIT_OUTPUT;
    }
    if (cli->nexusfile && !nbcl_nexus_filter_available(cli->nexus_compression)) {
        fprintf(stderr, "nbcl: -nexus_compression: the HDF5 filter plugin is not available here "
                        "(Debian: hdf5-filter-plugin for lz4); use deflate\n");
        return NBCL_EXIT_PARAM;
    }
    return 0;
}

/* the command line, read and checked before any work: -1 to go on, else the exit code */
static int parse_checked(int argc, char **argv, nbcl_cli *cli, const nbcl_ranks *rk,
                         const char *outs[NBCL_OUT_KINDS], char *err, size_t errlen)
{
    int rc = nbcl_cli_parse(argc, argv, cli, err, errlen);
    if (rc) {
        fprintf(stderr, "nbcl: %s\n", err);
        return rc;
    }
    if (g_env_st != NBCL_OK) { /* a misspelt NBCL_* value */
        fprintf(stderr, "nbcl: %s\n", g_env_err);
        return NBCL_EXIT_USAGE;
    }
    if (cli->help || cli->version || cli->list_devices) {
        if (cli->help)
            nbcl_cli_usage(stdout);
        else if (cli->version)
            printf("nbcl %s (git %s)\n", nbcl_version(), nbcl_git_sha());
        return cli->list_devices && !cli->help && !cli->version ? list_devices() : 0;
    }
    if (argc <= 1) {
        nbcl_cli_usage(stderr);
        fprintf(stderr, "nbcl: nothing to do: give a crystal (-cell or -mat) and structure factors "
                        "(-hkl or -default_F)\n");
        return NBCL_EXIT_MISSING;
    }
    const char *o[NBCL_OUT_KINDS] = {
        cli->write_float ? cli->floatfile : NULL, cli->write_int ? cli->intfile : NULL,
        cli->write_pgm ? cli->pgmfile : NULL, cli->write_noise ? cli->noisefile : NULL,
        cli->pngfile, cli->cbffile};
    memcpy(outs, o, sizeof o);
    if ((rc = check_series(cli, outs)) != 0 || (rc = check_files(cli, err, errlen)) != 0 ||
        (rc = check_formats(cli, rk)) != 0)
        return rc;
    return -1;
}

/* the scene (built on a thread) and the engines (created meanwhile), checked; the summary.
 * -1 to go on (both set), else the exit code (both released) */
static int prepare(nbcl_cli *cli, const nbcl_ranks *rk, int series, nbcl_scene **scene_out,
                   engines *en)
{
    static scene_job sj;
    sj.cfg = &cli->cfg;
    scene_start(&sj);
    char devbuf[32];
    engines_create(en, cli, rank_device(cli, rk, devbuf, sizeof devbuf));
    phase("device");

    /* input errors first: they are the user's to fix whatever the device */
    nbcl_status st = scene_wait(&sj);
    nbcl_scene *scene = sj.scene;
    if (st != NBCL_OK) {
        fprintf(stderr, "nbcl: %s\n", sj.err);
        engines_destroy(en);
        if (st == NBCL_INVALID_ARGUMENT &&
            (strstr(sj.err, "no crystal") || strstr(sj.err, "no structure factors"))) {
            nbcl_cli_usage(stderr);
            return NBCL_EXIT_MISSING;
        }
        return status_exit(st);
    }
    int rc = check_memory(scene, cli, series ? en->n + 2 : 1);
    int fpixels, spixels;
    nbcl_scene_size(scene, &fpixels, &spixels);
    if (rc == 0 && (cli->cfg.printout_fpixel >= fpixels || cli->cfg.printout_spixel >= spixels ||
                    (cli->cfg.printout_fpixel < 0) != (cli->cfg.printout_spixel < 0))) {
        fprintf(stderr, "nbcl: -printout_pixel %d %d lies outside the %dx%d detector\n",
                cli->cfg.printout_fpixel, cli->cfg.printout_spixel, fpixels, spixels);
        rc = NBCL_EXIT_PARAM;
    }
    if (rc == 0) {
        if (rk->rank == 0) {
            nbcl_print_summary(stdout, scene, cli->write_noise);
            fflush(stdout);
        }
        phase("scene");
        if (en->st != NBCL_OK) {
            fprintf(stderr, "nbcl: %s\n", en->err);
            rc = en->st == NBCL_INVALID_ARGUMENT ? NBCL_EXIT_USAGE : NBCL_EXIT_DEVICE;
        }
    }
    if (rc != 0) {
        engines_destroy(en);
        nbcl_scene_destroy(scene);
        return rc;
    }
    if (rk->rank == 0)
        print_devices(en, cli, rk);
    *scene_out = scene;
    return -1;
}

/* the frames (one, or a series), their outputs and the structure-factor cache */
static int render_frames(nbcl_cli *cli, const nbcl_ranks *rk, int series, nbcl_scene *scene,
                         engines *en, const char *outs[NBCL_OUT_KINDS], run_out *out, char *err,
                         size_t errlen)
{
    nbcl_series_opts so;
    series_opts_fill(&so, cli, scene, rk, outs);
    run_ctx rctx = {cli, series, isatty(2), en->n, en};
    so.on_frame = on_frame;
    so.on_frame_user = &rctx;
    so.check_frame = check_frame;
    so.check_frame_user = &rctx;
    if (cli->progress && series) {
        so.progress = on_series_progress;
        so.progress_user = &rctx;
        so.progress_interval_s = rctx.tty_progress ? 0.25 : 10.0;
    } else if (cli->progress && rctx.tty_progress) {
        so.render_progress = progress_cb;
    }
    nbcl_series_result res;
    g_rendering = !series; /* a single run: a signal arms the grace timer (on_signal) */
    nbcl_status st = nbcl_series_run(en->e, en->n, &cli->cfg, scene, &so, &res, err, errlen);
    g_rendering = 0;
    phase("frames");
    timing_series(&res);
    int rc = series_finish(cli, rk, st, &res, err);
    if (!series && res.skipped && (rc == 0 || rc == -1))
        fprintf(stderr, "nbcl: -resume: the outputs exist complete; nothing rendered\n");
    out->written = res.written;
    out->skipped = res.skipped;
    out->wall_s = res.wall_s;
    if (rc == -1) {
        /* cache of the structure factors for the next run, written only after a good run */
        rc = 0;
        if (nbcl_write_fdump(cli->cfg.dumpfile, nbcl_scene_hkl(scene), err, errlen) != NBCL_OK)
            fprintf(stderr, "nbcl: warning: %s\n", err);
        else
            printf("writing dump file for next time: %s\n", cli->cfg.dumpfile);
    }
    return rc;
}

static int run(int argc, char **argv, const nbcl_ranks *rk, run_out *out)
{
    static nbcl_cli cli; /* large: static, not on the stack */
    static char err[16384];
    /* from the start: -img/-mask are read while the arguments are parsed, and may be FIFOs */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_alarm);
    const char *outs[NBCL_OUT_KINDS];
    int rc = parse_checked(argc, argv, &cli, rk, outs, err, sizeof err);
    if (rc >= 0)
        return rc;
    int series = cli.nframes > 1;
    out->series = series;
    signal(SIGINT, series ? on_signal_series : on_signal);
    signal(SIGTERM, series ? on_signal_series : on_signal);
    /* seeds "from the clock" are chosen once, so every frame derives from the same base */
    if (!cli.cfg.seed_set) {
        cli.cfg.seed = (long)time(NULL);
        cli.cfg.seed_set = 1;
    }
    if (!cli.cfg.misset_seed_set) {
        cli.cfg.misset_seed = (long)time(NULL);
        cli.cfg.misset_seed_set = 1;
    }
    phase("parse");
    static engines en;
    nbcl_scene *scene = NULL;
    if ((rc = prepare(&cli, rk, series, &scene, &en)) >= 0)
        return rc;
    rc = render_frames(&cli, rk, series, scene, &en, outs, out, err, sizeof err);
    engines_destroy(&en);
    nbcl_scene_destroy(scene);
    phase("teardown");
    phase_report();
    return rc;
}

/* Sanitizer builds keep exit(): LeakSanitizer checks from an exit-time hook. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NBCL_EXIT_HOOKS_NEEDED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer) || __has_feature(leak_sanitizer)
#define NBCL_EXIT_HOOKS_NEEDED 1
#endif
#endif

/* The end of a finished run: every output is committed and synced, MPI is finalised, the
 * engines are released. What exit() still does is run the exit-time hooks of every shared
 * library loaded (LLVM's and clang's static destructors, PoCL's, OpenSSL's...), which free
 * memory the kernel takes back anyway and cost ~0.4-1 ms of page faults into code not touched
 * before (docs/performance.md). So stdio is flushed and the process ends with _exit, except in
 * sanitizer builds, when PoCL is asked for its exit-time reports (POCL_CQ_PROFILING,
 * POCL_TRACING), and when an engine ran on another platform (a GPU driver may keep its
 * compiled-program cache up to date from such a hook: not checked, so not skipped). The ICD
 * loader loads every installed driver at the first platform query, so on a machine with PoCL
 * and a GPU driver a PoCL run skips the GPU driver's hooks too; that driver made no context in
 * this process, so it has nothing of this run to save. */
static int end_process(int rc)
{
#ifndef NBCL_EXIT_HOOKS_NEEDED
    if (g_pocl_or_none && !getenv("POCL_CQ_PROFILING") && !getenv("POCL_TRACING")) {
        fflush(NULL);
        _exit(rc);
    }
#endif
    return rc;
}

/* PoCL's CPU device reads the machine's topology with hwloc as it starts. hwloc's x86 backend
 * then moves the calling thread onto each CPU in turn to run CPUID there: each move waits for
 * that core (milliseconds when it is busy), and on Linux it adds nothing that sysfs does not
 * give (clinfo prints the same). Left out unless the user chose hwloc's components; set before
 * any thread exists (docs/performance.md). */
static void hwloc_linux_only(void)
{
    (void)setenv("HWLOC_COMPONENTS", "-x86", 0); /* failing (no memory): hwloc's default */
}

int main(int argc, char **argv)
{
    hwloc_linux_only();
    g_env_st = nbcl_env_options_read(&g_env, g_env_err, sizeof g_env_err);
    g_tm.on = g_env.timing == 1;
    g_cancel = nbcl_cancel_create();
    if (!g_cancel) {
        fprintf(stderr, "nbcl: out of memory\n");
        return NBCL_EXIT_PARAM; /* as every other out-of-memory (status_exit) */
    }
    nbcl_cancel_use(g_cancel); /* -img/-mask and outputs are read and written on this thread */
    g_tm.t0 = g_tm.last = now_s();
    nbcl_ranks rk;
    char err[1024];
    if (nbcl_ranks_init(&argc, &argv, &rk, err, sizeof err) != 0) {
        fprintf(stderr, "nbcl: %s\n", err);
        return NBCL_EXIT_USAGE;
    }
    run_out out = {0};
    int rc = run(argc, argv, &rk, &out);
    fflush(stdout);
    /* collectives: every rank reaches them exactly once, whatever happened before */
    rc = nbcl_ranks_max(&rk, rc);
    long written = nbcl_ranks_sum(&rk, out.written), skipped = nbcl_ranks_sum(&rk, out.skipped);
    if (out.series && rc == 0 && rk.rank == 0)
        printf("wrote %ld frames (%ld already complete) in %.2f s\n", written, skipped,
               out.wall_s);
    nbcl_ranks_finalize(&rk);
    return end_process(rc);
}
