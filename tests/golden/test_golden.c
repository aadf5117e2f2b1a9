/* Golden parity: every case directory of the golden set (a directory holding args.txt) is run
 * through the nbcl command line in a fresh working directory (with `inputs` -> <golden>/inputs),
 * once with -precision double and once with -precision single, and compared with the reference
 * nanoBragg outputs:
 *   float.bin: Pearson correlation >= 0.99999 and |sum ratio - 1| <= 1e-5 (double),
 *              >= 0.9999 and <= 1e-3 (single); same size; no NaN/Inf;
 *   int.img:   same file size, and every SMV header key with the same value (numbers compared
 *              with a tolerance of one unit in the 6th significant digit, as %g prints them).
 * The case list is discovered at run time, so unseen cases are tested too (one cmocka test per
 * case x precision). The golden directory is env NBCL_GOLDEN_DIR, else the build default. */
#include "nbcl_test.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct gcase {
    char name[160];      /* "<case>/<precision>" (the cmocka test name) */
    char id[128];        /* case directory name */
    char refdir[4096];
    int dbl;             /* 1: -precision double, 0: single */
    int ran;             /* 1 once compared */
    int skipped;
    double corr, ratio;
} gcase;

static const char *g_golden;
static gcase *g_cases;
static size_t g_ncases;

/* ------------------------------------------------------------------ helpers */

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static long file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (long)st.st_size;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Split args.txt into whitespace-separated tokens (the golden args are plain words). */
static int split_args(char *text, char **tok, int cap)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(text, " \t\r\n", &save); t && n < cap; t = strtok_r(NULL, " \t\r\n", &save))
        tok[n++] = t;
    return n;
}

/* Append a shell single-quoted word to buf. */
static void append_quoted(char *buf, size_t cap, const char *word)
{
    size_t len = strlen(buf);
    if (len + 3 >= cap)
        return;
    buf[len++] = ' ';
    buf[len++] = '\'';
    for (const char *p = word; *p && len + 6 < cap; p++) {
        if (*p == '\'') {
            memcpy(buf + len, "'\\''", 4);
            len += 4;
        } else {
            buf[len++] = *p;
        }
    }
    buf[len++] = '\'';
    buf[len] = 0;
}

/* ---- SMV headers: "KEY=VALUE;" lines between "{" and "}" */
#define MAXKEYS 128
typedef struct smv_kv {
    int n;
    char key[MAXKEYS][64];
    char val[MAXKEYS][256];
} smv_kv;

static int parse_header(const char *path, smv_kv *kv, char *why, size_t whylen)
{
    memset(kv, 0, sizeof *kv);
    size_t len = 0;
    char *buf = nbcl_test_read_file(path, &len);
    if (!buf) {
        snprintf(why, whylen, "cannot read %s", path);
        return 0;
    }
    const char *end = memchr(buf, '}', len);
    if (buf[0] != '{' || !end) {
        snprintf(why, whylen, "%s: not an SMV header", path);
        free(buf);
        return 0;
    }
    const char *p = buf + 1;
    while (p < end) {
        const char *eol = p;
        while (eol < end && *eol != '\n')
            eol++;
        const char *eq = memchr(p, '=', (size_t)(eol - p));
        if (eq && kv->n < MAXKEYS) {
            const char *k0 = p, *k1 = eq;
            while (k0 < k1 && (*k0 == ' ' || *k0 == '\t' || *k0 == '\r'))
                k0++;
            while (k1 > k0 && (k1[-1] == ' ' || k1[-1] == '\t'))
                k1--;
            const char *v0 = eq + 1, *v1 = eol;
            const char *semi = memchr(v0, ';', (size_t)(eol - v0));
            if (semi)
                v1 = semi;
            while (v0 < v1 && (*v0 == ' ' || *v0 == '\t'))
                v0++;
            while (v1 > v0 && (v1[-1] == ' ' || v1[-1] == '\t' || v1[-1] == '\r'))
                v1--;
            snprintf(kv->key[kv->n], sizeof kv->key[0], "%.*s", (int)(k1 - k0), k0);
            snprintf(kv->val[kv->n], sizeof kv->val[0], "%.*s", (int)(v1 - v0), v0);
            kv->n++;
        }
        p = eol + 1;
    }
    free(buf);
    return 1;
}

