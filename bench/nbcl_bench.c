/* nbcl-bench — one command, one reproducible evidence bundle (docs/benchmarks.md).
 *
 *   nbcl-bench [--case NAME...] [--sizes N...] [--repeats N] [--warmup N]
 *              [--devices all|SPEC...] [--precision single|double|both|auto] [--profile]
 *              [--reference PATH] [--ref-repeats N] [--thicksteps T] [--scaling]
 *              [--outdir DIR] [--quiet]
 *              [-- nanoBragg argv]
 *
 * Every case runs through the engine API (nbcl_scene_build, nbcl_engine_create, nbcl_render,
 * nbcl_image_stats, nbcl_compare_device); the reference is the nanoBragg binary run with the
 * same argv. Exit codes: docs/exit_codes.md ("nbcl-bench"). */
#include "bench.h"
#include "numparse.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { BENCH_EXIT_OK = 0, BENCH_EXIT_FAILURES = 1, BENCH_EXIT_USAGE = 2, BENCH_EXIT_OUTPUT = 3,
       BENCH_EXIT_INTERRUPTED = 130 };

static void on_signal(int sig)
{
    (void)sig;
    bench_interrupted = 1;
    nbcl_cancel_trigger(bench_cancel);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nbcl-bench [options] [-- nanoBragg-argv]\n"
            "  --case NAME...        presets to run (default perf):");
    for (size_t i = 0; i < bench_ncases; i++)
        fprintf(out, " %s", bench_cases[i].name);
    fprintf(out,
            "\n"
            "  --sizes N...          detector sizes (pixels per side) for every preset case\n"
            "                        (default: per case, see --list-cases)\n"
            "  --repeats N           timed warm renders per row (default 5)\n"
            "  --warmup N            untimed renders before them (default 1)\n"
            "  --devices all|SPEC... devices (nbcl --list-devices; default: NBCL_DEVICE or the\n"
            "                        first GPU, else the first CPU)\n"
            "  --precision P         single, double, both, or auto (double when the device has\n"
            "                        fp64; default)\n"
            "  --thicksteps T        detector layers of the absorption case (default 5)\n"
            "  --reference PATH      nanoBragg binary run with the same argv (default: env\n"
            "                        NB_C_BIN when set)\n"
            "  --ref-repeats N       warm runs of the reference (default: min(repeats, 3))\n"
            "  --no-reference        ignore NB_C_BIN\n"
            "  --no-process          do not also time nbcl as a whole process (the nbcl\n"
            "                        executable beside nbcl-bench, same argv, 1 + ref-repeats\n"
            "                        runs per row; the issue-6 speed-up is measured this way)\n"
            "  --profile             also write trace.json (Chrome trace) and a top-kernels table\n"
            "  --formats             only time the CBF/NXmx/PNG writers against the render of the\n"
            "                        perf case (--sizes, --repeats; formats_summary.md); not\n"
            "                        with --series, --scaling or --peak\n"
            "  --peak                measure each device x precision's sustained FMA throughput\n"
            "                        and set the kernels' sub-path rates against it\n"
            "  --scaling             sweeps: detector size 256..4096 (perf), mosaic domains\n"
            "                        1..1000 and phi steps 1..20 (256^2 heavy-like), warm, on\n"
            "                        every device x precision; 3 repeats unless --repeats; runs\n"
            "                        no case rows unless --case, --sizes or -- is given\n"
            "  --series N            a dataset: nbcl -nframes N against nbcl and the reference\n"
            "                        run once per frame (stepped -phi), whole processes; light\n"
            "                        frames (first --sizes value, default 512); series.md/json;\n"
            "                        runs no case rows unless --case or -- is given\n"
            "  --outdir DIR          bundle directory (default reports/<UTC stamp>/)\n"
            "  --quiet               no progress on stderr\n"
            "  --list-cases          print the presets and exit\n"
            "  -- ARGS               a custom case: nanoBragg arguments after --\n"
            "exit codes: 0 all rows ok, 1 some rows or reference runs failed (bundle written),\n"
            "            2 usage, 3 the bundle could not be written, 130 interrupted\n");
}

