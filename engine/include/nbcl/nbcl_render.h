/* Rendering a scene on an engine, and image statistics. */
#ifndef NBCL_RENDER_H
#define NBCL_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include "nbcl/nbcl_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nbcl_image {
    int fpixels, spixels;
    float *data;              /* fpixels*spixels, fast-major; owned by the image */
    double omega_sum;         /* solid angles summed per sub-pixel over rendered pixels (the
                                 reference's "solid angle subtended" is omega_sum / steps) */
} nbcl_image;

/* Progress: called after each tile with pixels done and total; return non-zero to cancel. */
typedef int (*nbcl_progress_fn)(void *user, size_t done, size_t total);

typedef struct nbcl_render_timing {
    double upload_s;          /* host wall time for scene uploads */
    double kernel_s;          /* sum of OpenCL profiling times of the pixel kernels */
    double readback_s;        /* host wall time for reads */
    double wall_s;            /* host wall time of the whole render call */
    size_t tiles;
    int interpolation_fallback; /* an interpolation left the HKL grid: default_F for it, then
                                   interpolation off for the rest of the image (raster order) */
    long fallback_pixel;      /* index (slow*fpixels + fast) of the pixel where that happened */
    const char *kernel_name;  /* which pixel kernel ran */
    int zero_copy;            /* the kernel wrote the host image in place (host-unified memory,
                                 NBCL_ZERO_COPY=0|1 overrides) instead of a device buffer read back */
    int batch;                /* frames rendered by the same launches (nbcl_render_frames; 1:
                                 alone). The times above are this frame's share, the batch's
                                 divided by `batch`; tiles are counted on its first frame only */
} nbcl_render_timing;

typedef struct nbcl_render_opts {
    nbcl_progress_fn progress;
    void *progress_user;
    size_t max_tile_pixels;   /* 0: chosen from device limits */
} nbcl_render_opts;

NBCL_API nbcl_status nbcl_image_alloc(nbcl_image *img, int fpixels, int spixels);
/* Uninitialised host memory for a large image-sized buffer: page-aligned, and on 2 MiB
 * boundaries with a transparent-huge-page hint when it is 4 MiB or more (fewer page faults).
 * Release with free(). NULL when out of memory. */
NBCL_API void *nbcl_alloc_large(size_t bytes);
NBCL_API void nbcl_image_free(nbcl_image *img);

/* Render the whole detector of `s` into img (allocated by the call). */
NBCL_API nbcl_status nbcl_render(nbcl_engine *e, const nbcl_scene *s, const nbcl_render_opts *opts,
                                 nbcl_image *img, nbcl_render_timing *timing);

/* Render n frames (scenes[i] into imgs[i], allocated by the call; timings may be NULL). Frames
 * that differ only in their orientation tables (nbcl_scenes_batchable: a rotation series' frames
 * built with nbcl_scene_build_shared from one base) share launches of the vector kernel, up to
 * NBCL_BATCH_MAX (16) at once: the per-pixel work that does not depend on the orientation is done
 * once for all of them. Every image is byte-identical to nbcl_render() of its scene alone; frames
 * that cannot share (other parameters, interpolation, the scalar kernel) are rendered one by
 * one. On failure every image is freed. */
NBCL_API nbcl_status nbcl_render_frames(nbcl_engine *e, const nbcl_scene *const *scenes, size_t n,
                                        const nbcl_render_opts *opts, nbcl_image *imgs,
                                        nbcl_render_timing *timings);
/* Non-zero when a and b can share launches: byte-identical parameter blocks, sources, ROI,
 * mask and structure factors (the same grid), no interpolation (its first fallback switches it
 * off for the rest of a run: per-frame state). */
NBCL_API int nbcl_scenes_batchable(const nbcl_scene *a, const nbcl_scene *b);
/* How many frames like `s` one nbcl_render_frames launch series should take on this engine:
 * 1 on the scalar kernel (GPUs) and with interpolation; else ceil(32 / sub-paths per pixel)
 * (the shared per-pixel work is worth 2-3 sub-paths), at most NBCL_BATCH_MAX (16) and 512 MiB
 * of images. NBCL_BATCH=N replaces the choice (1: every frame alone). */
NBCL_API size_t nbcl_render_batch_max(const nbcl_engine *e, const nbcl_scene *s);

/* Image statistics as the reference prints them (over the ROI; mask honoured like the
 * reference: the mean/RMS skip masked pixels, the RMSD pass does not). */
