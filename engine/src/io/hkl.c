/* Structure factors: HKL text files ("h k l F" per line) and the reference's Fdump.bin cache.
 *
 * Text: every non-blank line that is not a comment must hold exactly four numbers; h, k, l must
 * be integers. The grid covers [min, max] of each index and starts at default_F; later
 * duplicates overwrite earlier ones, as in the reference. Unlike the reference (fscanf over the
 * whole stream) a malformed line is an error naming file and line instead of a silent stop or a
 * misaligned read.
 *
 * Fdump.bin: "%d %d %d %d %d %d\n\f" (h_min h_max k_min k_max l_min l_max) then
 * (h_range+1)*(k_range+1)*(l_range+1) native doubles in [h][k][l] order. The extra "+1" planes
 * are padding the reference writes from its calloc'd array (zeros); we write zeros too, so files
 * are byte-identical, and drop them on reading.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"

#define HKL_MAX_INDEX 1000000      /* |h|,|k|,|l| bound: keeps ranges well inside int */
#define HKL_INT_TOL 1e-6

typedef struct hkl_entry {
    int h, k, l;
    double F;
} hkl_entry;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parses a whole token as a number (C locale). 0 on failure. */
static int parse_number(const char *tok, size_t n, double *out)
{
    char buf[128];
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, tok, n);
    buf[n] = '\0';
    char *end = NULL;
    double v = nbcl__strtod_c(buf, &end);
    if (end != buf + n)
        return 0;
    *out = v;
    return 1;
}

static size_t grid_cells(const nbcl_hkl_grid *g)
{
    return (size_t)g->h_range * (size_t)g->k_range * (size_t)g->l_range;
}

/* Allocates g->F for the ranges in g; checks the product does not overflow. */
static nbcl_status grid_alloc(nbcl_hkl_grid *g, const char *path, char *err, size_t errlen)
{
    size_t hr = (size_t)g->h_range, kr = (size_t)g->k_range, lr = (size_t)g->l_range;
    /* the dense grid must fit one device buffer: at most 2^27 cells (1 GiB of doubles, PoCL's
     * single-allocation limit). Real P1 data sets are far smaller; a larger span is almost
     * always a typo in an index column. */
    const size_t max_cells = (size_t)1 << 27;
    if (hr == 0 || kr == 0 || lr == 0 || kr > max_cells / hr || lr > max_cells / (hr * kr)) {
        nbcl__errf(err, errlen,
                   "%s: indices span h %d..%d, k %d..%d, l %d..%d: a %d x %d x %d grid is too "
                   "large (at most %zu cells; a typo in an index?)",
                   path, g->h_min, g->h_max, g->k_min, g->k_max, g->l_min, g->l_max, g->h_range,
                   g->k_range, g->l_range, max_cells);
        return NBCL_PARSE;
    }
    g->F = malloc(hr * kr * lr * sizeof(double));
    if (!g->F) {
        nbcl__errf(err, errlen, "%s: out of memory for a %d x %d x %d HKL grid", path, g->h_range,
                   g->k_range, g->l_range);
        return NBCL_OUT_OF_MEMORY;
    }
    return NBCL_OK;
}

void nbcl_hkl_free(nbcl_hkl_grid *grid)
{
    if (!grid)
        return;
    free(grid->F);
    memset(grid, 0, sizeof *grid);
}

/* ---------------------------------------------------------------- HKL text */

