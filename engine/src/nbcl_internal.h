/* Internal definitions shared by the engine's translation units (never installed). */
#ifndef NBCL_INTERNAL_H
#define NBCL_INTERNAL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <clblast_c.h> /* types only: the library is loaded on demand (blas.c) */
#include <stdarg.h>
#include "nbcl/nbcl.h"
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define NBCL_ERRLEN 16384

struct nbcl_engine {
    /* options, with strings copied (owned) */
    nbcl_engine_opts opts;
    char *opt_device, *opt_kernel_dir, *opt_cache_dir, *opt_build_options;
    /* the NBCL_* settings (opts.env, or read from the environment at creation), strings owned;
     * nothing in the library reads the environment after that */
    nbcl_env_options env;
    char *env_strings[6];

    nbcl_device_info info;
    cl_platform_id platform;
    cl_device_id device;
    cl_context ctx;
    cl_command_queue queue;     /* in-order, CL_QUEUE_PROFILING_ENABLE */
    cl_program program;
    cl_kernel k_pixel;          /* nbcl_k_pixel: one work-item per pixel */
    cl_kernel k_pixel_simd;     /* nbcl_k_pixel_simd: 8 pixels per work-item in vector types */
    nbcl_precision precision;   /* resolved: F32 or F64 */
    nbcl_build_facts facts;
    int clblast_used;           /* CLBlastClearCache() before releasing the context */
    /* the structure-factor buffer of the last render, kept for the next scene with the same
     * inputs_id (the frames of a series share their grid: uploaded once per engine) */
    cl_mem f_cache;
    unsigned long long f_cache_id;
    double f_cache_fk;          /* the single-precision amplitude factor it was packed with */
    nbcl_stats_profile stats_prof; /* of the last nbcl_image_stats / nbcl_compare_device (stats.c) */
    /* the output buffer of the last render that read its pixels back (render.c), kept and grown
     * as needed: a new one per render would have its pages faulted in again every frame */
    cl_mem out_cache;
    size_t out_cache_bytes;
    char last_error[NBCL_ERRLEN];
    struct nbcl_program_prep *prep; /* program.c: the source made while the platform loads */
};

