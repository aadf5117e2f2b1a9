/* Program assembly (embedded or kernel_dir sources) and build, through the binary cache. */
#include "nbcl_kcache.h"
#include "nbcl_embedded.h"
#include "io/io_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* growable string */
typedef struct nbcl_sbuf {
    char *p;
    size_t len, cap;
    int oom;
} nbcl_sbuf;

static void nbcl_sb_putn(nbcl_sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void nbcl_sb_puts(nbcl_sbuf *b, const char *s)
{
    nbcl_sb_putn(b, s, strlen(s));
}

static void nbcl_sb_file_sep(nbcl_sbuf *b, const char *name)
{
    /* keep each file on its own lines even when one lacks a trailing newline */
    if (b->len > 0 && b->p[b->len - 1] != '\n')
        nbcl_sb_puts(b, "\n");
    /* build logs then cite "nbcl_pixel.h:42" instead of a line of the concatenation */
    nbcl_sb_puts(b, "#line 1 \"");
    nbcl_sb_puts(b, name);
    nbcl_sb_puts(b, "\"\n");
}

/* Kernel file names come from the generated table (always linked, whatever NBCL_EMBED says),
 * so engine/CMakeLists.txt's NBCL_KERNEL_FILES stays the only list. */
nbcl_status nbcl__program_source(const char *kernel_dir, int precision, char **out, char *err,
                                 size_t errlen)
{
    if (!out || (precision != 32 && precision != 64)) {
        nbcl__errf(err, errlen, "nbcl__program_source: bad arguments (precision %d)", precision);
        return NBCL_INVALID_ARGUMENT;
    }
    *out = NULL;
#ifndef NBCL_EMBED
    if (!kernel_dir || !*kernel_dir)
        kernel_dir = NBCL_SOURCE_KERNEL_DIR;
#endif
    nbcl_sbuf b = {0};
    nbcl_sb_puts(&b, precision == 64 ? "#define NBCL_PRECISION 64\n" : "#define NBCL_PRECISION 32\n");
    for (size_t i = 0; i < nbcl_embedded_count; i++) {
        const nbcl_embedded_file *f = &nbcl_embedded_files[i];
        nbcl_sb_file_sep(&b, f->name);
        if (kernel_dir && *kernel_dir) {
            char path[4096];
            int n = snprintf(path, sizeof path, "%s/%s", kernel_dir, f->name);
            if (n < 0 || (size_t)n >= sizeof path) {
                nbcl__errf(err, errlen, "kernel path too long: %s/%s", kernel_dir, f->name);
                free(b.p);
                return NBCL_INVALID_ARGUMENT;
            }
            size_t len = 0;
            char *text = NULL, why[4400];
            nbcl_status rst = nbcl__read_file(path, &text, &len, why, sizeof why);
            if (rst != NBCL_OK) {
                nbcl__errf(err, errlen, "cannot read kernel source %s", why);
                free(b.p);
                return rst == NBCL_PARSE ? NBCL_IO : rst;
            }
            nbcl_sb_putn(&b, text, len);
            free(text);
        } else {
            nbcl_sb_putn(&b, f->text, f->length);
        }
    }
    if (b.len > 0 && b.p[b.len - 1] != '\n')
        nbcl_sb_puts(&b, "\n");
    if (b.oom) {
        free(b.p);
        nbcl__errf(err, errlen, "out of host memory assembling kernel source");
        return NBCL_OUT_OF_MEMORY;
    }
    *out = b.p;
    return NBCL_OK;
}

/* Build log for the engine's device, malloc'ed and NUL-terminated ("" when none). */
static char *nbcl_build_log(cl_program prog, cl_device_id dev)
{
    size_t n = 0;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS)
        n = 0;
    char *log = malloc(n + 1);
    if (!log)
        return NULL;
    if (n > 0 && clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, n, log, NULL) != CL_SUCCESS)
        n = 0;
    log[n] = '\0';
    return log;
}

static int nbcl_blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\r' && *s != '\t')
            return 0;
    return 1;
}

/* 1 when the platform's compiler turns clang's element-wise rounding builtins into the device's
 * rounding instructions (cl/nbcl_real.h): PoCL. oclgrind's interpreter cannot run them; other
 * platforms keep the OpenCL C functions until checked there. */