/* Values equal: comma-separated lists of numbers within one unit of the 6th significant digit
 * (plus a tiny absolute term for values that print as ~0), else identical text. */
static int values_equal(const char *a, const char *b)
{
    char ca[256], cb[256];
    snprintf(ca, sizeof ca, "%s", a);
    snprintf(cb, sizeof cb, "%s", b);
    char *sa = NULL, *sb = NULL;
    char *ta = strtok_r(ca, ",", &sa), *tb = strtok_r(cb, ",", &sb);
    int numeric = 1;
    while (ta && tb) {
        char *ea, *eb;
        double x = strtod(ta, &ea), y = strtod(tb, &eb);
        if (ea == ta || eb == tb || *ea || *eb) {
            numeric = 0;
            break;
        }
        double tol = 1e-6 + 1.5e-5 * (fabs(x) > fabs(y) ? fabs(x) : fabs(y));
        if (!(fabs(x - y) <= tol))
            return 0;
        ta = strtok_r(NULL, ",", &sa);
        tb = strtok_r(NULL, ",", &sb);
    }
    if (numeric)
        return ta == NULL && tb == NULL;
    return strcmp(a, b) == 0;
}

static void rm_rf_case(const char *dir)
{
    static const char *names[] = {"float.bin", "int.img", "stdout.txt", "stderr.txt", "Fdump.bin",
                                  "image.pgm", "noiseimage.img", "floatimage.bin",
                                  "intimage.img"};
    char p[8192];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/inputs", dir);
    unlink(p);
    rmdir(dir);
}

/* ------------------------------------------------------------------ the test */

