#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
/* Rendering: upload a scene's inputs once (several frames of a rotation series share them and
 * one launch series, nbcl_render_frames), launch the pixel kernel over tiles sized by work
 * (bounded device memory and launch time), and read each tile back into the frames' host
 * images, or, with zero copy, let the kernel write the images in place. */
#include <limits.h>
#include <sys/mman.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "nbcl_layout.h"
#include "render/pack.h"

nbcl_status nbcl_image_alloc(nbcl_image *img, int fpixels, int spixels)
{
    img->fpixels = fpixels;
    img->spixels = spixels;
    img->omega_sum = 0.0;
    img->data = calloc((size_t)fpixels * (size_t)spixels, sizeof(float));
    return img->data ? NBCL_OK : NBCL_OUT_OF_MEMORY;
}

/* page-aligned and not zeroed: the kernels write every pixel, and first touch happens in the
 * device's threads */
static nbcl_status image_alloc_aligned(nbcl_image *img, int fpixels, int spixels)
{
    img->fpixels = fpixels;
    img->spixels = spixels;
    img->omega_sum = 0.0;
    img->data = nbcl_alloc_large((size_t)fpixels * (size_t)spixels * sizeof(float));
    return img->data ? NBCL_OK : NBCL_OUT_OF_MEMORY;
}

void *nbcl_alloc_large(size_t bytes)
{
    /* large buffers on 2 MiB boundaries, marked for transparent huge pages where the kernel
     * offers them (madvise mode): a 64 MB image is then 32 page faults, not 16384 */
    const size_t huge = (size_t)2 << 20;
    size_t align = bytes >= 2 * huge ? huge : 4096;
    size_t rounded = bytes ? (bytes + align - 1) / align * align : align;
    void *p = aligned_alloc(align, rounded);
#ifdef MADV_HUGEPAGE
    if (p && align == huge)
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: no error if refused */
#endif
    return p;
}

void nbcl_image_free(nbcl_image *img)
{
    if (!img)
        return;
    free(img->data);
    img->data = NULL;
}

/* n doubles, times factor, into a REAL-typed buffer of the engine's precision, from element at */
static void pack_real_at(void *dst, size_t at, const double *src, size_t n, int f64, double factor)
{
    for (size_t i = 0; i < n; i++) {
        double v = factor != 1.0 ? src[i] * factor : src[i];
        if (f64)
            ((double *)dst)[at + i] = v;
        else
            ((float *)dst)[at + i] = (float)v;
    }
}

/* copy doubles, times factor, into a new REAL-typed buffer of the engine's precision */
static void *pack_real(const double *src, size_t n, int f64, double factor, size_t *bytes)
{
    size_t es = f64 ? sizeof(double) : sizeof(float);
    *bytes = (n ? n : 1) * es;
    void *p = calloc(n ? n : 1, es);
    if (p)
        pack_real_at(p, 0, src, n, f64, factor);
    return p;
}

/* Single precision: the kernel sums I = I_bg + sum of F^2 F_latt^2 over the sub-paths and
 * multiplies by scale = r_e^2 fluence / steps only at the end, so a large F with a small fluence
 * overflows the float sum although the pixel fits (-default_F 1e20 -fluence 1e-10: F^2 = 1e40).
 * When the sum's bound passes 1e36 (FLT_MAX / 340) but bound x scale does not, scale is folded
 * into the amplitudes (F x sqrt(scale), I_bg x scale, scale 1): every step is linear in I, so
 * the pixel is the same, with no float intermediate far beyond it. Ordinary scenes stay far below
 * the bound, so their rounding (and the golden parity) is untouched. Returns the factor for F. */
static double f32_amplitude_factor(const nbcl_kernel_inputs *k)
{
    const double *P = k->P;
    const int *IP = k->IP;
    double fmax = fabs(P[NBCL_P_DEFAULT_F]);
    for (size_t i = 0; i < k->nF; i++)
        fmax = fabs(k->F[i]) > fmax ? fabs(k->F[i]) : fmax;
    double latt = P[NBCL_P_NA] * P[NBCL_P_NB] * P[NBCL_P_NC];
    double paths = (double)IP[NBCL_IP_THICKSTEPS] * IP[NBCL_IP_OVERSAMPLE] *
                   IP[NBCL_IP_OVERSAMPLE] * IP[NBCL_IP_SOURCES] * IP[NBCL_IP_NORIENT];
    double bound = fabs(P[NBCL_P_I_BG]) + fmax * fmax * latt * latt * paths;
    double scale = P[NBCL_P_SCALE];
    const double lim = 1e36;
    if (!(bound > lim) || !(scale > 0.0 && scale < 1.0) || !(bound * scale < lim))
        return 1.0;
    return sqrt(scale);
}

static cl_mem make_buffer(nbcl_engine *e, cl_mem_flags flags, size_t bytes, void *host,
                          cl_int *rc)
{
    return clCreateBuffer(e->ctx, flags | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes, host, rc);
}

static double event_seconds(cl_event ev)
{
    cl_ulong t0 = 0, t1 = 0;
    if (clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) != CL_SUCCESS)
        return 0.0;
    return (double)(t1 - t0) * 1e-9;
}

/* One render: the frames of one launch series (1, or up to NBCL_BATCH_MAX frames of a rotation
 * series that differ only in their orientations, nbcl_scenes_batchable), its host copies,
 * device buffers and kernel. */
typedef struct render_job {
    nbcl_engine *e;
    const nbcl_scene *s;   /* the first frame: everything but the orientation tables */
    size_t nframes;
    nbcl_image *imgs;      /* nframes */
    int borrowed;          /* the images' memory is the caller's (nbcl__render_frames_into) */
    int f64, zero_copy, cpu, simd;
    unsigned cus;
    size_t npix, tile, vw; /* tile: pixels of the largest launch (buffer capacity) */
    cl_kernel k;
    nbcl_kernel_inputs K;  /* the first frame's values in the kernel's layout (pack.c) */
    cl_mem dP, dIP, dIPnear, dS, dO, dF, dM, dOut, dFlags, dOmega;
    float *homega;         /* one solid-angle sum per work-item of a launch */
    double omega_sum;
    nbcl_render_timing tm;
} render_job;

