/* nbcl_peak.cl — the device's sustained multiply-add throughput in the engine's precision, for
 * nbcl-bench --peak (the "measured peak" the kernels' throughput is set against). Each work-item
 * runs 8 independent chains of vector FMAs (8 doubles or 16 floats each: one AVX-512 register
 * on CPUs; GPUs split them into scalar FMAs), written out as separate variables so that every
 * compiler keeps them in registers; latency is hidden and nothing but the FMA units works.
 * 2 flops per lane per FMA: 8 chains x lanes x 2 per iteration (engine/src/device/peak.c). */
#if NBCL_PRECISION == 64
typedef double8 PEAKV;
#define PEAK_LANES 8
#define PEAK_VSTORE vstore8
#else
typedef float16 PEAKV;
#define PEAK_LANES 16
#define PEAK_VSTORE vstore16
#endif

__kernel void nbcl_k_peak(__global REAL *out, int iters, REAL a, REAL b)
{
    int gid = (int)get_global_id(0);
    const PEAKV va = (PEAKV)(a), vb = (PEAKV)(b);
    PEAKV c0 = (PEAKV)((REAL)gid * R(1e-7)), c1 = c0 + R(1e-3), c2 = c0 + R(2e-3);
    PEAKV c3 = c0 + R(3e-3), c4 = c0 + R(4e-3), c5 = c0 + R(5e-3), c6 = c0 + R(6e-3);
    PEAKV c7 = c0 + R(7e-3);
    for (int i = 0; i < iters; i++) {
        c0 = fma(c0, va, vb);
        c1 = fma(c1, va, vb);
        c2 = fma(c2, va, vb);
        c3 = fma(c3, va, vb);
        c4 = fma(c4, va, vb);
        c5 = fma(c5, va, vb);
        c6 = fma(c6, va, vb);
        c7 = fma(c7, va, vb);
    }
    PEAKV s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7));
    REAL t[PEAK_LANES];
    PEAK_VSTORE(s, 0, t);
    REAL r = R(0.0);
    for (int q = 0; q < PEAK_LANES; q++)
        r += t[q];
    out[gid] = r; /* kept, so nothing is optimised away */
}
