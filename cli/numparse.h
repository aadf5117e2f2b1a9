/* Whole-token integer parsing shared by the command-line tools (nbcl-compare, nbcl-bench). */
#ifndef NBCL_NUMPARSE_H
#define NBCL_NUMPARSE_H

#include <errno.h>
#include <stdlib.h>

/* 1 and *out = value when s is a base-10 integer in [lo, hi] with nothing after it; else 0 */
static inline int nbcl_parse_long_range(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s)
        return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

#endif
