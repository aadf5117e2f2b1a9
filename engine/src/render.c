#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
/* Rendering: upload the scene once, launch the pixel kernel over tiles (bounded device memory and
 * launch time), read each tile back into the host image. */
#include <limits.h>
#include <sys/mman.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "nbcl_layout.h"

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
static double f32_amplitude_factor(const nbcl_scene *s, const double *F, size_t nF)
{
    const double *P = s->kparams;
    const int *IP = s->kiparams;
    double fmax = fabs(P[NBCL_P_DEFAULT_F]);
    for (size_t i = 0; i < nF; i++)
        fmax = fabs(F[i]) > fmax ? fabs(F[i]) : fmax;
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
                               cl_mem dOut, cl_mem dOmega, nbcl_image *img, float *homega,
                               double *omega_sum, const unsigned char *mask, cl_mem dM,
                               int zero_copy, nbcl_render_timing *tm)
{
    const size_t lsize = 64;
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
    int zc_env = nbcl_env_word("NBCL_ZERO_COPY"); /* "0 1": 0, 1; -1 unset */
    int zero_copy = zc_env >= 0 ? zc_env : unified == CL_TRUE;
    tm.zero_copy = zero_copy;

    img->data = NULL;
    if ((zero_copy ? image_alloc_aligned(img, s->fpixels, s->spixels)
                   : nbcl_image_alloc(img, s->fpixels, s->spixels)) != NBCL_OK) {
        nbcl__set_error(e, "out of host memory for a %dx%d image", s->fpixels, s->spixels);
        return NBCL_OUT_OF_MEMORY;
    }

    /* host copies in the device precision */
    size_t norient = (size_t)s->kiparams[NBCL_IP_NORIENT];
    size_t nF = s->hkl.F ? (size_t)s->hkl.h_range * s->hkl.k_range * s->hkl.l_range : 1;
    size_t bP, bS, bO, bF;
    const double *Fsrc = s->hkl.F ? s->hkl.F : &s->fdump_dummy;
    double fk = f64 ? 1.0 : f32_amplitude_factor(s, Fsrc, s->hkl.F ? nF : 0);
    double kp[NBCL_P_COUNT];
    memcpy(kp, s->kparams, sizeof kp);
    if (fk != 1.0) {
        kp[NBCL_P_DEFAULT_F] *= fk;
        kp[NBCL_P_I_BG] *= fk * fk;
        kp[NBCL_P_SCALE] = 1.0;
        nbcl__log(e, NBCL_LOG_DEBUG, "single precision: amplitudes scaled by %g so that the sum "
                                     "stays within float range", fk);
    }
    void *hP = pack_real(kp, NBCL_P_COUNT, f64, 1.0, &bP);
    void *hS = pack_real(s->ksrc, (size_t)s->sources * NBCL_SRC_STRIDE, f64, 1.0, &bS);
    void *hO = pack_real(s->orient, norient * NBCL_ORIENT_STRIDE, f64, 1.0, &bO);
    void *hF = pack_real(Fsrc, nF, f64, fk, &bF);
    cl_mem dP = NULL, dIP = NULL, dS = NULL, dO = NULL, dF = NULL, dM = NULL, dOut = NULL,
           dFlags = NULL, dOmega = NULL;
    float *homega = NULL;
    double omega_sum = 0.0;
    unsigned char dummy_mask = 1;
    int flags0 = INT_MAX;
    cl_mem dIPnear = NULL;
    int ipnear[NBCL_IP_COUNT];
    memcpy(ipnear, s->kiparams, sizeof ipnear);
    ipnear[NBCL_IP_INTERPOLATE] = 0;
    const int interp_on = s->kiparams[NBCL_IP_INTERPOLATE] != 0;

    if (!hP || !hS || !hO || !hF) {
        nbcl__set_error(e, "out of host memory while packing the scene");
        st = NBCL_OUT_OF_MEMORY;
        goto done;
    }

    /* tile size: bounded by the device's single-allocation limit and by work per launch so that
     * one launch stays short (GPU watchdogs) and progress can be reported */
    size_t work = (size_t)s->steps * (size_t)(s->thicksteps > 0 ? s->thicksteps : 1);
    if (work < 1)
        work = 1;
    size_t tile = (opts && opts->max_tile_pixels) ? opts->max_tile_pixels : 0;
    if (!tile) {
        size_t target = (size_t)1 << 28; /* sub-path evaluations per launch */
        tile = target / work;
        if (tile < 16384)
            tile = 16384;
        if (tile > ((size_t)1 << 22))
            tile = (size_t)1 << 22;
    }
    /* with interpolation, the first tiles stay small: the first pixel that leaves the HKL grid
     * switches interpolation off, and the rest of its tile is rendered again */
    if (s->kiparams[NBCL_IP_INTERPOLATE] && tile > 65536)
        tile = 65536;
    size_t maxalloc = e->info.max_alloc_bytes ? (size_t)e->info.max_alloc_bytes : ((size_t)1 << 28);
    if (tile * sizeof(float) > maxalloc / 2)
        tile = maxalloc / 2 / sizeof(float);
    if (tile > npix)
        tile = npix;
    const size_t lsize = 64;
    tile = (tile + lsize - 1) / lsize * lsize;

    double t_up = nbcl__now();
    dP = make_buffer(e, CL_MEM_READ_ONLY, bP, hP, &rc);
    if (rc == CL_SUCCESS)
        dIP = make_buffer(e, CL_MEM_READ_ONLY, sizeof(int) * NBCL_IP_COUNT, (void *)s->kiparams, &rc);
    if (rc == CL_SUCCESS)
        dIPnear = make_buffer(e, CL_MEM_READ_ONLY, sizeof(int) * NBCL_IP_COUNT, ipnear, &rc);
    if (rc == CL_SUCCESS)
        dS = make_buffer(e, CL_MEM_READ_ONLY, bS, hS, &rc);
    if (rc == CL_SUCCESS)
        dO = make_buffer(e, CL_MEM_READ_ONLY, bO, hO, &rc);
    if (rc == CL_SUCCESS)
        dF = make_buffer(e, CL_MEM_READ_ONLY, bF, hF, &rc);
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
        int kv = nbcl_env_word("NBCL_KERNEL"); /* "scalar simd" */
        if (kv == 0)
            simd = 0;
        else if (kv == 1 && e->k_pixel_simd)
            simd = 1;
    }
    const size_t vw = simd ? (f64 ? 8 : 16) : 1; /* NBCL_VW of cl/nbcl_pixel_simd.cl */
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

    for (size_t first = 0; first < npix; first += tile) {
        if (nbcl_cancel_requested()) {
            nbcl__set_error(e, "render interrupted");
            st = NBCL_INTERRUPTED;
            goto done;
        }
        size_t count = npix - first < tile ? npix - first : tile;
        st = launch_tile(e, k, first, count, vw, dOut, dOmega, img, homega, &omega_sum, s->mask,
                         dM, zero_copy, &tm);
        if (st != NBCL_OK)
            goto done;
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
                    st = launch_tile(e, k, from, end - from, vw, dOut, dOmega, img, NULL, NULL,
                                     s->mask, dM, zero_copy, &tm);
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
