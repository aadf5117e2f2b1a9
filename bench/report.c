/* nbcl-bench bundle files: env.json, perf_results.json, perf_summary.md, trace.json,
 * sha256.txt (field names: docs/benchmarks.md). */
#include "bench.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NBCL_BENCH_COMPILER
#define NBCL_BENCH_COMPILER "unknown"
#endif
#ifndef NBCL_BENCH_C_FLAGS
#define NBCL_BENCH_C_FLAGS ""
#endif
#ifndef NBCL_BENCH_BUILD_TYPE
#define NBCL_BENCH_BUILD_TYPE ""
#endif

static int write_json(bench_run *run, nbcl_json *w, const char *name, char *err, size_t errlen)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", run->outdir, name);
    if (!nbcl_json_complete(w)) {
        snprintf(err, errlen, "%s: JSON writer failed", name);
        nbcl_json_free(w);
        return 0;
    }
    nbcl_status st = nbcl_json_write_file(w, path, err, errlen);
    nbcl_json_free(w);
    return st == NBCL_OK;
}

static void json_summary(nbcl_json *w, const char *key, const bench_summary *s)
{
    nbcl_json_key(w, key);
    if (!s->n) {
        nbcl_json_null(w);
        return;
    }
    nbcl_json_obj_begin(w);
    nbcl_json_kuint(w, "n", s->n);
    nbcl_json_knum(w, "min", s->min);
    nbcl_json_knum(w, "median", s->median);
    nbcl_json_knum(w, "mean", s->mean);
    nbcl_json_knum(w, "stddev", s->stddev);
    nbcl_json_obj_end(w);
}

/* the workload's fields of a row's or a point's "workload" object */
static void json_workload(nbcl_json *w, const bench_workload *k)
{
    nbcl_json_kuint(w, "pixels", k->pixels);
    nbcl_json_kint(w, "layers", k->layers);
    nbcl_json_kint(w, "oversample", k->oversample);
    nbcl_json_kint(w, "sources", k->sources);
    nbcl_json_kint(w, "phi_steps", k->phisteps);
    nbcl_json_kint(w, "mosaic_domains", k->domains);
    nbcl_json_knum(w, "subpaths", k->subpaths);
}

/* the launches, kernel and the wall and kernel summaries of a "warm" object */
static void json_warm(nbcl_json *w, const bench_warm *m)
{
    nbcl_json_kuint(w, "tiles_per_render", m->tiles);
    nbcl_json_kstr(w, "kernel", m->kernel_name);
    json_summary(w, "wall_s", &m->wall);
    json_summary(w, "kernel_s", &m->kernel);
}

/* the four rates of a "throughput" object */
static void json_rates(nbcl_json *w, const bench_warm *m)
{
    nbcl_json_knum(w, "pixels_per_s_wall", m->pix_per_s_wall);
    nbcl_json_knum(w, "pixels_per_s_kernel", m->pix_per_s_kernel);
    nbcl_json_knum(w, "subpaths_per_s_wall", m->sub_per_s_wall);
    nbcl_json_knum(w, "subpaths_per_s_kernel", m->sub_per_s_kernel);
}

/* a child-process series (the reference, or nbcl as a whole process); null when not run. The
 * times are written once a run has completed. */
static void json_proc(nbcl_json *w, const char *key, const bench_proc *p)
{
    nbcl_json_key(w, key);
    if (!p) {
        nbcl_json_null(w);
        return;
    }
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "status", p->status);
    if (p->error[0])
        nbcl_json_kstr(w, "error", p->error);
    if (p->cmdline[0])
        nbcl_json_kstr(w, "command", p->cmdline);
    if (p->cold_s > 0) {
        nbcl_json_knum(w, "cold_s", p->cold_s);
        json_summary(w, "warm_s", &p->warm);
    }
    if (p->max_rss_bytes > 0)
        nbcl_json_knum(w, "max_rss_bytes", p->max_rss_bytes);
    nbcl_json_obj_end(w);
}

static void json_dirty(nbcl_json *w, const char *key, int dirty)
{
    if (dirty < 0)
        nbcl_json_knull(w, key);
    else
        nbcl_json_kbool(w, key, dirty);
}

/* ------------------------------------------------------------------ env.json */
/* the first build of each precision used on device d (options and cache state differ): by the
 * rows, else by the engines of the scaling sweeps (their own, one per device x precision) */
static void json_device_builds(nbcl_json *w, const bench_run *run, size_t d)
{
    nbcl_json_arr_begin(w);
    int seen[2] = {0, 0};
    for (size_t i = 0; i < run->nrows + run->nscal; i++) {
        int rows = i < run->nrows;
        const bench_row *r = rows ? &run->rows[i] : NULL;
        const bench_scal_point *pt = rows ? NULL : &run->scal[i - run->nrows];
        int prec = rows ? r->precision : pt->precision;
        int dev = rows ? r->device_index : pt->device_index;
        const nbcl_build_facts *facts = rows ? &r->facts : &pt->facts;
        int k = prec == 64;
        if (dev != (int)d || seen[k] || !facts->options[0])
            continue;
        seen[k] = 1;
        nbcl_json_obj_begin(w);
        nbcl_json_kstr(w, "precision", bench_precision_name(prec));
        nbcl_json_key(w, "first_build");
        nbcl_json_build_facts(w, facts);
        nbcl_json_obj_end(w);
    }
    nbcl_json_arr_end(w);
}

/* --peak: sustained FMA throughput per precision on device d (null without --peak) */
static void json_device_peaks(nbcl_json *w, const bench_run *run, size_t d)
{
    if (!run->peak) {
        nbcl_json_null(w);
        return;
    }
    nbcl_json_arr_begin(w);
    for (size_t i = 0; i < run->npeaks; i++) {
        const bench_peak *pk = &run->peaks[i];
        if (pk->device_index != (int)d)
            continue;
        nbcl_json_obj_begin(w);
        nbcl_json_kstr(w, "precision", bench_precision_name(pk->precision));
        nbcl_json_kstr(w, "status", pk->status);
        if (!strcmp(pk->status, "ok"))
            nbcl_json_knum(w, "flops_per_s", pk->flops_per_s);
        else
            nbcl_json_kstr(w, "error", pk->error);
        nbcl_json_obj_end(w);
    }
    nbcl_json_arr_end(w);
}

static void json_devices(nbcl_json *w, const bench_run *run)
{
    nbcl_json_arr_begin(w);
    for (size_t d = 0; d < run->ndevices; d++) {
        nbcl_json_obj_begin(w);
        nbcl_json_kuint(w, "index", d);
        nbcl_json_key(w, "info");
        nbcl_json_device_info(w, &run->devices[d]);
        nbcl_json_key(w, "builds");
        json_device_builds(w, run, d);
        nbcl_json_key(w, "measured_peak");
        json_device_peaks(w, run, d);
        nbcl_json_obj_end(w);
    }
    nbcl_json_arr_end(w);
}

