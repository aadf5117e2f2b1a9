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
#include "nbcl_rng.h"
#include "summary.h"

/* One signal is enough (docs/reliability.md): the render stops after the launch under way,
 * which launches sized by work keep well under a second. A launch whose single work-item is
 * minutes of work (tens of thousands of sub-pixels per pixel) cannot be cut short, so a signal
 * during the render also arms a grace timer: a render still running when it fires ends the
 * process at once (no output file exists while rendering). */
#define NBCL_STOP_GRACE_S 3
static volatile sig_atomic_t g_rendering;

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

static void on_signal(int sig)
{
    (void)sig;
    nbcl_request_cancel();
    nbcl_outfile_abort_all_signal_safe();
    if (g_rendering)
        alarm(NBCL_STOP_GRACE_S);
}

static void log_cb(void *user, nbcl_log_level level, const char *msg)
{
    (void)user;
    if (level == NBCL_LOG_WARN) /* errors come back as the failing call's message */
        fprintf(stderr, "nbcl: %s\n", msg);
    else if (nbcl_env_word("NBCL_VERBOSE") == 1)
        fprintf(stderr, "nbcl: %s\n", msg);
}

static int progress_cb(void *user, size_t done, size_t total)
{
    (void)user;
    fprintf(stderr, "\rnbcl: rendering %3.0f%% (%zu of %zu pixels)", 100.0 * done / total, done,
            total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
    return nbcl_cancel_requested();
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
    j->st = nbcl_scene_build(j->cfg, &j->scene, j->err, sizeof j->err);
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

static void fill_header(nbcl_smv_header_info *h, const nbcl_scene *s)
{
    const double RTD = 180.0 / M_PI;
    memset(h, 0, sizeof *h);
    h->fpixels = s->fpixels;
    h->spixels = s->spixels;
    h->pixel_size_mm = s->pixel_size * 1000.0;
    h->distance_mm = s->distance * 1000.0;
    h->wavelength_A = s->lambda0 * 1e10;
    h->beam_center_x_mm = s->Xbeam * 1000.0;
    h->beam_center_y_mm = s->Ybeam * 1000.0;
    h->adxv_x_mm = s->Fbeam * 1000.0;
    h->adxv_y_mm = (s->detsize_s - s->Sbeam) * 1000.0;
    h->mosflm_x_mm = (s->Sbeam - 0.5 * s->pixel_size) * 1000.0;
    h->mosflm_y_mm = (s->Fbeam - 0.5 * s->pixel_size) * 1000.0;
    h->denzo_x_mm = s->Sbeam * 1000.0;
    h->denzo_y_mm = s->Fbeam * 1000.0;
    for (int i = 0; i < 3; i++)
        h->dials_origin_mm[i] = s->dials_origin[i];
    h->orgx = s->ORGX;
    h->orgy = s->ORGY;
    h->close_distance_mm = s->close_distance * 1000.0;
    h->phi_deg = s->phi0 * RTD;
    h->osc_start_deg = s->phi0 * RTD;
    h->osc_range_deg = s->osc * RTD;
    h->twotheta_deg = s->twotheta * RTD;
}

int main(int argc, char **argv)
{
    nbcl_cli cli;
    char err[16384];
    /* from the start: -img/-mask are read while the arguments are parsed, and may be FIFOs */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_alarm);
    g_tm.on = nbcl_env_word("NBCL_TIMING") == 1;
    g_tm.t0 = g_tm.last = now_s();
    int rc = nbcl_cli_parse(argc, argv, &cli, err, sizeof err);
    if (rc) {
        fprintf(stderr, "nbcl: %s\n", err);
        return rc;
    }
    if (nbcl_env_check(err, sizeof err) != NBCL_OK) { /* a misspelt NBCL_* value */
        fprintf(stderr, "nbcl: %s\n", err);
        return NBCL_EXIT_USAGE;
    }
    if (cli.help) {
        nbcl_cli_usage(stdout);
        return 0;
    }
    if (cli.version) {
        printf("nbcl %s (git %s)\n", nbcl_version(), nbcl_git_sha());
        return 0;
    }
    if (cli.list_devices)
        return list_devices();
    if (argc <= 1) {
        nbcl_cli_usage(stderr);
        fprintf(stderr, "nbcl: nothing to do: give a crystal (-cell or -mat) and structure factors "
                        "(-hkl or -default_F)\n");
        return NBCL_EXIT_MISSING;
    }

    /* before any work: no file named twice (two outputs, or an output over an input), and
     * every output writable: its directory exists, it is not a directory (docs/reliability.md) */
    {
        nbcl_file_ref files[NBCL_CLI_MAX_FILES];
        size_t nf = nbcl_cli_files(&cli, files, NBCL_CLI_MAX_FILES);
        if (nbcl_files_check_distinct(files, nf, err, sizeof err) != NBCL_OK) {
            fprintf(stderr, "nbcl: %s\n", err);
            return NBCL_EXIT_USAGE;
        }
        for (size_t i = 0; i < nf; i++) {
            if (files[i].is_output && files[i].path != cli.cfg.dumpfile && /* cache: best effort */
                nbcl_outfile_check(files[i].path, err, sizeof err) != NBCL_OK) {
                fprintf(stderr, "nbcl: %s %s\n", files[i].role, err);
                return NBCL_EXIT_OUTPUT;
            }
        }
    }

    struct stat nxst; /* HDF5 seeks: an NXmx file cannot be a device or FIFO written in place */
    if (cli.nexusfile && stat(cli.nexusfile, &nxst) == 0 && !S_ISREG(nxst.st_mode)) {
        fprintf(stderr, "nbcl: -nexusfile %s: an NXmx file must be a regular file\n",
                cli.nexusfile);
        return NBCL_EXIT_OUTPUT;
    }
    if (cli.nexusfile && !nbcl_nexus_filter_available(cli.nexus_compression)) {
        fprintf(stderr, "nbcl: -nexus_compression: the HDF5 filter plugin is not available here "
                        "(Debian: hdf5-filter-plugin for lz4); use deflate\n");
        return NBCL_EXIT_PARAM;
    }
    phase("parse");
    static scene_job sj; /* large: static, not on the stack */
    sj.cfg = &cli.cfg;
    scene_start(&sj);

    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    o.device = cli.device;
    o.precision = cli.precision;
    o.fast_math = cli.fast_math;
    o.kernel_dir = cli.kernel_dir;
    o.log = log_cb;
    nbcl_engine *eng = NULL;
    nbcl_status est = nbcl_engine_create(&o, &eng, err, sizeof err);
    phase("device");

    /* input errors first: they are the user's to fix whatever the device */
    nbcl_status st = scene_wait(&sj);
    nbcl_scene *scene = sj.scene;
    if (st != NBCL_OK) {
        fprintf(stderr, "nbcl: %s\n", sj.err);
        nbcl_engine_destroy(eng);
        if (st == NBCL_INVALID_ARGUMENT &&
            (strstr(sj.err, "no crystal") || strstr(sj.err, "no structure factors"))) {
            nbcl_cli_usage(stderr);
            return NBCL_EXIT_MISSING;
        }
        return status_exit(st);
    }
    {
        /* host memory the outputs need, checked before rendering */
        size_t npx = (size_t)scene->fpixels * scene->spixels;
        double need = (double)npx * (sizeof(float) + (cli.write_int || cli.write_noise ? 2 : 0) +
                                     (cli.write_pgm ? 1 : 0) + (scene->mask ? 1 : 0) +
                                     (cli.cbffile || cli.nexusfile ? 8 : 0));
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
                    scene->fpixels, scene->spixels, need / 1073741824.0, have / 1073741824.0);
            nbcl_engine_destroy(eng);
            nbcl_scene_destroy(scene);
            return NBCL_EXIT_PARAM;
        }
    }
    if (cli.cfg.printout_fpixel >= scene->fpixels || cli.cfg.printout_spixel >= scene->spixels ||
        (cli.cfg.printout_fpixel < 0) != (cli.cfg.printout_spixel < 0)) {
        fprintf(stderr, "nbcl: -printout_pixel %d %d lies outside the %dx%d detector\n",
                cli.cfg.printout_fpixel, cli.cfg.printout_spixel, scene->fpixels,
                scene->spixels);
        nbcl_engine_destroy(eng);
        nbcl_scene_destroy(scene);
        return NBCL_EXIT_PARAM;
    }
    nbcl_print_summary(stdout, scene, cli.write_noise);
    fflush(stdout);
    phase("scene");

    if (est != NBCL_OK) {
        fprintf(stderr, "nbcl: %s\n", err);
        nbcl_scene_destroy(scene);
        return NBCL_EXIT_DEVICE;
    }
    const nbcl_device_info *di = nbcl_engine_device(eng);
    printf("  device: %s (%s, %s), %s precision\n", di->device_name, di->platform_name,
           di->driver_version, nbcl_engine_precision(eng) == NBCL_PRECISION_F64 ? "double" : "single");

    nbcl_render_opts ro = {0};
    if (cli.progress && isatty(2))
        ro.progress = progress_cb;
    nbcl_image img = {0};
    nbcl_render_timing tm;
    g_rendering = 1;
    st = nbcl_render(eng, scene, &ro, &img, &tm);
    g_rendering = 0;
    phase("render");
    if (st == NBCL_OK)
        timing_add(" (upload %.1f kernel %.1f readback %.1f, %zu tiles)", 1e3 * tm.upload_s,
                   1e3 * tm.kernel_s, 1e3 * tm.readback_s, tm.tiles);
    if (st != NBCL_OK) {
        fprintf(stderr, "nbcl: %s\n", nbcl_engine_last_error(eng));
        nbcl_engine_destroy(eng);
        nbcl_scene_destroy(scene);
        return status_exit(st);
    }
    if (tm.interpolation_fallback)
        printf("WARNING: out of range for three point interpolation at pixel %ld %ld: default_F "
               "used there, nearest-neighbour F for the rest of the image\n",
               tm.fallback_pixel % img.fpixels, tm.fallback_pixel / img.fpixels);
    printf("\n");
    double omega_sum = img.omega_sum;
    printf("solid angle subtended by detector = %g steradian ( %g%% sphere)\n",
           omega_sum / scene->steps, 100 * omega_sum / scene->steps / 4 / M_PI);

    /* statistics: CLBlast on the device for GPUs; on CPU devices the image is already in host
     * memory and CLBlast's reductions under PoCL cost more than the render of a large detector
     * (docs/performance.md), so the host computes them. NBCL_STATS=device|host overrides. */
    nbcl_stats stats;
    int device_stats = strcmp(di->device_type, "CPU") != 0;
    {
        int sv = nbcl_env_word("NBCL_STATS"); /* "device host" */
        if (sv >= 0)
            device_stats = sv == 0;
    }
    if (!device_stats || nbcl_image_stats(eng, scene, &img, &stats) != NBCL_OK)
        nbcl_image_stats_host(scene, &img, &stats);
    phase("stats");
    if (cli.cfg.printout) /* the pixel asked for, else the brightest (or first non-finite) one */
        nbcl_print_pixel_trace(stdout, scene, &img,
                               cli.cfg.printout_fpixel >= 0 ? cli.cfg.printout_fpixel
                               : stats.nonfinite           ? stats.nonfinite_fpixel
                                                           : stats.max_fpixel,
                               cli.cfg.printout_spixel >= 0 ? cli.cfg.printout_spixel
                               : stats.nonfinite            ? stats.nonfinite_spixel
                                                            : stats.max_spixel);
    if (nbcl_image_check_finite(scene, &stats, nbcl_engine_precision(eng), err, sizeof err) !=
        NBCL_OK) { /* before any output is begun: nothing is written */
        fprintf(stderr, "nbcl: %s\n", err);
        nbcl_image_free(&img);
        nbcl_engine_destroy(eng);
        nbcl_scene_destroy(scene);
        return NBCL_EXIT_NONFINITE;
    }
    size_t npix = (size_t)img.fpixels * img.spixels;
    int exit_code = 0;
    float *poisson = NULL; /* the noise image's deviates: the counts of -cbffile/-nexusfile */

    /* all outputs are renamed into place together at the end, or none is */
    nbcl_outfile_defer_begin();
    if (cli.write_float) {
        printf("writing %s as %zu %zu-byte floats\n", cli.floatfile, npix, sizeof(float));
        st = nbcl_write_float(cli.floatfile, img.data, npix, err, sizeof err);
        phase("floatfile");
        if (st != NBCL_OK) {
            fprintf(stderr, "nbcl: %s\n", err);
            exit_code = st == NBCL_INTERRUPTED ? NBCL_EXIT_INTERRUPTED : NBCL_EXIT_OUTPUT;
            goto out;
        }
    }
    double max_x = scene->subpixel_size * (stats.max_fpixel * scene->oversample + scene->oversample - 1) +
                   scene->subpixel_size / 2.0;
    double max_y = scene->subpixel_size * (stats.max_spixel * scene->oversample + scene->oversample - 1) +
                   scene->subpixel_size / 2.0;
    printf("max_I = %g  at %g %g\n", stats.max_I, max_x, max_y);
    printf("mean= %g rms= %g rmsd= %g\n", stats.mean, stats.rms, stats.rmsd);
    double iscale = scene->intfile_scale;
    if (iscale <= 0.0) {
        iscale = 1.0;
        if (stats.max_I > 0.0)
            iscale = 55000.0 / stats.max_I;
    }
    printf("intfile_scale = %g\n", iscale);
    nbcl_smv_header_info hdr;
    fill_header(&hdr, scene);
    const int *roi = scene->roi;
    if (cli.write_int) {
        uint16_t *pix = nbcl_alloc_large(npix * sizeof *pix);
        if (!pix) {
            fprintf(stderr, "nbcl: out of memory\n");
            exit_code = NBCL_EXIT_OUTPUT;
            goto out;
        }
        nbcl_image_to_u16(&img, roi, iscale, scene->adc_offset, pix);
        phase("convert");
        printf("writing %s as %zu-byte integers\n", cli.intfile, sizeof(uint16_t));
        st = nbcl_write_smv(cli.intfile, &hdr, pix, err, sizeof err);
        phase("intfile");
        free(pix);
        if (st != NBCL_OK) {
            fprintf(stderr, "nbcl: %s\n", err);
            exit_code = st == NBCL_INTERRUPTED ? NBCL_EXIT_INTERRUPTED : NBCL_EXIT_OUTPUT;
            goto out;
        }
    }
    if (cli.write_pgm || cli.pngfile) {
        double ps = scene->pgm_scale;
        if (ps <= 0.0) {
            ps = iscale;
            if (stats.rmsd > 0.0)
                ps = 250.0 / (5.0 * stats.rmsd);
        }
        if (cli.write_pgm)
            printf("pgm_scale = %g\n", ps);
        uint8_t *pg = nbcl_alloc_large(npix);
        if (!pg) {
            exit_code = NBCL_EXIT_OUTPUT;
            goto out;
        }
        nbcl_image_to_u8(&img, roi, ps, pg);
        st = NBCL_OK;
        if (cli.write_pgm) {
            printf("writing %s as %zu-byte integers\n", cli.pgmfile, sizeof(uint8_t));
            st = nbcl_write_pgm(cli.pgmfile, img.fpixels, img.spixels, pg, ps, err, sizeof err);
        }
        if (st == NBCL_OK && cli.pngfile) {
            printf("writing %s as an 8-bit PNG (pgm_scale %g)\n", cli.pngfile, ps);
            st = nbcl_write_png(cli.pngfile, img.fpixels, img.spixels, pg, ps, err, sizeof err);
            phase("pngfile");
        }
        free(pg);
        if (st != NBCL_OK) {
            fprintf(stderr, "nbcl: %s\n", err);
            exit_code = st == NBCL_INTERRUPTED ? NBCL_EXIT_INTERRUPTED : NBCL_EXIT_OUTPUT;
            goto out;
        }
    }
    if (cli.write_noise) {
        uint16_t *pix = calloc(npix, sizeof *pix);
        poisson = nbcl_alloc_large(npix * sizeof *poisson);
        if (!pix || !poisson) {
            free(pix);
            exit_code = NBCL_EXIT_OUTPUT;
            goto out;
        }
        int overloads = 0;
        double photons =
            nbcl_noise_poisson(img.data, img.fpixels, img.spixels, roi, scene->seed, poisson);
        nbcl_noise_from_poisson(poisson, img.fpixels, img.spixels, roi, scene->adc_offset, pix,
                                &overloads);
        printf("%.0f photons on noise image (%d overloads)\n", photons, overloads);
        printf("writing %s as %zu-byte integers\n", cli.noisefile, sizeof(uint16_t));
        st = nbcl_write_smv(cli.noisefile, &hdr, pix, err, sizeof err);
        phase("noisefile");
        free(pix);
        if (st != NBCL_OK) {
            fprintf(stderr, "nbcl: %s\n", err);
            exit_code = st == NBCL_INTERRUPTED ? NBCL_EXIT_INTERRUPTED : NBCL_EXIT_OUTPUT;
            goto out;
        }
    }
    if (cli.cbffile || cli.nexusfile) { /* nbcl extensions: docs/formats.md */
        nbcl_counts_info ci;
        nbcl_nexus_opts no = {1, cli.nexus_compression, 0};
        st = nbcl_write_counts_files(scene, &img, poisson, cli.cbffile, cli.nexusfile, &no, &ci,
                                     err, sizeof err);
        phase("counts+cbf+nexus");
        if (st != NBCL_OK) {
            fprintf(stderr, "nbcl: %s\n", err);
            exit_code = st == NBCL_INTERRUPTED ? NBCL_EXIT_INTERRUPTED : NBCL_EXIT_OUTPUT;
            goto out;
        }
        printf("photon counts (%s): %zu overloads (>= %d), %zu masked; wrote%s%s%s%s\n",
               poisson ? "noise image less its ADC offset" : "float image rounded", ci.overloads,
               NBCL_COUNTS_SATURATION, ci.masked, cli.cbffile ? " miniCBF " : "",
               cli.cbffile ? cli.cbffile : "", cli.nexusfile ? " NXmx " : "",
               cli.nexusfile ? cli.nexusfile : "");
    }
