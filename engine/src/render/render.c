#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
/* Rendering: upload the scene once, launch the pixel kernel over tiles (bounded device memory and
 * launch time), read each tile back into the host image. */
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

/* copy doubles, times factor, into a REAL-typed buffer of the engine's precision */
static void *pack_real(const double *src, size_t n, int f64, double factor, size_t *bytes)
{
    size_t es = f64 ? sizeof(double) : sizeof(float);
    *bytes = (n ? n : 1) * es;
    void *p = calloc(n ? n : 1, es);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        double v = factor != 1.0 ? src[i] * factor : src[i];
        if (f64)
            ((double *)p)[i] = v;
        else
            ((float *)p)[i] = (float)v;
    }
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

/* Launch the pixel kernel over pixels [first, first + count) and read them back into the image;
 * adds the tile's solid angles to *omega_sum when homega is given. */
static nbcl_status launch_tile(nbcl_engine *e, cl_kernel k, size_t first, size_t count, size_t vw,
                               size_t lsize, cl_mem dOut, cl_mem dOmega, nbcl_image *img,
                               float *homega, double *omega_sum, const unsigned char *mask,
                               cl_mem dM, int zero_copy, nbcl_render_timing *tm)
{
    cl_int ifirst = (cl_int)first, icount = (cl_int)count;
    cl_int rc = CL_SUCCESS;
    cl_mem dTile = NULL;
    if (zero_copy) {
        /* the kernel writes the image's own memory: no device copy to read back */
        dTile = clCreateBuffer(e->ctx, CL_MEM_WRITE_ONLY | CL_MEM_USE_HOST_PTR,
                               count * sizeof(float), img->data + first, &rc);
        if (rc == CL_SUCCESS)
            rc = clSetKernelArg(k, 6, sizeof(cl_mem), &dTile);
        if (rc != CL_SUCCESS) {
            if (dTile)
                clReleaseMemObject(dTile);
            nbcl__set_error(e, "clCreateBuffer(image tile): %s", nbcl__cl_error_name(rc));
            return rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES
                       ? NBCL_DEVICE_MEMORY
                       : NBCL_CL_ERROR;
        }
        dOut = dTile;
    }
    if (mask) { /* the tile's part of the mask */
        rc = clEnqueueWriteBuffer(e->queue, dM, CL_FALSE, 0, count, mask + first, 0, NULL, NULL);
        if (rc != CL_SUCCESS) {
            nbcl__set_error(e, "clEnqueueWriteBuffer(mask): %s", nbcl__cl_error_name(rc));
            return NBCL_CL_ERROR;
        }
    }
    rc = clSetKernelArg(k, 9, sizeof(cl_int), &ifirst);
    rc |= clSetKernelArg(k, 10, sizeof(cl_int), &icount);
    if (rc != CL_SUCCESS) {
        if (dTile)
            clReleaseMemObject(dTile);
        nbcl__set_error(e, "clSetKernelArg failed (%d)", rc);
        return NBCL_CL_ERROR;
    }
    size_t items = (count + vw - 1) / vw;
    size_t global = (items + lsize - 1) / lsize * lsize;
    cl_event ev = NULL;
    rc = clEnqueueNDRangeKernel(e->queue, k, 1, NULL, &global, &lsize, 0, NULL, &ev);
    if (rc != CL_SUCCESS) {
        if (dTile)
            clReleaseMemObject(dTile);
        nbcl__set_error(e, "clEnqueueNDRangeKernel: %s", nbcl__cl_error_name(rc));
        return (rc == CL_OUT_OF_RESOURCES || rc == CL_MEM_OBJECT_ALLOCATION_FAILURE)
                   ? NBCL_DEVICE_MEMORY
                   : NBCL_CL_ERROR;
    }
    double t_rb = nbcl__now();
    if (dTile) {
        /* mapping a USE_HOST_PTR buffer makes the host memory current (a no-op where the device
         * used it in place, a copy where it could not) */
        void *p = clEnqueueMapBuffer(e->queue, dTile, CL_TRUE, CL_MAP_READ, 0,
                                     count * sizeof(float), 0, NULL, NULL, &rc);
        if (rc == CL_SUCCESS)
            rc = clEnqueueUnmapMemObject(e->queue, dTile, p, 0, NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clFinish(e->queue);
        clReleaseMemObject(dTile);
    } else {
        rc = clEnqueueReadBuffer(e->queue, dOut, CL_TRUE, 0, count * sizeof(float),
                                 img->data + first, 0, NULL, NULL);
    }
    if (rc == CL_SUCCESS && homega) /* one solid-angle sum per work-item */
        rc = clEnqueueReadBuffer(e->queue, dOmega, CL_TRUE, 0, items * sizeof(float), homega, 0,
                                 NULL, NULL);
    if (rc != CL_SUCCESS) {
        clReleaseEvent(ev);
        nbcl__set_error(e, "clEnqueueReadBuffer: %s", nbcl__cl_error_name(rc));
        return NBCL_CL_ERROR;
    }
    if (homega)
        for (size_t i = 0; i < items; i++)
            *omega_sum += homega[i];
    double kt = event_seconds(ev);
    tm->kernel_s += kt;
    tm->readback_s += (nbcl__now() - t_rb) - kt;
    clReleaseEvent(ev);
    tm->tiles++;
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
    double per_pixel;  /* sub-paths of one pixel inside the ROI */
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
    char when[64];
    human_time(total / rate, when, sizeof when);
    nbcl__log(e, NBCL_LOG_WARN,
              "this render is %.3g sub-paths (%.0f pixels x %.3g each: %d^2 sub-pixels, %d "
              "source(s), %d mosaic domain(s), %d phi step(s), %d detector layer(s)) and will "
              "take %s%s (%s %.3g sub-paths/s). Bound it with an explicit -oversample (the cost "
              "grows with its square; the crystal's size suggests %d), fewer -mosaic_dom, "
              "-phisteps or sources, or a smaller -roi or -detpixels",
              total, roi_before(z, (size_t)s->fpixels * (size_t)s->spixels), z->per_pixel,
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

nbcl_status nbcl_render(nbcl_engine *e, const nbcl_scene *s, const nbcl_render_opts *opts,
                        nbcl_image *img, nbcl_render_timing *timing)
{
    if (!e || !s || !img)
        return NBCL_INVALID_ARGUMENT;
    nbcl_render_timing tm;
    memset(&tm, 0, sizeof tm);
    double t_start = nbcl__now();
    int f64 = e->precision == NBCL_PRECISION_F64;
    size_t npix = (size_t)s->fpixels * (size_t)s->spixels;
    nbcl_status st = NBCL_OK;
    cl_int rc = CL_SUCCESS;

    /* zero copy where the device works in host memory (CPUs, integrated GPUs): each tile's
     * output buffer is the image itself. NBCL_ZERO_COPY=0 turns it off. */
    cl_bool unified = CL_FALSE;
    if (clGetDeviceInfo(e->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                        NULL) != CL_SUCCESS)
        unified = CL_FALSE;
    int zc_env = e->env.zero_copy; /* NBCL_ZERO_COPY: 0, 1; -1 unset */
    int zero_copy = zc_env >= 0 ? zc_env : unified == CL_TRUE;
    tm.zero_copy = zero_copy;

    img->data = NULL;
    if ((zero_copy ? image_alloc_aligned(img, s->fpixels, s->spixels)
                   : nbcl_image_alloc(img, s->fpixels, s->spixels)) != NBCL_OK) {
        nbcl__set_error(e, "out of host memory for a %dx%d image", s->fpixels, s->spixels);
        return NBCL_OUT_OF_MEMORY;
    }

    /* host copies in the device precision */
    nbcl_kernel_inputs K; /* the scene's values in the kernel's layout (pack.c) */
    nbcl__pack_kernel_inputs(s, &K); /* out of memory: K.src NULL, caught below */
    size_t norient = K.norient;
    size_t nF = K.nF ? K.nF : 1;
    size_t bP, bS = 0, bO, bF = 0;
    const double *Fsrc = K.F;
    double fk = f64 ? 1.0 : f32_amplitude_factor(&K);
    double kp[NBCL_P_COUNT];
    memcpy(kp, K.P, sizeof kp);
    if (fk != 1.0) {
        kp[NBCL_P_DEFAULT_F] *= fk;
        kp[NBCL_P_I_BG] *= fk * fk;
        kp[NBCL_P_SCALE] = 1.0;
        nbcl__log(e, NBCL_LOG_DEBUG, "single precision: amplitudes scaled by %g so that the sum "
                                     "stays within float range", fk);
    }
    void *hP = pack_real(kp, NBCL_P_COUNT, f64, 1.0, &bP);
    void *hS = K.src ? pack_real(K.src, K.nsrc * NBCL_SRC_STRIDE, f64, 1.0, &bS) : NULL;
    void *hO = pack_real(K.orient, norient * NBCL_ORIENT_STRIDE, f64, 1.0, &bO);
    /* the frames of a series share one grid (same inputs_id, same amplitude factor): upload it
     * once per engine */
    int f_cached = s->inputs_id && e->f_cache && e->f_cache_id == s->inputs_id &&
                   e->f_cache_fk == fk;
    void *hF = f_cached ? NULL : pack_real(Fsrc, nF, f64, fk, &bF);
    cl_mem dP = NULL, dIP = NULL, dS = NULL, dO = NULL, dF = NULL, dM = NULL, dOut = NULL,
           dFlags = NULL, dOmega = NULL;
    float *homega = NULL;
    double omega_sum = 0.0;
    unsigned char dummy_mask = 1;
    int flags0 = INT_MAX;
    cl_mem dIPnear = NULL;
    int ipnear[NBCL_IP_COUNT];
    memcpy(ipnear, K.IP, sizeof ipnear);
    ipnear[NBCL_IP_INTERPOLATE] = 0;
    const int interp_on = K.IP[NBCL_IP_INTERPOLATE] != 0;

    if (!hP || !hS || !hO || (!hF && !f_cached)) {
        nbcl__set_error(e, "out of host memory while packing the scene");
        st = NBCL_OUT_OF_MEMORY;
        goto done;
    }

    /* buffer size (the largest launch): bounded by the device's single-allocation limit; the
     * size of each launch then follows its work (launch_sizer) */
    size_t tile = (opts && opts->max_tile_pixels) ? opts->max_tile_pixels : ((size_t)1 << 22);
    /* with interpolation, launches stay small: the first pixel that leaves the HKL grid
     * switches interpolation off, and the rest of its launch is rendered again */
    if (interp_on && tile > 65536)
        tile = 65536;
    size_t maxalloc = e->info.max_alloc_bytes ? (size_t)e->info.max_alloc_bytes : ((size_t)1 << 28);
    if (tile * sizeof(float) > maxalloc / 2)
        tile = maxalloc / 2 / sizeof(float);
    if (tile > npix)
        tile = npix;
    tile = (tile + NBCL_ALIGN - 1) / NBCL_ALIGN * NBCL_ALIGN;

    double t_up = nbcl__now();
    dP = make_buffer(e, CL_MEM_READ_ONLY, bP, hP, &rc);
    if (rc == CL_SUCCESS)
        dIP = make_buffer(e, CL_MEM_READ_ONLY, sizeof(int) * NBCL_IP_COUNT, K.IP, &rc);
    if (rc == CL_SUCCESS)
        dIPnear = make_buffer(e, CL_MEM_READ_ONLY, sizeof(int) * NBCL_IP_COUNT, ipnear, &rc);
    if (rc == CL_SUCCESS)
        dS = make_buffer(e, CL_MEM_READ_ONLY, bS, hS, &rc);
    if (rc == CL_SUCCESS)
        dO = make_buffer(e, CL_MEM_READ_ONLY, bO, hO, &rc);
    if (rc == CL_SUCCESS && f_cached) {
        rc = clRetainMemObject(e->f_cache); /* this render's reference, released at the end */
        if (rc == CL_SUCCESS)
            dF = e->f_cache;
    } else if (rc == CL_SUCCESS) {
        dF = make_buffer(e, CL_MEM_READ_ONLY, bF, hF, &rc);
        if (rc == CL_SUCCESS && s->inputs_id && clRetainMemObject(dF) == CL_SUCCESS) {
            if (e->f_cache) /* the cache keeps one grid: the latest */
                clReleaseMemObject(e->f_cache);
            e->f_cache = dF;
            e->f_cache_id = s->inputs_id;
            e->f_cache_fk = fk;
        }
    }
    if (rc == CL_SUCCESS)
        dM = s->mask ? make_buffer(e, CL_MEM_READ_ONLY, tile, NULL, &rc)
                     : make_buffer(e, CL_MEM_READ_ONLY, 1, &dummy_mask, &rc);
    if (rc == CL_SUCCESS)
        dFlags = make_buffer(e, CL_MEM_READ_WRITE, sizeof(int), &flags0, &rc);
    if (rc == CL_SUCCESS && !zero_copy)
        dOut = make_buffer(e, CL_MEM_WRITE_ONLY, tile * sizeof(float), NULL, &rc);
    if (rc == CL_SUCCESS)
        dOmega = make_buffer(e, CL_MEM_WRITE_ONLY, tile * sizeof(float), NULL, &rc);
    homega = malloc(tile * sizeof(float));
    if (!homega) {
        nbcl__set_error(e, "out of host memory for a tile of %zu pixels", tile);
        st = NBCL_OUT_OF_MEMORY;
        goto done;
    }
    if (rc != CL_SUCCESS) {
        nbcl__set_error(e, "clCreateBuffer: %s (scene of %zu pixels, tile of %zu)",
                        nbcl__cl_error_name(rc), npix, tile);
        st = (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES ||
              rc == CL_INVALID_BUFFER_SIZE)
                 ? NBCL_DEVICE_MEMORY
                 : NBCL_CL_ERROR;
        goto done;
    }
    tm.upload_s = nbcl__now() - t_up;

    /* kernel choice: the 8-pixel vector kernel on CPUs (PoCL vectorises only explicit vectors),
     * one pixel per work-item elsewhere.
     * NBCL_KERNEL=scalar|simd overrides (tests, benchmarks). */
    int simd = e->k_pixel_simd && strcmp(e->info.device_type, "CPU") == 0;
    {
        int kv = e->env.kernel; /* NBCL_KERNEL: 0 scalar, 1 simd, -1 unset */
        if (kv == 0)
            simd = 0;
        else if (kv == 1 && e->k_pixel_simd)
            simd = 1;
    }
    const size_t vw = simd ? (f64 ? 8 : 16) : 1; /* NBCL_VW of cl/nbcl_lane_vector.h */
    tm.kernel_name = simd ? "nbcl_k_pixel_simd" : "nbcl_k_pixel";
    cl_kernel k = simd ? e->k_pixel_simd : e->k_pixel;
    rc = clSetKernelArg(k, 0, sizeof(cl_mem), &dP);
    rc |= clSetKernelArg(k, 1, sizeof(cl_mem), &dIP);
    rc |= clSetKernelArg(k, 2, sizeof(cl_mem), &dS);
    rc |= clSetKernelArg(k, 3, sizeof(cl_mem), &dO);
    rc |= clSetKernelArg(k, 4, sizeof(cl_mem), &dF);
    rc |= clSetKernelArg(k, 5, sizeof(cl_mem), &dM);
    rc |= clSetKernelArg(k, 6, sizeof(cl_mem), &dOut);
    rc |= clSetKernelArg(k, 7, sizeof(cl_mem), &dFlags);
    rc |= clSetKernelArg(k, 8, sizeof(cl_mem), &dOmega);
    if (rc != CL_SUCCESS) {
        nbcl__set_error(e, "clSetKernelArg failed (%d)", rc);
        st = NBCL_CL_ERROR;
        goto done;
    }

    const int cpu = strcmp(e->info.device_type, "CPU") == 0;
    const unsigned cus = e->info.compute_units ? e->info.compute_units : 1;
    launch_sizer z;
    z.fpixels = s->fpixels;
    memcpy(z.roi, s->roi, sizeof z.roi); /* the scene's may reach one past the last pixel */
    if (z.roi[1] > s->fpixels - 1)
        z.roi[1] = s->fpixels - 1;
    if (z.roi[3] > s->spixels - 1)
        z.roi[3] = s->spixels - 1;
    z.per_pixel = (double)s->steps * (double)(s->thicksteps > 0 ? s->thicksteps : 1);
    z.seconds = launch_seconds(e);
    z.budget = NBCL_PRIOR_RATE_CU * cus * z.seconds;
    z.max_count = tile;
    /* the smallest launch that fills the device: one work-item per core on CPUs (groups of 1),
     * one group of 64 per compute unit elsewhere */
    z.min_count = cpu ? cus * vw : (size_t)cus * 64 * vw;
    const double total = range_work(&z, 0, npix);
    int warned = total / (NBCL_FAST_RATE_CU * cus) > NBCL_LONG_RUN_S;
    if (warned)
        warn_long_run(e, s, &z, total, NBCL_FAST_RATE_CU * cus, 0);
    warn_long_item(e, &z, NBCL_FAST_RATE_CU * cus, 0, vw, cus);
    double done_work = 0.0, done_s = 0.0;

    for (size_t first = 0, count = 0; first < npix; first += count) {
        if (nbcl_cancel_triggered(e->opts.cancel)) {
            nbcl__set_error(e, "render interrupted");
            st = NBCL_INTERRUPTED;
            goto done;
        }
        count = next_count(&z, first, npix);
        /* small groups only where the work is heavy: a small light image keeps the one group
         * size the driver has compiled for (PoCL compiles each size it meets) */
        int heavy = (count < npix - first && count < z.max_count) ||
                    range_work(&z, first, count) > 0.01 * NBCL_PRIOR_RATE_CU * cus;
        size_t lsize = heavy ? local_size_for((count + vw - 1) / vw, cus, cpu) : 64;
        double k0 = tm.kernel_s, w0 = nbcl__now();
        st = launch_tile(e, k, first, count, vw, lsize, dOut, dOmega, img, homega, &omega_sum,
                         s->mask, dM, zero_copy, &tm);
        if (st != NBCL_OK)
            goto done;
        double kt = tm.kernel_s - k0 > 0 ? tm.kernel_s - k0 : nbcl__now() - w0;
        double work = range_work(&z, first, count);
        launch_measured(&z, work, kt);
        done_work += work;
        done_s += kt;
        if (!warned && first + count < npix && done_s > 0 &&
            done_s + (total - done_work) / (done_work / done_s) > NBCL_LONG_RUN_S) {
            warn_long_run(e, s, &z, total, done_work / done_s, 1);
            warned = 1;
        }
        if (interp_on && !tm.interpolation_fallback) {
            /* spec-a-core: the first interpolation that leaves the HKL grid switches
             * interpolation off for the rest of the run. In raster order: that pixel keeps its
             * value; every later pixel is rendered with nearest-neighbour F. */
            rc = clEnqueueReadBuffer(e->queue, dFlags, CL_TRUE, 0, sizeof(int), &flags0, 0, NULL,
                                     NULL);
            if (rc != CL_SUCCESS) {
                nbcl__set_error(e, "clEnqueueReadBuffer: %s", nbcl__cl_error_name(rc));
                st = NBCL_CL_ERROR;
                goto done;
            }
            if (flags0 != INT_MAX) {
                tm.interpolation_fallback = 1;
                tm.fallback_pixel = flags0;
                rc = clSetKernelArg(k, 1, sizeof(cl_mem), &dIPnear);
                size_t from = (size_t)flags0 + 1, end = first + count;
                if (rc == CL_SUCCESS && from < end)
                    st = launch_tile(e, k, from, end - from, vw, lsize, dOut, dOmega, img, NULL,
                                     NULL, s->mask, dM, zero_copy, &tm);
                if (rc != CL_SUCCESS || st != NBCL_OK) {
                    if (st == NBCL_OK) {
                        nbcl__set_error(e, "clSetKernelArg: %s", nbcl__cl_error_name(rc));
                        st = NBCL_CL_ERROR;
                    }
                    goto done;
                }
            }
        }
        if (opts && opts->progress) {
            if (opts->progress(opts->progress_user, first + count, npix)) {
                nbcl__set_error(e, "render cancelled");
                st = NBCL_INTERRUPTED;
                goto done;
            }
        }
    }
    if (tm.readback_s < 0)
        tm.readback_s = 0;

done:
    if (dP) clReleaseMemObject(dP);
    if (dIP) clReleaseMemObject(dIP);
    if (dS) clReleaseMemObject(dS);
    if (dO) clReleaseMemObject(dO);
    if (dF) clReleaseMemObject(dF);
    if (dM) clReleaseMemObject(dM);
    if (dOut) clReleaseMemObject(dOut);
    if (dFlags) clReleaseMemObject(dFlags);
    if (dIPnear) clReleaseMemObject(dIPnear);
    if (dOmega) clReleaseMemObject(dOmega);
    free(homega);
    free(hP);
    free(hS);
    free(hO);
    free(hF);
    nbcl__kernel_inputs_free(&K);
    if (st != NBCL_OK)
        nbcl_image_free(img);
    else
        img->omega_sum = omega_sum;
    tm.wall_s = nbcl__now() - t_start;
    if (timing)
        *timing = tm;
    return st;
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