/* the tool and the engine that made the bundle */
static void json_tool_engine(nbcl_json *w, const bench_run *run, const nbcl_host_info *h)
{
    nbcl_json_key(w, "tool");
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "name", "nbcl-bench");
    nbcl_json_kstr(w, "version", nbcl_version());
    nbcl_json_key(w, "argv");
    nbcl_json_arr_begin(w);
    for (int i = 0; i < run->argc; i++)
        nbcl_json_str(w, run->argv[i]);
    nbcl_json_arr_end(w);
    nbcl_json_obj_end(w);

    nbcl_json_key(w, "engine");
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "version", nbcl_version());
    nbcl_json_kstr(w, "git_sha_configured", nbcl_git_sha());
    nbcl_json_kstr(w, "git_sha", run->git_sha);
    json_dirty(w, "git_dirty", run->git_dirty);
    nbcl_json_kstr(w, "compiler", h->engine_compiler);
    nbcl_json_kstr(w, "build_type", h->engine_build_type);
    nbcl_json_kstr(w, "bench_compiler", NBCL_BENCH_COMPILER);
    nbcl_json_kstr(w, "c_flags", NBCL_BENCH_C_FLAGS);
    nbcl_json_kstr(w, "clblast_version", h->clblast_version);
    nbcl_json_obj_end(w);
}

static void json_reference(nbcl_json *w, const bench_run *run)
{
    if (!run->reference) {
        nbcl_json_null(w);
        return;
    }
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "path", run->reference);
    char hex[65];
    if (bench_sha256_file(run->reference, hex) == 0)
        nbcl_json_kstr(w, "sha256", hex);
    else
        nbcl_json_knull(w, "sha256");
    struct stat st;
    if (stat(run->reference, &st) == 0)
        nbcl_json_kuint(w, "size_bytes", (uint64_t)st.st_size);
    const char *omp = getenv("OMP_NUM_THREADS");
    nbcl_json_kstr(w, "omp_num_threads", omp ? omp : "(unset: all cores)");
    nbcl_json_obj_end(w);
}

static void json_settings(nbcl_json *w, const bench_run *run)
{
    nbcl_json_obj_begin(w);
    nbcl_json_key(w, "cases");
    nbcl_json_arr_begin(w);
    for (size_t c = 0; c < run->ncases; c++)
        nbcl_json_str(w, run->case_names[c]);
    if (run->have_custom)
        nbcl_json_str(w, "custom");
    nbcl_json_arr_end(w);
    nbcl_json_key(w, "sizes");
    nbcl_json_arr_begin(w);
    for (size_t s = 0; s < run->nsizes; s++)
        nbcl_json_int(w, run->sizes[s]);
    nbcl_json_arr_end(w);
    nbcl_json_kint(w, "repeats", run->repeats);
    nbcl_json_kint(w, "warmup", run->warmup);
    nbcl_json_kint(w, "reference_repeats", run->reference ? run->ref_repeats : 0);
    nbcl_json_kint(w, "thicksteps", run->thicksteps);
    nbcl_json_kstr(w, "precision", run->precision_mode == 1    ? "both"
                                   : run->precision_mode == 32 ? "single"
                                   : run->precision_mode == 64 ? "double"
                                                               : "auto");
    nbcl_json_kbool(w, "profile", run->profile);
    nbcl_json_kbool(w, "scaling", run->scaling);
    if (run->scaling)
        nbcl_json_kint(w, "scaling_repeats", run->scal_repeats);
    else
        nbcl_json_knull(w, "scaling_repeats");
    nbcl_json_obj_end(w);
}

int bench_write_env(bench_run *run, char *err, size_t errlen)
{
    nbcl_host_info h;
    nbcl_host_info_query(&h);
    nbcl_json *w = nbcl_json_new(1);
    if (!w) {
        snprintf(err, errlen, "env.json: out of memory");
        return 0;
    }
    nbcl_json_obj_begin(w);
    nbcl_json_kint(w, "format_version", BENCH_FORMAT_VERSION);
    nbcl_json_kstr(w, "generated_utc", run->started_utc);
    json_tool_engine(w, run, &h);
    nbcl_json_key(w, "host");
    nbcl_json_host_info(w, &h);
    nbcl_json_key(w, "environment");
    nbcl_json_environment(w);
    nbcl_json_key(w, "devices");
    json_devices(w, run);
    nbcl_json_key(w, "reference");
    json_reference(w, run);
    nbcl_json_key(w, "settings");
    json_settings(w, run);
    nbcl_json_obj_end(w);
    return write_json(run, w, "env.json", err, errlen);
}

/* ------------------------------------------------------------------ perf_results.json */
/* "scaling": null without --scaling, else one object per point */
static void json_scaling(bench_run *run, nbcl_json *w)
{
    nbcl_json_key(w, "scaling");
    if (!run->scaling) {
        nbcl_json_null(w);
        return;
    }
    nbcl_json_arr_begin(w);
    for (size_t i = 0; i < run->nscal; i++) {
        const bench_scal_point *pt = &run->scal[i];
        const bench_sweep_def *sw = &bench_sweeps[pt->sweep];
        const nbcl_device_info *d = &run->devices[pt->device_index];
        char spec[32];
        snprintf(spec, sizeof spec, "%u:%u", d->platform_index, d->device_index);
        nbcl_json_obj_begin(w);
        nbcl_json_kstr(w, "sweep", sw->name);
        nbcl_json_kstr(w, "parameter", sw->parameter);
        nbcl_json_kint(w, "value", pt->value);
        nbcl_json_kstr(w, "device", spec);
        nbcl_json_kstr(w, "device_name", d->device_name);
        nbcl_json_kstr(w, "device_type", d->device_type);
        nbcl_json_kstr(w, "precision", bench_precision_name(pt->precision));
        nbcl_json_kstr(w, "status", pt->status);
        if (pt->error[0])
            nbcl_json_kstr(w, "error", pt->error);
        else
            nbcl_json_knull(w, "error");
        nbcl_json_kstr(w, "command", pt->cmdline);
        nbcl_json_key(w, "workload");
        nbcl_json_obj_begin(w);
        nbcl_json_kint(w, "fpixels", pt->work.fpixels);
        nbcl_json_kint(w, "spixels", pt->work.spixels);
        json_workload(w, &pt->work);
        nbcl_json_obj_end(w);
        nbcl_json_knum(w, "scene_build_s", pt->work.scene_build_s);
        nbcl_json_key(w, "warm");
        nbcl_json_obj_begin(w);
        nbcl_json_kint(w, "warmup", run->warmup);
        nbcl_json_kint(w, "repeats", run->scal_repeats);
        json_warm(w, &pt->warm);
        nbcl_json_obj_end(w);
        nbcl_json_key(w, "throughput");
        nbcl_json_obj_begin(w);
        json_rates(w, &pt->warm);
        nbcl_json_obj_end(w);
        nbcl_json_obj_end(w);
    }
    nbcl_json_arr_end(w);
}