/* Parses one line into *e. Returns 1 for an entry, 0 for blank/comment, -1 on error. */
static int hkl_parse_line(const char *path, long lineno, const char *s, size_t n, hkl_entry *e,
                          char *err, size_t errlen)
{
    const char *hash = memchr(s, '#', n);
    if (hash)
        n = (size_t)(hash - s);
    const char *tok[4];
    size_t len[4];
    double v[4];
    int count = 0;
    size_t i = 0;
    char ex[64];
    while (i < n) {
        while (i < n && is_blank(s[i]))
            i++;
        if (i >= n)
            break;
        size_t b = i;
        while (i < n && !is_blank(s[i]))
            i++;
        if (count < 4) {
            tok[count] = s + b;
            len[count] = i - b;
            if (!parse_number(tok[count], len[count], &v[count])) {
                nbcl__token_excerpt(ex, sizeof ex, tok[count], len[count]);
                nbcl__errf(err, errlen, "%s:%ld: expected 4 numbers (h k l F), got '%s'", path,
                           lineno, ex);
                return -1;
            }
        }
        count++;
    }
    if (count == 0)
        return 0;
    /* further columns (sigma, phase, ...) are ignored: spec-a-core AT-IO-004 */
    if (count < 4) {
        nbcl__errf(err, errlen, "%s:%ld: expected 4 numbers (h k l F), got %d", path, lineno,
                   count);
        return -1;
    }
    static const char *names[3] = {"h", "k", "l"};
    int idx[3];
    for (int j = 0; j < 3; j++) {
        double r = nearbyint(v[j]);
        if (!isfinite(v[j]) || fabs(v[j] - r) > HKL_INT_TOL) {
            nbcl__token_excerpt(ex, sizeof ex, tok[j], len[j]);
            nbcl__errf(err, errlen, "%s:%ld: %s index '%s' is not an integer", path, lineno,
                       names[j], ex);
            return -1;
        }
        if (fabs(r) > HKL_MAX_INDEX) {
            nbcl__token_excerpt(ex, sizeof ex, tok[j], len[j]);
            nbcl__errf(err, errlen, "%s:%ld: %s index '%s' is out of range (|%s| <= %d)", path,
                       lineno, names[j], ex, names[j], HKL_MAX_INDEX);
            return -1;
        }
        idx[j] = (int)r;
    }
    if (!isfinite(v[3])) {
        nbcl__token_excerpt(ex, sizeof ex, tok[3], len[3]);
        nbcl__errf(err, errlen, "%s:%ld: F '%s' is not a finite number", path, lineno, ex);
        return -1;
    }
    e->h = idx[0];
    e->k = idx[1];
    e->l = idx[2];
    e->F = v[3];
    return 1;
}