/* records "what: CL error" and maps the code to a status */
static nbcl_status cl_fail(nbcl_engine *e, const char *what, cl_int rc)
{
    nbcl__set_error(e, "%s: %s", what, nbcl__cl_error_name(rc));
    return (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES ||
            rc == CL_INVALID_BUFFER_SIZE)
               ? NBCL_DEVICE_MEMORY
               : NBCL_CL_ERROR;
}

/* kernel arguments of nbcl_k_pixel_simd (cl/nbcl_pixel_simd.cl) after the common ones */
#define ARG_NFRAMES 11
#define ARG_STRIDE 12
#define ARG_OUT1 13 /* out1 .. out15: frames 1 .. 15 */

/* The launch's output buffers. Zero copy: one over each frame's part of its image (the kernel
 * writes the images in place); else the one output buffer, frame b's pixels at b x count. */
static cl_int tile_outputs(render_job *j, size_t first, size_t count, cl_mem *tiles)
{
    cl_int rc = CL_SUCCESS, stride = j->zero_copy ? 0 : (cl_int)count;
    for (size_t b = 0; b < j->nframes && rc == CL_SUCCESS; b++)
        tiles[b] = j->zero_copy ? clCreateBuffer(j->e->ctx, CL_MEM_WRITE_ONLY | CL_MEM_USE_HOST_PTR,
                                                 count * sizeof(float), j->imgs[b].data + first,
                                                 &rc)
                                : j->dOut;
    if (rc == CL_SUCCESS)
        rc = clSetKernelArg(j->k, 6, sizeof(cl_mem), &tiles[0]);
    if (j->simd) {
        if (rc == CL_SUCCESS)
            rc = clSetKernelArg(j->k, ARG_STRIDE, sizeof(cl_int), &stride);
        for (size_t b = 1; b < NBCL_BATCH_MAX && rc == CL_SUCCESS; b++) /* unused: frame 0's */
            rc = clSetKernelArg(j->k, ARG_OUT1 + (cl_uint)b - 1, sizeof(cl_mem),
                                &tiles[b < j->nframes ? b : 0]);
    }
    return rc;
}

/* the launch's pixels into the images: frame b's at b x count in the output buffer, or (zero
 * copy) already in the image, where mapping makes the host memory current (a no-op where the
 * device used it in place, a copy where it could not) */
static cl_int read_tile(render_job *j, const cl_mem *tiles, size_t first, size_t count)
{
    nbcl_engine *e = j->e;
    cl_int rc = CL_SUCCESS;
    for (size_t b = 0; b < j->nframes && rc == CL_SUCCESS; b++) {
        cl_bool last = b + 1 == j->nframes;
        if (j->zero_copy) {
            void *p = clEnqueueMapBuffer(e->queue, tiles[b], CL_FALSE, CL_MAP_READ, 0,
                                         count * sizeof(float), 0, NULL, NULL, &rc);
            if (rc == CL_SUCCESS)
                rc = clEnqueueUnmapMemObject(e->queue, tiles[b], p, 0, NULL, NULL);
            if (rc == CL_SUCCESS && last)
                rc = clFinish(e->queue);
        } else {
            rc = clEnqueueReadBuffer(e->queue, j->dOut, last, b * count * sizeof(float),
                                     count * sizeof(float), j->imgs[b].data + first, 0, NULL,
                                     NULL);
        }
    }
    return rc;
}

/* Launch the pixel kernel over pixels [first, first + count) of every frame of the job and read
 * them back into the images; adds the launch's solid angles to j->omega_sum when with_omega. */
static nbcl_status launch_tile(render_job *j, size_t first, size_t count, size_t lsize,
                               int with_omega)
{
    nbcl_engine *e = j->e;
    cl_int ifirst = (cl_int)first, icount = (cl_int)count, rc = CL_SUCCESS;
    cl_mem tiles[NBCL_BATCH_MAX] = {NULL};
    const char *what = "clEnqueueWriteBuffer(mask)";
    if (j->s->mask) /* the tile's part of the mask */
        rc = clEnqueueWriteBuffer(e->queue, j->dM, CL_FALSE, 0, count, j->s->mask + first, 0,
                                  NULL, NULL);
    if (rc == CL_SUCCESS) {
        what = j->zero_copy ? "clCreateBuffer(image tile)" : "clSetKernelArg";
        rc = tile_outputs(j, first, count, tiles);
    }
    if (rc == CL_SUCCESS) {
        what = "clSetKernelArg";
        rc = clSetKernelArg(j->k, 9, sizeof(cl_int), &ifirst);
        if (rc == CL_SUCCESS)
            rc = clSetKernelArg(j->k, 10, sizeof(cl_int), &icount);
    }
    size_t items = (count + j->vw - 1) / j->vw;
    size_t global = (items + lsize - 1) / lsize * lsize;
    cl_event ev = NULL;
    if (rc == CL_SUCCESS) {
        what = "clEnqueueNDRangeKernel";
        rc = clEnqueueNDRangeKernel(e->queue, j->k, 1, NULL, &global, &lsize, 0, NULL, &ev);
    }
    double t_rb = nbcl__now();
    if (rc == CL_SUCCESS) {
        what = "clEnqueueReadBuffer";
        rc = read_tile(j, tiles, first, count);
    }
    if (rc == CL_SUCCESS && with_omega) /* one solid-angle sum per work-item */
        rc = clEnqueueReadBuffer(e->queue, j->dOmega, CL_TRUE, 0, items * sizeof(float),
                                 j->homega, 0, NULL, NULL);
    for (size_t b = 0; j->zero_copy && b < j->nframes; b++)
        if (tiles[b])
            clReleaseMemObject(tiles[b]);
    if (rc != CL_SUCCESS) {
        if (ev)
            clReleaseEvent(ev);
        return cl_fail(e, what, rc);
    }
    if (with_omega)
        for (size_t i = 0; i < items; i++)
            j->omega_sum += j->homega[i];
    double kt = event_seconds(ev);
    j->tm.kernel_s += kt;
    j->tm.readback_s += (nbcl__now() - t_rb) - kt;
    clReleaseEvent(ev);
    j->tm.tiles++;
    return NBCL_OK;
}