/* what each timing of perf_results.json measures */
static void json_definitions(nbcl_json *w)
{
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "cold.total_s",
                   "engine_create_s + render_s: a fresh engine (context, queue, program build or "
                   "cache load) and its first nbcl_render (uploads, kernel, readback)");
    nbcl_json_kstr(w, "warm.wall_s", "host wall time (CLOCK_MONOTONIC) around nbcl_render on a "
                                     "warm engine: uploads, kernel enqueue, clFinish/readback");
    nbcl_json_kstr(w, "warm.kernel_s", "OpenCL profiling events of the pixel-kernel launches of "
                                       "one render (CL_PROFILING_COMMAND_START..END, summed over "
                                       "tiles)");
    nbcl_json_kstr(w, "warm.stats_s", "host wall time of nbcl_image_stats (CLBlast) per render, "
                                      "not included in wall_s");
    nbcl_json_kstr(w, "subpaths", "pixels x detector layers x oversample^2 x sources x phi "
                                  "steps x mosaic domains, per image");
    nbcl_json_kstr(w, "reference", "the reference binary run as a child process with the same "
                                   "argv in a clean directory, host wall time of the whole process "
                                   "(first run = cold, the rest = warm); speedup_warm = reference "
                                   "warm median / warm.wall_s median; correlation_warm and "
                                   "sum_ratio (ours/reference) compare the last warm image");
    nbcl_json_kstr(w, "process", "the nbcl executable of the same build run as a child process "
                                 "with the row's argv plus -device, -precision and -floatfile, "
                                 "in a clean directory, host wall time of the whole process "
                                 "(first run = cold, then ref-repeats warm runs; the kernel "
                                 "cache is warm from the row); speedup_process = reference "
                                 "warm median / process warm median");
    nbcl_json_kstr(w, "scaling",
                   "--scaling: one point per sweep value x device x precision, on one warm "
                   "engine per device x precision: warmup untimed renders, then repeats timed "
                   "ones (warm.wall_s, warm.kernel_s as for rows; no statistics, no reference). "
                   "Sweeps: size = perf argv with -detpixels N; domains = heavy crystal at 256x256 "
                   "with -mosaic 0.5 -mosaic_dom D -phisteps 1 -oversample 1; phisteps = the same "
                   "with -mosaic_dom 1 -phisteps P (-phi 0.2 -osc 1.0)");
    nbcl_json_obj_end(w);
}

/* a row: what ran where, its workload and the cold start */
static void json_row_setup(nbcl_json *w, const bench_row *r)
{
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", r->dev.platform_index, r->dev.device_index);
    nbcl_json_kstr(w, "case", r->case_name);
    nbcl_json_kint(w, "size", r->size);
    nbcl_json_kint(w, "fpixels", r->work.fpixels);
    nbcl_json_kint(w, "spixels", r->work.spixels);
    nbcl_json_kstr(w, "device", spec);
    nbcl_json_kstr(w, "device_name", r->dev.device_name);
    nbcl_json_kstr(w, "device_type", r->dev.device_type);
    nbcl_json_kstr(w, "platform", r->dev.platform_name);
    nbcl_json_kstr(w, "driver_version", r->dev.driver_version);
    nbcl_json_kstr(w, "precision", bench_precision_name(r->precision));
    nbcl_json_kstr(w, "status", r->status);
    if (r->error[0])
        nbcl_json_kstr(w, "error", r->error);
    else
        nbcl_json_knull(w, "error");
    nbcl_json_kstr(w, "command", r->cmdline);
    nbcl_json_key(w, "workload");
    nbcl_json_obj_begin(w);
    json_workload(w, &r->work);
    nbcl_json_obj_end(w);
    nbcl_json_knum(w, "scene_build_s", r->work.scene_build_s);
    nbcl_json_key(w, "cold");
    nbcl_json_obj_begin(w);
    nbcl_json_knum(w, "engine_create_s", r->cold_engine_s);
    nbcl_json_knum(w, "program_build_s", r->cold_build_s);
    nbcl_json_kstr(w, "cache_state", r->cache_state);
    nbcl_json_knum(w, "render_s", r->cold_render_s);
    nbcl_json_knum(w, "kernel_s", r->cold_kernel_s);
    nbcl_json_knum(w, "upload_s", r->cold_upload_s);
    nbcl_json_knum(w, "readback_s", r->cold_readback_s);
    nbcl_json_knum(w, "total_s", r->cold_total_s);
    nbcl_json_knum(w, "stats_s", r->cold_stats_s);
    nbcl_json_obj_end(w);
}

/* a row: the warm renders, throughput and the image they made */
static void json_row_warm(nbcl_json *w, bench_run *run, const bench_row *r)
{
    nbcl_json_key(w, "warm");
    nbcl_json_obj_begin(w);
    nbcl_json_kint(w, "warmup", run->warmup);
    nbcl_json_kint(w, "repeats", run->repeats);
    json_warm(w, &r->warm);
    json_summary(w, "upload_s", &r->warm.upload);
    json_summary(w, "readback_s", &r->warm.readback);
    json_summary(w, "stats_s", &r->warm_stats);
    nbcl_json_obj_end(w);
    nbcl_json_key(w, "throughput");
    nbcl_json_obj_begin(w);
    json_rates(w, &r->warm);
    double pf = bench_row_peak_fraction(run, r);
    if (pf > 0)
        nbcl_json_knum(w, "peak_fraction", pf);
    else
        nbcl_json_knull(w, "peak_fraction");
    nbcl_json_obj_end(w);
    nbcl_json_key(w, "image");
    nbcl_json_obj_begin(w);
    nbcl_json_knum(w, "sum", r->img_sum);
    nbcl_json_knum(w, "max", r->img_max);
    nbcl_json_knum(w, "mean", r->img_mean);
    nbcl_json_knum(w, "rms", r->img_rms);
    nbcl_json_kbool(w, "interpolation_fallback", r->interpolation_fallback);
    nbcl_json_kstr(w, "stats_computed_on", r->stats_on_device ? "device (CLBlast)" : "host");
    if (!r->stats_on_device && r->stats_reason[0])
        nbcl_json_kstr(w, "stats_host_reason", r->stats_reason);
    nbcl_json_obj_end(w);
}

/* a row against the reference and nbcl as a whole process */
static void json_row_processes(nbcl_json *w, const bench_row *r)
{
    /* reference: flat fields for tables, details below */
    const bench_ref *ref = r->ref;
    int refok = ref && !strcmp(ref->run.status, "ok") && ref->run.warm.n;
    if (refok)
        nbcl_json_knum(w, "reference_time_s", ref->run.warm.median);
    else
        nbcl_json_knull(w, "reference_time_s");
    if (r->have_cmp) {
        nbcl_json_knum(w, "speedup_warm", r->speedup_warm);
        nbcl_json_knum(w, "speedup_cold", r->speedup_cold);
        nbcl_json_knum(w, "correlation_warm", r->corr_warm);
        nbcl_json_knum(w, "sum_ratio", r->sum_ratio);
        nbcl_json_knum(w, "rmse", r->rmse);
        nbcl_json_knum(w, "max_rel_diff", r->max_rel);
    } else {
        nbcl_json_knull(w, "speedup_warm");
        nbcl_json_knull(w, "speedup_cold");
        nbcl_json_knull(w, "correlation_warm");
        nbcl_json_knull(w, "sum_ratio");
    }
    json_proc(w, "reference", ref ? &ref->run : NULL);
    /* nbcl as a whole process */
    const bench_proc *pr = &r->proc;
    int procok = !strcmp(pr->status, "ok") && pr->warm.n;
    if (procok)
        nbcl_json_knum(w, "nbcl_process_time_s", pr->warm.median);
    else
        nbcl_json_knull(w, "nbcl_process_time_s");
    if (r->speedup_process > 0)
        nbcl_json_knum(w, "speedup_process", r->speedup_process);
    else
        nbcl_json_knull(w, "speedup_process");
    json_proc(w, "process", pr->status[0] ? pr : NULL);
}

