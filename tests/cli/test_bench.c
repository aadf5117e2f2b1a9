/* nbcl-bench end to end on a small custom case: the bundle's files, the whole-process timing of
 * the nbcl executable, the comparison against a "reference" (nbcl itself stands in for
 * nanoBragg here: same argv, same float file, so the images must agree exactly in double), the
 * sha256 list, --no-process, and exit 1 with a bundle when the reference cannot run. */
#include "nbcl_internal.h" /* nbcl__sha256_hex */
#include "nbcl_test.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_ARGV                                                                                \
    "-- -cell 100 100 100 90 90 90 -default_F 100 -N 2 -lambda 1 -distance 100 -detpixels 48 " \
    "-nopgm -nonoise -noprogress"

static char g_cmd[8192];

static const char *outdir(const char *name)
{
    static char buf[4][2048];
    static int slot;
    char *p = buf[slot++ & 3];
    snprintf(p, 2048, "%s/%s", nbcl_test_tmpdir(), name);
    return p;
}

/* nbcl-bench with opts on the small case into a fresh bundle directory; asserts its exit code */
static const char *run_bench(const char *name, const char *opts, int want_rc)
{
    const char *dir = outdir(name);
    snprintf(g_cmd, sizeof g_cmd, "%s --quiet %s --outdir %s " CASE_ARGV " > %s.log 2>&1",
             nbcl_test_bin("nbcl-bench"), opts, dir, dir);
    int rc = nbcl_test_run(g_cmd);
    if (rc != want_rc)
        fail_msg("%s: exit %d, expected %d (log: %s.log)", g_cmd, rc, want_rc, dir);
    return dir;
}

static json_object *load_json(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    json_object *j = json_object_from_file(path);
    if (!j)
        fail_msg("%s: missing or not JSON", path);
    return j;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("key \"%s\" missing", key);
    return v;
}

static char *read_text(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t len = 0;
    char *t = nbcl_test_read_file(path, &len);
    if (!t)
        fail_msg("%s: cannot read", path);
    return t;
}

/* throughput.png and throughput.svg: the same cairo drawing, PNG at twice the SVG's size */
static void check_charts(const char *dir)
{
    size_t len = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/throughput.png", dir);
    unsigned char *png = (unsigned char *)nbcl_test_read_file(path, &len);
    assert_non_null(png);
    assert_true(len > 24 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8) && !memcmp(png + 12, "IHDR", 4));
    long pw = (long)png[16] << 24 | (long)png[17] << 16 | (long)png[18] << 8 | png[19];
    long ph = (long)png[20] << 24 | (long)png[21] << 16 | (long)png[22] << 8 | png[23];
    free(png);
    char *svg = read_text(dir, "throughput.svg");
    assert_non_null(strstr(svg, "<svg"));
    const char *wp = strstr(svg, "width=\""), *hp = strstr(svg, "height=\"");
    assert_non_null(wp);
    assert_non_null(hp);
    double sw = strtod(wp + 7, NULL), sh = strtod(hp + 8, NULL);
    assert_true(sw >= 400 && sh >= 300);
    assert_true(labs(pw - (long)ceil(2 * sw)) <= 1 && labs(ph - (long)ceil(2 * sh)) <= 1);
    free(svg);
    char *sums = read_text(dir, "sha256.txt");
    assert_non_null(strstr(sums, "  throughput.png"));
    assert_non_null(strstr(sums, "  throughput.svg"));
    free(sums);
}

