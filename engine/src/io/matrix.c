/* MOSFLM orientation matrix (-mat): the first nine whitespace-separated numbers, three rows
 *   a*x b*x c*x
 *   a*y b*y c*y
 *   a*z b*z c*z
 * in 1/Angstrom scaled by the wavelength (the caller divides lambda out). Anything after the
 * ninth number (MOSFLM .mat files carry U, cell and missetting lines) is ignored. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

nbcl_status nbcl_read_matrix(const char *path, double a_star[3], double b_star[3],
                             double c_star[3], char *err, size_t errlen)
{
    if (!path || !a_star || !b_star || !c_star) {
        nbcl__errf(err, errlen, "nbcl_read_matrix: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    char *data = NULL;
    size_t len = 0;
    nbcl_status st = nbcl__read_file(path, &data, &len, err, errlen);
    if (st != NBCL_OK)
        return st;

    double m[9];
    int count = 0;
    long line = 1, last_line = 1; /* last_line: where the last number was */
    size_t i = 0;
    char ex[64];
    while (count < 9 && i < len) {
        while (i < len && is_space(data[i])) {
            if (data[i] == '\n')
                line++;
            i++;
        }
        if (i >= len)
            break;
        size_t b = i;
        while (i < len && !is_space(data[i]))
            i++;
        size_t n = i - b;
        char buf[128];
        char *end = NULL;
        double v = NAN;
        int ok = 0;
        if (n < sizeof buf) {
            memcpy(buf, data + b, n);
            buf[n] = '\0';
            v = nbcl__strtod_c(buf, &end);
            ok = (end == buf + n) && isfinite(v);
        }
        if (!ok) {
            nbcl__token_excerpt(ex, sizeof ex, data + b, n);
            nbcl__errf(err, errlen,
                       "%s:%ld: expected a number (A matrix element %d of 9), got '%s'", path,
                       line, count + 1, ex);
            free(data);
            return NBCL_PARSE;
        }
        m[count++] = v;
        last_line = line;
    }
    free(data);
    if (count < 9) {
        nbcl__errf(err, errlen,
                   "%s:%ld: expected 9 numbers (MOSFLM A matrix, 3 rows of 3), found only %d",
                   path, last_line, count);
        return NBCL_PARSE;
    }
    double a[3] = {m[0], m[3], m[6]};
    double b[3] = {m[1], m[4], m[7]};
    double c[3] = {m[2], m[5], m[8]};
    const char *names[3] = {"a*", "b*", "c*"};
    const double *vec[3] = {a, b, c};
    for (int k = 0; k < 3; k++) {
        if (vec[k][0] == 0.0 && vec[k][1] == 0.0 && vec[k][2] == 0.0) {
            nbcl__errf(err, errlen, "%s: %s (column %d of the A matrix) is all zero", path,
                       names[k], k + 1);
            return NBCL_PARSE;
        }
    }
    memcpy(a_star, a, sizeof a);
    memcpy(b_star, b, sizeof b);
    memcpy(c_star, c, sizeof c);
    return NBCL_OK;
}