int bench_write_results(bench_run *run, char *err, size_t errlen)
{
    nbcl_json *w = nbcl_json_new(1);
    if (!w) {
        snprintf(err, errlen, "perf_results.json: out of memory");
        return 0;
    }
    nbcl_json_obj_begin(w);
    nbcl_json_kint(w, "format_version", BENCH_FORMAT_VERSION);
    nbcl_json_kstr(w, "generated_utc", run->started_utc);
    nbcl_json_kstr(w, "git_sha", run->git_sha);
    json_dirty(w, "git_dirty", run->git_dirty);
    nbcl_json_kbool(w, "interrupted", run->interrupted);
    nbcl_json_key(w, "definitions");
    json_definitions(w);
    nbcl_json_key(w, "rows");
    nbcl_json_arr_begin(w);
    for (size_t i = 0; i < run->nrows; i++) {
        const bench_row *r = &run->rows[i];
        nbcl_json_obj_begin(w);
        json_row_setup(w, r);
        json_row_warm(w, run, r);
        json_row_processes(w, r);
        nbcl_json_obj_end(w);
    }
    nbcl_json_arr_end(w);
    json_scaling(run, w);
    nbcl_json_obj_end(w);
    return write_json(run, w, "perf_results.json", err, errlen);
}

/* ------------------------------------------------------------------ trace.json */
int bench_write_trace(bench_run *run, char *err, size_t errlen)
{
    nbcl_json *w = nbcl_json_new(0);
    if (!w) {
        snprintf(err, errlen, "trace.json: out of memory");
        return 0;
    }
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "displayTimeUnit", "ms");
    nbcl_json_key(w, "otherData");
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "tool", "nbcl-bench");
    nbcl_json_kstr(w, "git_sha", run->git_sha);
    nbcl_json_kstr(w, "started_utc", run->started_utc);
    nbcl_json_kstr(w, "note",
                   "ts: host clock since the bench started. nbcl_k_pixel*: duration = sum of the "
                   "OpenCL profiling events of the render's kernel launches (args.tiles); upload "
                   "and readback: host wall time; they are placed in order inside the render. "
                   "CLBlast*: host wall time enqueue..completion, args.event_s = profiling time "
                   "of the routine's last kernel.");
    nbcl_json_obj_end(w);
    nbcl_json_key(w, "traceEvents");
    nbcl_json_arr_begin(w);
    /* names for the processes (device x precision) and threads */
    for (size_t d = 0; d < run->ndevices; d++)
        for (int k = 0; k < 2; k++) {
            int pid = 1 + (int)d * 2 + k;
            int used = 0;
            for (size_t i = 0; i < run->ntrace && !used; i++)
                used = run->trace[i].pid == pid;
            if (!used)
                continue;
            char name[400];
            snprintf(name, sizeof name, "%u:%u %s (%s)", run->devices[d].platform_index,
                     run->devices[d].device_index, run->devices[d].device_name_normalised,
                     k ? "double" : "single");
            nbcl_json_obj_begin(w);
            nbcl_json_kstr(w, "name", "process_name");
            nbcl_json_kstr(w, "ph", "M");
            nbcl_json_kint(w, "pid", pid);
            nbcl_json_key(w, "args");
            nbcl_json_obj_begin(w);
            nbcl_json_kstr(w, "name", name);
            nbcl_json_obj_end(w);
            nbcl_json_obj_end(w);
            static const char *tn[] = {"engine", "render", "statistics (CLBlast)"};
            for (int t = 0; t < 3; t++) {
                nbcl_json_obj_begin(w);
                nbcl_json_kstr(w, "name", "thread_name");
                nbcl_json_kstr(w, "ph", "M");
                nbcl_json_kint(w, "pid", pid);
                nbcl_json_kint(w, "tid", t);
                nbcl_json_key(w, "args");
                nbcl_json_obj_begin(w);
                nbcl_json_kstr(w, "name", tn[t]);
                nbcl_json_obj_end(w);
                nbcl_json_obj_end(w);
            }
        }
    for (size_t i = 0; i < run->ntrace; i++) {
        const bench_trace_ev *e = &run->trace[i];
        nbcl_json_obj_begin(w);
        nbcl_json_kstr(w, "name", e->name);
        nbcl_json_kstr(w, "cat", e->cat);
        nbcl_json_kstr(w, "ph", "X");
        nbcl_json_knum(w, "ts", floor(e->ts_s * 1e7 + 0.5) / 10.0);  /* microseconds */
        nbcl_json_knum(w, "dur", floor(e->dur_s * 1e7 + 0.5) / 10.0);
        nbcl_json_kint(w, "pid", e->pid);
        nbcl_json_kint(w, "tid", e->tid);
        nbcl_json_key(w, "args");
        nbcl_json_obj_begin(w);
        if (e->case_name[0]) {
            nbcl_json_kstr(w, "case", e->case_name);
            nbcl_json_kint(w, "size", e->size);
            nbcl_json_kstr(w, "phase", e->phase);
        }
        if (e->tiles >= 0)
            nbcl_json_kint(w, "tiles", e->tiles);
        if (e->event_s >= 0)
            nbcl_json_knum(w, "event_s", e->event_s);
        nbcl_json_obj_end(w);
        nbcl_json_obj_end(w);
    }
    nbcl_json_arr_end(w);
    nbcl_json_obj_end(w);
    return write_json(run, w, "trace.json", err, errlen);
}

/* ------------------------------------------------------------------ perf_summary.md */
static const char *fmt_s(char *buf, size_t cap, double v)
{
    if (!isfinite(v) || v <= 0)
        snprintf(buf, cap, "-");
    else if (v < 1e-3)
        snprintf(buf, cap, "%.1f us", v * 1e6);
    else if (v < 1)
        snprintf(buf, cap, "%.2f ms", v * 1e3);
    else
        snprintf(buf, cap, "%.3f s", v);
    return buf;
}

static const char *fmt_rate(char *buf, size_t cap, double v)
{
    if (!isfinite(v) || v <= 0)
        snprintf(buf, cap, "-");
    else if (v >= 1e9)
        snprintf(buf, cap, "%.3g G", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, cap, "%.3g M", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, cap, "%.3g k", v / 1e3);
    else
        snprintf(buf, cap, "%.3g", v);
    return buf;
}

