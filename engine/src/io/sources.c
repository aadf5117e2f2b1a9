/* Source files (-sourcefile), read like the reference's read_text_file: one source per
 * non-blank line, fields separated by any of " \t,;:!", columns X Y Z weight lambda; missing
 * columns are NAN (the scene supplies the defaults), columns past the fifth are ignored.
 * Differences from the reference, which uses atof: a field that is not a number is an error
 * naming file and line (atof would read 0), and lines starting with '#' are comments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"

#define SRC_COLS 5

static int is_delim(char c)
{
    return c == ' ' || c == '\t' || c == ',' || c == ';' || c == ':' || c == '!' || c == '\r' ||
           c == '\v' || c == '\f';
}

void nbcl_sources_free(nbcl_source_list *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->y);
    free(s->z);
    free(s->w);
    free(s->lambda);
    memset(s, 0, sizeof *s);
}

static int sources_grow(nbcl_source_list *s, size_t cap)
{
    double **cols[SRC_COLS] = {&s->x, &s->y, &s->z, &s->w, &s->lambda};
    for (int c = 0; c < SRC_COLS; c++) {
        double *p = realloc(*cols[c], cap * sizeof(double));
        if (!p)
            return 0;
        *cols[c] = p;
    }
    return 1;
}

nbcl_status nbcl_read_sources(const char *path, nbcl_source_list *out, char *err, size_t errlen)
{
    if (!path || !out) {
        nbcl__errf(err, errlen, "nbcl_read_sources: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    char *data = NULL;
    size_t len = 0;
    nbcl_status st = nbcl__read_file(path, &data, &len, err, errlen);
    if (st != NBCL_OK)
        return st;

    nbcl_source_list s;
    memset(&s, 0, sizeof s);
    size_t cap = 0;
    nbcl__lines it;
    nbcl__lines_init(&it, data, len);
    const char *line;
    size_t n;
    char ex[64];
    while (nbcl__lines_next(&it, &line, &n)) {
        size_t i = 0;
        while (i < n && is_delim(line[i]))
            i++;
        if (i >= n || line[i] == '#')
            continue;
        double v[SRC_COLS] = {NAN, NAN, NAN, NAN, NAN};
        int col = 0;
        while (i < n && col < SRC_COLS) {
            size_t b = i;
            while (i < n && !is_delim(line[i]))
                i++;
            size_t tl = i - b;
            char buf[128];
            char *end = NULL;
            int ok = 0;
            if (tl < sizeof buf) {
                memcpy(buf, line + b, tl);
                buf[tl] = '\0';
                v[col] = nbcl__strtod_c(buf, &end);
                ok = (end == buf + tl) && !isinf(v[col]); /* "nan" = missing, as in the file */
            }
            if (!ok) {
                static const char *names[SRC_COLS] = {"X", "Y", "Z", "weight", "lambda"};
                nbcl__token_excerpt(ex, sizeof ex, line + b, tl);
                nbcl__errf(err, errlen, "%s:%ld: expected a number for %s (column %d), got '%s'",
                           path, it.lineno, names[col], col + 1, ex);
                st = NBCL_PARSE;
                goto fail;
            }
            col++;
            while (i < n && is_delim(line[i]))
                i++;
        }
        if (s.n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            if (!sources_grow(&s, ncap)) {
                nbcl__errf(err, errlen, "%s: out of memory after %zu sources", path, s.n);
                st = NBCL_OUT_OF_MEMORY;
                goto fail;
            }
            cap = ncap;
        }
        s.x[s.n] = v[0];
        s.y[s.n] = v[1];
        s.z[s.n] = v[2];
        s.w[s.n] = v[3];
        s.lambda[s.n] = v[4];
        s.n++;
    }
    if (s.n == 0) {
        nbcl__errf(err, errlen, "%s: no sources (expected lines of X Y Z [weight [lambda]])", path);
        st = NBCL_PARSE;
        goto fail;
    }
    free(data);
    *out = s;
    return NBCL_OK;

fail:
    free(data);
    nbcl_sources_free(&s);
    return st;
}
