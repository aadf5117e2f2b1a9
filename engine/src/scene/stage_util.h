/* Small helpers shared by the scene's stage files (engine/src/scene/ only). */
#ifndef NBCL_SCENE_STAGE_UTIL_H
#define NBCL_SCENE_STAGE_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include "nbcl/nbcl.h"

#define NBCL_RTD (180.0 / M_PI)

static inline void copy3(double *dst, const double *src)
{
    dst[0] = src[0];
    dst[1] = src[1];
    dst[2] = src[2];
}

static inline int finite3(const double *v)
{
    return isfinite(v[0]) && isfinite(v[1]) && isfinite(v[2]);
}

/* a stage's failure: the message into err, the status back */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline nbcl_status stage_fail(nbcl_status st, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return st;
}

#endif