/* ------------------------------------------------------------ launch sizing by work
 * A launch cannot be interrupted, and a signal is only acted on between launches. Launches are
 * therefore sized by sub-paths (pixels inside the ROI x sub-paths per pixel), not by pixels, so
 * that each takes about `seconds` of device time: the first from a prior rate per compute unit,
 * the next ones from the measured rate of the one before. Boundaries stay on multiples of 16
 * pixels (whole work-items of the vector kernel, 8 or 16 pixels: the same grouping, the same
 * bytes, whatever the sizes). */
#define NBCL_LAUNCH_SECONDS 0.25  /* target device time of one launch (NBCL_LAUNCH_SECONDS) */
#define NBCL_PRIOR_RATE_CU 1e8     /* sub-paths/s per compute unit before anything is measured */
#define NBCL_FAST_RATE_CU 1e9      /* above any device measured (a PoCL core 2e8 single, a GPU
                                      SM < 1e9): up-front "at least" estimates */
#define NBCL_LONG_RUN_S 1800.0     /* warn when a render is projected to take longer */
#define NBCL_ALIGN 16              /* launch boundaries, in pixels: whole vector work-items */

typedef struct launch_sizer {
    int fpixels, roi[4];
    double per_pixel;  /* sub-paths of one pixel inside the ROI, over the frames of a launch */
    int frames;        /* frames per launch */
    double seconds;    /* target device time of one launch */
    double budget;     /* sub-paths the next launch may take */
    size_t min_count;  /* pixels of the smallest launch that still fills the device */
    size_t max_count;  /* buffer capacity (a multiple of NBCL_ALIGN) */
} launch_sizer;

/* pixels of the ROI among raster indices [0, n) */
static double roi_before(const launch_sizer *z, size_t n)
{
    const size_t fp = (size_t)z->fpixels;
    const double w = (double)(z->roi[1] - z->roi[0] + 1);
    if (w <= 0 || z->roi[3] < z->roi[2])
        return 0.0;
    const long y = (long)(n / fp), x = (long)(n % fp);
    long full = (y < z->roi[3] + 1 ? y : z->roi[3] + 1) - z->roi[2]; /* whole rows of the ROI */
    double r = full > 0 ? (double)full * w : 0.0;
    if (y >= z->roi[2] && y <= z->roi[3]) {
        long part = (x < z->roi[1] + 1 ? x : z->roi[1] + 1) - z->roi[0];
        if (part > 0)
            r += (double)part;
    }
    return r;
}

/* sub-paths of pixels [first, first + count); a pixel outside the ROI counts as one */
static double range_work(const launch_sizer *z, size_t first, size_t count)
{
    return z->per_pixel * (roi_before(z, first + count) - roi_before(z, first)) + (double)count;
}

/* pixels of the next launch: the most (in NBCL_ALIGN steps) whose work fits the budget, at
 * least min_count, at most max_count and what is left (all of it when that is little more) */
static size_t next_count(const launch_sizer *z, size_t first, size_t npix)
{
    size_t lo = z->min_count / NBCL_ALIGN, hi = z->max_count / NBCL_ALIGN;
    if (hi < 1)
        hi = 1;
    if (lo < 1)
        lo = 1;
    if (lo > hi)
        lo = hi;
    if (range_work(z, first, hi * NBCL_ALIGN) <= z->budget) {
        lo = hi;
    } else {
        while (lo < hi) { /* largest k in [lo, hi) with work(k) <= budget, else lo */
            size_t mid = lo + (hi - lo + 1) / 2;
            if (range_work(z, first, mid * NBCL_ALIGN) <= z->budget)
                lo = mid;
            else
                hi = mid - 1;
        }
    }
    size_t count = lo * NBCL_ALIGN, left = npix - first;
    /* a remainder of under a quarter of this launch joins it: one launch fewer, at most 25%
     * longer */
    if (count < left && left - count < count / 4 && left <= z->max_count)
        count = left;
    return count < left ? count : left;
}

/* a launch of `work` sub-paths took `seconds` of device time: size the next one */
static void launch_measured(launch_sizer *z, double work, double seconds)
{
    if (seconds < 1e-3) /* below the resolution that matters: grow */
        seconds = 1e-3;
    double b = work / seconds * z->seconds;
    z->budget = b < 8.0 * z->budget ? b : 8.0 * z->budget;
}

/* work-group size: 64 normally; on CPUs a launch of few work-items (heavy pixels) uses smaller
 * groups so that every core gets some (PoCL runs one group per core at a time). GPUs keep 64. */
static size_t local_size_for(size_t items, unsigned cus, int cpu)
{
    if (!cpu || items >= (size_t)256 * cus)
        return 64;
    return items >= (size_t)32 * cus ? 8 : 1;
}

/* NBCL_LAUNCH_SECONDS (the engine's env options, checked by env.c): seconds >= 0 (0: every
 * launch as small as it can be) */
static double launch_seconds(const nbcl_engine *e)
{
    return e->env.launch_seconds >= 0.0 ? e->env.launch_seconds : NBCL_LAUNCH_SECONDS;
}

/* "2.4 hours", "35 minutes", "40 seconds" */
static void human_time(double s, char *out, size_t len)
{
    if (s >= 2 * 86400.0)
        snprintf(out, len, "%.1f days", s / 86400.0);
    else if (s >= 2 * 3600.0)
        snprintf(out, len, "%.1f hours", s / 3600.0);
    else if (s >= 120.0)
        snprintf(out, len, "%.0f minutes", s / 60.0);
    else
        snprintf(out, len, "%.0f seconds", s);
}

