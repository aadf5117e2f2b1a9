/* Engine lifetime: device, context, queue, program, the pixel kernel; errors and logging. */
#include "nbcl_kcache.h"

#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nbcl_engine_opts_init(nbcl_engine_opts *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->precision = NBCL_PRECISION_AUTO;
    opts->cache = NBCL_CACHE_AUTO;
}

nbcl_status nbcl__precision_resolve(nbcl_precision requested, int has_fp64, nbcl_precision *out)
{
    nbcl_precision p;
    switch (requested) {
    case NBCL_PRECISION_AUTO:
        p = has_fp64 ? NBCL_PRECISION_F64 : NBCL_PRECISION_F32;
        break;
    case NBCL_PRECISION_F32:
        p = NBCL_PRECISION_F32;
        break;
    case NBCL_PRECISION_F64:
        if (!has_fp64)
            return NBCL_NO_FP64;
        p = NBCL_PRECISION_F64;
        break;
    default:
        return NBCL_INVALID_ARGUMENT;
    }
    if (out)
        *out = p;
    return NBCL_OK;
}

void nbcl__set_error(nbcl_engine *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->last_error, sizeof e->last_error, fmt, ap);
    va_end(ap);
}

void nbcl__log(const nbcl_engine *e, nbcl_log_level level, const char *fmt, ...)
{
    if (!e || !e->opts.log)
        return;
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        e->opts.log(e->opts.log_user, level, small);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        e->opts.log(e->opts.log_user, level, small); /* truncated beats nothing */
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    e->opts.log(e->opts.log_user, level, big);
    free(big);
}

static int nbcl_dup_opt(const char *src, char **owned, const char **field)
{
    *owned = NULL;
    *field = NULL;
    if (!src)
        return 1;
    size_t n = strlen(src) + 1;
    *owned = malloc(n);
    if (!*owned)
        return 0;
    memcpy(*owned, src, n);
    *field = *owned;
    return 1;
}

void nbcl_engine_destroy(nbcl_engine *e)
{
    if (!e)
        return;
    nbcl__program_prep_end(e);
    if (e->queue)
        clFinish(e->queue);
    if (e->f_cache)
        clReleaseMemObject(e->f_cache);
    if (e->out_cache)
        clReleaseMemObject(e->out_cache);
    if (e->k_pixel)
        clReleaseKernel(e->k_pixel);
    if (e->k_pixel_simd)
        clReleaseKernel(e->k_pixel_simd);
    if (e->program)
        clReleaseProgram(e->program);
    if (e->queue)
        clReleaseCommandQueue(e->queue);
    /* CLBlast keys its program cache by raw context handle: drop it before the handle dies */
    if (e->clblast_used) {
        const nbcl_blas *b = nbcl__blas(NULL, 0); /* loaded: it was used */
        if (b)
            b->CLBlastClearCache();
    }
    if (e->ctx)
        clReleaseContext(e->ctx);
    free(e->opt_device);
    free(e->opt_kernel_dir);
    free(e->opt_cache_dir);
    free(e->opt_build_options);
    for (size_t i = 0; i < sizeof e->env_strings / sizeof e->env_strings[0]; i++)
        free(e->env_strings[i]);
    free(e);
}

/* e->env: the caller's settings, or the environment's (the one read of it for this engine);
 * its strings copied so that a later setenv (or the caller's buffers) cannot change them */
static nbcl_status nbcl_engine_env(nbcl_engine *e, const nbcl_env_options *env, char *err,
                                   size_t errlen)
{
    if (env)
        e->env = *env;
    else if (nbcl_env_options_read(&e->env, err, errlen) != NBCL_OK)
        return NBCL_INVALID_ARGUMENT; /* a misspelt NBCL_* value is never ignored */
    const char **fields[] = {&e->env.device,     &e->env.cache_dir,  &e->env.xdg_cache_home,
                             &e->env.home,       &e->env.kernel_dir, &e->env.build_options};
    _Static_assert(sizeof fields / sizeof fields[0] ==
                       sizeof e->env_strings / sizeof e->env_strings[0],
                   "one owned copy per string of nbcl_env_options");
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!nbcl_dup_opt(*fields[i], &e->env_strings[i], fields[i])) {
            nbcl__errf(err, errlen, "out of host memory copying the environment options");
            return NBCL_OUT_OF_MEMORY;
        }
    return NBCL_OK;
}

static nbcl_status nbcl_engine_fail(nbcl_engine *e, nbcl_status st, char *err, size_t errlen)
{
    nbcl__errf(err, errlen, "%s", e->last_error[0] ? e->last_error : nbcl_status_str(st));
    nbcl_engine_destroy(e);
    return st;
}