typedef struct nbcl_stats {
    double max_I;
    int max_fpixel, max_spixel;   /* first pixel reaching max_I in raster order */
    double sum, mean, rms, rmsd;
    size_t n;
    /* pixels of the ROI that are NaN or +-inf (counted only when a sum came out non-finite, so
     * the check costs nothing on a good image), how many of them are NaN, and the first one in
     * raster order (-1 when none) */
    size_t nonfinite, nonfinite_nan;
    int nonfinite_fpixel, nonfinite_spixel;
} nbcl_stats;

/* Computed on the engine's device (CLBlast), in double accumulation. */
NBCL_API nbcl_status nbcl_image_stats(nbcl_engine *e, const nbcl_scene *s, const nbcl_image *img,
                                      nbcl_stats *out);
/* Same statistics on the host, on up to all host CPUs for large images (a thread per million
 * pixels; NBCL_HOST_THREADS overrides); the result does not depend on the number of threads. */
NBCL_API void nbcl_image_stats_host(const nbcl_scene *s, const nbcl_image *img, nbcl_stats *out);

/* NBCL_OK when the statistics saw no non-finite pixel; else NBCL_NONFINITE and a one-line
 * message in err naming the count, the first pixel and the cause, found by evaluating that pixel
 * again on the host in double precision: a NaN of the physics (extreme geometry or wavelength),
 * an intensity beyond the float image's range (3.4e38), or an overflow of the device's single
 * precision (then -precision double helps). `precision` is the one the image was rendered in. */
NBCL_API nbcl_status nbcl_image_check_finite(const nbcl_scene *s, const nbcl_stats *st,
                                             nbcl_precision precision, char *err,
                                             size_t errlen);

/* The integer images of the reference, every pixel written (0 outside the ROI, given as
 * {xmin, xmax, ymin, ymax} inclusive), on all host CPUs:
 * SMV: floor(min(max(v*scale + offset, 0), 65535) + 0.5); PGM: (uint8)min(max(v*scale, 0), 255). */
NBCL_API void nbcl_image_to_u16(const nbcl_image *img, const int roi[4], double scale, double offset,
                                uint16_t *out);
NBCL_API void nbcl_image_to_u8(const nbcl_image *img, const int roi[4], double scale, uint8_t *out);

/* The device's sustained multiply-add throughput in the engine's precision, flops per second
 * (2 per FMA lane), measured with a pure-FMA kernel (cl/nbcl_peak.cl) in launches of >= 50 ms:
 * the "measured peak" nbcl-bench --peak sets the pixel kernels against. */
NBCL_API nbcl_status nbcl_measure_peak(nbcl_engine *e, double *flops_per_s);

/* Comparison of two float images (nbcl-compare, golden tests). */
typedef struct nbcl_compare_result {
    size_t n;
    double sum_a, sum_b, ratio;      /* ratio = sum_a / sum_b */
    double corr;                      /* Pearson correlation */
    double mse, rmse, max_abs, max_rel;
    size_t worst_index;
} nbcl_compare_result;
NBCL_API void nbcl_compare_host(const float *a, const float *b, size_t n, nbcl_compare_result *r);
NBCL_API nbcl_status nbcl_compare_device(nbcl_engine *e, const float *a, const float *b, size_t n,
                                         nbcl_compare_result *r);

/* How the last nbcl_image_stats / nbcl_compare_device call with engine e ran: on the device
 * (CLBlast on e's queue) or on the host and why, and the time of each step (for traces, e.g.
 * nbcl-bench --profile). Times are seconds of CLOCK_MONOTONIC. A call without an engine records
 * nothing. */
typedef struct nbcl_stats_call {
    char routine[32];           /* "CLBlastDsum", "upload", "readback" ... */
    double host_start;          /* CLOCK_MONOTONIC seconds when enqueued */
    double wall_s;              /* host wall time: enqueue .. finish */
    double event_s;             /* OpenCL profiling time of the routine's last event; <0 none */
} nbcl_stats_call;

typedef struct nbcl_stats_profile {
    int on_device;              /* 1: CLBlast on the engine's queue; 0: host fallback */
    char reason[256];           /* why the host path was taken (empty on the device path) */
    char what[16];              /* "stats" or "compare"; empty: no call yet */
    double wall_s;              /* the whole call */
    size_t ncalls;
    nbcl_stats_call calls[24];
} nbcl_stats_profile;
/* Copies e's profile into *out (zeroed when e is NULL or has made no call yet). */
NBCL_API void nbcl_engine_stats_profile(const nbcl_engine *e, nbcl_stats_profile *out);

#ifdef __cplusplus
}
#endif
#endif