static void test_case(void **state)
{
    gcase *gc = (gcase *)*state;
    char cmd[16384], path[8192], refpath[8192], why[512];

    /* fresh working directory with inputs -> <golden>/inputs */
    char work[4096];
    snprintf(work, sizeof work, "%s/golden_%s_%s", nbcl_test_tmpdir(), gc->id,
             gc->dbl ? "double" : "single");
    rm_rf_case(work);
    if (mkdir(work, 0755) != 0 && errno != EEXIST)
        fail_msg("cannot create %s: %s", work, strerror(errno));
    char inputs[8192], link[8192];
    snprintf(inputs, sizeof inputs, "%s/inputs", g_golden);
    snprintf(link, sizeof link, "%s/inputs", work);
    if (is_dir(inputs) && symlink(inputs, link) != 0)
        fail_msg("symlink %s -> %s: %s", link, inputs, strerror(errno));

    /* argv: args.txt + -precision X (+ -nonoise -nopgm when absent) */
    snprintf(path, sizeof path, "%s/args.txt", gc->refdir);
    char *text = nbcl_test_read_file(path, NULL);
    assert_non_null(text);
    char *tok[512];
    int n = split_args(text, tok, 512);
    assert_true(n > 0);
    int has_nonoise = 0, has_nopgm = 0;
    snprintf(cmd, sizeof cmd, "cd");
    append_quoted(cmd, sizeof cmd, work);
    strncat(cmd, " &&", sizeof cmd - strlen(cmd) - 1);
    append_quoted(cmd, sizeof cmd, nbcl_test_bin("nbcl"));
    for (int i = 0; i < n; i++) {
        if (strcmp(tok[i], "-nonoise") == 0)
            has_nonoise = 1;
        if (strcmp(tok[i], "-nopgm") == 0)
            has_nopgm = 1;
        append_quoted(cmd, sizeof cmd, tok[i]);
    }
    free(text);
    append_quoted(cmd, sizeof cmd, "-precision");
    append_quoted(cmd, sizeof cmd, gc->dbl ? "double" : "single");
    if (!has_nonoise)
        append_quoted(cmd, sizeof cmd, "-nonoise");
    if (!has_nopgm)
        append_quoted(cmd, sizeof cmd, "-nopgm");
    strncat(cmd, " > stdout.txt 2> stderr.txt", sizeof cmd - strlen(cmd) - 1);

    int rc = nbcl_test_run(cmd);
    if (rc != 0) {
        snprintf(path, sizeof path, "%s/stderr.txt", work);
        char *err = nbcl_test_read_file(path, NULL);
        if (rc == 5 && gc->dbl && err && strstr(err, "double precision")) {
            printf("golden %-36s double: device lacks fp64: skipping\n", gc->id);
            gc->skipped = 1;
            free(err);
            skip();
        }
        fail_msg("nbcl exited %d for %s (%s): %s", rc, gc->id, gc->dbl ? "double" : "single",
                 err ? err : "(no stderr)");
    }

    /* float image */
    float *ours = NULL, *ref = NULL;
    size_t n_ours = 0, n_ref = 0;
    char err[1024];
    snprintf(path, sizeof path, "%s/float.bin", work);
    snprintf(refpath, sizeof refpath, "%s/float.bin", gc->refdir);
    if (nbcl_read_float(path, &ours, &n_ours, err, sizeof err) != NBCL_OK)
        fail_msg("%s: %s", gc->id, err);
    if (nbcl_read_float(refpath, &ref, &n_ref, err, sizeof err) != NBCL_OK)
        fail_msg("%s: %s", gc->id, err);
    if (n_ours != n_ref)
        fail_msg("%s: float image has %zu pixels, reference %zu", gc->id, n_ours, n_ref);
    double sa = 0, sb = 0;
    size_t nonfinite = 0;
    for (size_t i = 0; i < n_ref; i++) {
        if (!isfinite(ours[i]))
            nonfinite++;
        sa += ours[i];
        sb += ref[i];
    }
    double ma = sa / (double)n_ref, mb = sb / (double)n_ref, cab = 0, caa = 0, cbb = 0;
    for (size_t i = 0; i < n_ref; i++) {
        double da = ours[i] - ma, db = ref[i] - mb;
        cab += da * db;
        caa += da * da;
        cbb += db * db;
    }
    free(ours);
    free(ref);
    double corr = (caa > 0 && cbb > 0) ? cab / sqrt(caa * cbb) : (caa == cbb ? 1.0 : 0.0);
    double ratio = sb != 0 ? sa / sb : (sa == 0 ? 1.0 : INFINITY);
    gc->corr = corr;
    gc->ratio = ratio;
    gc->ran = 1;
    printf("golden %-36s %-6s corr=%.12f (1-corr %.2e) sum_ratio=%.12f (|ratio-1| %.2e)\n",
           gc->id, gc->dbl ? "double" : "single", corr, 1.0 - corr, ratio, fabs(ratio - 1.0));
    fflush(stdout);
    assert_int_equal(nonfinite, 0);
    const double min_corr = gc->dbl ? 0.99999 : 0.9999;
    const double max_dev = gc->dbl ? 1e-5 : 1e-3;
    if (!(corr >= min_corr))
        fail_msg("%s (%s): correlation %.9f < %g", gc->id, gc->dbl ? "double" : "single", corr,
                 min_corr);
    if (!(fabs(ratio - 1.0) <= max_dev))
        fail_msg("%s (%s): sum ratio %.9f deviates by more than %g", gc->id,
                 gc->dbl ? "double" : "single", ratio, max_dev);

    /* SMV int image: size and every header key */
    snprintf(path, sizeof path, "%s/int.img", work);
    snprintf(refpath, sizeof refpath, "%s/int.img", gc->refdir);
    if (is_file(refpath)) {
        long so = file_size(path), sr = file_size(refpath);
        if (so != sr)
            fail_msg("%s: int.img is %ld bytes, reference %ld", gc->id, so, sr);
        static smv_kv kvo, kvr;
        smv_kv *ko = &kvo, *kr = &kvr;
        if (!parse_header(path, ko, why, sizeof why) || !parse_header(refpath, kr, why, sizeof why))
            fail_msg("%s", why);
        if (ko->n != kr->n)
            fail_msg("%s: int.img header has %d keys, reference %d", gc->id, ko->n, kr->n);
        for (int i = 0; i < kr->n; i++) {
            int found = -1;
            for (int j = 0; j < ko->n; j++)
                if (strcmp(ko->key[j], kr->key[i]) == 0)
                    found = j;
            if (found < 0)
                fail_msg("%s: header key %s missing", gc->id, kr->key[i]);
            if (!values_equal(ko->val[found], kr->val[i]))
                fail_msg("%s: header %s=%s, reference %s", gc->id, kr->key[i], ko->val[found],
                         kr->val[i]);
        }
    }
    rm_rf_case(work); /* kept only when the case fails, for inspection */
}

