/* nbcl-bench: sample statistics (min, median, mean, sample stddev) and growable series. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_summarise(const double *v, size_t n, bench_summary *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n == 0) {
        out->min = out->median = out->mean = out->stddev = NAN;
        return;
    }
    double *s = malloc(n * sizeof *s);
    if (!s) {
        out->min = out->median = out->mean = out->stddev = NAN;
        return;
    }
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    out->min = s[0];
    out->median = (n % 2) ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    out->mean = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (s[i] - out->mean) * (s[i] - out->mean);
    out->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    free(s);
}

int bench_series_add(bench_series *s, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        double *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return 0;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 1;
}

void bench_series_free(bench_series *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