static const char *size_label(char *buf, size_t cap, const bench_row *r)
{
    if (r->work.fpixels > 0)
        snprintf(buf, cap, "%dx%d", r->work.fpixels, r->work.spixels);
    else if (r->size > 0)
        snprintf(buf, cap, "%d", r->size);
    else
        snprintf(buf, cap, "-");
    return buf;
}

static void md_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

typedef struct kagg {
    char name[48];
    int pid;
    size_t calls;
    double total;
} kagg;

static void top_kernels(bench_run *run, FILE *f)
{
    size_t cap = 64, n = 0;
    kagg *a = calloc(cap, sizeof *a);
    if (!a)
        return;
    double all = 0;
    for (size_t i = 0; i < run->ntrace; i++) {
        const bench_trace_ev *e = &run->trace[i];
        if (strcmp(e->cat, "kernel") && strcmp(e->cat, "stats"))
            continue;
        /* the pixel kernel: its profiling events cover every launch; a CLBlast routine hands
         * back only its last kernel's event, so its host wall time is the honest total */
        double t = (!strcmp(e->cat, "kernel") && e->event_s >= 0) ? e->event_s : e->dur_s;
        size_t k;
        for (k = 0; k < n; k++)
            if (a[k].pid == e->pid && !strcmp(a[k].name, e->name))
                break;
        if (k == n) {
            if (n == cap) {
                kagg *na = realloc(a, 2 * cap * sizeof *a);
                if (!na)
                    break;
                a = na;
                cap *= 2;
            }
            memset(&a[n], 0, sizeof a[n]);
            snprintf(a[n].name, sizeof a[n].name, "%s", e->name);
            a[n].pid = e->pid;
            n++;
        }
        a[k].calls += e->tiles > 0 ? (size_t)e->tiles : 1;
        a[k].total += t;
        all += t;
    }
    /* sort by total time, descending */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && a[j].total > a[j - 1].total; j--) {
            kagg t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
    fprintf(f, "\n## Top kernels (from OpenCL profiling events, `--profile`)\n\n");
    fprintf(f, "`nbcl_k_pixel*`: sum of its OpenCL profiling events (CL_PROFILING_COMMAND_START.."
               "END) over every tile launch. CLBlast routines (image statistics): host wall time "
               "from enqueue to completion, because CLBlast returns the event of its last kernel "
               "only (that event time is in trace.json as args.event_s). Timeline: "
               "trace.json.\n\n");
    fprintf(f, "| kernel | device / precision | launches | total | mean per launch | timed by | "
               "share |\n");
    fprintf(f, "|---|---|---:|---:|---:|---|---:|\n");
    for (size_t i = 0; i < n && i < 15; i++) {
        int d = (a[i].pid - 1) / 2, dbl = (a[i].pid - 1) % 2;
        char b1[32], b2[32];
        fprintf(f, "| `%s` | %u:%u %s | %zu | %s | %s | %s | %.1f%% |\n", a[i].name,
                d < (int)run->ndevices ? run->devices[d].platform_index : 0,
                d < (int)run->ndevices ? run->devices[d].device_index : 0,
                dbl ? "double" : "single", a[i].calls, fmt_s(b1, sizeof b1, a[i].total),
                fmt_s(b2, sizeof b2, a[i].calls ? a[i].total / a[i].calls : 0),
                strncmp(a[i].name, "CLBlast", 7) ? "profiling events" : "host wall",
                all > 0 ? 100.0 * a[i].total / all : 0.0);
    }
    free(a);
}

static void write_results_table(bench_run *run, FILE *f);

/* --peak: each device x precision's measured FMA throughput, and each row's kernel against it */
static void write_peak(bench_run *run, FILE *f)
{
    if (!run->peak)
        return;
    fprintf(f, "\n## Against the measured peak\n\n"
               "Peak: a pure-FMA kernel (cl/nbcl_peak.cl, 8 independent vector chains per "
               "work-item) on the same device and precision, best of three launches of at least "
               "50 ms. Achieved: the row's kernel sub-path rate x the cost model's operations per "
               "sub-path (%.0f in double, %.0f in single: docs/performance.md; not for "
               "interpolating rows, whose cost model differs).\n\n",
            BENCH_OPS_PER_SUBPATH_F64, BENCH_OPS_PER_SUBPATH_F32);
    fprintf(f, "| device | precision | measured peak |\n|---|---|---:|\n");
    char dl[300];
    for (size_t i = 0; i < run->npeaks; i++) {
        const bench_peak *pk = &run->peaks[i];
        bench_row tmp;
        memset(&tmp, 0, sizeof tmp);
        tmp.dev = run->devices[pk->device_index];
        fprintf(f, "| ");
        md_escape(f, bench_device_label(&tmp, dl, sizeof dl));
        if (!strcmp(pk->status, "ok"))
            fprintf(f, " | %s | %.1f GFLOP/s |\n", bench_precision_name(pk->precision),
                    pk->flops_per_s * 1e-9);
        else
            fprintf(f, " | %s | %s |\n", bench_precision_name(pk->precision), pk->status);
    }
    int any = 0;
    for (size_t i = 0; i < run->nrows; i++)
        any |= bench_row_peak_fraction(run, &run->rows[i]) > 0;
    if (!any)
        return;
    fprintf(f, "\n| case | size | device | precision | sub-paths/s (kernel) | achieved | of peak |\n"
               "|---|---:|---|---|---:|---:|---:|\n");
    char sl[48];
    for (size_t i = 0; i < run->nrows; i++) {
        const bench_row *r = &run->rows[i];
        double pf = bench_row_peak_fraction(run, r);
        if (pf <= 0)
            continue;
        double ops = r->precision == 64 ? BENCH_OPS_PER_SUBPATH_F64 : BENCH_OPS_PER_SUBPATH_F32;
        fprintf(f, "| %s | %s | ", r->case_name, size_label(sl, sizeof sl, r));
        md_escape(f, bench_device_label(r, dl, sizeof dl));
        fprintf(f, " | %s | %.3g | %.1f GFLOP/s | %.1f %% |\n", bench_precision_name(r->precision),
                r->warm.sub_per_s_kernel, r->warm.sub_per_s_kernel * ops * 1e-9, 100.0 * pf);
    }
}

/* peak resident memory of the whole processes, against AT-PERF-003's bound (2 x the detector's
 * float image x 3 intermediate arrays) */
