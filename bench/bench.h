/* nbcl-bench: shared types of the benchmark driver (see docs/benchmarks.md). */
#ifndef NBCL_BENCH_H
#define NBCL_BENCH_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "nbcl/nbcl.h"
#include "nbcl_json.h"

#define BENCH_FORMAT_VERSION 1
#define BENCH_MAX_SIZES 16
#define BENCH_MAX_ARGS 96

/* ------------------------------------------------------------------ sample statistics */
typedef struct bench_summary {
    size_t n;
    double min, median, mean, stddev; /* stddev: sample (n-1); 0 for n < 2 */
} bench_summary;
void bench_summarise(const double *v, size_t n, bench_summary *out); /* samples.c */

typedef struct bench_series {
    double *v;
    size_t n, cap;
} bench_series;
int bench_series_add(bench_series *s, double v);
void bench_series_free(bench_series *s);

/* ------------------------------------------------------------------ cases */
typedef struct bench_argv {
    int argc;
    char *argv[BENCH_MAX_ARGS]; /* argv[0] = "nbcl"; owned strings */
} bench_argv;
void bench_argv_free(bench_argv *a); /* argv.c */
int bench_argv_push(bench_argv *a, const char *s);
/* shell-quoted command line of argv[1..] prefixed by prog */
char *bench_argv_cmdline(const char *prog, const bench_argv *a, const char *extra);

typedef struct bench_case_def {
    const char *name;
    const char *description;
    int default_sizes[4];     /* 0-terminated */
} bench_case_def;
extern const bench_case_def bench_cases[];
extern const size_t bench_ncases;
const bench_case_def *bench_case_find(const char *name);
/* argv of a preset at a detector size; inputs_dir holds generated inputs (tricubic). */
int bench_case_argv(const char *name, int size, int thicksteps, const char *inputs_dir,
                    bench_argv *out, char *err, size_t errlen);
/* Write the tricubic case's HKL file and MOSFLM matrix (deterministic) into dir. */
int bench_write_tricubic_inputs(const char *dir, char *err, size_t errlen);

/* ------------------------------------------------------------------ workloads and timings */
/* What one argv asks a render to evaluate (a row's and a scaling point's alike). */
typedef struct bench_workload {
    int fpixels, spixels;
    size_t pixels;
    int layers, oversample, sources, phisteps, domains;
    double subpaths;            /* per image: pixels x layers x steps */
    double scene_build_s;       /* nbcl_scene_build wall time */
} bench_workload;

/* Warm renders on one engine: the samples' summaries and the rates derived from them. */
typedef struct bench_warm {
    size_t tiles;               /* kernel launches per render */
    char kernel_name[48];       /* pixel kernel the engine chose (scalar or vector on CPUs) */
    bench_summary wall, kernel, upload, readback;
    double pix_per_s_wall, pix_per_s_kernel, sub_per_s_wall, sub_per_s_kernel;
} bench_warm;

/* ------------------------------------------------------------------ results */
/* one program run as a child process, 1 cold + N warm times, in a clean directory: the
 * reference, and nbcl itself as a whole process (same argv, same files) */
typedef struct bench_proc {
    char status[16];            /* ok | error | skipped | interrupted; "" = not run */
    char error[1024];
    char cmdline[8192];
    double cold_s;              /* first run (nbcl: kernel cache as the row left it, warm) */
    bench_summary warm;         /* the runs after it */
    double max_rss_bytes;       /* peak resident memory over its runs */
} bench_proc;

typedef struct bench_ref {
    int wanted;                 /* a reference binary was given */
    bench_proc run;             /* its runs */
    float *image;               /* reference float image (last run) */
    size_t npix;
} bench_ref;

/* --peak: the device's sustained multiply-add throughput (nbcl_measure_peak) */
typedef struct bench_peak {
    int device_index;
    int precision;              /* 32 or 64 */
    char status[16];            /* ok | error | unsupported */
    char error[512];
    double flops_per_s;
} bench_peak;

/* operations per sub-path evaluation of the lattice-factor path, from the cost model of
 * docs/performance.md (square crystal, no interpolation) */
#define BENCH_OPS_PER_SUBPATH_F64 115.0
#define BENCH_OPS_PER_SUBPATH_F32 85.0