static int parse_pos_int(const char *s, int lo, int hi, int *out)
{
    long v;
    if (!nbcl_parse_long_range(s, lo, hi, &v))
        return 0;
    *out = (int)v;
    return 1;
}

static int is_opt(const char *s)
{
    return s[0] == '-' && s[1] == '-';
}

static void list_cases(void)
{
    for (size_t k = 0; k < bench_ncases; k++) {
        printf("%-11s sizes", bench_cases[k].name);
        for (int j = 0; j < 4 && bench_cases[k].default_sizes[j]; j++)
            printf(" %d", bench_cases[k].default_sizes[j]);
        printf("\n            %s\n", bench_cases[k].description);
    }
}

/* everything after "--": a custom case */
static int parse_custom(bench_run *run, int argc, char **argv, int i)
{
    bench_argv_push(&run->custom, "nbcl");
    for (int k = i + 1; k < argc; k++)
        if (!bench_argv_push(&run->custom, argv[k])) {
            fprintf(stderr, "nbcl-bench: too many custom arguments\n");
            return BENCH_EXIT_USAGE;
        }
    if (run->custom.argc < 2) {
        fprintf(stderr, "nbcl-bench: nothing after --\n");
        return BENCH_EXIT_USAGE;
    }
    run->have_custom = 1;
    return 0;
}

/* --case, --sizes, --devices: the words up to the next option */
static int parse_list(bench_run *run, const char *a, int argc, char **argv, int *i)
{
    int got = 0;
    while (*i + 1 < argc && !is_opt(argv[*i + 1])) {
        const char *w = argv[++*i];
        int v;
        if (!strcmp(a, "--case")) {
            if (!bench_case_find(w)) {
                fprintf(stderr, "nbcl-bench: unknown case '%s' (see --list-cases)\n", w);
                return BENCH_EXIT_USAGE;
            }
            if (run->ncases >= 64)
                return BENCH_EXIT_USAGE;
            run->case_names[run->ncases++] = (char *)w;
        } else if (!strcmp(a, "--sizes")) {
            if (!parse_pos_int(w, 1, 65536, &v) || run->nsizes >= BENCH_MAX_SIZES) {
                fprintf(stderr, "nbcl-bench: --sizes: bad size '%s'\n", w);
                return BENCH_EXIT_USAGE;
            }
            run->sizes[run->nsizes++] = v;
        } else if (!strcmp(w, "all")) { /* --devices */
            run->all_devices = 1;
        } else if (run->ndevice_specs < 64) {
            run->device_specs[run->ndevice_specs++] = (char *)w;
        }
        got++;
    }
    if (got)
        return 0;
    fprintf(stderr, "nbcl-bench: %s\n", !strcmp(a, "--case")    ? "--case needs at least one name"
                                        : !strcmp(a, "--sizes") ? "--sizes needs at least one size"
                                                                : "--devices needs 'all' or device specs");
    return BENCH_EXIT_USAGE;
}

