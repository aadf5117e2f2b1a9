/* Image statistics and image comparison on the engine's device with CLBlast.
 *
 * The float image is widened to double on the host while it is packed (ROI and mask applied in
 * the same pass), uploaded once, and reduced by CLBlast level-1 routines in double precision:
 *
 *   statistics  sum = Dsum(xm)  sumsqr = Ddot(xm,xm)  max = iDmax(xm); with a mask also
 *               Dsum(xr), Ddot(xr,xr); rmsd from sum((v-mean)^2) = sumsqr - 2 mean sum +
 *               m mean^2 over the ROI, or, where that cancels (spread < 1% of the level),
 *               xr := xr - mean*roi (Daxpy) and Ddot(xr,xr)
 *   compare     sums Dsum(a), Dsum(b); d := a - b (a second copy of a, Daxpy); Ddot(d,d); iDamax(d);
 *               relative error d .* (1/|b|) (Dhad) then iDamax; centred a, b (Daxpy with a ones
 *               vector) and three Ddot for the Pearson correlation
 *
 * where xm holds the pixels inside the ROI and not masked (0 elsewhere), xr the pixels inside the
 * ROI (the reference's RMSD pass ignores the mask; xr is xm without a mask, so the usual case
 * uploads one vector) and roi the ROI indicator. Results equal
 * nbcl_image_stats_host()/nbcl_compare_host() to rounding (summation order); the index of the
 * maximum is made exact by taking the first pixel in raster order that reaches the device's
 * maximum (CLBlast's reductions do not promise the first index on ties).
 *
 * Host fallback (same results, reason kept in the profile and in last_error): no engine, a device
 * without fp64, buffers larger than the device allows, or any OpenCL/CLBlast failure. */
#include "nbcl_internal.h"

#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each engine keeps the profile of its last call (nbcl_engine_stats_profile); a call without an
 * engine writes into a scratch profile of its own. */
void nbcl_engine_stats_profile(const nbcl_engine *e, nbcl_stats_profile *out)
{
    if (!out)
        return;
    if (e)
        *out = e->stats_prof;
    else
        memset(out, 0, sizeof *out);
}

typedef struct blas_ctx {
    nbcl_engine *e;
    const nbcl_blas *blas;
    cl_mem res;     /* 8 doubles of scalar results */
    cl_mem ires;    /* 4 unsigned ints of index results */
    char err[512];
} blas_ctx;

static void prof_begin(nbcl_stats_profile *p, const char *what)
{
    memset(p, 0, sizeof *p);
    snprintf(p->what, sizeof p->what, "%s", what);
}

/* (the device path always has an engine) */
static void prof_add(nbcl_engine *e, const char *routine, double t0, double wall, double ev)
{
    nbcl_stats_profile *p = &e->stats_prof;
    if (p->ncalls >= sizeof p->calls / sizeof p->calls[0])
        return;
    nbcl_stats_call *c = &p->calls[p->ncalls++];
    snprintf(c->routine, sizeof c->routine, "%s", routine);
    c->host_start = t0;
    c->wall_s = wall;
    c->event_s = ev;
}

static double ev_seconds(cl_event ev)
{
    cl_ulong t0 = 0, t1 = 0;
    if (!ev || clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) !=
                   CL_SUCCESS ||
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) != CL_SUCCESS)
        return -1.0;
    return (double)(t1 - t0) * 1e-9;
}

/* Finish one CLBlast call: wait for it, record its times, map its status. */
static int blas_done(blas_ctx *c, const char *routine, CLBlastStatusCode s, cl_event ev,
                     double t0)
{
    if (s != CLBlastSuccess) {
        if (ev)
            clReleaseEvent(ev);
        snprintf(c->err, sizeof c->err, "%s failed: CLBlast status %d%s%s", routine, (int)s,
                 s < 0 && s > -70 ? " (" : "", s < 0 && s > -70 ? nbcl__cl_error_name(s) : "");
        if (s < 0 && s > -70)
            strncat(c->err, ")", sizeof c->err - strlen(c->err) - 1);
        return 0;
    }
    cl_int rc = ev ? clWaitForEvents(1, &ev) : clFinish(c->e->queue);
    double wall = nbcl__now() - t0;
    double evs = ev_seconds(ev);
    if (ev)
        clReleaseEvent(ev);
    if (rc != CL_SUCCESS) {
        snprintf(c->err, sizeof c->err, "%s: waiting for the event: %s", routine,
                 nbcl__cl_error_name(rc));
        return 0;
    }
    prof_add(c->e, routine, t0, wall, evs);
    return 1;
}