out:
    if (exit_code == 0 && nbcl_cancel_requested()) {
        fprintf(stderr, "nbcl: interrupted: no output written\n");
        exit_code = NBCL_EXIT_INTERRUPTED;
    }
    if (exit_code == 0) {
        st = nbcl_outfile_defer_commit(err, sizeof err);
        phase("commit");
        if (st != NBCL_OK) {
            fprintf(stderr, "nbcl: %s\n", err);
            exit_code = st == NBCL_INTERRUPTED ? NBCL_EXIT_INTERRUPTED : NBCL_EXIT_OUTPUT;
        }
    } else {
        nbcl_outfile_defer_abort();
    }
    free(poisson);
    if (exit_code == 0 && cli.cfg.hklfile && cli.cfg.write_dump && cli.cfg.dumpfile &&
        !nbcl_cancel_requested()) {
        /* cache of the structure factors for the next run: written on its own once the outputs
         * are in place, best effort (a failure is a warning, the run still succeeded) */
        if (nbcl_write_fdump(cli.cfg.dumpfile, &scene->hkl, err, sizeof err) != NBCL_OK)
            fprintf(stderr, "nbcl: warning: %s\n", err);
        else
            printf("writing dump file for next time: %s\n", cli.cfg.dumpfile);
    }
    nbcl_image_free(&img);
    nbcl_engine_destroy(eng);
    nbcl_scene_destroy(scene);
    phase("teardown");
    phase_report();
    return exit_code;
}