/* --repeats, --warmup, --ref-repeats, --thicksteps, --precision, --series */
static int parse_value(bench_run *run, const char *a, int argc, char **argv, int *i)
{
    if (!strcmp(a, "--precision")) {
        static const char *const words[] = {"single", "double", "both", "auto"};
        static const int mode[] = {32, 64, 1, 0};
        const char *v = *i + 1 < argc ? argv[++*i] : "";
        for (int k = 0; k < 4; k++)
            if (!strcmp(v, words[k])) {
                run->precision_mode = mode[k];
                return 0;
            }
        fprintf(stderr, "nbcl-bench: --precision wants single, double, both or auto\n");
        return BENCH_EXIT_USAGE;
    }
    if (!strcmp(a, "--series")) {
        char *end = NULL;
        long v = *i + 1 < argc ? strtol(argv[*i + 1], &end, 10) : 0;
        if (*i + 1 >= argc || !end || *end || v < 1 || v > 100000) {
            fprintf(stderr, "nbcl-bench: --series needs a frame count (1..100000)\n");
            return BENCH_EXIT_USAGE;
        }
        run->series_frames = (int)v;
        ++*i;
        return 0;
    }
    int v;
    int lo = !strcmp(a, "--repeats") || !strcmp(a, "--thicksteps") ? 1 : 0;
    if (*i + 1 >= argc || !parse_pos_int(argv[++*i], lo, 1000000, &v)) {
        fprintf(stderr, "nbcl-bench: %s needs an integer >= %d\n", a, lo);
        return BENCH_EXIT_USAGE;
    }
    if (!strcmp(a, "--repeats")) {
        run->repeats = v;
        run->repeats_given = 1;
    } else {
        *(!strcmp(a, "--warmup") ? &run->warmup
          : !strcmp(a, "--ref-repeats") ? &run->ref_repeats : &run->thicksteps) = v;
    }
    return 0;
}

/* --reference, --outdir: a path */
static int parse_path(bench_run *run, const char *a, int argc, char **argv, int *i)
{
    int ref = !strcmp(a, "--reference");
    if (*i + 1 >= argc) {
        fprintf(stderr, "nbcl-bench: %s\n",
                ref ? "--reference needs a path" : "--outdir needs a directory");
        return BENCH_EXIT_USAGE;
    }
    if (ref)
        run->reference = argv[++*i];
    else
        snprintf(run->outdir, sizeof run->outdir, "%s", argv[++*i]);
    return 0;
}

/* the reference binary (NB_C_BIN unless --no-reference) must be an executable file */
static int check_reference(bench_run *run, int no_ref)
{
    if (!run->reference && !no_ref) {
        const char *env = getenv("NB_C_BIN");
        if (env && *env)
            run->reference = env;
    }
    if (no_ref)
        run->reference = NULL;
    struct stat rst;
    if (run->reference && (stat(run->reference, &rst) != 0 || !S_ISREG(rst.st_mode) ||
                           access(run->reference, X_OK) != 0)) {
        /* a folder passes access(X_OK) and then fails every run (exit 1 after minutes) */
        fprintf(stderr, "nbcl-bench: reference '%s' is not an executable file%s\n",
                run->reference,
                stat(run->reference, &rst) != 0 ? " (it does not exist)"
                : S_ISDIR(rst.st_mode)          ? " (it is a folder)"
                                                : "");
        return BENCH_EXIT_USAGE;
    }
    return 0;
}

/* what the options together mean: conflicts refused, defaults filled in */
static int finish_args(bench_run *run, int no_ref)
{
    if (check_reference(run, no_ref))
        return BENCH_EXIT_USAGE;
    /* --formats replaces every other measurement: a mode given with it would be dropped */
    if (run->formats && (run->series_frames || run->scaling || run->peak)) {
        fprintf(stderr, "nbcl-bench: --formats times only the writers; it cannot be combined "
                        "with %s (run them separately)\n",
                run->series_frames ? "--series" : run->scaling ? "--scaling" : "--peak");
        return BENCH_EXIT_USAGE;
    }
    if (run->ref_repeats < 0)
        run->ref_repeats = run->repeats < 3 ? run->repeats : 3;
    run->scal_repeats = run->repeats_given ? run->repeats : 3;
    /* --scaling alone runs only the sweeps; --sizes without --case still means the perf case */
    if (run->ncases == 0 && !run->have_custom && (!run->scaling || run->nsizes) &&
        !run->series_frames)
        run->case_names[run->ncases++] = "perf";
    return 0;
}