#define BLAS(c, name, ...)                                                                 \
    do {                                                                                   \
        cl_event ev_ = NULL;                                                               \
        double t0_ = nbcl__now();                                                          \
        CLBlastStatusCode s_ = (c)->blas->name(__VA_ARGS__, &(c)->e->queue, &ev_);         \
        if (!blas_done((c), #name, s_, ev_, t0_))                                          \
            goto fail;                                                                     \
    } while (0)

static int read_double(blas_ctx *c, cl_mem buf, size_t index, double *out)
{
    double t0 = nbcl__now();
    cl_int rc = clEnqueueReadBuffer(c->e->queue, buf, CL_TRUE, index * sizeof(double),
                                    sizeof(double), out, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        snprintf(c->err, sizeof c->err, "clEnqueueReadBuffer: %s", nbcl__cl_error_name(rc));
        return 0;
    }
    prof_add(c->e, "readback", t0, nbcl__now() - t0, -1.0);
    return 1;
}

static int read_index(blas_ctx *c, size_t slot, size_t *out)
{
    cl_uint v = 0;
    double t0 = nbcl__now();
    cl_int rc = clEnqueueReadBuffer(c->e->queue, c->ires, CL_TRUE, slot * sizeof(cl_uint),
                                    sizeof(cl_uint), &v, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        snprintf(c->err, sizeof c->err, "clEnqueueReadBuffer: %s", nbcl__cl_error_name(rc));
        return 0;
    }
    prof_add(c->e, "readback", t0, nbcl__now() - t0, -1.0);
    *out = v;
    return 1;
}

static cl_mem upload(blas_ctx *c, const double *host, size_t n)
{
    cl_int rc = CL_SUCCESS;
    double t0 = nbcl__now();
    cl_mem m = clCreateBuffer(c->e->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              n * sizeof(double), (void *)host, &rc);
    if (rc != CL_SUCCESS || !m) {
        snprintf(c->err, sizeof c->err, "clCreateBuffer(%zu doubles): %s", n,
                 nbcl__cl_error_name(rc));
        return NULL;
    }
    prof_add(c->e, "upload", t0, nbcl__now() - t0, -1.0);
    return m;
}

/* Why the device path cannot run (NULL when it can). */
static const char *device_unusable(const nbcl_engine *e, size_t n, size_t nvec, char *buf,
                                   size_t cap)
{
    if (!e || !e->ctx || !e->queue)
        return "no engine";
    if (!e->info.has_fp64) {
        snprintf(buf, cap, "device \"%s\" lacks fp64 (statistics need double accumulation)",
                 e->info.device_name);
        return buf;
    }
    if (!nbcl__blas(buf, cap))
        return buf;
    if (n == 0)
        return "empty image";
    if (n > 0xFFFFFFFFu) {
        snprintf(buf, cap, "%zu pixels exceed CLBlast's 32-bit index", n);
        return buf;
    }
    uint64_t bytes = (uint64_t)n * sizeof(double);
    if (e->info.max_alloc_bytes && bytes > e->info.max_alloc_bytes) {
        snprintf(buf, cap, "%zu doubles exceed the device's largest allocation", n);
        return buf;
    }
    if (e->info.global_mem_bytes && bytes * nvec > e->info.global_mem_bytes / 2) {
        snprintf(buf, cap, "%zu doubles x %zu vectors exceed half the device memory", n, nvec);
        return buf;
    }
    return NULL;
}

static int ctx_open(blas_ctx *c, nbcl_engine *e)
{
    memset(c, 0, sizeof *c);
    c->e = e;
    c->blas = nbcl__blas(c->err, sizeof c->err);
    if (!c->blas)
        return 0;
    cl_int rc = CL_SUCCESS;
    c->res = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, 8 * sizeof(double), NULL, &rc);
    if (rc == CL_SUCCESS)
        c->ires = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, 4 * sizeof(cl_uint), NULL, &rc);
    if (rc != CL_SUCCESS) {
        snprintf(c->err, sizeof c->err, "clCreateBuffer(results): %s", nbcl__cl_error_name(rc));
        return 0;
    }
    e->clblast_used = 1; /* CLBlastClearCache() before the context goes */
    return 1;
}