typedef struct bench_trace_ev {
    char name[48];
    char cat[16];               /* engine | render | kernel | stats | stats-io */
    int pid, tid;               /* pid: device x precision; tid 0 engine, 1 render, 2 stats */
    double ts_s, dur_s;         /* seconds since bench start */
    char case_name[32];
    int size;
    char phase[8];              /* cold | warm */
    long tiles;                 /* kernel launches behind a render event; -1 n/a */
    double event_s;             /* OpenCL profiling time of the event; -1 n/a */
} bench_trace_ev;

typedef struct bench_row {
    /* identity */
    char case_name[32];
    int size;                   /* requested detector size (0 for custom) */
    int device_index;           /* in the run's device list */
    nbcl_device_info dev;
    int precision;              /* 32 or 64 */
    char status[16];            /* ok | error | unsupported | interrupted */
    char error[2048];
    char cmdline[8192];         /* equivalent nbcl command */
    bench_workload work;
    /* timings, seconds */
    double cold_engine_s;       /* nbcl_engine_create: context, queue, program build/cache load */
    double cold_build_s;        /* of which program build or cache load */
    double cold_render_s;       /* first nbcl_render wall */
    double cold_kernel_s, cold_upload_s, cold_readback_s;
    double cold_total_s;        /* engine + first render */
    double cold_stats_s;        /* first statistics call (CLBlast program build included) */
    char cache_state[16];
    nbcl_build_facts facts;
    bench_warm warm;
    bench_summary warm_stats;   /* the statistics call after each warm render */
    int stats_on_device;
    char stats_reason[256];
    /* image facts (last warm render) */
    double img_sum, img_max, img_mean, img_rms;
    int interpolation_fallback;
    /* reference */
    bench_ref *ref;             /* shared per case x size; NULL without --reference */
    int have_cmp;
    double corr_warm, sum_ratio, rmse, max_rel;
    double speedup_warm, speedup_cold;
    /* whole process */
    bench_proc proc;
    double speedup_process;     /* reference warm median / nbcl process warm median; 0 n/a */
} bench_row;

/* ------------------------------------------------------------------ scaling sweeps */
#define BENCH_SWEEP_MAX_VALUES 8
typedef struct bench_sweep_def {
    const char *name;           /* size | domains | phisteps (perf_results.json "sweep") */
    const char *parameter;      /* detector_size | mosaic_domains | phi_steps */
    const char *title;          /* heading in perf_summary.md */
    const char *argv_note;      /* the argv the sweep varies, for the summary */
    const char *png;            /* chart file in the bundle */
    int values[BENCH_SWEEP_MAX_VALUES]; /* 0-terminated */
} bench_sweep_def;
extern const bench_sweep_def bench_sweeps[];
extern const size_t bench_nsweeps;
/* number of values of a sweep */
size_t bench_sweep_nvalues(const bench_sweep_def *s);

typedef struct bench_scal_point {
    int sweep;                  /* index into bench_sweeps */
    int value;                  /* the swept parameter */
    int device_index;           /* in the run's device list */
    int precision;              /* 32 or 64 */
    char status[16];            /* ok | error | unsupported | interrupted */
    char error[1024];
    char cmdline[2048];         /* equivalent nbcl command */
    bench_workload work;
    bench_warm warm;
    nbcl_build_facts facts;     /* of the engine that rendered it */
} bench_scal_point;