/* warning for a render projected to take hours (rate: sub-paths/s of the device, measured, else
 * an optimistic bound so that the estimate is a lower bound); says what the work is made of and
 * how to bound it */
static void warn_long_run(const nbcl_engine *e, const nbcl_scene *s, const launch_sizer *z,
                          double total, double rate, int measured)
{
    char when[64], frames[32] = "";
    human_time(total / rate, when, sizeof when);
    if (z->frames > 1)
        snprintf(frames, sizeof frames, " in %d frames", z->frames);
    nbcl__log(e, NBCL_LOG_WARN,
              "this render is %.3g sub-paths (%.0f pixels%s x %.3g each: %d^2 sub-pixels, %d "
              "source(s), %d mosaic domain(s), %d phi step(s), %d detector layer(s)) and will "
              "take %s%s (%s %.3g sub-paths/s). Bound it with an explicit -oversample (the cost "
              "grows with its square; the crystal's size suggests %d), fewer -mosaic_dom, "
              "-phisteps or sources, or a smaller -roi or -detpixels",
              total, roi_before(z, (size_t)s->fpixels * (size_t)s->spixels),
              frames, z->per_pixel / z->frames,
              s->oversample, s->sources, s->mosaic_domains, s->phisteps,
              s->thicksteps > 0 ? s->thicksteps : 1, measured ? "about " : "at least ", when,
              measured ? "measured:" : "even at", rate, s->recommended_oversample);
}

/* one work-item runs on one core and a launch cannot be cut short: warn when one alone is long
 * (rate: of the device, as for warn_long_run) */
static void warn_long_item(const nbcl_engine *e, const launch_sizer *z, double rate, int measured,
                           size_t item_pixels, unsigned cus)
{
    double item_s = z->per_pixel * (double)item_pixels / (rate / cus);
    if (item_s > 2.0 && item_s > 4.0 * z->seconds) {
        char one[64];
        human_time(item_s, one, sizeof one);
        nbcl__log(e, NBCL_LOG_WARN,
                  "one work-item (%zu pixel(s)) alone is %s%s of work, and a launch cannot be "
                  "cut short: a cancel request waits for the launch under way",
                  item_pixels, measured ? "about " : "at least ", one);
    }
}

/* ------------------------------------------------------------ one render job */

/* the vector kernel on CPUs (PoCL vectorises only explicit vectors), one pixel per work-item
 * elsewhere; NBCL_KERNEL=scalar|simd overrides (tests, benchmarks) */
static int use_simd(const nbcl_engine *e)
{
    int simd = e->k_pixel_simd && strcmp(e->info.device_type, "CPU") == 0;
    int kv = e->env.kernel; /* NBCL_KERNEL: 0 scalar, 1 simd, -1 unset */
    if (kv == 0)
        simd = 0;
    else if (kv == 1 && e->k_pixel_simd)
        simd = 1;
    return simd;
}

/* The job's facts, kernel and images. Zero copy where the device works in host memory (CPUs,
 * integrated GPUs): each launch's output buffers are the images themselves (NBCL_ZERO_COPY=0
 * turns it off: one buffer read back). */
static nbcl_status job_begin(render_job *j, nbcl_engine *e, const nbcl_scene *s, size_t n,
                             nbcl_image *imgs, int borrowed)
{
    memset(j, 0, sizeof *j);
    j->e = e;
    j->s = s;
    j->nframes = n;
    j->imgs = imgs;
    j->borrowed = borrowed;
    j->f64 = e->precision == NBCL_PRECISION_F64;
    j->npix = (size_t)s->fpixels * (size_t)s->spixels;
    j->cpu = strcmp(e->info.device_type, "CPU") == 0;
    j->cus = e->info.compute_units ? e->info.compute_units : 1;
    j->simd = use_simd(e);
    j->vw = j->simd ? (j->f64 ? 8 : 16) : 1; /* NBCL_VW of cl/nbcl_lane_vector.h */
    j->k = j->simd ? e->k_pixel_simd : e->k_pixel;
    j->tm.kernel_name = j->simd ? "nbcl_k_pixel_simd" : "nbcl_k_pixel";
    cl_bool unified = CL_FALSE;
    if (clGetDeviceInfo(e->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                        NULL) != CL_SUCCESS)
        unified = CL_FALSE;
    int zc_env = e->env.zero_copy; /* NBCL_ZERO_COPY: 0, 1; -1 unset */
    j->zero_copy = zc_env >= 0 ? zc_env : unified == CL_TRUE;
    j->tm.zero_copy = j->zero_copy;
    if (!borrowed)
        for (size_t b = 0; b < n; b++)
            imgs[b].data = NULL;
    if (nbcl__pack_kernel_inputs(s, &j->K) != NBCL_OK) { /* K.src NULL: freed at the end */
        nbcl__set_error(e, "out of host memory while packing the scene");
        return NBCL_OUT_OF_MEMORY;
    }
    for (size_t b = 0; b < n && borrowed; b++) {
        imgs[b].fpixels = s->fpixels;
        imgs[b].spixels = s->spixels;
        imgs[b].omega_sum = 0.0;
    }
    for (size_t b = 0; b < n && !borrowed; b++) /* written whole: no need to zero them */
        if ((j->zero_copy || n > 1 ? image_alloc_aligned(&imgs[b], s->fpixels, s->spixels)
                                   : nbcl_image_alloc(&imgs[b], s->fpixels, s->spixels)) !=
            NBCL_OK) {
            nbcl__set_error(e, "out of host memory for a %dx%d image", s->fpixels, s->spixels);
            return NBCL_OUT_OF_MEMORY;
        }
    return NBCL_OK;
}

/* pixels of the largest launch (the output buffer's capacity): bounded by the device's
 * single-allocation limit; the size of each launch then follows its work (launch_sizer) */
