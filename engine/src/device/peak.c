/* The device's sustained multiply-add throughput in the engine's precision (cl/nbcl_peak.cl),
 * for nbcl-bench --peak: the measured peak that the pixel kernels' throughput is set against. */
#include <string.h>

#include "nbcl_internal.h"

#define PEAK_CHAINS 8 /* NBCL_PEAK_CHAINS of cl/nbcl_peak.cl */

/* one launch of iters iterations; its profiled duration in *seconds */
static cl_int peak_launch(nbcl_engine *e, cl_kernel k, int iters, size_t global, size_t local,
                          double *seconds)
{
    cl_int it = iters;
    cl_int rc = clSetKernelArg(k, 1, sizeof it, &it);
    cl_event ev = NULL;
    if (rc == CL_SUCCESS)
        rc = clEnqueueNDRangeKernel(e->queue, k, 1, NULL, &global, &local, 0, NULL, &ev);
    if (rc == CL_SUCCESS)
        rc = clWaitForEvents(1, &ev);
    cl_ulong t0 = 0, t1 = 0;
    if (rc == CL_SUCCESS)
        rc = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
    if (rc == CL_SUCCESS)
        rc = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
    if (ev)
        clReleaseEvent(ev);
    *seconds = (double)(t1 - t0) * 1e-9;
    return rc;
}

nbcl_status nbcl_measure_peak(nbcl_engine *e, double *flops_per_s)
{
    if (!e || !flops_per_s)
        return NBCL_INVALID_ARGUMENT;
    *flops_per_s = 0.0;
    int f64 = e->precision == NBCL_PRECISION_F64;
    const double lanes = f64 ? 8.0 : 16.0;
    cl_int rc = CL_SUCCESS;
    cl_kernel k = clCreateKernel(e->program, "nbcl_k_peak", &rc);
    if (rc != CL_SUCCESS) {
        nbcl__set_error(e, "clCreateKernel(nbcl_k_peak): %s", nbcl__cl_error_name(rc));
        return NBCL_CL_ERROR;
    }
    /* enough work-items to fill every compute unit many times over */
    size_t local = 64;
    size_t global = (size_t)(e->info.compute_units ? e->info.compute_units : 1) * 64 * local;
    size_t es = f64 ? sizeof(double) : sizeof(float);
    cl_mem out = clCreateBuffer(e->ctx, CL_MEM_WRITE_ONLY, global * es, NULL, &rc);
    if (rc != CL_SUCCESS) {
        clReleaseKernel(k);
        nbcl__set_error(e, "clCreateBuffer(peak): %s", nbcl__cl_error_name(rc));
        return NBCL_CL_ERROR;
    }
    double a = 0.999999, b = 1e-7;
    float af = (float)a, bf = (float)b;
    rc = clSetKernelArg(k, 0, sizeof out, &out);
    if (rc == CL_SUCCESS)
        rc = f64 ? clSetKernelArg(k, 2, sizeof a, &a) : clSetKernelArg(k, 2, sizeof af, &af);
    if (rc == CL_SUCCESS)
        rc = f64 ? clSetKernelArg(k, 3, sizeof b, &b) : clSetKernelArg(k, 3, sizeof bf, &bf);
    /* grow the launch until it lasts at least 50 ms, then keep the best of three at that size */
    int iters = 16;
    double s = 0.0, best = 0.0;
    while (rc == CL_SUCCESS) {
        rc = peak_launch(e, k, iters, global, local, &s);
        if (rc != CL_SUCCESS || s >= 0.05 || iters > (1 << 24))
            break;
        iters *= s > 0.005 ? 2 : 8;
    }
    for (int r = 0; r < 3 && rc == CL_SUCCESS; r++) {
        rc = peak_launch(e, k, iters, global, local, &s);
        double flops = 2.0 * lanes * PEAK_CHAINS * (double)iters * (double)global;
        if (rc == CL_SUCCESS && s > 0 && flops / s > best)
            best = flops / s;
    }
    clReleaseMemObject(out);
    clReleaseKernel(k);
    if (rc != CL_SUCCESS) {
        nbcl__set_error(e, "peak kernel: %s", nbcl__cl_error_name(rc));
        return NBCL_CL_ERROR;
    }
    *flops_per_s = best;
    return NBCL_OK;
}