typedef struct bench_run {
    /* options */
    char **case_names;
    size_t ncases;
    int sizes[BENCH_MAX_SIZES];
    size_t nsizes;
    int repeats, warmup, ref_repeats, thicksteps;
    int precision_mode;         /* 0 auto, 32, 64, 1 both */
    int profile;
    int progress;
    const char *reference;
    char **device_specs;
    size_t ndevice_specs;
    int all_devices;
    char outdir[4096];
    char inputs_dir[4200];
    bench_argv custom;          /* after -- */
    int have_custom;
    int scaling;                /* --scaling: the three sweeps */
    int repeats_given;          /* --repeats on the command line */
    int no_process;             /* --no-process: no whole-process runs of nbcl */
    int peak;                   /* --peak: measure each device x precision's FMA peak */
    int formats;                /* --formats: only the format writers' speed (bench/formats.c) */
    bench_peak *peaks;
    size_t npeaks;
    char nbcl_path[4096];       /* the nbcl executable beside nbcl-bench ("" = none) */
    int scal_repeats;           /* timed renders per sweep point (3, or --repeats) */
    int series_frames;          /* --series N: the dataset comparison (bench/series.c); 0 off */
    int argc;
    char **argv;
    /* state */
    double t0;                  /* bench_now() (CLOCK_MONOTONIC) at start */
    char started_utc[32];
    char git_sha[64];
    int git_dirty;              /* -1 unknown */
    nbcl_device_info *devices;
    size_t ndevices;
    bench_row *rows;
    size_t nrows, cap_rows;
    bench_ref *refs;
    size_t nrefs;
    bench_trace_ev *trace;
    size_t ntrace, cap_trace;
    bench_scal_point *scal;
    size_t nscal, cap_scal;
    int throughput_png;         /* throughput.png was written */
    unsigned scal_png;          /* bit w: bench_sweeps[w].png was written */
    FILE *log;
    FILE *commands;
    int failures;
    int interrupted;
} bench_run;

/* ------------------------------------------------------------------ workload.c */
/* status and "prefix: message" into a row's or a point's status/error fields */
void bench_set_status(char *status, size_t scap, char *error, size_t ecap, const char *st,
                      const char *prefix, const char *msg);
#define BENCH_SET_STATUS(obj, st, prefix, msg)                                                   \
    bench_set_status((obj)->status, sizeof (obj)->status, (obj)->error, sizeof (obj)->error, st, \
                     prefix, msg)
/* Parse an argv with the CLI's parser and build its scene (hermetically: no Fdump.bin read or
 * written); fills the workload. 0 with err ("argument error: ..." or "scene: ...") on failure. */
int bench_workload_scene(const bench_argv *argv, nbcl_scene **scene, bench_workload *w,
                         char *err, size_t errlen);
/* An engine on run->devices[device_index] in precision 32 or 64, logging into bench.log. */
nbcl_status bench_engine_create(bench_run *run, int device_index, int precision,
                                nbcl_engine **eng, char *err, size_t errlen);
/* Called after each timed render with its image (take img->data to keep it; it is freed
 * otherwise), its timing, and its host start and wall time; 0 stops the loop (the hook sets the
 * status). */
typedef int (*bench_each_fn)(void *user, nbcl_image *img, const nbcl_render_timing *tm,
                             double start, double wall_s);
enum { BENCH_LOOP_OK = 0, BENCH_LOOP_FAILED = 1, BENCH_LOOP_RENDER_FAILED = 2 };
/* The measuring loop of rows and scaling points: run->warmup untimed renders, then `repeats`
 * timed ones on eng; fills out (summaries, tiles, kernel, rates from work) when all succeed.
 * Returns BENCH_LOOP_OK, or a failure with status/error set (RENDER_FAILED: a render failed,
 * so the engine's state is suspect). */
int bench_warm_loop(bench_run *run, nbcl_engine *eng, const nbcl_scene *scene,
                    const bench_workload *work, int repeats, bench_each_fn each, void *user,
                    bench_warm *out, char *status, size_t scap, char *error, size_t ecap);

/* ------------------------------------------------------------------ measure.c */
/* Run one row (case x size x device x precision) on the engine; fills the row. */
void bench_measure_row(bench_run *run, bench_row *row, const bench_argv *argv);
/* the precisions (32, 64) a run measures on device d (--precision, or auto: double with fp64);
 * returns how many were written to precs[2] */
int bench_precisions(const bench_run *run, size_t d, int precs[2]);
/* --peak: every device x precision of the run (run->peaks) */
void bench_measure_peaks(bench_run *run);
/* a row's kernel sub-path rate x the cost model's operations per sub-path / its device's
 * measured peak; 0 when there is no peak or the row interpolates (another cost model) */
double bench_row_peak_fraction(const bench_run *run, const bench_row *r);
/* the measured peak of a device x precision, or NULL */
const bench_peak *bench_find_peak(const bench_run *run, int device_index, int precision);
/* Run the reference binary for one case x size; fills ref. */
void bench_measure_reference(bench_run *run, bench_ref *ref, const bench_argv *argv,
                             const char *label);
