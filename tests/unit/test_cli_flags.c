/* The nbcl flag table itself (cli/args.c, issue 13 item 5): every flag has help, no spelling is
 * used twice, each row's kind, values, destinations, checks and ranges agree, and each row does
 * what it says when parsed (value converted into every destination, sign and range refused with
 * the documented exit codes). The help lists every spelling. */
#include "nbcl_test.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

static const nbcl_cli_flag *table(size_t *n)
{
    const nbcl_cli_flag *f = nbcl_cli_flags(n);
    assert_non_null(f);
    assert_true(*n > 100);
    return f;
}

/* the k-th spelling of a row (k = 0: the name) into buf; 0 when there is none */
static int spelling(const nbcl_cli_flag *f, int k, char *buf, size_t cap)
{
    const char *p = f->names;
    for (;;) {
        size_t len = strcspn(p, " ");
        if (len == 0)
            return 0;
        if (k-- == 0) {
            assert_true(len < cap);
            memcpy(buf, p, len);
            buf[len] = '\0';
            return 1;
        }
        p += len;
        if (*p == ' ')
            p++;
    }
}

static int words(const char *s)
{
    int n = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ')
            p++;
        if (*p)
            n++;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

static void test_names_and_help(void **state)
{
    (void)state;
    size_t n;
    const nbcl_cli_flag *f = table(&n);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        assert_true(spelling(&f[i], 0, name, sizeof name));
        /* single spaces between spellings, none at either end */
        assert_int_not_equal(f[i].names[0], ' ');
        assert_null(strstr(f[i].names, "  "));
        assert_int_not_equal(f[i].names[strlen(f[i].names) - 1], ' ');
        if (!f[i].help || strlen(f[i].help) < 5)
            fail_msg("%s has no help text", name);
        assert_null(strchr(f[i].help, '\n'));
        assert_int_not_equal(f[i].help[strlen(f[i].help) - 1], ' ');
        assert_non_null(f[i].args);
        if (f[i].nargs == 0 && f[i].args[0])
            fail_msg("%s takes no value but shows '%s'", name, f[i].args);
        if (f[i].nargs > 0 && words(f[i].args) != f[i].nargs)
            fail_msg("%s takes %d values but shows '%s'", name, f[i].nargs, f[i].args);
        if (f[i].nargs < 0 && (f[i].kind != NBCL_FLAG_CODE || !f[i].args[0]))
            fail_msg("%s: a variable count needs a handler and shown values", name);
        char sp[64];
        for (int k = 0; spelling(&f[i], k, sp, sizeof sp); k++) {
            if (sp[0] != '-' || strlen(sp) < 2)
                fail_msg("row %s: spelling '%s' is not a flag", name, sp);
            /* found, and found in this row: no spelling belongs to two rows */
            if (nbcl_cli_flag_find(sp) != &f[i])
                fail_msg("'%s' (row %s) is also a spelling of another row", sp, name);
            for (size_t j = 0; j < n; j++) {
                char other[64];
                for (int m = 0; j != i && spelling(&f[j], m, other, sizeof other); m++)
                    if (strcmp(sp, other) == 0)
                        fail_msg("'%s' is spelled by two rows", sp);
            }
        }
    }
    assert_null(nbcl_cli_flag_find("-"));
    assert_null(nbcl_cli_flag_find("-lambd"));  /* exact matches only */
    assert_null(nbcl_cli_flag_find("-lambdas"));
}

static int dst_type_ok(nbcl_cli_kind kind, int nargs, size_t d)
{
    nbcl_cli_dst_type t = NBCL_CLI_DST_TYPE(d);
    switch (kind) {
    case NBCL_FLAG_SET: return t == NBCL_DST_INT || t == NBCL_DST_ENUM || t == NBCL_DST_DOUBLE;
    case NBCL_FLAG_INT: return t == NBCL_DST_INT || (nargs == 1 && t == NBCL_DST_DOUBLE);
    case NBCL_FLAG_LONG: return t == NBCL_DST_LONG;
    case NBCL_FLAG_DOUBLE: return t == NBCL_DST_DOUBLE;
    case NBCL_FLAG_VEC3: return t == NBCL_DST_VEC3;
    case NBCL_FLAG_TEXT: return t == NBCL_DST_TEXT;
    default: return 0;
    }
}

