/* nbcl_kernels.cl — device entry points. Concatenated after nbcl_real.h, nbcl_layout.h,
 * nbcl_physics.h and nbcl_pixel.h by the program layer (no #include in kernel sources). */

/* One work-item per pixel of a tile: pixels [first, first + count) in raster order
 * (fast index fastest). Pixels outside the ROI or masked are written as 0. The mask holds the
 * tile's pixels only (mask[0] is pixel `first`), so any detector renders in tiles. */
__kernel void nbcl_k_pixel(__global const REAL *P, __global const int *IP,
                           __global const REAL *src, __global const REAL *orient,
                           __global const REAL *Fhkl, __global const uchar *mask,
                           __global float *out, __global int *flags, __global float *omega_out,
                           int first, int count)
{
    int gid = (int)get_global_id(0);
    if (gid >= count)
        return;
    int idx = first + gid;
    int fp = IP[NBCL_IP_FPIXELS];
    int fpixel = idx % fp;
    int spixel = idx / fp;
    float value = 0.0f;
    REAL osum = R(0.0);
    if (fpixel >= IP[NBCL_IP_ROI_XMIN] && fpixel <= IP[NBCL_IP_ROI_XMAX] &&
        spixel >= IP[NBCL_IP_ROI_YMIN] && spixel <= IP[NBCL_IP_ROI_YMAX] &&
        (!IP[NBCL_IP_HAS_MASK] || mask[gid] != 0)) {
        int fallback = 0;
        value = (float)nbcl_pixel_value(fpixel, spixel, P, IP, src, orient, Fhkl, &fallback, &osum);
        if (fallback)
            atomic_min(flags, idx); /* first pixel, in raster order, that left the HKL grid */
    }
    out[gid] = value;
    omega_out[gid] = (float)osum;
}
