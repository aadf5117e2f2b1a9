/* CLBlast, loaded on first use. Only device statistics and comparisons need it (GPUs, the bench,
 * nbcl-compare); linking it would make every process pay its load and its static tuning
 * database, ~3.6 ms, which is 5 % of a small CPU run that never calls it. The prototypes are
 * checked against clblast_c.h at compile time (the comparisons below are not evaluated). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "nbcl_internal.h"

#ifndef NBCL_CLBLAST_SONAME
#define NBCL_CLBLAST_SONAME "libclblast.so.1"
#endif

static nbcl_blas g_blas;
static int g_blas_ok;
static char g_blas_why[512];
static pthread_once_t g_blas_once = PTHREAD_ONCE_INIT;

#define RESOLVE(h, name)                                                                       \
    do {                                                                                       \
        (void)sizeof(g_blas.name == name); /* same type as the header's prototype */          \
        *(void **)(&g_blas.name) = dlsym((h), #name);                                          \
        if (!g_blas.name) {                                                                    \
            snprintf(g_blas_why, sizeof g_blas_why, "%s lacks %s", NBCL_CLBLAST_SONAME, #name); \
            return;                                                                            \
        }                                                                                      \
    } while (0)

static void blas_load(void)
{
    void *h = dlopen(NBCL_CLBLAST_SONAME, RTLD_NOW | RTLD_LOCAL); /* the built-against one */
    if (!h) {
        const char *e = dlerror();
        snprintf(g_blas_why, sizeof g_blas_why, "CLBlast cannot be loaded: %s",
                 e ? e : NBCL_CLBLAST_SONAME);
        return;
    }
    RESOLVE(h, CLBlastDsum);
    RESOLVE(h, CLBlastDdot);
    RESOLVE(h, CLBlastiDmax);
    RESOLVE(h, CLBlastiDamax);
    RESOLVE(h, CLBlastDaxpy);
    RESOLVE(h, CLBlastDhad);
    RESOLVE(h, CLBlastClearCache);
    g_blas_ok = 1; /* the library stays loaded for the life of the process */
}

const nbcl_blas *nbcl__blas(char *why, size_t whycap)
{
    pthread_once(&g_blas_once, blas_load);
    if (!g_blas_ok) {
        if (why && whycap)
            snprintf(why, whycap, "%s", g_blas_why);
        return NULL;
    }
    return &g_blas;
}