/* nbcl as its own reference: the row, its whole-process timing and the comparison */
static void test_bundle_with_process_and_reference(void **state)
{
    (void)state;
    char opts[2048];
    snprintf(opts, sizeof opts, "--repeats 2 --ref-repeats 2 --precision double --reference %s",
             nbcl_test_bin("nbcl"));
    const char *dir = run_bench("b1", opts, 0);

    json_object *res = load_json(dir, "perf_results.json");
    json_object *rows = get(res, "rows");
    assert_int_equal(json_object_array_length(rows), 1);
    json_object *r = json_object_array_get_idx(rows, 0);
    assert_string_equal(json_object_get_string(get(r, "status")), "ok");
    /* the same program, precision and argv: the same image, bit for bit */
    assert_true(json_object_get_double(get(r, "correlation_warm")) == 1.0);
    assert_true(json_object_get_double(get(r, "sum_ratio")) == 1.0);

    json_object *p = get(r, "process");
    assert_string_equal(json_object_get_string(get(p, "status")), "ok");
    const char *cmd = json_object_get_string(get(p, "command"));
    assert_non_null(strstr(cmd, "/nbcl -cell 100 100 100"));
    assert_non_null(strstr(cmd, "-precision double"));
    assert_non_null(strstr(cmd, "-device "));
    assert_non_null(strstr(cmd, "-floatfile nbcl_float.bin"));
    /* peak memory of the child: at least the 48x48 image, and below 4 GB */
    double rss = json_object_get_double(get(p, "max_rss_bytes"));
    assert_true(rss > 48.0 * 48 * 4 && rss < 4e9);
    json_object *warm = get(p, "warm_s");
    assert_int_equal(json_object_get_int(get(warm, "n")), 2);
    double t_proc = json_object_get_double(get(r, "nbcl_process_time_s"));
    double t_ref = json_object_get_double(get(r, "reference_time_s"));
    double sp = json_object_get_double(get(r, "speedup_process"));
    assert_true(t_proc > 0 && t_proc < 60);
    assert_true(t_ref > 0 && t_ref < 60);
    assert_true(fabs(sp - t_ref / t_proc) <= 1e-9 * sp);
    /* the whole process includes process start, device start and files: more than one warm
     * in-process render of the same image */
    double t_warm = json_object_get_double(get(get(get(r, "warm"), "wall_s"), "median"));
    assert_true(t_proc > t_warm);

    char *md = read_text(dir, "perf_summary.md");
    assert_non_null(strstr(md, "speed-up process"));
    free(md);

    /* sha256.txt names perf_results.json with its digest */
    char *sums = read_text(dir, "sha256.txt");
    char path[4096];
    snprintf(path, sizeof path, "%s/perf_results.json", dir);
    size_t len = 0;
    void *data = nbcl_test_read_file(path, &len);
    assert_non_null(data);
    char hex[65];
    nbcl__sha256_hex(data, len, hex);
    char line[200];
    snprintf(line, sizeof line, "%s  perf_results.json", hex);
    assert_non_null(strstr(sums, line));
    free(data);
    free(sums);
    json_object_put(res);

    json_object *env = load_json(dir, "env.json");
    assert_true(json_object_array_length(get(env, "devices")) >= 1);
    json_object_put(env);
    check_charts(dir);
}

/* --no-process: no whole-process runs, nulls in their place; no reference: no speed-ups.
 * --peak: the device's measured FMA peak in env.json, the row's kernel set against it */
static void test_no_process_and_peak(void **state)
{
    (void)state;
    const char *dir =
        run_bench("b2", "--no-reference --no-process --peak --repeats 1 --precision single", 0);
    json_object *res = load_json(dir, "perf_results.json");
    json_object *r = json_object_array_get_idx(get(res, "rows"), 0);
    assert_string_equal(json_object_get_string(get(r, "status")), "ok");
    assert_true(json_object_is_type(get(r, "process"), json_type_null));
    assert_true(json_object_is_type(get(r, "speedup_process"), json_type_null));
    assert_true(json_object_is_type(get(r, "reference_time_s"), json_type_null));
    /* a lattice-factor row: a fraction of the peak, above 0 and below all of it */
    double pf = json_object_get_double(get(get(r, "throughput"), "peak_fraction"));
    assert_true(pf > 0 && pf < 1);
    json_object_put(res);

    json_object *env = load_json(dir, "env.json");
    json_object *peaks = get(json_object_array_get_idx(get(env, "devices"), 0), "measured_peak");
    assert_int_equal(json_object_array_length(peaks), 1);
    json_object *pk = json_object_array_get_idx(peaks, 0);
    assert_string_equal(json_object_get_string(get(pk, "precision")), "single");
    assert_string_equal(json_object_get_string(get(pk, "status")), "ok");
    double flops = json_object_get_double(get(pk, "flops_per_s"));
    assert_true(flops > 1e8 && flops < 1e16);
    json_object_put(env);
    char *md = read_text(dir, "perf_summary.md");
    assert_non_null(strstr(md, "## Against the measured peak"));
    free(md);
}