static void test_rows_consistent(void **state)
{
    (void)state;
    size_t n;
    const nbcl_cli_flag *f = table(&n);
    static const int nargs_of[] = {[NBCL_FLAG_SET] = 0, [NBCL_FLAG_LONG] = 1,
                                   [NBCL_FLAG_DOUBLE] = 1, [NBCL_FLAG_VEC3] = 3,
                                   [NBCL_FLAG_TEXT] = 1};
    for (size_t i = 0; i < n; i++) {
        const nbcl_cli_flag *r = &f[i];
        const char *nm = r->names;
        int ndst = 0;
        while (ndst < 3 && r->dst[ndst])
            ndst++;
        for (int k = ndst; k < 3; k++)
            if (r->dst[k])
                fail_msg("%s: a gap in its destinations", nm);
        switch (r->kind) {
        case NBCL_FLAG_CODE:
        case NBCL_FLAG_IGNORE:
            if (ndst || r->raw || r->also)
                fail_msg("%s: a handler or an ignored flag stores nothing itself", nm);
            if ((r->kind == NBCL_FLAG_CODE) != (r->handler != NULL))
                fail_msg("%s: handler and kind disagree", nm);
            if (r->kind == NBCL_FLAG_IGNORE && r->nargs < 1)
                fail_msg("%s: an ignored flag still takes its value", nm);
            break;
        case NBCL_FLAG_INT:
            if (r->nargs < 1 || (r->nargs > 1 && ndst != r->nargs) || ndst < 1)
                fail_msg("%s: %d values for %d destinations", nm, r->nargs, ndst);
            break;
        default:
            if (r->nargs != nargs_of[r->kind] || ndst < 1)
                fail_msg("%s: kind %d with %d values, %d destinations", nm, (int)r->kind,
                         r->nargs, ndst);
            if (r->handler)
                fail_msg("%s: a handler on a table row", nm);
        }
        for (int k = 0; k < ndst; k++)
            if (!dst_type_ok(r->kind, r->nargs, r->dst[k]))
                fail_msg("%s: destination %d has type %d", nm, k, (int)NBCL_CLI_DST_TYPE(r->dst[k]));
        if (r->raw && (r->kind != NBCL_FLAG_DOUBLE || NBCL_CLI_DST_TYPE(r->raw) != NBCL_DST_DOUBLE))
            fail_msg("%s: the raw copy is a double of a number flag", nm);
        if (r->also && NBCL_CLI_DST_TYPE(r->also) != NBCL_DST_INT)
            fail_msg("%s: 'also' sets an int", nm);
        /* conversions and checks only where a number is read */
        if ((r->div != 0 || r->mul != 0) && r->kind != NBCL_FLAG_DOUBLE)
            fail_msg("%s: a unit conversion on a non-number", nm);
        if (r->div < 0 || r->mul < 0)
            fail_msg("%s: negative conversion", nm);
        if (r->check == NBCL_CHECK_NONZERO && r->kind != NBCL_FLAG_VEC3)
            fail_msg("%s: non-zero is a vector check", nm);
        if ((r->check == NBCL_CHECK_POSITIVE || r->check == NBCL_CHECK_NONNEG) &&
            r->kind != NBCL_FLAG_DOUBLE && r->kind != NBCL_FLAG_INT)
            fail_msg("%s: a sign check on a non-number", nm);
        if (r->pivot != NBCL_PIV_NONE && r->kind == NBCL_FLAG_CODE)
            fail_msg("%s: a handler sets its pivot itself", nm);
        /* ranges: ordered, with a unit, on numbers, and not excluding what the sign allows */
        if (r->lo < r->hi) {
            if (r->kind != NBCL_FLAG_DOUBLE || !r->unit || !r->unit[0])
                fail_msg("%s: a range needs a number flag and a unit", nm);
            if (r->check == NBCL_CHECK_POSITIVE && !(r->hi > 0 && r->lo >= 0))
                fail_msg("%s: range [%g, %g] against a positive value", nm, r->lo, r->hi);
            if (r->check == NBCL_CHECK_NONNEG && !(r->lo >= 0))
                fail_msg("%s: range [%g, %g] reaches below the non-negative check", nm, r->lo,
                         r->hi);
        } else if (r->lo != 0 || r->hi != 0 || r->unit) {
            fail_msg("%s: range [%g, %g] is empty or reversed", nm, r->lo, r->hi);
        }
    }
}

/* ------------------------------------------------------------------ behaviour from the rows */
static int parse(nbcl_cli *cli, char *err, int argc, char **argv)
{
    err[0] = '\0';
    return nbcl_cli_parse(argc, argv, cli, err, 1024);
}