/* status.c / engine.c */
const char *nbcl__cl_error_name(cl_int code);
void nbcl__set_error(nbcl_engine *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* cancel.c: the token the calling thread installed with nbcl_cancel_use() was triggered (file
 * waits: input FIFOs, slow FIFO readers) */
int nbcl__io_cancelled(void);

void nbcl__log(const nbcl_engine *e, nbcl_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* snprintf into a caller error buffer (NULL-safe) */
void nbcl__errf(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define NBCL_CL_CHECK(e, call)                                                       \
    do {                                                                             \
        cl_int nbcl_rc_ = (call);                                                    \
        if (nbcl_rc_ != CL_SUCCESS) {                                                \
            nbcl__set_error((e), "%s: %s", #call, nbcl__cl_error_name(nbcl_rc_));    \
            return (nbcl_rc_ == CL_MEM_OBJECT_ALLOCATION_FAILURE ||                  \
                    nbcl_rc_ == CL_OUT_OF_RESOURCES)                                 \
                       ? NBCL_DEVICE_MEMORY                                          \
                       : NBCL_CL_ERROR;                                              \
        }                                                                            \
    } while (0)

/* device.c: resolve a spec to ids + facts; env_device (NBCL_DEVICE) when spec is NULL or "" */
nbcl_status nbcl__device_resolve(const char *spec, const char *env_device, cl_platform_id *platform,
                                 cl_device_id *device, nbcl_device_info *info, char *err,
                                 size_t errlen);
void nbcl__device_query(cl_platform_id p, cl_device_id d, unsigned pi, unsigned di,
                        nbcl_device_info *info);

/* program.c: assemble cl/ sources (embedded or kernel_dir) with a precision define, build,
 * using the on-disk cache (kcache.c); fills e->program and e->facts. Build log on failure goes
 * to last_error (with device and options). */
nbcl_status nbcl__program_build(nbcl_engine *e);
/* 1 when the kernels may use clang's element-wise rounding builtins on this platform (PoCL) */
int nbcl__round_builtins_ok(const char *platform_name);
/* program.c: start making the program source on a helper thread (before the device is
 * resolved; nbcl__program_build takes it); _end waits for it and drops it (engine teardown) */
void nbcl__program_prep_start(nbcl_engine *e);
void nbcl__program_prep_end(nbcl_engine *e);
/* Assemble the full source text for a precision (32 or 64); caller frees. */
nbcl_status nbcl__program_source(const char *kernel_dir, int precision, char **out, char *err,
                                 size_t errlen);

/* sha256 hex of a buffer (65 bytes out) */
void nbcl__sha256_hex(const void *data, size_t len, char out[65]);
/* sha256 of a buffer, 32 raw bytes; 0 when the digest is unavailable */
int nbcl__sha256(const void *data, size_t len, unsigned char out[32]);

/* the scene's definition, its stages and its log helper */
#include "nbcl_scene_internal.h"

/* time */
double nbcl__now(void);
/* device.c: case-insensitive substring test; NULL holds nothing */
int nbcl__icontains(const char *hay, const char *needle);
/* env.c: NBCL_MODULE_DIR (NULL when unset), for the module loader */
const char *nbcl__env_module_dir(void);

/* CLBlast routines, resolved from the shared library on first use (blas.c); NULL and the
 * reason in why when it cannot be loaded */
typedef struct nbcl_blas {
    CLBlastStatusCode (*CLBlastDsum)(const size_t, cl_mem, const size_t, const cl_mem,
                                     const size_t, const size_t, cl_command_queue *, cl_event *);
    CLBlastStatusCode (*CLBlastDdot)(const size_t, cl_mem, const size_t, const cl_mem,
                                     const size_t, const size_t, const cl_mem, const size_t,
                                     const size_t, cl_command_queue *, cl_event *);
    CLBlastStatusCode (*CLBlastiDmax)(const size_t, cl_mem, const size_t, const cl_mem,
                                      const size_t, const size_t, cl_command_queue *, cl_event *);
    CLBlastStatusCode (*CLBlastiDamax)(const size_t, cl_mem, const size_t, const cl_mem,
                                       const size_t, const size_t, cl_command_queue *,
                                       cl_event *);
    CLBlastStatusCode (*CLBlastDaxpy)(const size_t, const double, const cl_mem, const size_t,
                                      const size_t, cl_mem, const size_t, const size_t,
                                      cl_command_queue *, cl_event *);
    CLBlastStatusCode (*CLBlastDhad)(const size_t, const double, const cl_mem, const size_t,
                                     const size_t, const cl_mem, const size_t, const size_t,
                                     const double, cl_mem, const size_t, const size_t,
                                     cl_command_queue *, cl_event *);
    CLBlastStatusCode (*CLBlastClearCache)(void);
} nbcl_blas;
const nbcl_blas *nbcl__blas(char *why, size_t whycap);

/* host threads for large image passes: the CPUs this process may use, or NBCL_HOST_THREADS
 * (read through env.c at each call: these passes have no engine to carry options) */
int nbcl__host_threads(void);
/* threads a pass of nchunks chunks over npixels pixels runs on: NBCL_HOST_THREADS when set,
 * else one per million pixels up to nbcl__host_threads(); never more than nchunks, at least 1 */
int nbcl__host_threads_for(size_t nchunks, size_t npixels);
/* fn(ctx, c) for every c in [0, nchunks), on nbcl__host_threads_for(nchunks, npixels) threads
 * (one: on the caller's, in order, no thread started); returns when all are done. Chunks run in
 * any order: give each its own output slot. */
void nbcl__parallel_chunks(size_t nchunks, size_t npixels, void (*fn)(void *ctx, size_t chunk),
                           void *ctx);
/* nbcl_image_stats_host() and, in the same sweep as its RMSD pass, the SMV image of the ROI
 * (nbcl_image_to_u16 at scale_of(s, st) and s->adc_offset, where st has max_I, its position,
 * sum, mean and n; u16 holds every pixel) */
void nbcl__image_stats_u16(const nbcl_scene *s, const nbcl_image *img, nbcl_stats *out,
                           uint16_t *u16,
                           double (*scale_of)(const nbcl_scene *, const nbcl_stats *));
/* Fill the non-finite fields of st (image.c): a counting pass over the ROI only when one of
 * the sums in st is not finite. */
void nbcl__stats_count_nonfinite(const nbcl_scene *s, const nbcl_image *img, nbcl_stats *st);

/* nbcl_render_frames() into images whose memory the caller owns: imgs[i].data already holds
 * fpixels x spixels floats of scenes[i] (page-aligned: zero-copy devices write there in place);
 * the call sets the sizes and solid-angle sums and frees nothing, also on failure (series.c
 * reuses the buffers frame after frame instead of faulting fresh pages in every one) */
nbcl_status nbcl__render_frames_into(nbcl_engine *e, const nbcl_scene *const *scenes, size_t n,
                                     const nbcl_render_opts *opts, nbcl_image *imgs,
                                     nbcl_render_timing *timings);
/* nbcl_frame_products_make() with the SMV image made in smv (fpixels x spixels, the caller's)
 * when want[NBCL_OUT_SMV] and smv is not NULL: the caller takes it back (p->smv = NULL) before
 * nbcl_frame_products_free() */
nbcl_status nbcl__frame_products_make_into(const nbcl_scene *s, const nbcl_image *img,
                                           const nbcl_stats *stats,
                                           const int want[NBCL_OUT_KINDS], uint16_t *smv,
                                           nbcl_frame_products *p, char *err, size_t errlen);

#endif