static void write_memory(bench_run *run, FILE *f)
{
    int any = 0;
    for (size_t i = 0; i < run->nrows; i++)
        any |= run->rows[i].proc.max_rss_bytes > 0;
    if (!any)
        return;
    fprintf(f, "\n## Peak memory (whole processes)\n\n"
               "Peak resident set (getrusage of the child) over the process runs. The "
               "AT-PERF-003 bound is 2 x (pixels x 4 bytes x 3). A PoCL process holds ~90 MB "
               "of LLVM code and data before any image exists, so small detectors exceed that "
               "bound by the driver alone; *nbcl − start-up* subtracts the smallest nbcl "
               "process of this run to show what the image costs.\n\n");
    double base = 0;
    for (size_t i = 0; i < run->nrows; i++) {
        double m = run->rows[i].proc.max_rss_bytes;
        if (m > 0 && (base == 0 || m < base))
            base = m;
    }
    fprintf(f, "| case | size | device | precision | reference | nbcl | nbcl − start-up | "
               "AT-PERF-003 bound |\n|---|---:|---|---|---:|---:|---:|---:|\n");
    char sl[48], dl[300];
    for (size_t i = 0; i < run->nrows; i++) {
        const bench_row *r = &run->rows[i];
        if (!(r->proc.max_rss_bytes > 0))
            continue;
        double bound = 2.0 * (double)r->work.pixels * 4.0 * 3.0;
        fprintf(f, "| %s | %s | ", r->case_name, size_label(sl, sizeof sl, r));
        md_escape(f, bench_device_label(r, dl, sizeof dl));
        fprintf(f, " | %s | ", bench_precision_name(r->precision));
        if (r->ref && r->ref->run.max_rss_bytes > 0)
            fprintf(f, "%.1f MB | ", r->ref->run.max_rss_bytes / 1e6);
        else
            fprintf(f, "- | ");
        fprintf(f, "%.1f MB | %.1f MB | %.1f MB |\n", r->proc.max_rss_bytes / 1e6,
                (r->proc.max_rss_bytes - base) / 1e6, bound / 1e6);
    }
}
static void write_rest(bench_run *run, FILE *f);
static void write_not_measured(bench_run *run, FILE *f);
static void write_scaling(bench_run *run, FILE *f);

int bench_write_summary(bench_run *run, char *err, size_t errlen)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/perf_summary.md", run->outdir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create", path);
        return 0;
    }
    nbcl_host_info h;
    nbcl_host_info_query(&h);
    fprintf(f, "# nbcl-bench summary\n\n");
    fprintf(f, "- started: %s; nbcl %s, git `%s`%s\n", run->started_utc, nbcl_version(),
            run->git_sha, run->git_dirty == 1 ? " (dirty tree)" : "");
    fprintf(f, "- host: %s, %u logical CPUs, %.1f GiB; %s\n", h.cpu_model, h.logical_cpus,
            h.mem_total_bytes / 1073741824.0, h.os_name);
    fprintf(f, "- OpenCL: ICD loader %s %s; CLBlast %s\n",
            h.icd_loader_name[0] ? h.icd_loader_name : "(unknown)", h.icd_loader_version,
            h.clblast_version);
    for (size_t d = 0; d < run->ndevices; d++)
        fprintf(f, "- device %u:%u: %s (%s %s, driver %s, %u CUs, fp64 %s)\n",
                run->devices[d].platform_index, run->devices[d].device_index,
                run->devices[d].device_name, run->devices[d].platform_name,
                run->devices[d].platform_version, run->devices[d].driver_version,
                run->devices[d].compute_units, run->devices[d].has_fp64 ? "yes" : "no");
    if (run->reference)
        fprintf(f, "- reference: `%s` (OMP_NUM_THREADS=%s), %d warm runs after a cold one\n",
                run->reference, getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "unset",
                run->ref_repeats);
    if (run->nrows || !run->scaling)
        fprintf(f, "- repeats %d after %d warm-up; tables show medians (min, mean, stddev: "
                   "perf_results.json)\n",
                run->repeats, run->warmup);
    if (run->scaling)
        fprintf(f, "- scaling sweeps: %d repeats after %d warm-up per point; tables show medians "
                   "(min, mean, stddev: perf_results.json `scaling`)\n",
                run->scal_repeats, run->warmup);
    if (run->interrupted)
        fprintf(f, "- **interrupted**: the tables hold the rows finished before the signal\n");
    fprintf(f, "\nCommand:\n\n```\n");
    for (int i = 0; i < run->argc; i++)
        fprintf(f, "%s%s", i ? " " : "", run->argv[i]);
    fprintf(f, "\n```\n");

    if (run->nrows || !run->scaling)
        write_results_table(run, f);
    else
        fprintf(f, "\n## Results\n\nNo case rows: this run had `--scaling` only (see "
                   "Scaling below).\n");
    write_rest(run, f);
    write_peak(run, f);
    write_memory(run, f);
    if (run->scaling)
        write_scaling(run, f);

    int nfail = 0;
    for (size_t i = 0; i < run->nrows; i++)
        nfail += strcmp(run->rows[i].status, "ok") != 0;
    for (size_t i = 0; i < run->nrefs; i++)
        nfail += run->refs[i].wanted && strcmp(run->refs[i].run.status, "ok") != 0;
    for (size_t i = 0; i < run->nscal; i++)
        nfail += strcmp(run->scal[i].status, "ok") != 0;
    if (nfail)
        write_not_measured(run, f);
    if (run->throughput_png)
        fprintf(f, "\n![throughput per case and device](throughput.png)\n");
    fprintf(f, "\nFiles: env.json (host, devices, build), perf_results.json (every number "
               "above, with min/median/mean/stddev), commands.txt, bench.log%s%s",
            run->throughput_png ? ", throughput.png (and .svg)" : "",
            run->profile ? ", trace.json (chrome://tracing or https://ui.perfetto.dev)" : "");
    for (size_t w = 0; w < bench_nsweeps; w++)
        if (run->scal_png & (1u << w))
            fprintf(f, ", %s (and .svg)", bench_sweeps[w].png);
    fprintf(f, ", sha256.txt.\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "%s: write error", path);
        return 0;
    }
    return 1;
}

static void write_results_table(bench_run *run, FILE *f)
{
    char b1[48], b2[48], b3[48], b4[48], b5[48], b6[48];
    fprintf(f, "\n## Results\n\n");
    fprintf(f, "Warm wall: host wall time around `nbcl_render` (uploads + kernel + readback); "
               "warm kernel: OpenCL profiling events of the pixel kernel. Cold: fresh engine "
               "(context, program build or cache load) + first render. Throughput from the warm "
               "medians: pixels/s on wall time, sub-paths/s on kernel time.\n\n");
    fprintf(f, "| case | size | device | precision | cold | warm wall | warm kernel | "
               "stddev (wall) | pixels/s (wall) | sub-paths/s (kernel) | status |\n");
    fprintf(f, "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < run->nrows; i++) {
        const bench_row *r = &run->rows[i];
        char dl[300];
        char sl[48];
        fprintf(f, "| %s | %s | ", r->case_name, size_label(sl, sizeof sl, r));
        md_escape(f, bench_device_label(r, dl, sizeof dl));
        fprintf(f, " | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                bench_precision_name(r->precision), fmt_s(b1, sizeof b1, r->cold_total_s),
                fmt_s(b2, sizeof b2, r->warm.wall.median),
                fmt_s(b3, sizeof b3, r->warm.kernel.median),
                fmt_s(b4, sizeof b4, r->warm.wall.stddev),
                fmt_rate(b5, sizeof b5, r->warm.pix_per_s_wall),
                fmt_rate(b6, sizeof b6, r->warm.sub_per_s_kernel), r->status);
        /* the reference in the same table, after the last row of its case x size */
        const bench_ref *ref = r->ref;
        if (ref && (i + 1 == run->nrows || run->rows[i + 1].ref != ref)) {
            double px = (double)r->work.pixels;
            fprintf(f, "| %s | %s | reference nanoBragg (whole process) | double | %s | %s | "
                       "- | %s | %s | - | %s |\n",
                    r->case_name, sl, fmt_s(b1, sizeof b1, ref->run.cold_s),
                    fmt_s(b2, sizeof b2, ref->run.warm.n ? ref->run.warm.median : 0),
                    fmt_s(b4, sizeof b4, ref->run.warm.n ? ref->run.warm.stddev : 0),
                    fmt_rate(b5, sizeof b5,
                             ref->run.warm.n && ref->run.warm.median > 0 ? px / ref->run.warm.median : 0),
                    ref->run.status);
        }
    }
}