/* a reference that runs and fails: exit 1, the bundle still written, the failure recorded; one
 * that is no executable: a usage error (2) before any work */
static void test_reference_failure(void **state)
{
    (void)state;
    const char *dir =
        run_bench("b3", "--no-process --repeats 1 --precision single --reference /bin/false", 1);
    json_object *res = load_json(dir, "perf_results.json");
    json_object *r = json_object_array_get_idx(get(res, "rows"), 0);
    assert_string_equal(json_object_get_string(get(r, "status")), "ok");
    json_object *ref = get(r, "reference");
    assert_string_equal(json_object_get_string(get(ref, "status")), "error");
    assert_non_null(strstr(json_object_get_string(get(ref, "error")), "exited with status 1"));
    assert_true(json_object_is_type(get(r, "speedup_warm"), json_type_null));
    json_object_put(res);

    run_bench("b4", "--reference /nonexistent/nb", 2);
}

/* --series: nbcl -nframes against nbcl and a "reference" (nbcl again) once per frame; every
 * point measured, the table and the JSON written; no case rows without --case or -- */
static void test_series(void **state)
{
    (void)state;
    const char *dir = outdir("b5");
    snprintf(g_cmd, sizeof g_cmd,
             "%s --quiet --series 3 --sizes 32 --precision single --ref-repeats 1 --reference %s "
             "--outdir %s > %s.log 2>&1",
             nbcl_test_bin("nbcl-bench"), nbcl_test_bin("nbcl"), dir, dir);
    if (nbcl_test_run(g_cmd) != 0)
        fail_msg("%s failed (log: %s.log)", g_cmd, dir);
    json_object *res = load_json(dir, "series.json");
    assert_int_equal(json_object_get_int(get(res, "frames")), 3);
    assert_int_equal(json_object_get_int(get(res, "size")), 32);
    json_object *pts = get(res, "points");
    assert_int_equal(json_object_array_length(pts), 3);
    int seen = 0;
    for (size_t i = 0; i < 3; i++) {
        json_object *p = json_object_array_get_idx(pts, i);
        const char *how = json_object_get_string(get(p, "how"));
        seen |= !strcmp(how, "nbcl-series") ? 1 : !strcmp(how, "nbcl-per-frame") ? 2
              : !strcmp(how, "reference-per-frame") ? 4 : 0;
        assert_string_equal(json_object_get_string(get(p, "status")), "ok");
        assert_string_equal(json_object_get_string(get(p, "precision")), "single");
        double w = json_object_get_double(get(p, "wall_s"));
        assert_true(w > 0 && w < 600);
        assert_true(fabs(json_object_get_double(get(p, "frames_per_s")) * w - 3) < 1e-2);
        assert_true(json_object_get_double(get(p, "series_speedup")) > 0);
    }
    assert_int_equal(seen, 7);
    json_object_put(res);
    char *md = read_text(dir, "series.md");
    assert_non_null(strstr(md, "| nbcl-series |"));
    assert_non_null(strstr(md, "| reference-per-frame |"));
    free(md);
    json_object *pr = load_json(dir, "perf_results.json");
    assert_int_equal(json_object_array_length(get(pr, "rows")), 0);
    json_object_put(pr);
}

/* the exit codes of docs/exit_codes.md ("nbcl-bench") beyond 0 and 1: 2 for usage errors found
 * before any work (no bundle folder made), 3 for a bundle folder that cannot be made, 130 on
 * SIGINT with the bundle written (issue 14 class 8) */