static int parse_args(bench_run *run, int argc, char **argv)
{
    static char *case_store[64];
    static char *dev_store[64];
    run->case_names = case_store;
    run->device_specs = dev_store;
    run->repeats = 5;
    run->warmup = 1;
    run->ref_repeats = -1;
    run->thicksteps = 5;
    run->progress = 1;
    int no_ref = 0, quiet = 0;
    /* the switches: option, what it sets to 1 */
    const struct { const char *name; int *flag; } sw[] = {
        {"--profile", &run->profile}, {"--scaling", &run->scaling}, {"--quiet", &quiet},
        {"--no-reference", &no_ref}, {"--no-process", &run->no_process}, {"--peak", &run->peak},
        {"--formats", &run->formats}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = -1;
        for (size_t k = 0; k < sizeof sw / sizeof sw[0] && rc < 0; k++)
            if (!strcmp(a, sw[k].name)) {
                *sw[k].flag = 1;
                rc = 0;
            }
        if (rc >= 0) {
            if (quiet)
                run->progress = 0;
            continue;
        }
        if (!strcmp(a, "--")) {
            if ((rc = parse_custom(run, argc, argv, i)))
                return rc;
            break;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--list-cases")) {
            list_cases();
            exit(0);
        } else if (!strcmp(a, "--case") || !strcmp(a, "--sizes") || !strcmp(a, "--devices")) {
            rc = parse_list(run, a, argc, argv, &i);
        } else if (!strcmp(a, "--repeats") || !strcmp(a, "--warmup") ||
                   !strcmp(a, "--ref-repeats") || !strcmp(a, "--thicksteps") ||
                   !strcmp(a, "--precision") || !strcmp(a, "--series")) {
            rc = parse_value(run, a, argc, argv, &i);
        } else if (!strcmp(a, "--reference") || !strcmp(a, "--outdir")) {
            rc = parse_path(run, a, argc, argv, &i);
        } else {
            fprintf(stderr, "nbcl-bench: unknown option '%s' (try --help)\n", a);
            return BENCH_EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    return finish_args(run, no_ref);
}

static int add_row(bench_run *run, bench_row **out)
{
    if (run->nrows == run->cap_rows) {
        size_t cap = run->cap_rows ? 2 * run->cap_rows : 16;
        bench_row *nr = realloc(run->rows, cap * sizeof *nr);
        if (!nr)
            return 0;
        run->rows = nr;
        run->cap_rows = cap;
    }
    *out = &run->rows[run->nrows++];
    memset(*out, 0, sizeof **out);
    return 1;
}

static int resolve_devices(bench_run *run, char *err, size_t errlen)
{
    size_t n = 0;
    if (run->all_devices) {
        if (nbcl_device_list(NULL, 0, &n) != NBCL_OK || n == 0) {
            snprintf(err, errlen, "no OpenCL devices found");
            return 0;
        }
        run->devices = calloc(n, sizeof *run->devices);
        if (!run->devices)
            return 0;
        nbcl_device_list(run->devices, n, &n);
        run->ndevices = n;
    }
    size_t extra = run->ndevice_specs ? run->ndevice_specs : (run->all_devices ? 0 : 1);
    if (extra) {
        nbcl_device_info *nd = realloc(run->devices, (run->ndevices + extra) * sizeof *nd);
        if (!nd)
            return 0;
        run->devices = nd;
        for (size_t i = 0; i < extra; i++) {
            const char *spec = run->ndevice_specs ? run->device_specs[i] : NULL;
            nbcl_device_info info;
            char e2[1024];
            if (nbcl_device_find(spec, &info, e2, sizeof e2) != NBCL_OK) {
                snprintf(err, errlen, "device '%s': %s", spec ? spec : "(default)", e2);
                return 0;
            }
            int dup = 0;
            for (size_t k = 0; k < run->ndevices; k++)
                if (run->devices[k].platform_index == info.platform_index &&
                    run->devices[k].device_index == info.device_index)
                    dup = 1;
            if (!dup)
                run->devices[run->ndevices++] = info;
        }
    }
    return run->ndevices > 0;
}

/* The bundle files other than sha256.txt, written at the end (also after a failure). */
static int write_bundle(bench_run *run, int status)
{
    char err[2048];
    int ok = 1;
    if (!bench_write_env(run, err, sizeof err)) {
        fprintf(stderr, "nbcl-bench: %s\n", err);
        ok = 0;
    }
    if (!bench_write_results(run, err, sizeof err)) {
        fprintf(stderr, "nbcl-bench: %s\n", err);
        ok = 0;
    }
    char chart[4400];
    snprintf(chart, sizeof chart, "%s/throughput.png", run->outdir);
    if (run->nrows || (!run->scaling && !run->series_frames)) { /* sweeps or series only: no rows */
        if (bench_write_chart(run, chart, err, sizeof err)) {
            run->throughput_png = 1;
        } else {
            fprintf(stderr, "nbcl-bench: chart: %s\n", err);
            bench_log(run, "chart: %s", err);
        }
    }
    if (run->scaling && run->nscal && !bench_write_scaling_charts(run, err, sizeof err)) {
        fprintf(stderr, "nbcl-bench: scaling chart: %s\n", err);
        bench_log(run, "scaling chart: %s", err);
    }
    if (run->profile && !bench_write_trace(run, err, sizeof err)) {
        fprintf(stderr, "nbcl-bench: %s\n", err);
        ok = 0;
    }
    if (!bench_write_summary(run, err, sizeof err)) {
        fprintf(stderr, "nbcl-bench: %s\n", err);
        ok = 0;
    }
    /* commands.txt: this invocation first (with its final status), then each command run */
    char part[4400], final[4400];
    snprintf(part, sizeof part, "%s/.commands.part", run->outdir);
    snprintf(final, sizeof final, "%s/commands.txt", run->outdir);
    if (run->commands) {
        fclose(run->commands);
        run->commands = NULL;
    }
    FILE *f = fopen(final, "w");
    if (!f) {
        fprintf(stderr, "nbcl-bench: %s: %s\n", final, strerror(errno));
        ok = 0;
    } else {
        fprintf(f, "# nbcl-bench commands: <git sha>[-dirty] <TAB> <status> <TAB> <command>\n");
        fprintf(f, "# started %s; cwd ", run->started_utc);
        char cwd[4096];
        fprintf(f, "%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
        bench_argv self = {0};
        for (int i = 0; i < run->argc && i < BENCH_MAX_ARGS - 1; i++)
            bench_argv_push(&self, run->argv[i]);
        char *cl = bench_argv_cmdline(run->argv[0], &self, NULL);
        const char *st = status == BENCH_EXIT_OK ? "ok" : status == BENCH_EXIT_FAILURES
                                                              ? "failures"
                                                              : status == BENCH_EXIT_INTERRUPTED
                                                                    ? "interrupted"
                                                                    : "error";
        fprintf(f, "%s%s\t%s\t%s\n", run->git_sha, run->git_dirty == 1 ? "-dirty" : "", st,
                cl ? cl : run->argv[0]);
        free(cl);
        bench_argv_free(&self);
        FILE *p = fopen(part, "r");
        if (p) {
            char buf[8192];
            size_t got;
            while ((got = fread(buf, 1, sizeof buf, p)) > 0)
                fwrite(buf, 1, got, f);
            fclose(p);
        }
        if (fclose(f) != 0)
            ok = 0;
        unlink(part);
    }
    bench_log(run, "bundle written: status %d", status);
    if (run->log) {
        fclose(run->log);
        run->log = NULL;
    }
    if (!bench_write_sha256(run, err, sizeof err)) {
        fprintf(stderr, "nbcl-bench: %s\n", err);
        ok = 0;
    }
    return ok;
}

/* the bundle folder (absolute), its log and command list, the facts every report names */
static int open_bundle(bench_run *run)
{
    bench_utc_stamp(run->started_utc, sizeof run->started_utc, 0);
    if (!run->outdir[0]) {
        char stamp[32];
        bench_utc_stamp(stamp, sizeof stamp, 1);
        snprintf(run->outdir, sizeof run->outdir, "reports/%s", stamp);
    }
    if (bench_mkdirs(run->outdir) != 0) {
        fprintf(stderr, "nbcl-bench: cannot create %s: %s\n", run->outdir, strerror(errno));
        return BENCH_EXIT_OUTPUT;
    }
    if (run->outdir[0] != '/') { /* absolute: the reference runs in its own directory */
        char cwd[2048], rel[4096];
        if (getcwd(cwd, sizeof cwd)) {
            memcpy(rel, run->outdir, sizeof rel);
            snprintf(run->outdir, sizeof run->outdir, "%s/%.2000s", cwd, rel);
        }
    }
    char path[4400];
    snprintf(path, sizeof path, "%s/bench.log", run->outdir);
    run->log = fopen(path, "w");
    snprintf(path, sizeof path, "%s/.commands.part", run->outdir);
    run->commands = fopen(path, "w");
    if (!run->log || !run->commands) {
        fprintf(stderr, "nbcl-bench: cannot write into %s: %s\n", run->outdir, strerror(errno));
        return BENCH_EXIT_OUTPUT;
    }
    bench_git_info(run->git_sha, sizeof run->git_sha, &run->git_dirty);
    /* the nbcl executable of the same build: beside this one */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash = n > 0 ? (self[n] = '\0', strrchr(self, '/')) : NULL;
    if (slash) {
        *slash = '\0';
        snprintf(run->nbcl_path, sizeof run->nbcl_path, "%.4000s/nbcl", self);
        if (access(run->nbcl_path, X_OK) != 0)
            run->nbcl_path[0] = '\0';
    }
    bench_log(run, "nbcl-bench %s (engine git %s, tree %s%s), started %s", nbcl_version(),
              nbcl_git_sha(), run->git_sha,
              run->git_dirty == 1 ? " dirty" : run->git_dirty == 0 ? " clean" : "",
              run->started_utc);
    return 0;
}

/* inputs of the tricubic case, generated into the bundle */
static int make_inputs(bench_run *run)
{
    int need_inputs = 0;
    for (size_t c = 0; c < run->ncases; c++)
        need_inputs |= !strcmp(run->case_names[c], "tricubic");
    snprintf(run->inputs_dir, sizeof run->inputs_dir, "%s/inputs", run->outdir);
    if (!need_inputs)
        return 0;
    char err[4096];
    if (bench_mkdirs(run->inputs_dir) != 0 ||
        !bench_write_tricubic_inputs(run->inputs_dir, err, sizeof err)) {
        fprintf(stderr, "nbcl-bench: tricubic inputs: %s\n", err);
        write_bundle(run, BENCH_EXIT_OUTPUT);
        return BENCH_EXIT_OUTPUT;
    }
    bench_log(run, "generated tricubic inputs in %s", run->inputs_dir);
    return 0;
}

/* the detector sizes of case c (the custom case: one, 0) */
static size_t case_sizes(const bench_run *run, size_t c, int sizes[BENCH_MAX_SIZES])
{
    size_t ns = 0;
    if (c == run->ncases) {
        sizes[ns++] = 0;
    } else if (run->nsizes) {
        for (ns = 0; ns < run->nsizes; ns++)
            sizes[ns] = run->sizes[ns];
    } else {
        const bench_case_def *def = bench_case_find(run->case_names[c]);
        for (ns = 0; ns < 4 && def->default_sizes[ns]; ns++)
            sizes[ns] = def->default_sizes[ns];
    }
    return ns;
}

/* where the case loop stands, for the progress lines */
typedef struct bench_plan {
    size_t total_rows, row_no, pair;
} bench_plan;

static void report_row(bench_run *run, const bench_row *row, const bench_plan *pl,
                       const char *label, double t)
{
    if (!strcmp(row->status, "ok")) {
        bench_progress(run,
                       "[%zu/%zu] %s: warm median %.4f s wall, %.4f s kernel; "
                       "%.3g pixels/s, %.3g subpaths/s (kernel)%s (%.1f s)",
                       pl->row_no, pl->total_rows, label, row->warm.wall.median,
                       row->warm.kernel.median, row->warm.pix_per_s_wall,
                       row->warm.sub_per_s_kernel, row->have_cmp ? "; vs reference" : "",
                       bench_now() - t);
        if (row->have_cmp)
            bench_progress(run,
                           "  vs reference: correlation %.9f, sum ratio %.9f, "
                           "speedup (warm) %.2fx",
                           row->corr_warm, row->sum_ratio, row->speedup_warm);
    } else {
        bench_progress(run, "[%zu/%zu] %s: %s: %s", pl->row_no, pl->total_rows, label,
                       row->status, row->error);
        if (!strcmp(row->status, "error"))
            run->failures++;
    }
}

/* one row per device x precision for one (case, size) */
static int measure_rows(bench_run *run, bench_plan *pl, const char *cname, int size,
                        const char *label, bench_ref *ref, const bench_argv *av)
{
    int precs[2];
    for (size_t d = 0; d < run->ndevices && !bench_interrupted; d++) {
        int nprec = bench_precisions(run, d, precs);
        for (int p = 0; p < nprec && !bench_interrupted; p++) {
            bench_row *row;
            if (!add_row(run, &row)) {
                fprintf(stderr, "nbcl-bench: out of memory\n");
                return BENCH_EXIT_OUTPUT;
            }
            snprintf(row->case_name, sizeof row->case_name, "%s", cname);
            row->size = size;
            row->device_index = (int)d;
            row->dev = run->devices[d];
            row->precision = precs[p];
            row->ref = ref;
            char extra[128];
            snprintf(extra, sizeof extra, "-device %u:%u -precision %s", row->dev.platform_index,
                     row->dev.device_index, bench_precision_name(row->precision));
            char *cl = bench_argv_cmdline("nbcl", av, extra);
            snprintf(row->cmdline, sizeof row->cmdline, "%s", cl ? cl : "");
            free(cl);
            pl->row_no++;
            char dl[300];
            bench_progress(run, "[%zu/%zu] %s on %s, %s precision: %d warm-up + %d repeats",
                           pl->row_no, pl->total_rows, label,
                           bench_device_label(row, dl, sizeof dl),
                           bench_precision_name(row->precision), run->warmup, run->repeats);
            double t = bench_now();
            bench_measure_row(run, row, av);
            report_row(run, row, pl, label, t);
            bench_command(run, row->status, row->cmdline);
        }
    }
    return 0;
}

/* one (case, size): the reference once, then the rows */
static int measure_pair(bench_run *run, bench_plan *pl, size_t c, int size)
{
    int custom = c == run->ncases;
    const char *cname = custom ? "custom" : run->case_names[c];
    char err[4096];
    bench_argv av;
    if (custom) {
        memset(&av, 0, sizeof av);
        for (int k = 0; k < run->custom.argc; k++)
            bench_argv_push(&av, run->custom.argv[k]);
    } else if (!bench_case_argv(cname, size, run->thicksteps, run->inputs_dir, &av, err,
                                sizeof err)) {
        fprintf(stderr, "nbcl-bench: %s\n", err);
        return 0;
    }
    char label[64];
    snprintf(label, sizeof label, custom ? "%s" : "%s %d", cname, size);
    bench_ref *ref = NULL;
    if (run->reference) {
        ref = &run->refs[pl->pair];
        ref->wanted = 1;
        bench_progress(run, "reference %s: 1 cold + %d warm runs of %s", label, run->ref_repeats,
                       run->reference);
        bench_measure_reference(run, ref, &av, label);
        if (strcmp(ref->run.status, "ok")) {
            bench_progress(run, "reference %s FAILED: %s", label, ref->run.error);
            run->failures++;
        }
    }
    int rc = measure_rows(run, pl, cname, size, label, ref, &av);
    bench_argv_free(&av);
    return rc;
}

/* the work list, (case, size) pairs with the custom case last, measured in order */
static int measure_cases(bench_run *run, bench_plan *pl)
{
    int sizes[BENCH_MAX_SIZES];
    size_t npairs = 0;
    for (size_t c = 0; c < run->ncases; c++)
        npairs += case_sizes(run, c, sizes);
    npairs += run->have_custom;
    run->refs = calloc(npairs ? npairs : 1, sizeof *run->refs);
    if (!run->refs)
        return BENCH_EXIT_OUTPUT;
    run->nrefs = npairs;
    pl->total_rows = 0;
    for (size_t d = 0; d < run->ndevices; d++)
        pl->total_rows += run->precision_mode == 1 ? 2 : 1;
    pl->total_rows *= npairs;
    for (size_t c = 0; c <= run->ncases && !bench_interrupted; c++) {
        if (c == run->ncases && !run->have_custom)
            break;
        size_t ns = case_sizes(run, c, sizes);
        for (size_t si = 0; si < ns && !bench_interrupted; si++, pl->pair++) {
            int rc = measure_pair(run, pl, c, sizes[si]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static void free_run(bench_run *run, size_t npairs)
{
    for (size_t i = 0; i < npairs && run->refs; i++)
        free(run->refs[i].image);
    free(run->refs);
    free(run->peaks);
    free(run->rows);
    free(run->scal);
    free(run->trace);
    free(run->devices);
    bench_argv_free(&run->custom);
}

int main(int argc, char **argv)
{
    static bench_run run;
    run.argc = argc;
    run.argv = argv;
    run.t0 = bench_now();
    int rc = parse_args(&run, argc, argv);
    if (rc)
        return rc;
    char err[4096];
    if (nbcl_env_options_read(&bench_env, err, sizeof err) != NBCL_OK) { /* misspelt */
        fprintf(stderr, "nbcl-bench: %s\n", err);
        return BENCH_EXIT_USAGE;
    }
    if ((rc = open_bundle(&run)))
        return rc;
    bench_cancel = nbcl_cancel_create(); /* NULL (no memory): a signal stops between cases */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!resolve_devices(&run, err, sizeof err)) {
        fprintf(stderr, "nbcl-bench: %s\n", err[0] ? err : "no device");
        bench_log(&run, "devices: %s", err);
        write_bundle(&run, BENCH_EXIT_FAILURES);
        return BENCH_EXIT_FAILURES;
    }
    for (size_t d = 0; d < run.ndevices; d++)
        bench_log(&run, "device %zu: %u:%u %s (%s, %s)", d, run.devices[d].platform_index,
                  run.devices[d].device_index, run.devices[d].device_name,
                  run.devices[d].platform_name, run.devices[d].driver_version);
    if (run.formats) /* the format writers' speed only (docs/formats.md) */
        return bench_formats(&run);
    if (run.peak)
        bench_measure_peaks(&run);
    if ((rc = make_inputs(&run)))
        return rc;
    bench_plan pl = {0};
    if ((rc = measure_cases(&run, &pl)))
        return rc;
    if (run.scaling && !bench_interrupted)
        bench_run_scaling(&run);
    if (run.series_frames && !bench_interrupted && !bench_run_series(&run, run.series_frames))
        run.failures++;
    int status = bench_interrupted ? BENCH_EXIT_INTERRUPTED
                 : run.failures    ? BENCH_EXIT_FAILURES
                                   : BENCH_EXIT_OK;
    if (bench_interrupted)
        run.interrupted = 1;
    int ok = write_bundle(&run, status);
    if (run.progress)
        fprintf(stderr, "nbcl-bench: bundle in %s (%zu rows, %zu scaling points, %d failures)\n",
                run.outdir, run.nrows, run.nscal, run.failures);
    free_run(&run, pl.pair);
    if (!ok)
        return BENCH_EXIT_OUTPUT;
    return status;
}