/* device against device: one line per case x size, one column per device x precision */
static void write_device_table(bench_run *run, FILE *f)
{
    char b1[48];
    int combos[64][2];
    size_t ncombo = 0;
    for (size_t i = 0; i < run->nrows; i++) {
        size_t k;
        for (k = 0; k < ncombo; k++)
            if (combos[k][0] == run->rows[i].device_index &&
                combos[k][1] == run->rows[i].precision)
                break;
        if (k == ncombo && ncombo < 64) {
            combos[ncombo][0] = run->rows[i].device_index;
            combos[ncombo][1] = run->rows[i].precision;
            ncombo++;
        }
    }
    if (ncombo > 1) {
        fprintf(f, "\n## Device against device (warm wall median; x = speed relative to the "
                   "first column)\n\n| case | size |");
        for (size_t k = 0; k < ncombo; k++) {
            const nbcl_device_info *d = &run->devices[combos[k][0]];
            fprintf(f, " %u:%u %s %s |", d->platform_index, d->device_index,
                    d->device_name_normalised, bench_precision_name(combos[k][1]));
        }
        fprintf(f, "\n|---|---:|");
        for (size_t k = 0; k < ncombo; k++)
            fprintf(f, "---:|");
        fprintf(f, "\n");
        for (size_t i = 0; i < run->nrows; i++) {
            const bench_row *r0 = &run->rows[i];
            int first = 1;
            for (size_t j = 0; j < i; j++)
                if (!strcmp(run->rows[j].case_name, r0->case_name) &&
                    run->rows[j].size == r0->size)
                    first = 0;
            if (!first)
                continue;
            char sl[48];
            fprintf(f, "| %s | %s |", r0->case_name, size_label(sl, sizeof sl, r0));
            double base = 0;
            for (size_t k = 0; k < ncombo; k++) {
                const bench_row *hit = NULL;
                for (size_t j = i; j < run->nrows; j++)
                    if (!strcmp(run->rows[j].case_name, r0->case_name) &&
                        run->rows[j].size == r0->size &&
                        run->rows[j].device_index == combos[k][0] &&
                        run->rows[j].precision == combos[k][1])
                        hit = &run->rows[j];
                if (!hit || strcmp(hit->status, "ok")) {
                    fprintf(f, " %s |", hit ? hit->status : "-");
                    continue;
                }
                double t = hit->warm.wall.median;
                if (base <= 0)
                    base = t;
                fprintf(f, " %s (%.2fx) |", fmt_s(b1, sizeof b1, t), t > 0 ? base / t : 0.0);
            }
            fprintf(f, "\n");
        }
    }
}

/* against the reference: times, speed-ups, correlation */
static void write_reference_table(bench_run *run, FILE *f)
{
    char b1[48], b2[48], b3[48], b4[48];
    fprintf(f, "\n## Against the reference (`%s`)\n\n", run->reference);
    fprintf(f, "Reference times are host wall times of the whole process (set-up, "
               "simulation, image files) with the same argv. *nbcl process* is the nbcl "
               "executable run the same way (same argv, same files, warm kernel cache): "
               "speed-up process = reference warm median / nbcl process warm median, the "
               "like-for-like figure. *nbcl warm* is one render on a warm engine inside this "
               "process (speed-up warm = reference warm / nbcl warm). Correlation and sum "
               "ratio (nbcl / reference) compare the float images.\n\n");
    fprintf(f, "| case | size | device | precision | reference cold | reference warm | "
               "nbcl process | speed-up process | nbcl cold | nbcl warm | speed-up warm | "
               "speed-up cold | correlation | sum ratio |\n");
    fprintf(f, "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < run->nrows; i++) {
        const bench_row *r = &run->rows[i];
        const bench_ref *ref = r->ref;
        char dl[300], sl[48];
        fprintf(f, "| %s | %s | ", r->case_name, size_label(sl, sizeof sl, r));
        md_escape(f, bench_device_label(r, dl, sizeof dl));
        fprintf(f, " | %s | ", bench_precision_name(r->precision));
        char pb[32];
        if (!strcmp(r->proc.status, "ok") && r->proc.warm.n)
            fmt_s(pb, sizeof pb, r->proc.warm.median);
        else
            snprintf(pb, sizeof pb, "%s", r->proc.status[0] ? r->proc.status : "-");
        if (!ref || strcmp(ref->run.status, "ok")) {
            fprintf(f, "%s | - | %s | - | %s | %s | - | - | - | - |\n",
                    ref ? ref->run.status : "-", pb, fmt_s(b1, sizeof b1, r->cold_total_s),
                    fmt_s(b2, sizeof b2, r->warm.wall.median));
            continue;
        }
        fprintf(f, "%s | %s | %s | ", fmt_s(b1, sizeof b1, ref->run.cold_s),
                fmt_s(b2, sizeof b2, ref->run.warm.median), pb);
        if (r->speedup_process > 0)
            fprintf(f, "**%.2fx** | ", r->speedup_process);
        else
            fprintf(f, "- | ");
        fprintf(f, "%s | %s | ", fmt_s(b3, sizeof b3, r->cold_total_s),
                fmt_s(b4, sizeof b4, r->warm.wall.median));
        if (r->have_cmp)
            fprintf(f, "%.2fx | %.2fx | %.9f%s | %.6f |\n", r->speedup_warm,
                    r->speedup_cold, r->corr_warm, r->interpolation_fallback ? " (†)" : "",
                    r->sum_ratio);
        else
            fprintf(f, "- | - | - | - |\n");
    }
    int any_fallback = 0;
    for (size_t i = 0; i < run->nrows; i++)
        any_fallback |= run->rows[i].have_cmp && run->rows[i].interpolation_fallback;
    if (any_fallback)
        fprintf(f, "\n(†) Interpolation left the HKL grid in this image. nbcl then switches "
                   "to nearest-neighbour F for every later pixel in raster order; the "
                   "reference does so per OpenMP thread, so its image depends on its "
                   "thread count and schedule and the comparison is not a parity measure "
                   "(docs/parity.md, P-11).\n");
}