static void test_documented_exit_codes(void **state)
{
    (void)state;
    struct {
        const char *name, *opts, *env, *needle;
    } usage[] = {
        {"u1", "--reference /nonexistent/nb", "", "does not exist"},
        {"u2", NULL, "", "is a folder"}, /* --reference <a folder>: filled in below */
        {"u3", "--frobnicate", "", "--frobnicate"},
        {"u4", "--sizes 0", "", "--sizes"},
        {"u5", "--case nosuchcase", "", "nosuchcase"},
        {"u6", "", "NBCL_STATS=gpu", "NBCL_STATS"},
        {"u7", "--formats --series 2", "", "--series"}, /* --formats would drop the series */
        {"u8", "--formats --scaling", "", "--scaling"},
    };
    char folder_opt[2200];
    snprintf(folder_opt, sizeof folder_opt, "--reference %s", nbcl_test_tmpdir());
    usage[1].opts = folder_opt;
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        const char *dir = outdir(usage[i].name);
        snprintf(g_cmd, sizeof g_cmd, "rm -rf %s; %s %s --quiet %s --outdir %s " CASE_ARGV
                 " > %s.log 2>&1", dir, usage[i].env, nbcl_test_bin("nbcl-bench"),
                 usage[i].opts, dir, dir);
        int rc = nbcl_test_run(g_cmd);
        if (rc != 2)
            fail_msg("%s: exit %d, expected 2", g_cmd, rc);
        char log[2100];
        snprintf(log, sizeof log, "%s.log", dir);
        char *t = nbcl_test_read_file(log, NULL);
        assert_non_null(t);
        if (!strstr(t, usage[i].needle))
            fail_msg("%s: the message does not name '%s': %s", g_cmd, usage[i].needle, t);
        free(t);
        FILE *f = fopen(dir, "r");
        if (f) {
            fclose(f);
            fail_msg("%s: the bundle folder was made for a usage error", g_cmd);
        }
    }
    /* a bundle folder below a regular file: 3 */
    const char *file = outdir("plainfile");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(g_cmd, sizeof g_cmd, "%s --quiet --no-reference --outdir %s/sub " CASE_ARGV
             " > %s.log 2>&1", nbcl_test_bin("nbcl-bench"), file, file);
    assert_int_equal(nbcl_test_run(g_cmd), 3);
    /* a case whose image is infinite: the row fails with the cause (exit 1), nothing timed */
    const char *inf = outdir("infinite");
    snprintf(g_cmd, sizeof g_cmd,
             "rm -rf %s; %s --quiet --no-reference --no-process --repeats 1 --outdir %s -- "
             "-cell 100 100 100 90 90 90 -default_F 1e200 -detpixels 16 -nopgm -nonoise "
             "-noprogress > %s.log 2>&1", inf, nbcl_test_bin("nbcl-bench"), inf, inf);
    assert_int_equal(nbcl_test_run(g_cmd), 1);
    json_object *ir = load_json(inf, "perf_results.json");
    json_object *row = json_object_array_get_idx(get(ir, "rows"), 0);
    assert_string_equal(json_object_get_string(get(row, "status")), "error");
    assert_non_null(strstr(json_object_get_string(get(row, "error")), "infinite pixels"));
    json_object_put(ir);
    /* SIGINT during the repeats: 130, and the bundle holds what finished */
    const char *dir = outdir("sigint");
    snprintf(g_cmd, sizeof g_cmd,
             "rm -rf %s; %s --quiet --no-reference --no-process --repeats 100000 --outdir %s "
             CASE_ARGV " > %s.log 2>&1 & pid=$!; sleep 2; kill -INT $pid; wait $pid",
             dir, nbcl_test_bin("nbcl-bench"), dir, dir);
    assert_int_equal(nbcl_test_run(g_cmd), 130);
    json_object *res = load_json(dir, "perf_results.json");
    json_object_put(res);
}

int main(void)
{
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_with_process_and_reference),
        cmocka_unit_test(test_no_process_and_peak),
        cmocka_unit_test(test_reference_failure),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_documented_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