nbcl_status nbcl_read_hkl(const char *path, double default_F, nbcl_hkl_grid *grid, char *err,
                          size_t errlen)
{
    if (!path || !grid) {
        nbcl__errf(err, errlen, "nbcl_read_hkl: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    memset(grid, 0, sizeof *grid);
    char *data = NULL;
    size_t len = 0;
    nbcl_status st = nbcl__read_file(path, &data, &len, err, errlen);
    if (st != NBCL_OK)
        return st;

    hkl_entry *ent = NULL;
    size_t n = 0, cap = 0;
    nbcl__lines it;
    nbcl__lines_init(&it, data, len);
    const char *line;
    size_t ll;
    while (nbcl__lines_next(&it, &line, &ll)) {
        hkl_entry e;
        int r = hkl_parse_line(path, it.lineno, line, ll, &e, err, errlen);
        if (r < 0) {
            st = NBCL_PARSE;
            goto done;
        }
        if (r == 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            hkl_entry *ne = realloc(ent, ncap * sizeof *ne);
            if (!ne) {
                nbcl__errf(err, errlen, "%s: out of memory after %zu reflections", path, n);
                st = NBCL_OUT_OF_MEMORY;
                goto done;
            }
            ent = ne;
            cap = ncap;
        }
        ent[n++] = e;
    }
    if (n == 0) {
        nbcl__errf(err, errlen, "%s: no reflections (expected lines of h k l F)", path);
        st = NBCL_PARSE;
        goto done;
    }

    nbcl_hkl_grid g;
    memset(&g, 0, sizeof g);
    g.h_min = g.h_max = ent[0].h;
    g.k_min = g.k_max = ent[0].k;
    g.l_min = g.l_max = ent[0].l;
    for (size_t i = 1; i < n; i++) {
        if (ent[i].h < g.h_min) g.h_min = ent[i].h;
        if (ent[i].h > g.h_max) g.h_max = ent[i].h;
        if (ent[i].k < g.k_min) g.k_min = ent[i].k;
        if (ent[i].k > g.k_max) g.k_max = ent[i].k;
        if (ent[i].l < g.l_min) g.l_min = ent[i].l;
        if (ent[i].l > g.l_max) g.l_max = ent[i].l;
    }
    g.h_range = g.h_max - g.h_min + 1;
    g.k_range = g.k_max - g.k_min + 1;
    g.l_range = g.l_max - g.l_min + 1;
    st = grid_alloc(&g, path, err, errlen);
    if (st != NBCL_OK)
        goto done;
    size_t cells = grid_cells(&g);
    for (size_t i = 0; i < cells; i++)
        g.F[i] = default_F;
    for (size_t i = 0; i < n; i++) {
        size_t at = ((size_t)(ent[i].h - g.h_min) * (size_t)g.k_range + (size_t)(ent[i].k - g.k_min)) *
                        (size_t)g.l_range +
                    (size_t)(ent[i].l - g.l_min);
        g.F[at] = ent[i].F;
    }
    g.count = n;
    *grid = g;

done:
    free(ent);
    free(data);
    return st;
}

/* ---------------------------------------------------------------- Fdump.bin */

static int grid_valid(const nbcl_hkl_grid *g)
{
    return g && g->F && g->h_range >= 1 && g->k_range >= 1 && g->l_range >= 1 &&
           g->h_range == g->h_max - g->h_min + 1 && g->k_range == g->k_max - g->k_min + 1 &&
           g->l_range == g->l_max - g->l_min + 1;
}

nbcl_status nbcl_write_fdump(const char *path, const nbcl_hkl_grid *grid, char *err,
                             size_t errlen)
{
    const char *name = path ? path : "(null)";
    if (!grid_valid(grid)) {
        nbcl__errf(err, errlen, "%s: invalid HKL grid", name);
        return NBCL_INVALID_ARGUMENT;
    }
    size_t hr = (size_t)grid->h_range, kr = (size_t)grid->k_range, lr = (size_t)grid->l_range;
    size_t plane = (kr + 1) * (lr + 1);
    double *buf = calloc(plane, sizeof(double));
    if (!buf) {
        nbcl__errf(err, errlen, "%s: out of memory", name);
        return NBCL_OUT_OF_MEMORY;
    }
    char head[160];
    int hl = snprintf(head, sizeof head, "%d %d %d %d %d %d\n\f", grid->h_min, grid->h_max,
                      grid->k_min, grid->k_max, grid->l_min, grid->l_max);
    nbcl_outfile *f = NULL;
    nbcl_status st = nbcl_outfile_open(path, &f, err, errlen);
    if (st != NBCL_OK) {
        free(buf);
        return st;
    }
    st = nbcl_outfile_write(f, head, (size_t)hl, err, errlen);
    for (size_t h = 0; h <= hr && st == NBCL_OK; h++) {
        if (h == hr) {
            memset(buf, 0, plane * sizeof(double)); /* padding plane */
        } else {
            for (size_t k = 0; k < kr; k++)
                memcpy(buf + k * (lr + 1), grid->F + (h * kr + k) * lr, lr * sizeof(double));
            /* padding: buf[k][lr] and buf[kr][*] stay zero from calloc */
        }
        st = nbcl_outfile_write(f, buf, plane * sizeof(double), err, errlen);
    }
    free(buf);
    if (st != NBCL_OK) {
        nbcl_outfile_abort(f);
        return st;
    }
    return nbcl_outfile_commit(f, err, errlen);
}

/* Reads an optionally signed decimal int at *p (no leading blanks), advancing *p. */
static int parse_int(const char **p, const char *end, int *out)
{
    const char *s = *p;
    int neg = 0;
    if (s < end && (*s == '-' || *s == '+')) {
        neg = (*s == '-');
        s++;
    }
    long v = 0;
    int digits = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > 1000000000L)
            return 0;
        s++;
        digits++;
    }
    if (digits == 0)
        return 0;
    *out = (int)(neg ? -v : v);
    *p = s;
    return 1;
}