static double get_double(const nbcl_cli *cli, size_t d)
{
    const char *p = (const char *)cli + NBCL_CLI_DST_OFFSET(d);
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int get_int(const nbcl_cli *cli, size_t d)
{
    const char *p = (const char *)cli + NBCL_CLI_DST_OFFSET(d);
    int v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void check_double_row(const nbcl_cli_flag *r, const char *nm)
{
    static nbcl_cli cli;
    char err[1024], val[64];
    char *argv[] = {"nbcl", (char *)nm, val, NULL};
    double v = 2.0; /* inside every range, else the range's middle */
    if (r->lo < r->hi && !(v >= r->lo && v <= r->hi))
        v = 0.5 * (r->lo + r->hi);
    snprintf(val, sizeof val, "%.17g", v);
    if (parse(&cli, err, 3, argv) != 0)
        fail_msg("%s %s: %s", nm, val, err);
    double want = v / (r->div ? r->div : 1.0) * (r->mul ? r->mul : 1.0);
    for (int k = 0; k < 3 && r->dst[k]; k++)
        if (get_double(&cli, r->dst[k]) != want)
            fail_msg("%s %s: destination %d holds %g, not %g", nm, val,
                     k, get_double(&cli, r->dst[k]), want);
    if (r->raw)
        assert_true(get_double(&cli, r->raw) == v);
    if (r->also)
        assert_int_equal(get_int(&cli, r->also), r->also_val);
    if (r->check == NBCL_CHECK_POSITIVE) {
        snprintf(val, sizeof val, "0");
        assert_int_equal(parse(&cli, err, 3, argv), NBCL_EXIT_PARAM);
        assert_non_null(strstr(err, "must be positive"));
    }
    if (r->check == NBCL_CHECK_NONNEG) {
        snprintf(val, sizeof val, "-1");
        assert_int_equal(parse(&cli, err, 3, argv), NBCL_EXIT_PARAM);
        assert_non_null(strstr(err, "must not be negative"));
    }
    if (r->lo < r->hi) { /* just past the top of the range */
        snprintf(val, sizeof val, "%.17g", r->hi * 1.5 + 1.0);
        assert_int_equal(parse(&cli, err, 3, argv), NBCL_EXIT_PARAM);
        if (!strstr(err, "outside the range nbcl accepts") || !strstr(err, r->unit))
            fail_msg("%s %s: %s", nm, val, err);
    }
    snprintf(val, sizeof val, "12x");
    assert_int_equal(parse(&cli, err, 3, argv), NBCL_EXIT_USAGE);
    assert_non_null(strstr(err, "is not a number"));
}

static void check_int_row(const nbcl_cli_flag *r, const char *nm)
{
    static nbcl_cli cli;
    char err[1024];
    char *argv[8] = {"nbcl", (char *)nm};
    static char vals[4][16];
    for (int k = 0; k < r->nargs; k++) {
        snprintf(vals[k], sizeof vals[k], "%d", 3 + k);
        argv[2 + k] = vals[k];
    }
    if (parse(&cli, err, 2 + r->nargs, argv) != 0)
        fail_msg("%s: %s", nm, err);
    for (int k = 0; k < 3 && r->dst[k]; k++) {
        int want = r->nargs > 1 ? 3 + k : 3;
        double got = NBCL_CLI_DST_TYPE(r->dst[k]) == NBCL_DST_DOUBLE ? get_double(&cli, r->dst[k])
                                                                     : get_int(&cli, r->dst[k]);
        if (got != want)
            fail_msg("%s: destination %d holds %g, not %d", nm, k, got, want);
    }
    snprintf(vals[0], sizeof vals[0], "2.5");
    assert_int_equal(parse(&cli, err, 2 + r->nargs, argv), NBCL_EXIT_USAGE);
    assert_non_null(strstr(err, "is not an integer"));
    if (r->check == NBCL_CHECK_POSITIVE || r->check == NBCL_CHECK_NONNEG) {
        snprintf(vals[0], sizeof vals[0], r->check == NBCL_CHECK_POSITIVE ? "0" : "-1");
        assert_int_equal(parse(&cli, err, 2 + r->nargs, argv), NBCL_EXIT_PARAM);
        assert_non_null(strstr(err, r->check == NBCL_CHECK_POSITIVE ? "positive integer"
                                                                    : "must not be negative"));
    }
}

static void test_rows_parse_as_declared(void **state)
{
    (void)state;
    size_t n;
    const nbcl_cli_flag *f = table(&n);
    static nbcl_cli cli;
    char err[1024];
    for (size_t i = 0; i < n; i++) {
        const nbcl_cli_flag *r = &f[i];
        char nm[64];
        for (int k = 0; spelling(r, k, nm, sizeof nm); k++) {
            char *argv[] = {"nbcl", nm, "file.x", NULL};
            if (r->nargs != 0) { /* a missing value is a usage error naming the values */
                assert_int_equal(parse(&cli, err, 2, argv), NBCL_EXIT_USAGE);
                if (!strstr(err, "needs") || !strstr(err, r->args))
                    fail_msg("%s alone: %s", nm, err);
            }
            switch (r->kind) {
            case NBCL_FLAG_SET:
                assert_int_equal(parse(&cli, err, 2, argv), 0);
                for (int d = 0; d < 3 && r->dst[d]; d++)
                    assert_true((NBCL_CLI_DST_TYPE(r->dst[d]) == NBCL_DST_DOUBLE
                                     ? get_double(&cli, r->dst[d])
                                     : get_int(&cli, r->dst[d])) == r->ival);
                break;
            case NBCL_FLAG_TEXT: {
                assert_int_equal(parse(&cli, err, 3, argv), 0);
                const char *got;
                memcpy(&got, (const char *)&cli + NBCL_CLI_DST_OFFSET(r->dst[0]), sizeof got);
                assert_ptr_equal(got, argv[2]);
                if (r->also)
                    assert_int_equal(get_int(&cli, r->also), r->also_val);
                break;
            }
            case NBCL_FLAG_DOUBLE: check_double_row(r, nm); break;
            case NBCL_FLAG_INT: check_int_row(r, nm); break;
            default: break;
            }
        }
    }
}

/* nbcl -h is the table: every spelling, and each row's values and help */
static void test_help_from_table(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    nbcl_cli_usage(out);
    fclose(out);
    size_t n;
    const nbcl_cli_flag *f = table(&n);
    for (size_t i = 0; i < n; i++) {
        char nm[64], line[256];
        assert_true(spelling(&f[i], 0, nm, sizeof nm));
        snprintf(line, sizeof line, "\n  %s %s", nm, f[i].args);
        if (!strstr(text, line) || !strstr(text, f[i].help))
            fail_msg("the help lacks %s (%s)", nm, f[i].help);
        for (int k = 1; spelling(&f[i], k, nm, sizeof nm); k++) {
            snprintf(line, sizeof line, " %s", nm);
            if (!strstr(text, line))
                fail_msg("the help lacks the alias %s", nm);
        }
    }
    free(text);
}

/* Units pinned by hand, independent of the table's own div/mul (a row with a wrong conversion
 * would still agree with itself in test_rows_parse_as_declared) */
static void test_units_by_hand(void **state)
{
    (void)state;
    static nbcl_cli cli;
    char err[1024];
    const double deg = 3.14159265358979323846 / 180.0;
    static const struct {
        const char *flag;
        size_t off;
        double want;
    } u[] = {
        {"-distance", offsetof(nbcl_cli, cfg.distance), 0.002},
        {"-pixel", offsetof(nbcl_cli, cfg.pixel_size), 0.002},
        {"-Xbeam", offsetof(nbcl_cli, cfg.Xbeam), 0.002},
        {"-detector_thick", offsetof(nbcl_cli, cfg.detector_thick), 2e-6},
        {"-dispersion", offsetof(nbcl_cli, cfg.dispersion), 0.02},
        {"-divergence", offsetof(nbcl_cli, cfg.hdivrange), 0.002},
        {"-divergence", offsetof(nbcl_cli, cfg.vdivrange), 0.002},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        char *argv[] = {"nbcl", (char *)u[i].flag, "2", NULL};
        if (parse(&cli, err, 3, argv) != 0)
            fail_msg("%s 2: %s", u[i].flag, err);
        double v;
        memcpy(&v, (const char *)&cli + u[i].off, sizeof v);
        if (fabs(v - u[i].want) > 1e-15 * u[i].want)
            fail_msg("%s 2 gives %.17g, not %.17g", u[i].flag, v, u[i].want);
    }
    char *phi[] = {"nbcl", "-phi", "2", "-osc", "2", NULL};
    assert_int_equal(parse(&cli, err, 5, phi), 0);
    assert_true(fabs(cli.cfg.phi0 - 2 * deg) <= 1e-15);
    assert_true(fabs(cli.cfg.osc - 2 * deg) <= 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_help),
        cmocka_unit_test(test_rows_consistent),
        cmocka_unit_test(test_rows_parse_as_declared),
        cmocka_unit_test(test_help_from_table),
        cmocka_unit_test(test_units_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