static size_t job_tile(const render_job *j, const nbcl_render_opts *opts)
{
    size_t tile = (opts && opts->max_tile_pixels) ? opts->max_tile_pixels
                                                  : ((size_t)1 << 22) / j->nframes;
    /* with interpolation, launches stay small: the first pixel that leaves the HKL grid
     * switches interpolation off, and the rest of its launch is rendered again */
    if (j->K.IP[NBCL_IP_INTERPOLATE] && tile > 65536)
        tile = 65536;
    const nbcl_engine *e = j->e;
    size_t maxalloc = e->info.max_alloc_bytes ? (size_t)e->info.max_alloc_bytes : ((size_t)1 << 28);
    if (tile * sizeof(float) * j->nframes > maxalloc / 2)
        tile = maxalloc / 2 / sizeof(float) / j->nframes;
    if (tile * j->nframes > (size_t)INT_MAX / 2) /* the kernel's offsets b x count are ints */
        tile = (size_t)INT_MAX / 2 / j->nframes;
    if (tile > j->npix)
        tile = j->npix;
    return (tile + NBCL_ALIGN - 1) / NBCL_ALIGN * NBCL_ALIGN;
}

/* The structure factors: the frames of a series share one grid (same inputs_id, same
 * amplitude factor), uploaded once per engine and kept for the next render. */
static cl_int job_f_buffer(render_job *j, double fk)
{
    nbcl_engine *e = j->e;
    const nbcl_scene *s = j->s;
    cl_int rc = CL_SUCCESS;
    if (s->inputs_id && e->f_cache && e->f_cache_id == s->inputs_id && e->f_cache_fk == fk) {
        rc = clRetainMemObject(e->f_cache); /* this render's reference, released at the end */
        if (rc == CL_SUCCESS)
            j->dF = e->f_cache;
        return rc;
    }
    size_t bF = 0;
    void *hF = pack_real(j->K.F, j->K.nF ? j->K.nF : 1, j->f64, fk, &bF);
    if (!hF)
        return CL_OUT_OF_HOST_MEMORY;
    j->dF = make_buffer(e, CL_MEM_READ_ONLY, bF, hF, &rc);
    free(hF);
    if (rc == CL_SUCCESS && s->inputs_id && clRetainMemObject(j->dF) == CL_SUCCESS) {
        if (e->f_cache) /* the cache keeps one grid: the latest */
            clReleaseMemObject(e->f_cache);
        e->f_cache = j->dF;
        e->f_cache_id = s->inputs_id;
        e->f_cache_fk = fk;
    }
    return rc;
}

/* the output buffer (frame b's pixels of a launch at b x count): the engine's kept one when it
 * is large enough, else a new one that the engine keeps instead */
static cl_int job_out_buffer(render_job *j)
{
    nbcl_engine *e = j->e;
    size_t bytes = j->tile * j->nframes * sizeof(float);
    cl_int rc = CL_SUCCESS;
    if (e->out_cache && e->out_cache_bytes >= bytes) {
        rc = clRetainMemObject(e->out_cache);
        if (rc == CL_SUCCESS)
            j->dOut = e->out_cache;
        return rc;
    }
    j->dOut = make_buffer(e, CL_MEM_WRITE_ONLY, bytes, NULL, &rc);
    if (rc == CL_SUCCESS && clRetainMemObject(j->dOut) == CL_SUCCESS) {
        if (e->out_cache)
            clReleaseMemObject(e->out_cache);
        e->out_cache = j->dOut;
        e->out_cache_bytes = bytes;
    }
    return rc;
}

/* the parameter blocks (the single-precision amplitude factor folded in), the sources and
 * every frame's orientation table (frame b's at b x norient records), in the device
 * precision */
static cl_int job_params(render_job *j, const nbcl_scene *const *frames, double *fk)
{
    nbcl_engine *e = j->e;
    const nbcl_kernel_inputs *K = &j->K;
    size_t norient = K->norient * NBCL_ORIENT_STRIDE, bP, bS, bO;
    *fk = j->f64 ? 1.0 : f32_amplitude_factor(K);
    double kp[NBCL_P_COUNT];
    memcpy(kp, K->P, sizeof kp);
    if (*fk != 1.0) {
        kp[NBCL_P_DEFAULT_F] *= *fk;
        kp[NBCL_P_I_BG] *= *fk * *fk;
        kp[NBCL_P_SCALE] = 1.0;
        nbcl__log(e, NBCL_LOG_DEBUG, "single precision: amplitudes scaled by %g so that the sum "
                                     "stays within float range", *fk);
    }
    void *hP = pack_real(kp, NBCL_P_COUNT, j->f64, 1.0, &bP);
    void *hS = pack_real(K->src, K->nsrc * NBCL_SRC_STRIDE, j->f64, 1.0, &bS);
    void *hO = pack_real(K->orient, norient, j->f64, 1.0, &bO);
    if (hO && j->nframes > 1) {
        void *all = realloc(hO, bO * j->nframes);
        if (!all)
            free(hO);
        else
            for (size_t b = 1; b < j->nframes; b++)
                pack_real_at(all, b * norient, frames[b]->orient, norient, j->f64, 1.0);
        hO = all;
        bO *= j->nframes;
    }
    int ipnear[NBCL_IP_COUNT];
    memcpy(ipnear, K->IP, sizeof ipnear);
    ipnear[NBCL_IP_INTERPOLATE] = 0;
    cl_int rc = hP && hS && hO ? CL_SUCCESS : CL_OUT_OF_HOST_MEMORY;
    if (rc == CL_SUCCESS)
        j->dP = make_buffer(e, CL_MEM_READ_ONLY, bP, hP, &rc);
    if (rc == CL_SUCCESS)
        j->dIP = make_buffer(e, CL_MEM_READ_ONLY, sizeof(int) * NBCL_IP_COUNT,
                             (void *)K->IP, &rc);
    if (rc == CL_SUCCESS)
        j->dIPnear = make_buffer(e, CL_MEM_READ_ONLY, sizeof(int) * NBCL_IP_COUNT, ipnear, &rc);
    if (rc == CL_SUCCESS)
        j->dS = make_buffer(e, CL_MEM_READ_ONLY, bS, hS, &rc);
    if (rc == CL_SUCCESS)
        j->dO = make_buffer(e, CL_MEM_READ_ONLY, bO, hO, &rc);
    free(hP);
    free(hS);
    free(hO);
    return rc;
}