int nbcl__round_builtins_ok(const char *platform_name)
{
    return platform_name && nbcl__icontains(platform_name, "Portable Computing Language");
}

/* Option string: ours, then the caller's, then env NBCL_BUILD_OPTIONS (last, as CLBlast). */
static char *nbcl_build_options(const nbcl_engine *e)
{
    nbcl_sbuf b = {0};
    nbcl_sb_puts(&b, "-cl-std=CL1.2");
    if (nbcl__round_builtins_ok(e->info.platform_name))
        nbcl_sb_puts(&b, " -DNBCL_ROUND_BUILTINS=1"); /* cl/nbcl_real.h NBCL_RINT */
    if (e->opts.fast_math)
        nbcl_sb_puts(&b, " -cl-fast-relaxed-math");
    if (e->opts.build_options && *e->opts.build_options) {
        nbcl_sb_puts(&b, " ");
        nbcl_sb_puts(&b, e->opts.build_options);
    }
    const char *env = e->env.build_options; /* NBCL_BUILD_OPTIONS */
    if (env && *env) {
        nbcl_sb_puts(&b, " ");
        nbcl_sb_puts(&b, env);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* kernel directory: option, env, embedded (NULL; or the source tree when not embedded) */
static const char *kernel_dir_of(const nbcl_engine *e)
{
    const char *kdir = e->opts.kernel_dir;
    if (!kdir || !*kdir) {
        const char *env = e->env.kernel_dir; /* NBCL_KERNEL_DIR */
        kdir = (env && *env) ? env : NULL;
    }
#ifndef NBCL_EMBED
    if (!kdir)
        kdir = NBCL_SOURCE_KERNEL_DIR;
#endif
    return kdir;
}

/* The program's source and its SHA-256 depend on the precision and the kernel directory, not on
 * the device: they are made on a helper thread while the platform loads (clGetPlatformIDs is
 * ~20 ms of dynamic loading on one core), which also takes OpenSSL's first-use set-up (~1 ms)
 * off the start-up path. AUTO precision is guessed as F64 (what it resolves to wherever fp64
 * exists); a wrong guess only throws the prepared source away. */
struct nbcl_program_prep {
    pthread_t tid;
    int precision;    /* 32 or 64 */
    const char *kdir; /* the engine's option or the environment's string */
    char *src;        /* NULL when it could not be made (the build then tries itself) */
    char sha[65];
};

static void *prep_main(void *arg)
{
    struct nbcl_program_prep *p = arg;
    char err[256];
    if (nbcl__program_source(p->kdir, p->precision, &p->src, err, sizeof err) == NBCL_OK)
        nbcl__sha256_hex(p->src, strlen(p->src), p->sha);
    return NULL;
}

void nbcl__program_prep_start(nbcl_engine *e)
{
    struct nbcl_program_prep *p = calloc(1, sizeof *p);
    if (!p)
        return; /* the build makes the source itself */
    p->precision = e->opts.precision == NBCL_PRECISION_F32 ? 32 : 64;
    p->kdir = kernel_dir_of(e);
    if (pthread_create(&p->tid, NULL, prep_main, p) != 0) {
        free(p);
        return;
    }
    e->prep = p;
}

/* wait for the helper; its source when it was made for this precision and hashed, else NULL */
static char *prep_take(nbcl_engine *e, int precision, char sha[65])
{
    struct nbcl_program_prep *p = e->prep;
    if (!p)
        return NULL;
    pthread_join(p->tid, NULL);
    e->prep = NULL;
    char *src = p->src;
    if (src && (p->precision != precision || !p->sha[0])) {
        free(src);
        src = NULL;
    }
    if (src)
        memcpy(sha, p->sha, 65);
    free(p);
    return src;
}

void nbcl__program_prep_end(nbcl_engine *e)
{
    char sha[65];
    free(prep_take(e, 0, sha));
}

nbcl_status nbcl__program_build(nbcl_engine *e)
{
    if (e->precision == NBCL_PRECISION_F64 && !e->info.has_fp64) {
        nbcl__set_error(e,
                        "device \"%s\" lacks double precision (CL_DEVICE_DOUBLE_FP_CONFIG is 0); "
                        "use precision F32 or AUTO",
                        e->info.device_name);
        return NBCL_NO_FP64;
    }
    if (e->precision != NBCL_PRECISION_F32 && e->precision != NBCL_PRECISION_F64) {
        nbcl__set_error(e, "nbcl__program_build: precision not resolved (%d)", (int)e->precision);
        return NBCL_INVALID_ARGUMENT;
    }

    const char *kdir = kernel_dir_of(e);
    snprintf(e->facts.source_origin, sizeof e->facts.source_origin, "%s",
             kdir ? kdir : "embedded");

    char *src = prep_take(e, (int)e->precision, e->facts.source_sha256);
    if (!src) {
        nbcl_status st = nbcl__program_source(kdir, (int)e->precision, &src, e->last_error,
                                              sizeof e->last_error);
        if (st != NBCL_OK)
            return st;
        nbcl__sha256_hex(src, strlen(src), e->facts.source_sha256);
    }

    char *opts = nbcl_build_options(e);
    if (!opts) {
        free(src);
        nbcl__set_error(e, "out of host memory assembling build options");
        return NBCL_OUT_OF_MEMORY;
    }
    snprintf(e->facts.options, sizeof e->facts.options, "%s", opts);

    double t0 = nbcl__now();
    nbcl_kcache kc;
    nbcl__kcache_open(e, opts, &kc);
    cl_program prog = nbcl__kcache_load(e, &kc, opts);
    if (prog) {
        /* a binary that builds but lacks our entry point is as bad as a corrupt one */
        cl_int krc = CL_SUCCESS;
        cl_kernel probe = clCreateKernel(prog, "nbcl_k_pixel", &krc);
        if (krc != CL_SUCCESS || !probe) {
            clReleaseProgram(prog);
            prog = NULL;
            nbcl__kcache_drop(e, &kc, "cached program lacks nbcl_k_pixel");
        } else {
            clReleaseKernel(probe);
        }
    }
    if (prog) {
        snprintf(e->facts.cache_state, sizeof e->facts.cache_state, "hit");
    } else {
        snprintf(e->facts.cache_state, sizeof e->facts.cache_state, "%s",
                 kc.enabled ? "miss" : "off");
        const char *srcs[1] = {src};
        cl_int rc = CL_SUCCESS;
        prog = clCreateProgramWithSource(e->ctx, 1, srcs, NULL, &rc);
        if (rc != CL_SUCCESS || !prog) {
            nbcl__set_error(e, "clCreateProgramWithSource: %s", nbcl__cl_error_name(rc));
            free(src);
            free(opts);
            return NBCL_CL_ERROR;
        }
        rc = clBuildProgram(prog, 1, &e->device, opts, NULL, NULL);
        char *log = nbcl_build_log(prog, e->device);
        if (rc != CL_SUCCESS) {
            nbcl__set_error(e,
                            "clBuildProgram: %s\ndevice: %s (%s)\noptions: %s\nsource: %s\n"
                            "build log:\n%s",
                            nbcl__cl_error_name(rc), e->info.device_name, e->info.platform_name,
                            opts, e->facts.source_origin, log ? log : "(unavailable)");
            nbcl__log(e, NBCL_LOG_ERROR, "kernel build failed on %s with \"%s\":\n%s",
                      e->info.device_name, opts, log ? log : "(unavailable)");
            free(log);
            clReleaseProgram(prog);
            free(src);
            free(opts);
            return NBCL_BUILD_FAILED;
        }
        if (log && !nbcl_blank(log))
            nbcl__log(e, NBCL_LOG_DEBUG, "kernel build log (%s):\n%s", opts, log);
        free(log);
        nbcl__kcache_store(e, &kc, prog, opts);
    }
    e->facts.build_seconds = nbcl__now() - t0;
    nbcl__log(e, NBCL_LOG_DEBUG,
              "program ready: source %s (sha256 %.12s), options \"%s\", cache %s, %.3f s",
              e->facts.source_origin, e->facts.source_sha256, opts, e->facts.cache_state,
              e->facts.build_seconds);
    free(src);
    free(opts);
    e->program = prog;
    return NBCL_OK;
}