nbcl_status nbcl_engine_create(const nbcl_engine_opts *opts, nbcl_engine **out, char *err,
                               size_t errlen)
{
    if (!out) {
        nbcl__errf(err, errlen, "nbcl_engine_create: out is NULL");
        return NBCL_INVALID_ARGUMENT;
    }
    *out = NULL;
    nbcl__errf(err, errlen, "%s", "");
    nbcl_engine *e = calloc(1, sizeof *e);
    if (!e) {
        nbcl__errf(err, errlen, "out of host memory allocating the engine");
        return NBCL_OUT_OF_MEMORY;
    }
    nbcl_status est = nbcl_engine_env(e, opts ? opts->env : NULL, err, errlen);
    if (est != NBCL_OK) {
        nbcl_engine_destroy(e);
        return est;
    }
    if (opts)
        e->opts = *opts;
    else
        nbcl_engine_opts_init(&e->opts);
    if (!nbcl_dup_opt(opts ? opts->device : NULL, &e->opt_device, &e->opts.device) ||
        !nbcl_dup_opt(opts ? opts->kernel_dir : NULL, &e->opt_kernel_dir, &e->opts.kernel_dir) ||
        !nbcl_dup_opt(opts ? opts->cache_dir : NULL, &e->opt_cache_dir, &e->opts.cache_dir) ||
        !nbcl_dup_opt(opts ? opts->build_options : NULL, &e->opt_build_options,
                      &e->opts.build_options)) {
        nbcl__set_error(e, "out of host memory copying engine options");
        return nbcl_engine_fail(e, NBCL_OUT_OF_MEMORY, err, errlen);
    }
    if (e->opts.precision != NBCL_PRECISION_AUTO && e->opts.precision != NBCL_PRECISION_F32 &&
        e->opts.precision != NBCL_PRECISION_F64) {
        nbcl__set_error(e, "invalid precision %d (use AUTO, F32 or F64)", (int)e->opts.precision);
        return nbcl_engine_fail(e, NBCL_INVALID_ARGUMENT, err, errlen);
    }
    if (e->opts.cache != NBCL_CACHE_AUTO && e->opts.cache != NBCL_CACHE_ON &&
        e->opts.cache != NBCL_CACHE_OFF) {
        nbcl__set_error(e, "invalid cache mode %d (use AUTO, ON or OFF)", (int)e->opts.cache);
        return nbcl_engine_fail(e, NBCL_INVALID_ARGUMENT, err, errlen);
    }

    e->opts.env = &e->env;
    nbcl__program_prep_start(e); /* overlaps the platform's loading */
    nbcl_status st = nbcl__device_resolve(e->opts.device, e->env.device, &e->platform, &e->device,
                                          &e->info, e->last_error, sizeof e->last_error);
    if (st != NBCL_OK)
        return nbcl_engine_fail(e, st, err, errlen);

    st = nbcl__precision_resolve(e->opts.precision, e->info.has_fp64, &e->precision);
    if (st == NBCL_NO_FP64) {
        nbcl__set_error(e,
                        "device \"%s\" lacks double precision (CL_DEVICE_DOUBLE_FP_CONFIG is 0); "
                        "use precision F32 or AUTO",
                        e->info.device_name);
        return nbcl_engine_fail(e, st, err, errlen);
    }
    if (st != NBCL_OK) {
        nbcl__set_error(e, "invalid precision %d", (int)e->opts.precision);
        return nbcl_engine_fail(e, st, err, errlen);
    }
    nbcl__log(e, NBCL_LOG_INFO, "device %u:%u %s (%s), precision F%d",
              e->info.platform_index, e->info.device_index, e->info.device_name,
              e->info.platform_name, (int)e->precision);

    cl_int rc = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)e->platform, 0};
    e->ctx = clCreateContext(props, 1, &e->device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS || !e->ctx) {
        e->ctx = NULL;
        nbcl__set_error(e, "clCreateContext: %s", nbcl__cl_error_name(rc));
        return nbcl_engine_fail(e, NBCL_CL_ERROR, err, errlen);
    }
    e->queue = clCreateCommandQueue(e->ctx, e->device, CL_QUEUE_PROFILING_ENABLE, &rc);
    if (rc != CL_SUCCESS || !e->queue) {
        e->queue = NULL;
        nbcl__set_error(e, "clCreateCommandQueue: %s", nbcl__cl_error_name(rc));
        return nbcl_engine_fail(e, NBCL_CL_ERROR, err, errlen);
    }

    st = nbcl__program_build(e);
    if (st != NBCL_OK)
        return nbcl_engine_fail(e, st, err, errlen);

    e->k_pixel = clCreateKernel(e->program, "nbcl_k_pixel", &rc);
    if (rc != CL_SUCCESS || !e->k_pixel) {
        e->k_pixel = NULL;
        nbcl__set_error(e, "clCreateKernel(nbcl_k_pixel): %s", nbcl__cl_error_name(rc));
        return nbcl_engine_fail(e, NBCL_CL_ERROR, err, errlen);
    }
    /* the vector kernel is optional: a program without it (an old kernel_dir) still renders */
    e->k_pixel_simd = clCreateKernel(e->program, "nbcl_k_pixel_simd", &rc);
    if (rc != CL_SUCCESS)
        e->k_pixel_simd = NULL;
    *out = e;
    return NBCL_OK;
}

const char *nbcl_engine_last_error(const nbcl_engine *e)
{
    return e ? e->last_error : "";
}

const nbcl_device_info *nbcl_engine_device(const nbcl_engine *e)
{
    return e ? &e->info : NULL;
}

nbcl_precision nbcl_engine_precision(const nbcl_engine *e)
{
    return e ? e->precision : NBCL_PRECISION_AUTO;
}

const nbcl_build_facts *nbcl_engine_build_facts(const nbcl_engine *e)
{
    return e ? &e->facts : NULL;
}