/* every buffer of the job, and the kernel's arguments that stay for all its launches */
static nbcl_status job_upload(render_job *j, const nbcl_scene *const *frames,
                              const nbcl_render_opts *opts)
{
    nbcl_engine *e = j->e;
    double t_up = nbcl__now(), fk = 1.0;
    unsigned char dummy_mask = 1;
    int flags0[NBCL_BATCH_MAX];
    for (int b = 0; b < NBCL_BATCH_MAX; b++)
        flags0[b] = INT_MAX;
    j->tile = job_tile(j, opts);
    cl_int rc = job_params(j, frames, &fk);
    if (rc == CL_SUCCESS)
        rc = job_f_buffer(j, fk);
    if (rc == CL_SUCCESS)
        j->dM = j->s->mask ? make_buffer(e, CL_MEM_READ_ONLY, j->tile, NULL, &rc)
                           : make_buffer(e, CL_MEM_READ_ONLY, 1, &dummy_mask, &rc);
    if (rc == CL_SUCCESS)
        j->dFlags = make_buffer(e, CL_MEM_READ_WRITE, sizeof(int) * j->nframes, flags0, &rc);
    if (rc == CL_SUCCESS && !j->zero_copy)
        rc = job_out_buffer(j);
    if (rc == CL_SUCCESS)
        j->dOmega = make_buffer(e, CL_MEM_WRITE_ONLY, j->tile * sizeof(float), NULL, &rc);
    j->homega = malloc(j->tile * sizeof(float));
    if (rc == CL_OUT_OF_HOST_MEMORY || !j->homega) {
        nbcl__set_error(e, "out of host memory while packing the scene");
        return NBCL_OUT_OF_MEMORY;
    }
    if (rc != CL_SUCCESS) {
        char what[128];
        snprintf(what, sizeof what, "clCreateBuffer (scene of %zu pixels, tile of %zu)", j->npix,
                 j->tile);
        return cl_fail(e, what, rc);
    }
    j->tm.upload_s = nbcl__now() - t_up;
    cl_int nframes = (cl_int)j->nframes;
    rc = clSetKernelArg(j->k, 0, sizeof(cl_mem), &j->dP);
    rc |= clSetKernelArg(j->k, 1, sizeof(cl_mem), &j->dIP);
    rc |= clSetKernelArg(j->k, 2, sizeof(cl_mem), &j->dS);
    rc |= clSetKernelArg(j->k, 3, sizeof(cl_mem), &j->dO);
    rc |= clSetKernelArg(j->k, 4, sizeof(cl_mem), &j->dF);
    rc |= clSetKernelArg(j->k, 5, sizeof(cl_mem), &j->dM);
    rc |= clSetKernelArg(j->k, 6, sizeof(cl_mem), &j->dOut);
    rc |= clSetKernelArg(j->k, 7, sizeof(cl_mem), &j->dFlags);
    rc |= clSetKernelArg(j->k, 8, sizeof(cl_mem), &j->dOmega);
    if (j->simd)
        rc |= clSetKernelArg(j->k, ARG_NFRAMES, sizeof(cl_int), &nframes);
    if (rc != CL_SUCCESS) {
        nbcl__set_error(e, "clSetKernelArg failed (%d)", rc);
        return NBCL_CL_ERROR;
    }
    return NBCL_OK;
}

/* spec-a-core: the first interpolation that leaves the HKL grid switches interpolation off for
 * the rest of the run. In raster order: that pixel keeps its value; every later pixel is
 * rendered with nearest-neighbour F (the rest of this launch again, the next launches with the
 * parameters that say so). One frame per job (nbcl_scenes_batchable). */
static nbcl_status job_interp_check(render_job *j, size_t first, size_t count, size_t lsize)
{
    int flag = INT_MAX;
    cl_int rc = clEnqueueReadBuffer(j->e->queue, j->dFlags, CL_TRUE, 0, sizeof(int), &flag, 0,
                                    NULL, NULL);
    if (rc != CL_SUCCESS)
        return cl_fail(j->e, "clEnqueueReadBuffer", rc);
    if (flag == INT_MAX)
        return NBCL_OK;
    j->tm.interpolation_fallback = 1;
    j->tm.fallback_pixel = flag;
    rc = clSetKernelArg(j->k, 1, sizeof(cl_mem), &j->dIPnear);
    if (rc != CL_SUCCESS)
        return cl_fail(j->e, "clSetKernelArg", rc);
    size_t from = (size_t)flag + 1, end = first + count;
    return from < end ? launch_tile(j, from, end - from, lsize, 0) : NBCL_OK;
}

/* the launches over the whole detector, sized by work, with cancellation and progress between
 * them */