nbcl_status nbcl_read_fdump(const char *path, nbcl_hkl_grid *grid, char *err, size_t errlen)
{
    if (!path || !grid) {
        nbcl__errf(err, errlen, "nbcl_read_fdump: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    memset(grid, 0, sizeof *grid);
    char *data = NULL;
    size_t len = 0;
    nbcl_status st = nbcl__read_file(path, &data, &len, err, errlen);
    if (st != NBCL_OK)
        return st;

    int v[6];
    const char *p = data, *end = data + (len < 128 ? len : 128);
    for (int i = 0; i < 6; i++) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (!parse_int(&p, end, &v[i])) {
            nbcl__errf(err, errlen,
                       "%s: not an Fdump file (header must be six integers "
                       "h_min h_max k_min k_max l_min l_max)",
                       path);
            free(data);
            return NBCL_PARSE;
        }
    }
    if (end - p < 2 || p[0] != '\n' || p[1] != '\f') {
        nbcl__errf(err, errlen, "%s: not an Fdump file (header not terminated by newline and "
                                "form feed)", path);
        free(data);
        return NBCL_PARSE;
    }
    p += 2;
    size_t off = (size_t)(p - data);

    nbcl_hkl_grid g;
    memset(&g, 0, sizeof g);
    g.h_min = v[0];
    g.h_max = v[1];
    g.k_min = v[2];
    g.k_max = v[3];
    g.l_min = v[4];
    g.l_max = v[5];
    for (int i = 0; i < 6; i++) {
        if (v[i] < -HKL_MAX_INDEX || v[i] > HKL_MAX_INDEX) {
            nbcl__errf(err, errlen, "%s: Fdump index bound %d out of range", path, v[i]);
            free(data);
            return NBCL_PARSE;
        }
    }
    if (g.h_max < g.h_min || g.k_max < g.k_min || g.l_max < g.l_min) {
        nbcl__errf(err, errlen, "%s: Fdump header has empty ranges (h %d..%d, k %d..%d, l %d..%d)",
                   path, g.h_min, g.h_max, g.k_min, g.k_max, g.l_min, g.l_max);
        free(data);
        return NBCL_PARSE;
    }
    g.h_range = g.h_max - g.h_min + 1;
    g.k_range = g.k_max - g.k_min + 1;
    g.l_range = g.l_max - g.l_min + 1;
    size_t hr = (size_t)g.h_range, kr = (size_t)g.k_range, lr = (size_t)g.l_range;
    /* (hr+1)(kr+1)(lr+1) doubles; ranges are <= 2e6+1 each, so check the product carefully */
    size_t a = hr + 1, b = kr + 1, c = lr + 1;
    if (b > SIZE_MAX / a || c > SIZE_MAX / (a * b) || a * b * c > (SIZE_MAX - off) / 8) {
        nbcl__errf(err, errlen, "%s: Fdump grid too large", path);
        free(data);
        return NBCL_PARSE;
    }
    size_t need = off + a * b * c * sizeof(double);
    if (len != need) {
        nbcl__errf(err, errlen,
                   "%s: Fdump size %zu bytes does not match its header (expected %zu for "
                   "h %d..%d, k %d..%d, l %d..%d)",
                   path, len, need, g.h_min, g.h_max, g.k_min, g.k_max, g.l_min, g.l_max);
        free(data);
        return NBCL_PARSE;
    }
    st = grid_alloc(&g, path, err, errlen);
    if (st != NBCL_OK) {
        free(data);
        return st;
    }
    const char *src = data + off;
    for (size_t h = 0; h < hr; h++)
        for (size_t k = 0; k < kr; k++)
            memcpy(g.F + (h * kr + k) * lr, src + ((h * b + k) * c) * sizeof(double),
                   lr * sizeof(double));
    free(data);
    size_t cells = grid_cells(&g);
    for (size_t i = 0; i < cells; i++) {
        if (!isfinite(g.F[i])) {
            size_t l = i % lr, k = (i / lr) % kr, h = i / (lr * kr);
            nbcl__errf(err, errlen, "%s: non-finite F at h=%d k=%d l=%d", path,
                       g.h_min + (int)h, g.k_min + (int)k, g.l_min + (int)l);
            nbcl_hkl_free(&g);
            return NBCL_PARSE;
        }
    }
    g.count = cells; /* the reference counts every grid point as read */
    *grid = g;
    return NBCL_OK;
}