bench_trace_ev *bench_trace_add(bench_run *run, const char *name, const char *cat, int pid,
                                int tid, double ts_s, double dur_s);

/* ------------------------------------------------------------------ scaling.c */
/* The three sweeps on every device x precision of the run, warm; every point recorded (errors
 * included) in run->scal. */
void bench_run_scaling(bench_run *run);
/* One line chart per sweep (bench_sweeps[].png) in the bundle; 0 and err when one failed. */
int bench_write_scaling_charts(bench_run *run, char *err, size_t errlen);

/* ------------------------------------------------------------------ series.c */
/* --series N: nbcl -nframes N against nbcl (and the reference) once per frame, whole processes,
 * on every device x precision; writes series.json and series.md. 0 when they cannot be written. */
int bench_run_series(bench_run *run, int nframes);

/* ------------------------------------------------------------------ report.c */
int bench_write_env(bench_run *run, char *err, size_t errlen);
int bench_write_results(bench_run *run, char *err, size_t errlen);
int bench_write_summary(bench_run *run, char *err, size_t errlen);
int bench_write_trace(bench_run *run, char *err, size_t errlen);
int bench_write_sha256(bench_run *run, char *err, size_t errlen);

/* ------------------------------------------------------------------ chart.c */
/* Every chart is written twice, drawn with cairo: at `path` (which must end in .png) as PNG and
 * beside it as SVG (same name, .svg). 0 and err when it could not be written. */
/* warm pixels/s per case x size, one bar per device x precision (and the reference), log y */
int bench_write_chart(bench_run *run, const char *path, char *err, size_t errlen);

/* Line chart: one coloured series per entry, a solid line through y and, when y_dashed is not
 * NULL, a dashed line of the same colour through y_dashed. Values <= 0 or NaN are missing (the
 * line breaks there). x is log-scaled when it spans a decade or more, y when it spans more than
 * one decade (else linear from 0). */
typedef struct bench_line_series {
    const char *label;
    const double *y;            /* nx values */
    const double *y_dashed;     /* nx values or NULL */
} bench_line_series;
typedef struct bench_line_chart {
    const char *title;
    const char *x_label;
    const char *y_label;
    const char *note;           /* one line under the legend, or NULL */
    const double *x;            /* nx positive values, ascending */
    size_t nx;
    const bench_line_series *series;
    size_t nseries;
} bench_line_chart;
int bench_write_line_chart(const bench_line_chart *c, const char *path, char *err, size_t errlen);

/* ------------------------------------------------------------------ log.c */
double bench_now(void);        /* monotonic seconds */
/* --formats (bench/formats.c): 0 ok, 1 a size failed, 3 results not written */
int bench_formats(bench_run *run);
void bench_log(bench_run *run, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void bench_progress(bench_run *run, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void bench_command(bench_run *run, const char *status, const char *cmdline);
void bench_utc_stamp(char *buf, size_t cap, int compact);
const char *bench_precision_name(int p); /* "single"/"double" */
const char *bench_device_label(const bench_row *r, char *buf, size_t cap);

/* ------------------------------------------------------------------ files.c */
int bench_mkdirs(const char *path);
int bench_rmtree(const char *path);
int bench_sha256_file(const char *path, char hex[65]);

/* ------------------------------------------------------------------ proc.c */
void bench_git_info(char *sha, size_t cap, int *dirty);
/* Run argv (argv[0] a path) in cwd with stdout+stderr to logpath (append); returns exit status
 * (>=0), 128+signal, or -1 when it could not start. *max_rss_bytes: the child's peak resident
 * memory (getrusage), when not NULL. */
int bench_spawn(char *const argv[], const char *cwd, const char *logpath, double *wall_s,
                double *max_rss_bytes);
extern volatile int bench_interrupted;
/* the token of every engine the bench creates: SIGINT/SIGTERM trigger it (nbcl_bench.c) */
extern nbcl_cancel *bench_cancel;
/* the NBCL_* settings, read once at start and given to every engine the bench creates */
extern nbcl_env_options bench_env;

#endif