static nbcl_status job_run(render_job *j, const nbcl_render_opts *opts)
{
    const nbcl_scene *s = j->s;
    const int interp_on = j->K.IP[NBCL_IP_INTERPOLATE] != 0;
    launch_sizer z;
    z.fpixels = s->fpixels;
    memcpy(z.roi, s->roi, sizeof z.roi); /* the scene's may reach one past the last pixel */
    if (z.roi[1] > s->fpixels - 1)
        z.roi[1] = s->fpixels - 1;
    if (z.roi[3] > s->spixels - 1)
        z.roi[3] = s->spixels - 1;
    z.frames = (int)j->nframes;
    z.per_pixel = (double)s->steps * (double)(s->thicksteps > 0 ? s->thicksteps : 1) * z.frames;
    z.seconds = launch_seconds(j->e);
    z.budget = NBCL_PRIOR_RATE_CU * j->cus * z.seconds;
    z.max_count = j->tile;
    /* the smallest launch that fills the device: one work-item per core on CPUs (groups of 1),
     * one group of 64 per compute unit elsewhere */
    z.min_count = j->cpu ? j->cus * j->vw : (size_t)j->cus * 64 * j->vw;
    const double total = range_work(&z, 0, j->npix), fast = NBCL_FAST_RATE_CU * j->cus;
    int warned = total / fast > NBCL_LONG_RUN_S;
    if (warned)
        warn_long_run(j->e, s, &z, total, fast, 0);
    warn_long_item(j->e, &z, fast, 0, j->vw, j->cus);
    double done_work = 0.0, done_s = 0.0;
    for (size_t first = 0, count = 0; first < j->npix; first += count) {
        if (nbcl_cancel_triggered(j->e->opts.cancel)) {
            nbcl__set_error(j->e, "render interrupted");
            return NBCL_INTERRUPTED;
        }
        count = next_count(&z, first, j->npix);
        /* small groups only where the work is heavy: a small light image keeps the one group
         * size the driver has compiled for (PoCL compiles each size it meets) */
        int heavy = (count < j->npix - first && count < z.max_count) ||
                    range_work(&z, first, count) > 0.01 * NBCL_PRIOR_RATE_CU * j->cus;
        size_t lsize = heavy ? local_size_for((count + j->vw - 1) / j->vw, j->cus, j->cpu) : 64;
        double k0 = j->tm.kernel_s, w0 = nbcl__now();
        nbcl_status st = launch_tile(j, first, count, lsize, 1);
        if (st != NBCL_OK)
            return st;
        double kt = j->tm.kernel_s - k0 > 0 ? j->tm.kernel_s - k0 : nbcl__now() - w0;
        double work = range_work(&z, first, count);
        launch_measured(&z, work, kt);
        done_work += work;
        done_s += kt;
        if (!warned && first + count < j->npix && done_s > 0 &&
            done_s + (total - done_work) / (done_work / done_s) > NBCL_LONG_RUN_S) {
            warn_long_run(j->e, s, &z, total, done_work / done_s, 1);
            warned = 1;
        }
        if (interp_on && !j->tm.interpolation_fallback &&
            (st = job_interp_check(j, first, count, lsize)) != NBCL_OK)
            return st;
        if (opts && opts->progress && opts->progress(opts->progress_user, first + count, j->npix)) {
            nbcl__set_error(j->e, "render cancelled");
            return NBCL_INTERRUPTED;
        }
    }
    return NBCL_OK;
}

/* releases the job; on success gives every frame its solid-angle sum and its share of the
 * times (the launches' tiles counted on the first frame), on failure frees the images */
static void job_end(render_job *j, nbcl_status st, double t_start, nbcl_render_timing *timings)
{
    cl_mem *bufs[] = {&j->dP, &j->dIP, &j->dIPnear, &j->dS, &j->dO, &j->dF, &j->dM, &j->dOut,
                      &j->dFlags, &j->dOmega};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (*bufs[i])
            clReleaseMemObject(*bufs[i]);
    free(j->homega);
    nbcl__kernel_inputs_free(&j->K);
    nbcl_render_timing tm = j->tm;
    if (tm.readback_s < 0)
        tm.readback_s = 0;
    tm.wall_s = nbcl__now() - t_start;
    double n = (double)j->nframes;
    tm.upload_s /= n;
    tm.kernel_s /= n;
    tm.readback_s /= n;
    tm.wall_s /= n;
    tm.batch = (int)j->nframes;
    for (size_t b = 0; b < j->nframes; b++) {
        if (st != NBCL_OK && !j->borrowed)
            nbcl_image_free(&j->imgs[b]);
        else if (st == NBCL_OK)
            j->imgs[b].omega_sum = j->omega_sum;
        if (timings)
            timings[b] = tm;
        tm.tiles = 0;
    }
}

/* one job: frames[0..n) (n > 1 only for batchable frames on the vector kernel) */
static nbcl_status render_job_run(nbcl_engine *e, const nbcl_scene *const *frames, size_t n,
                                  const nbcl_render_opts *opts, nbcl_image *imgs,
                                  nbcl_render_timing *timings, int borrowed)
{
    double t_start = nbcl__now();
    render_job j;
    nbcl_status st = job_begin(&j, e, frames[0], n, imgs, borrowed);
    if (st == NBCL_OK)
        st = job_upload(&j, frames, opts);
    if (st == NBCL_OK)
        st = job_run(&j, opts);
    job_end(&j, st, t_start, timings);
    return st;
}

nbcl_status nbcl_render(nbcl_engine *e, const nbcl_scene *s, const nbcl_render_opts *opts,
                        nbcl_image *img, nbcl_render_timing *timing)
{
    if (!e || !s || !img)
        return NBCL_INVALID_ARGUMENT;
    return render_job_run(e, &s, 1, opts, img, timing, 0);
}

/* ------------------------------------------------------------ several frames per launch */

/* the packed inputs of two scenes allow one launch: the same parameter blocks (interpolation
 * off: its first fallback switches it off for the rest of a run, per-run state), sources and
 * grid (the same array, or both shared from one base: inputs_id; without a grid default_F is in
 * the parameters) */
static int inputs_batchable(const nbcl_scene *a, const nbcl_scene *b, const nbcl_kernel_inputs *ka,
                            const nbcl_kernel_inputs *kb)
{
    if (!ka->src || !kb->src || ka->IP[NBCL_IP_INTERPOLATE] || kb->IP[NBCL_IP_INTERPOLATE])
        return 0;
    if (memcmp(ka->IP, kb->IP, sizeof ka->IP) != 0 || memcmp(ka->P, kb->P, sizeof ka->P) != 0 ||
        ka->nsrc != kb->nsrc ||
        memcmp(ka->src, kb->src, sizeof(double) * NBCL_SRC_STRIDE * ka->nsrc) != 0 ||
        ka->nF != kb->nF)
        return 0;
    return ka->nF == 0 || ka->F == kb->F || (a->inputs_id && a->inputs_id == b->inputs_id);
}