static void test_no_golden(void **state)
{
    (void)state;
    printf("golden dir not found (set NBCL_GOLDEN_DIR): skipping\n");
    skip();
}

/* the comparison functions must reject what they should: a check that cannot fail is a defect */
static void test_header_compare_self_check(void **state)
{
    (void)state;
    assert_true(values_equal("12.85", "12.85"));
    assert_true(values_equal("100", "100.0000"));
    assert_true(values_equal("-12.9,12.9,-100", "-12.9,12.9,-100"));
    assert_true(values_equal("0", "-1e-12"));
    assert_false(values_equal("12.85", "12.86"));
    assert_false(values_equal("-12.9,12.9,-100", "-12.9,12.9"));
    assert_false(values_equal("-12.9,12.9,-100", "-12.9,12.9,-101"));
    assert_true(values_equal("little_endian", "little_endian"));
    assert_false(values_equal("little_endian", "big_endian"));
}

static int has_args(const char *dir)
{
    char p[8192];
    snprintf(p, sizeof p, "%.4000s/args.txt", dir);
    return is_file(p);
}

int main(void)
{
    g_golden = nbcl_test_golden_dir();
    if (!g_golden) {
        const struct CMUnitTest none[] = {cmocka_unit_test(test_no_golden)};
        cmocka_run_group_tests_name("golden", none, NULL, NULL);
        return 77;
    }

    /* enumerate case directories (sorted) */
    DIR *d = opendir(g_golden);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", g_golden);
        return 1;
    }
    char **ids = NULL;
    size_t nid = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", g_golden, de->d_name);
        if (!is_dir(p) || !has_args(p))
            continue;
        if (nid == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(ids, cap * sizeof *ids);
            if (!nn)
                return 1;
            ids = nn;
        }
        ids[nid++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(ids, nid, sizeof *ids, cmp_str);

    g_ncases = nid * 2;
    g_cases = calloc(g_ncases ? g_ncases : 1, sizeof *g_cases);
    struct CMUnitTest *tests = calloc(g_ncases + 1, sizeof *tests);
    if (!g_cases || !tests)
        return 1;
    tests[0] = (struct CMUnitTest)cmocka_unit_test(test_header_compare_self_check);
    for (size_t i = 0; i < nid; i++)
        for (int p = 0; p < 2; p++) {
            gcase *gc = &g_cases[2 * i + p];
            gc->dbl = p == 0;
            snprintf(gc->id, sizeof gc->id, "%s", ids[i]);
            snprintf(gc->refdir, sizeof gc->refdir, "%s/%s", g_golden, ids[i]);
            snprintf(gc->name, sizeof gc->name, "%s/%s", ids[i], gc->dbl ? "double" : "single");
            struct CMUnitTest *t = &tests[1 + 2 * i + p];
            t->name = gc->name;
            t->test_func = test_case;
            t->initial_state = gc;
        }
    printf("golden dir %s: %zu cases\n", g_golden, nid);
    int failed = _cmocka_run_group_tests("golden", tests, g_ncases + 1, NULL, NULL);

    /* the table for the notes: corr and sum ratio, both precisions */
    printf("\n%-36s %12s %12s %12s %12s\n", "case", "1-corr(dbl)", "ratio-1(dbl)",
           "1-corr(sgl)", "ratio-1(sgl)");
    for (size_t i = 0; i < nid; i++) {
        const gcase *a = &g_cases[2 * i], *b = &g_cases[2 * i + 1];
        char c1[32] = "-", r1[32] = "-", c2[32] = "-", r2[32] = "-";
        if (a->ran) {
            snprintf(c1, sizeof c1, "%.3e", 1.0 - a->corr);
            snprintf(r1, sizeof r1, "%+.3e", a->ratio - 1.0);
        }
        if (b->ran) {
            snprintf(c2, sizeof c2, "%.3e", 1.0 - b->corr);
            snprintf(r2, sizeof r2, "%+.3e", b->ratio - 1.0);
        }
        printf("%-36s %12s %12s %12s %12s\n", ids[i], c1, r1, c2, r2);
    }
    for (size_t i = 0; i < nid; i++)
        free(ids[i]);
    free(ids);
    free(tests);
    free(g_cases);
    if (failed == 0)
        rmdir(nbcl_test_tmpdir()); /* empty unless a case failed */
    return failed;
}
