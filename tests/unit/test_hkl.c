/* HKL text reader and Fdump.bin: ranges, default_F fill, duplicates, malformed lines with their
 * line numbers, and the Fdump layout (header, padding planes, exact size) through a round trip. */
#include "nbcl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_err[1024];

static const char *tmp_path(const char *name)
{
    static char buf[4][4096];
    static int slot;
    char *p = buf[slot++ & 3];
    snprintf(p, 4096, "%s/%s", nbcl_test_tmpdir(), name);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static double F_at(const nbcl_hkl_grid *g, int h, int k, int l)
{
    assert_true(h >= g->h_min && h <= g->h_max);
    assert_true(k >= g->k_min && k <= g->k_max);
    assert_true(l >= g->l_min && l <= g->l_max);
    return g->F[((size_t)(h - g->h_min) * g->k_range + (size_t)(k - g->k_min)) * g->l_range +
                (size_t)(l - g->l_min)];
}

static void test_ranges_and_default(void **state)
{
    (void)state;
    const char *p = write_text("small.hkl", "# h k l F\n"
                                            "-1 0 0 10.5\n"
                                            "\n"
                                            "   0 0 0 20   # trailing comment\r\n"
                                            "1\t2 -3 30\n"
                                            "1.0000000001 2e0 -3 31\n" /* duplicate, integer-valued */
                                            "0 1 -1 -4.25");           /* no final newline */
    nbcl_hkl_grid g;
    assert_int_equal(nbcl_read_hkl(p, 7.0, &g, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(g.h_min, -1);
    assert_int_equal(g.h_max, 1);
    assert_int_equal(g.k_min, 0);
    assert_int_equal(g.k_max, 2);
    assert_int_equal(g.l_min, -3);
    assert_int_equal(g.l_max, 0);
    assert_int_equal(g.h_range, 3);
    assert_int_equal(g.k_range, 3);
    assert_int_equal(g.l_range, 4);
    assert_int_equal(g.count, 5); /* entries read, duplicates included (the reference's hkls) */
    assert_close(F_at(&g, -1, 0, 0), 10.5, 0, 0);
    assert_close(F_at(&g, 0, 0, 0), 20, 0, 0);
    assert_close(F_at(&g, 1, 2, -3), 31, 0, 0); /* later duplicate wins */
    assert_close(F_at(&g, 0, 1, -1), -4.25, 0, 0);
    /* everything else is default_F */
    int defaults = 0;
    for (size_t i = 0; i < (size_t)g.h_range * g.k_range * g.l_range; i++)
        defaults += (g.F[i] == 7.0);
    assert_int_equal(defaults, 3 * 3 * 4 - 4);
    nbcl_hkl_free(&g);
    assert_null(g.F);
    nbcl_hkl_free(NULL);

    /* default_F 0: unspecified entries are 0; a single reflection gives 1x1x1 */
    p = write_text("one.hkl", "5 -6 7 100\n");
    assert_int_equal(nbcl_read_hkl(p, 0.0, &g, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(g.h_range * g.k_range * g.l_range, 1);
    assert_int_equal(g.h_min, 5);
    assert_int_equal(g.k_max, -6);
    assert_close(g.F[0], 100, 0, 0);
    nbcl_hkl_free(&g);

    p = write_text("two.hkl", "0 0 0 1\n2 0 0 3\n");
    assert_int_equal(nbcl_read_hkl(p, 0.0, &g, g_err, sizeof g_err), NBCL_OK);
    assert_close(F_at(&g, 1, 0, 0), 0.0, 0, 0);
    nbcl_hkl_free(&g);
}

static void expect_parse_error(const char *name, const char *text, const char *needle)
{
    const char *p = write_text(name, text);
    nbcl_hkl_grid g;
    g_err[0] = 0;
    nbcl_status st = nbcl_read_hkl(p, 1.0, &g, g_err, sizeof g_err);
    if (st != NBCL_PARSE)
        fail_msg("%s: status %d, expected NBCL_PARSE (%s)", name, (int)st, g_err);
    assert_null(g.F);
    if (!strstr(g_err, needle))
        fail_msg("%s: message '%s' lacks '%s'", name, g_err, needle);
    if (!strstr(g_err, name))
        fail_msg("%s: message '%s' does not name the file", name, g_err);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_parse_error("word.hkl", "1 2 3 4\n\n# c\n1 2 abc 4\n",
                       "word.hkl:4: expected 4 numbers (h k l F), got 'abc'");
    expect_parse_error("short.hkl", "1 2 3 4\n1 2 3\n", "short.hkl:2: expected 4 numbers (h k l F), got 3");
    {
        /* AT-IO-004: extra columns (sigma, phase) are ignored */
        nbcl_hkl_grid g;
        const char *p = write_text("long.hkl", "1 2 3 4 0.5 90\n-1 2 3 7 0.1 0\n");
        assert_int_equal(nbcl_read_hkl(p, 0.0, &g, g_err, sizeof g_err), NBCL_OK);
        assert_int_equal(g.h_min, -1);
        assert_int_equal(g.h_range, 3);
        assert_close(g.F[((1 - g.h_min) * g.k_range) * g.l_range], 4.0, 0, 0);
        assert_close(g.F[0], 7.0, 0, 0);
        nbcl_hkl_free(&g);
    }
    expect_parse_error("frac.hkl", "0 0 0 1\n0 0 0 1\n1.5 0 0 3\n", "frac.hkl:3: h index '1.5' is not an integer");
    expect_parse_error("fracl.hkl", "0 0 0.001 1\n", "fracl.hkl:1: l index '0.001' is not an integer");
    expect_parse_error("nanF.hkl", "0 0 0 nan\n", "nanF.hkl:1: F 'nan' is not a finite number");
    expect_parse_error("infF.hkl", "0 0 0 1\n0 0 1 -inf\n", "infF.hkl:2:");
    expect_parse_error("huge.hkl", "0 0 1e12 1\n", "huge.hkl:1: l index");
    expect_parse_error("glued.hkl", "0 0 0 1.0x\n", "glued.hkl:1: expected 4 numbers (h k l F), got '1.0x'");
    expect_parse_error("empty.hkl", "", "no reflections");
    expect_parse_error("comments.hkl", "# only\n\n   \n#x\n", "no reflections");

    nbcl_hkl_grid g;
    g_err[0] = 0;
    assert_int_equal(nbcl_read_hkl(tmp_path("missing.hkl"), 1.0, &g, g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "missing.hkl"));
    assert_non_null(strstr(g_err, "No such file"));
}

/* ---- Fdump */

static void test_fdump_roundtrip(void **state)
{
    (void)state;
    const char *p = write_text("fd.hkl", "-2 1 0 1.5\n0 3 2 2.5\n1 2 1 -3.25\n-1 1 1 1e-300\n");
    nbcl_hkl_grid g;
    assert_int_equal(nbcl_read_hkl(p, 9.0, &g, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(g.h_range, 4); /* -2..1 */
    assert_int_equal(g.k_range, 3); /* 1..3 */
    assert_int_equal(g.l_range, 3); /* 0..2 */

    const char *fd = tmp_path("Fdump.bin");
    assert_int_equal(nbcl_write_fdump(fd, &g, g_err, sizeof g_err), NBCL_OK);
    size_t len = 0;
    unsigned char *d = nbcl_test_read_file(fd, &len);
    assert_non_null(d);
    const char *head = "-2 1 1 3 0 2\n\f";
    size_t hl = strlen(head);
    assert_memory_equal(d, head, hl);
    assert_int_equal(len, hl + (size_t)(4 + 1) * (3 + 1) * (3 + 1) * sizeof(double));
    /* layout: [h][k][l] with (range+1) extents, padding zero */
    /* the header is 14 bytes, so doubles are unaligned: memcpy each */
    for (int h = 0; h <= 4; h++)
        for (int k = 0; k <= 3; k++)
            for (int l = 0; l <= 3; l++) {
                double x;
                memcpy(&x, d + hl + ((size_t)(h * 4 + k) * 4 + (size_t)l) * sizeof(double), sizeof x);
                double expect = (h == 4 || k == 3 || l == 3)
                                    ? 0.0
                                    : F_at(&g, g.h_min + h, g.k_min + k, g.l_min + l);
                assert_memory_equal(&x, &expect, sizeof x);
            }
    free(d);

    nbcl_hkl_grid r;
    assert_int_equal(nbcl_read_fdump(fd, &r, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(r.h_min, g.h_min);
    assert_int_equal(r.h_max, g.h_max);
    assert_int_equal(r.k_min, g.k_min);
    assert_int_equal(r.k_max, g.k_max);
    assert_int_equal(r.l_min, g.l_min);
    assert_int_equal(r.l_max, g.l_max);
    assert_int_equal(r.h_range, g.h_range);
    assert_int_equal(r.k_range, g.k_range);
    assert_int_equal(r.l_range, g.l_range);
    assert_int_equal(r.count, (size_t)4 * 3 * 3); /* the reference: h_range*k_range*l_range */
    assert_memory_equal(r.F, g.F, sizeof(double) * 4 * 3 * 3);
    nbcl_hkl_free(&r);

    /* 1x1x1 grid */
    nbcl_hkl_grid one;
    p = write_text("one_fd.hkl", "3 3 3 42\n");
    assert_int_equal(nbcl_read_hkl(p, 0, &one, g_err, sizeof g_err), NBCL_OK);
    fd = tmp_path("Fdump1.bin");
    assert_int_equal(nbcl_write_fdump(fd, &one, g_err, sizeof g_err), NBCL_OK);
    d = nbcl_test_read_file(fd, &len);
    assert_non_null(d);
    assert_int_equal(len, strlen("3 3 3 3 3 3\n\f") + 8 * 8);
    free(d);
    assert_int_equal(nbcl_read_fdump(fd, &r, g_err, sizeof g_err), NBCL_OK);
    assert_close(r.F[0], 42, 0, 0);
    nbcl_hkl_free(&r);
    nbcl_hkl_free(&one);

    /* corrupt variants */
    d = nbcl_test_read_file(tmp_path("Fdump.bin"), &len);
    assert_non_null(d);
    const char *bad = tmp_path("bad.bin");
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    fwrite(d, 1, len - 1, f); /* one byte short */
    fclose(f);
    g_err[0] = 0;
    assert_int_equal(nbcl_read_fdump(bad, &r, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "does not match"));
    assert_null(r.F);
    f = fopen(bad, "wb");
    fwrite(d, 1, len, f);
    fputc(0, f); /* one byte long */
    fclose(f);
    assert_int_equal(nbcl_read_fdump(bad, &r, g_err, sizeof g_err), NBCL_PARSE);
    free(d);

    write_text("bad.bin", "1 2 3 4 5\n\f");
    assert_int_equal(nbcl_read_fdump(bad, &r, g_err, sizeof g_err), NBCL_PARSE);
    write_text("bad.bin", "0 0 0 0 0 0\n"); /* no form feed */
    assert_int_equal(nbcl_read_fdump(bad, &r, g_err, sizeof g_err), NBCL_PARSE);
    write_text("bad.bin", "1 0 0 0 0 0\n\f"); /* h_max < h_min */
    assert_int_equal(nbcl_read_fdump(bad, &r, g_err, sizeof g_err), NBCL_PARSE);
    write_text("bad.bin", "-5 -5 -5 -5 -5 -5\n\f"); /* no data */
    assert_int_equal(nbcl_read_fdump(bad, &r, g_err, sizeof g_err), NBCL_PARSE);
    g_err[0] = 0;
    assert_int_equal(nbcl_read_fdump(tmp_path("nofdump.bin"), &r, g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "nofdump.bin"));
    assert_non_null(strstr(g_err, "No such file"));

    /* writer refuses an inconsistent grid */
    nbcl_hkl_grid broken = g;
    broken.h_range = 7;
    assert_int_equal(nbcl_write_fdump(tmp_path("x.bin"), &broken, g_err, sizeof g_err),
                     NBCL_INVALID_ARGUMENT);
    nbcl_hkl_free(&g);
}

/* ---- the golden inputs: counts as the reference printed them, values as in the file */
static void check_golden_hkl(const char *gd, const char *file, const char *case_dir,
                             double default_F)
{
    char path[4200], out[4200];
    snprintf(path, sizeof path, "%s/inputs/%s", gd, file);
    snprintf(out, sizeof out, "%s/%s/stdout.txt", gd, case_dir);
    char *text = nbcl_test_read_file(out, NULL);
    if (!text)
        skip();
    const char *at = strstr(text, " initialized hkls");
    assert_non_null(at);
    while (at > text && at[-1] != '\n')
        at--;
    int expect = -1;
    assert_int_equal(sscanf(at, "%d", &expect), 1);
    free(text);

    nbcl_hkl_grid g;
    assert_int_equal(nbcl_read_hkl(path, default_F, &g, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(g.count, (size_t)expect);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int h, k, l;
    double F;
    size_t n = 0;
    while (fscanf(f, "%d %d %d %lg", &h, &k, &l, &F) == 4) {
        assert_close(F_at(&g, h, k, l), F, 0, 0);
        n++;
    }
    fclose(f);
    assert_int_equal(n, g.count);
    nbcl_hkl_free(&g);
}

static void test_golden_inputs(void **state)
{
    (void)state;
    const char *gd = nbcl_test_golden_dir();
    if (!gd)
        skip();
    check_golden_hkl(gd, "sparse.hkl", "p06_nearest_sparse_hkl", 20);
    check_golden_hkl(gd, "P1_gen.hkl", "p05_tricubic_hkl", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_and_default),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_fdump_roundtrip),
        cmocka_unit_test(test_golden_inputs),
    };
    return cmocka_run_group_tests_name("hkl", tests, NULL, NULL);
}