static void ctx_close(blas_ctx *c)
{
    if (c->res)
        clReleaseMemObject(c->res);
    if (c->ires)
        clReleaseMemObject(c->ires);
}

static void release(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

static void note_fallback(nbcl_stats_profile *p, nbcl_engine *e, const char *why)
{
    p->on_device = 0;
    snprintf(p->reason, sizeof p->reason, "%s", why);
    if (e) {
        nbcl__set_error(e, "statistics on the host: %s", why);
        nbcl__log(e, NBCL_LOG_DEBUG, "statistics on the host: %s", why);
    }
}

/* ------------------------------------------------------------------ image statistics */
static int in_roi(const nbcl_scene *s, int x, int y)
{
    return !(x < s->roi[0] || x > s->roi[1] || y < s->roi[2] || y > s->roi[3]);
}

/* the image widened to double: xr the ROI's pixels (0 elsewhere), xm those not masked as well
 * (xm is xr without a mask); n pixels counted for the mean, m for the RMSD */
typedef struct stats_pack {
    double *xr, *xm;
    size_t npix, n, m;
    int masked;
} stats_pack;

static void pack_free(stats_pack *p)
{
    free(p->xr);
    if (p->masked)
        free(p->xm);
}

static int pack_make(const nbcl_scene *s, const nbcl_image *img, stats_pack *p)
{
    memset(p, 0, sizeof *p);
    p->npix = (size_t)img->fpixels * (size_t)img->spixels;
    p->masked = s->mask != NULL;
    p->xr = malloc(p->npix * sizeof(double));
    p->xm = p->masked ? malloc(p->npix * sizeof(double)) : p->xr;
    if (!p->xr || !p->xm) {
        pack_free(p);
        return 0;
    }
    for (int y = 0; y < img->spixels; y++)
        for (int x = 0; x < img->fpixels; x++) {
            size_t i = (size_t)y * img->fpixels + x;
            int r = in_roi(s, x, y);
            double v = r ? (double)img->data[i] : 0.0;
            p->xr[i] = v;
            p->m += r;
            if (p->masked) {
                int keep = r && s->mask[i];
                p->xm[i] = keep ? v : 0.0;
                p->n += keep;
            }
        }
    if (!p->masked)
        p->n = p->m;
    return 1;
}

/* sum and sum of squares of xm (the mean and RMS), the index of its maximum, and the same sums
 * over xr (the RMSD): sums[0..3] = sum, sumsqr, sum_r, sq_r; *dxr stays uploaded */
static int device_sums(blas_ctx *c, const stats_pack *p, cl_mem *dxr, double sums[4],
                       size_t *imax)
{
    size_t npix = p->npix;
    cl_mem dxm = upload(c, p->xm, npix);
    if (!dxm)
        return 0;
    BLAS(c, CLBlastDsum, npix, c->res, 0, dxm, 0, 1);
    BLAS(c, CLBlastDdot, npix, c->res, 1, dxm, 0, 1, dxm, 0, 1);
    BLAS(c, CLBlastiDmax, npix, c->ires, 0, dxm, 0, 1);
    if (!read_double(c, c->res, 0, &sums[0]) || !read_double(c, c->res, 1, &sums[1]) ||
        !read_index(c, 0, imax))
        goto fail;
    if (!isfinite(sums[0]) || !isfinite(sums[1])) {
        snprintf(c->err, sizeof c->err, "non-finite pixel values");
        goto fail;
    }
    if (*imax >= npix) {
        snprintf(c->err, sizeof c->err, "CLBlastiDmax returned index %zu of %zu", *imax, npix);
        goto fail;
    }
    if (!p->masked) { /* the RMSD pass runs over the whole ROI: here that is xm */
        *dxr = dxm;
        sums[2] = sums[0];
        sums[3] = sums[1];
        return 1;
    }
    release(&dxm);
    *dxr = upload(c, p->xr, npix);
    if (!*dxr)
        return 0;
    BLAS(c, CLBlastDsum, npix, c->res, 2, *dxr, 0, 1);
    BLAS(c, CLBlastDdot, npix, c->res, 3, *dxr, 0, 1, *dxr, 0, 1);
    return read_double(c, c->res, 2, &sums[2]) && read_double(c, c->res, 3, &sums[3]);
fail:
    release(&dxm);
    return 0;
}

/* sum over the ROI of (v - avg)^2 when the one-pass formula cancels: xr := xr - avg * roi on
 * the device (in place: xr is not needed afterwards), then its square */
static int device_centred_ss(blas_ctx *c, const nbcl_scene *s, const nbcl_image *img, cl_mem dxr,
                             double avg, double *ss)
{
    size_t npix = (size_t)img->fpixels * (size_t)img->spixels;
    cl_mem dind = NULL;
    double *ind = malloc(npix * sizeof(double));
    if (!ind) {
        snprintf(c->err, sizeof c->err, "out of host memory for the ROI indicator");
        return 0;
    }
    for (int y = 0; y < img->spixels; y++)
        for (int x = 0; x < img->fpixels; x++)
            ind[(size_t)y * img->fpixels + x] = in_roi(s, x, y) ? 1.0 : 0.0;
    dind = upload(c, ind, npix);
    free(ind);
    if (!dind)
        return 0;
    BLAS(c, CLBlastDaxpy, npix, -avg, dind, 0, 1, dxr, 0, 1);
    BLAS(c, CLBlastDdot, npix, c->res, 4, dxr, 0, 1, dxr, 0, 1);
    release(&dind);
    return read_double(c, c->res, 4, ss);
fail:
    release(&dind);
    return 0;
}

/* the first pixel in raster order reaching the device's maximum (the host loop's strict '>'):
 * CLBlast's reductions do not promise the first index on ties */
static int first_max(blas_ctx *c, const stats_pack *p, size_t imax, int width, nbcl_stats *out)
{
    double vmax = p->xm[imax];
    if (!(vmax > 0))
        return 1;
    for (size_t i = 0; i <= imax; i++)
        if (p->xm[i] == vmax) {
            out->max_I = vmax;
            out->max_fpixel = (int)(i % (size_t)width);
            out->max_spixel = (int)(i / (size_t)width);
            return 1;
        }
    /* an inconsistent answer: settle it on the host */
    snprintf(c->err, sizeof c->err, "maximum %.17g not found at or before index %zu", vmax, imax);
    return 0;
}

static int stats_device(nbcl_engine *e, const nbcl_scene *s, const nbcl_image *img,
                        nbcl_stats *out, char *why, size_t whycap)
{
    size_t npix = (size_t)img->fpixels * (size_t)img->spixels;
    const char *bad = device_unusable(e, npix, s->mask ? 2 : 1, why, whycap);
    if (bad) {
        if (bad != why)
            snprintf(why, whycap, "%s", bad);
        return 0;
    }
    stats_pack p;
    if (!pack_make(s, img, &p)) {
        snprintf(why, whycap, "out of host memory packing %zu pixels", npix);
        return 0;
    }
    blas_ctx c;
    cl_mem dxr = NULL;
    double sums[4] = {0, 0, 0, 0}; /* sum, sumsqr over xm; sum_r, sq_r over xr */
    size_t imax = 0;
    int ok = ctx_open(&c, e) && device_sums(&c, &p, &dxr, sums, &imax);
    size_t nn = p.n ? p.n : 1;
    double avg = sums[0] / nn, ss = 0;
    if (nn <= 1)
        nn = 2;
    if (ok) {
        /* sum over the ROI of (v - avg)^2 = sq_r - 2 avg sum_r + m avg^2, unless that cancels
         * badly (spread below 1% of the level): then centre on the device and sum again */
        ss = (sums[3] - avg * sums[2]) - avg * (sums[2] - (double)p.m * avg);
        if (!(ss > 1e-4 * sums[3]))
            ok = device_centred_ss(&c, s, img, dxr, avg, &ss);
    }
    if (ok) {
        memset(out, 0, sizeof *out);
        ok = first_max(&c, &p, imax, img->fpixels, out);
    }
    if (ok) {
        size_t mm = p.m <= 1 ? 2 : p.m;
        out->sum = sums[0];
        out->mean = avg;
        out->rms = sqrt(sums[1] / (nn - 1));
        out->rmsd = sqrt((ss < 0 ? 0 : ss) / (mm - 1));
        out->n = p.n;
    } else {
        snprintf(why, whycap, "%s", c.err[0] ? c.err : "device statistics failed");
    }
    release(&dxr);
    ctx_close(&c);
    pack_free(&p);
    return ok;
}

nbcl_status nbcl_image_stats(nbcl_engine *e, const nbcl_scene *s, const nbcl_image *img,
                             nbcl_stats *out)
{
    if (!s || !img || !out || (!img->data && img->fpixels * img->spixels > 0) ||
        img->fpixels < 0 || img->spixels < 0)
        return NBCL_INVALID_ARGUMENT;
    nbcl_stats_profile scratch, *p = e ? &e->stats_prof : &scratch;
    prof_begin(p, "stats");
    double t0 = nbcl__now();
    char why[512] = "";
    if (stats_device(e, s, img, out, why, sizeof why)) {
        p->on_device = 1;
        nbcl__stats_count_nonfinite(s, img, out);
    } else { /* non-finite pixels take this way too: the host pass counts them */
        note_fallback(p, e, why);
        nbcl_image_stats_host(s, img, out);
    }
    p->wall_s = nbcl__now() - t0;
    return NBCL_OK;
}

/* ------------------------------------------------------------------ image comparison */
static int compare_device(nbcl_engine *e, const float *a, const float *b, size_t n,
                          nbcl_compare_result *r, char *why, size_t whycap)
{
    const char *bad = device_unusable(e, n, 5, why, whycap);
    if (bad) {
        if (bad != why)
            snprintf(why, whycap, "%s", bad);
        return 0;
    }
    double *ha = malloc(n * sizeof(double));
    double *hb = malloc(n * sizeof(double));
    double *hib = malloc(n * sizeof(double));
    double *hone = malloc(n * sizeof(double));
    if (!ha || !hb || !hib || !hone) {
        free(ha);
        free(hb);
        free(hib);
        free(hone);
        snprintf(why, whycap, "out of host memory packing %zu pixels", n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        ha[i] = a[i];
        hb[i] = b[i];
        double den = fabs((double)b[i]);
        hib[i] = den > 0 ? 1.0 / den : 0.0;
        hone[i] = 1.0;
    }
    blas_ctx c;
    cl_mem da = NULL, db = NULL, dd = NULL, dib = NULL, done = NULL;
    int ok = 0;
    double sa = 0, sb = 0, se = 0, cab = 0, caa = 0, cbb = 0, maxrel = 0;
    size_t iw = 0, ir = 0;
    if (!ctx_open(&c, e))
        goto fail;
    if (!(da = upload(&c, ha, n)) || !(db = upload(&c, hb, n)) || !(dd = upload(&c, ha, n)) ||
        !(dib = upload(&c, hib, n)) || !(done = upload(&c, hone, n)))
        goto fail;

    BLAS(&c, CLBlastDsum, n, c.res, 0, da, 0, 1);
    BLAS(&c, CLBlastDsum, n, c.res, 1, db, 0, 1);
    /* d = a - b; squared error; worst absolute; relative via d .* (1/|b|) written over 1/|b| */
    BLAS(&c, CLBlastDaxpy, n, -1.0, db, 0, 1, dd, 0, 1);
    BLAS(&c, CLBlastDdot, n, c.res, 2, dd, 0, 1, dd, 0, 1);
    BLAS(&c, CLBlastiDamax, n, c.ires, 0, dd, 0, 1);
    BLAS(&c, CLBlastDhad, n, 1.0, dd, 0, 1, dib, 0, 1, 0.0, dib, 0, 1);
    BLAS(&c, CLBlastiDamax, n, c.ires, 1, dib, 0, 1);
    if (!read_double(&c, c.res, 0, &sa) || !read_double(&c, c.res, 1, &sb) ||
        !read_double(&c, c.res, 2, &se) || !read_index(&c, 0, &iw) || !read_index(&c, 1, &ir))
        goto fail;
    if (iw >= n || ir >= n) {
        snprintf(c.err, sizeof c.err, "CLBlastiDamax returned an index past %zu", n);
        goto fail;
    }
    if (!read_double(&c, dib, ir, &maxrel))
        goto fail;
    maxrel = fabs(maxrel);
    /* centred vectors for the correlation */
    double ma = sa / (double)n, mb = sb / (double)n;
    BLAS(&c, CLBlastDaxpy, n, -ma, done, 0, 1, da, 0, 1);
    BLAS(&c, CLBlastDaxpy, n, -mb, done, 0, 1, db, 0, 1);
    BLAS(&c, CLBlastDdot, n, c.res, 3, da, 0, 1, db, 0, 1);
    BLAS(&c, CLBlastDdot, n, c.res, 4, da, 0, 1, da, 0, 1);
    BLAS(&c, CLBlastDdot, n, c.res, 5, db, 0, 1, db, 0, 1);
    if (!read_double(&c, c.res, 3, &cab) || !read_double(&c, c.res, 4, &caa) ||
        !read_double(&c, c.res, 5, &cbb))
        goto fail;

    /* the first index reaching the worst absolute difference (host loop: strict '>') */
    double maxabs = fabs((double)a[iw] - (double)b[iw]);
    size_t worst = iw;
    if (maxabs > 0) {
        int found = 0;
        for (size_t i = 0; i <= iw; i++)
            if (fabs((double)a[i] - (double)b[i]) == maxabs) {
                worst = i;
                found = 1;
                break;
            }
        if (!found) {
            snprintf(c.err, sizeof c.err, "worst difference not found at or before %zu", iw);
            goto fail;
        }
    } else {
        worst = 0;
    }
    memset(r, 0, sizeof *r);
    r->n = n;
    r->sum_a = sa;
    r->sum_b = sb;
    r->ratio = sb != 0 ? sa / sb : (sa == 0 ? 1.0 : INFINITY);
    r->corr = (caa > 0 && cbb > 0) ? cab / sqrt(caa * cbb) : (caa == cbb ? 1.0 : 0.0);
    r->mse = se / (double)n;
    r->rmse = sqrt(r->mse);
    r->max_abs = maxabs;
    r->max_rel = maxrel;
    r->worst_index = worst;
    ok = isfinite(sa) && isfinite(sb) && isfinite(se);
    if (!ok)
        snprintf(c.err, sizeof c.err, "non-finite values in the images");
fail:
    if (!ok)
        snprintf(why, whycap, "%s", c.err[0] ? c.err : "device comparison failed");
    release(&da);
    release(&db);
    release(&dd);
    release(&dib);
    release(&done);
    ctx_close(&c);
    free(ha);
    free(hb);
    free(hib);
    free(hone);
    return ok;
}

nbcl_status nbcl_compare_device(nbcl_engine *e, const float *a, const float *b, size_t n,
                                nbcl_compare_result *r)
{
    if (!r || (n > 0 && (!a || !b)))
        return NBCL_INVALID_ARGUMENT;
    nbcl_stats_profile scratch, *p = e ? &e->stats_prof : &scratch;
    prof_begin(p, "compare");
    double t0 = nbcl__now();
    char why[512] = "";
    if (compare_device(e, a, b, n, r, why, sizeof why)) {
        p->on_device = 1;
    } else {
        note_fallback(p, e, why);
        nbcl_compare_host(a, b, n, r);
    }
    p->wall_s = nbcl__now() - t0;
    return NBCL_OK;
}