/* device against device, against the reference, top kernels */
static void write_rest(bench_run *run, FILE *f)
{
    write_device_table(run, f);
    if (run->reference)
        write_reference_table(run, f);
    if (run->profile)
        top_kernels(run, f);
}

static void write_not_measured(bench_run *run, FILE *f)
{
    fprintf(f, "\n## Not measured\n\n");
    for (size_t i = 0; i < run->nrows; i++) {
        const bench_row *r = &run->rows[i];
        if (!strcmp(r->status, "ok"))
            continue;
        char sl[48];
        fprintf(f, "- %s %s, device %u:%u, %s: **%s**: ", r->case_name,
                size_label(sl, sizeof sl, r),
                r->dev.platform_index, r->dev.device_index,
                bench_precision_name(r->precision), r->status);
        md_escape(f, r->error);
        fprintf(f, "\n");
    }
    for (size_t i = 0; i < run->nrows; i++) {
        const bench_row *r = &run->rows[i];
        if (r->ref && strcmp(r->ref->run.status, "ok") &&
            (i == 0 || run->rows[i - 1].ref != r->ref)) {
            char sl[48];
            fprintf(f, "- reference for %s %s: **%s**: ", r->case_name,
                    size_label(sl, sizeof sl, r), r->ref->run.status);
            md_escape(f, r->ref->run.error);
            fprintf(f, "\n");
        }
    }
    for (size_t i = 0; i < run->nscal; i++) {
        const bench_scal_point *pt = &run->scal[i];
        if (!strcmp(pt->status, "ok"))
            continue;
        const nbcl_device_info *d = &run->devices[pt->device_index];
        fprintf(f, "- scaling %s %d, device %u:%u, %s: **%s**: ",
                bench_sweeps[pt->sweep].name, pt->value, d->platform_index, d->device_index,
                bench_precision_name(pt->precision), pt->status);
        md_escape(f, pt->error);
        fprintf(f, "\n");
    }
}

/* "## Scaling": one table and one chart per sweep */
static void write_scaling(bench_run *run, FILE *f)
{
    char b1[48], b2[48], b3[48], b4[48], b5[48], b6[48], b7[48];
    fprintf(f, "\n## Scaling\n\n");
    fprintf(f, "`--scaling`: one warm engine per device x precision; per point %d untimed "
               "render(s), then %d timed ones (medians below; no statistics, no reference). "
               "Sub-paths per image = pixels x layers x oversample^2 x sources x phi steps x "
               "mosaic domains. Throughput on warm wall time (uploads + kernel + readback) and "
               "on kernel time (OpenCL profiling). Charts: sub-paths/s, solid = wall, dashed = "
               "kernel.\n",
            run->warmup, run->scal_repeats);
    for (size_t w = 0; w < bench_nsweeps; w++) {
        const bench_sweep_def *sw = &bench_sweeps[w];
        int any = 0;
        for (size_t i = 0; i < run->nscal; i++)
            any |= run->scal[i].sweep == (int)w;
        fprintf(f, "\n### %s\n\n%s.\n\n", sw->title, sw->argv_note);
        if (!any) {
            fprintf(f, "Not run (interrupted).\n");
            continue;
        }
        fprintf(f, "| %s | device | precision | sub-paths/image | warm wall | warm kernel | "
                   "pixels/s (wall) | pixels/s (kernel) | sub-paths/s (wall) | "
                   "sub-paths/s (kernel) | status |\n",
                sw->parameter);
        fprintf(f, "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (size_t i = 0; i < run->nscal; i++) {
            const bench_scal_point *pt = &run->scal[i];
            if (pt->sweep != (int)w)
                continue;
            const nbcl_device_info *d = &run->devices[pt->device_index];
            char dl[600];
            snprintf(dl, sizeof dl, "%u:%u %s", d->platform_index, d->device_index,
                     d->device_name_normalised[0] ? d->device_name_normalised : d->device_name);
            if (!strcmp(sw->name, "size"))
                fprintf(f, "| %dx%d | ", pt->value, pt->value);
            else
                fprintf(f, "| %d | ", pt->value);
            md_escape(f, dl);
            fprintf(f, " | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                    bench_precision_name(pt->precision), fmt_rate(b1, sizeof b1, pt->work.subpaths),
                    fmt_s(b2, sizeof b2, pt->warm.wall.n ? pt->warm.wall.median : 0),
                    fmt_s(b3, sizeof b3, pt->warm.kernel.n ? pt->warm.kernel.median : 0),
                    fmt_rate(b4, sizeof b4, pt->warm.pix_per_s_wall),
                    fmt_rate(b5, sizeof b5, pt->warm.pix_per_s_kernel),
                    fmt_rate(b6, sizeof b6, pt->warm.sub_per_s_wall),
                    fmt_rate(b7, sizeof b7, pt->warm.sub_per_s_kernel), pt->status);
        }
        if (run->scal_png & (1u << w))
            fprintf(f, "\n![sub-paths/s against %s](%s)\n", sw->parameter, sw->png);
        else
            fprintf(f, "\nNo chart (%s): no successful point.\n", sw->png);
    }
}

/* ------------------------------------------------------------------ sha256.txt */
typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static void collect(const char *root, const char *rel, name_list *l)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and temporary files */
        char sub[8192], full[16384];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            collect(root, sub, l);
        } else if (S_ISREG(st.st_mode) && strcmp(sub, "sha256.txt") != 0) {
            if (l->n == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 32;
                char **nv = realloc(l->v, cap * sizeof *nv);
                if (!nv)
                    break;
                l->v = nv;
                l->cap = cap;
            }
            size_t len = strlen(sub) + 1;
            l->v[l->n] = malloc(len);
            if (l->v[l->n]) {
                memcpy(l->v[l->n], sub, len);
                l->n++;
            }
        }
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int bench_write_sha256(bench_run *run, char *err, size_t errlen)
{
    name_list l = {0};
    collect(run->outdir, "", &l);
    qsort(l.v, l.n, sizeof *l.v, cmp_str);
    char path[4400];
    snprintf(path, sizeof path, "%s/sha256.txt", run->outdir);
    FILE *f = fopen(path, "w");
    int ok = f != NULL;
    for (size_t i = 0; i < l.n; i++) {
        char full[8400], hex[65];
        snprintf(full, sizeof full, "%s/%s", run->outdir, l.v[i]);
        if (ok && bench_sha256_file(full, hex) == 0)
            fprintf(f, "%s  %s\n", hex, l.v[i]);
        else if (ok) {
            snprintf(err, errlen, "%s: cannot hash", full);
            ok = 0;
        }
        free(l.v[i]);
    }
    free(l.v);
    if (f && fclose(f) != 0)
        ok = 0;
    if (!f)
        snprintf(err, errlen, "%s: cannot create", path);
    return ok;
}