int nbcl_scenes_batchable(const nbcl_scene *a, const nbcl_scene *b)
{
    if (!a || !b)
        return 0;
    if (a->fpixels != b->fpixels || a->spixels != b->spixels || a->steps != b->steps ||
        a->thicksteps != b->thicksteps || memcmp(a->roi, b->roi, sizeof a->roi) != 0)
        return 0;
    if (a->mask != b->mask &&
        (!a->mask || !b->mask ||
         memcmp(a->mask, b->mask, (size_t)a->fpixels * (size_t)a->spixels) != 0))
        return 0;
    nbcl_kernel_inputs ka, kb;
    nbcl__pack_kernel_inputs(a, &ka); /* out of memory: src NULL, not batchable */
    nbcl__pack_kernel_inputs(b, &kb);
    int ok = inputs_batchable(a, b, &ka, &kb);
    nbcl__kernel_inputs_free(&ka);
    nbcl__kernel_inputs_free(&kb);
    return ok;
}

/* Sub-paths per pixel of a batch: B = ceil(this / sub-paths per pixel). A pixel's shared work
 * (the work-item, ray, solid angle, polarization, scattering vector) costs about 2-3 sub-paths
 * on a PoCL core, so a batch of this many keeps its share per frame under ~10 % while batches
 * stay small enough for the series pipeline to overlap writing with rendering (the writer
 * starts on a batch only when all of it is rendered). */
#define NBCL_BATCH_SUBPATHS 32.0
/* the images of one batch stay within this many bytes */
#define NBCL_BATCH_BYTES ((size_t)512 << 20)

size_t nbcl_render_batch_max(const nbcl_engine *e, const nbcl_scene *s)
{
    if (!e || !s || !use_simd(e) || s->interpolate)
        return 1;
    double per_pixel = (double)s->steps * (double)(s->thicksteps > 0 ? s->thicksteps : 1);
    double want = ceil(NBCL_BATCH_SUBPATHS / (per_pixel > 1.0 ? per_pixel : 1.0));
    size_t b = want < NBCL_BATCH_MAX ? (size_t)want : NBCL_BATCH_MAX;
    long env = e->env.batch; /* NBCL_BATCH replaces the choice by work; 1: each alone */
    if (env > 0)
        b = env < NBCL_BATCH_MAX ? (size_t)env : NBCL_BATCH_MAX;
    size_t img = (size_t)s->fpixels * (size_t)s->spixels * sizeof(float);
    while (b > 1 && b * img > NBCL_BATCH_BYTES)
        b--;
    return b ? b : 1;
}

static nbcl_status render_frames(nbcl_engine *e, const nbcl_scene *const *scenes, size_t n,
                                 const nbcl_render_opts *opts, nbcl_image *imgs,
                                 nbcl_render_timing *timings, int borrowed)
{
    if (!e || !scenes || !imgs || n == 0)
        return NBCL_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        if (!scenes[i] || (borrowed && !imgs[i].data))
            return NBCL_INVALID_ARGUMENT;
        if (!borrowed)
            imgs[i].data = NULL;
    }
    const size_t cap = use_simd(e) ? NBCL_BATCH_MAX : 1;
    nbcl_status st = NBCL_OK;
    for (size_t i = 0, m; i < n && st == NBCL_OK; i += m) {
        m = 1; /* the longest run of frames that can share launches with frame i */
        while (i + m < n && m < cap && nbcl_scenes_batchable(scenes[i], scenes[i + m]))
            m++;
        st = render_job_run(e, scenes + i, m, opts, imgs + i, timings ? timings + i : NULL,
                            borrowed);
    }
    if (st != NBCL_OK && !borrowed)
        for (size_t i = 0; i < n; i++)
            nbcl_image_free(&imgs[i]);
    return st;
}

nbcl_status nbcl_render_frames(nbcl_engine *e, const nbcl_scene *const *scenes, size_t n,
                               const nbcl_render_opts *opts, nbcl_image *imgs,
                               nbcl_render_timing *timings)
{
    return render_frames(e, scenes, n, opts, imgs, timings, 0);
}

nbcl_status nbcl__render_frames_into(nbcl_engine *e, const nbcl_scene *const *scenes, size_t n,
                                     const nbcl_render_opts *opts, nbcl_image *imgs,
                                     nbcl_render_timing *timings)
{
    return render_frames(e, scenes, n, opts, imgs, timings, 1);
}

/* ------------------------------------------------------------------ comparison (host) */
void nbcl_compare_host(const float *a, const float *b, size_t n, nbcl_compare_result *r)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    double sa = 0, sb = 0;
    for (size_t i = 0; i < n; i++) {
        sa += a[i];
        sb += b[i];
    }
    double ma = n ? sa / n : 0, mb = n ? sb / n : 0;
    double cab = 0, caa = 0, cbb = 0, se = 0, maxabs = 0, maxrel = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double da = a[i] - ma, db = b[i] - mb, d = (double)a[i] - b[i];
        cab += da * db;
        caa += da * da;
        cbb += db * db;
        se += d * d;
        if (fabs(d) > maxabs) {
            maxabs = fabs(d);
            worst = i;
        }
        double den = fabs((double)b[i]);
        if (den > 0 && fabs(d) / den > maxrel)
            maxrel = fabs(d) / den;
    }
    r->sum_a = sa;
    r->sum_b = sb;
    r->ratio = sb != 0 ? sa / sb : (sa == 0 ? 1.0 : INFINITY);
    r->corr = (caa > 0 && cbb > 0) ? cab / sqrt(caa * cbb) : (caa == cbb ? 1.0 : 0.0);
    r->mse = n ? se / n : 0;
    r->rmse = sqrt(r->mse);
    r->max_abs = maxabs;
    r->max_rel = maxrel;
    r->worst_index = worst;
}
