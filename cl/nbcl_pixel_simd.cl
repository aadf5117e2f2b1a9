/* nbcl_pixel_simd.cl — the vector kernel: nbcl_pixel_lanes_v(), the per-pixel physics of
 * nbcl_pixel.h expanded in the vector lane vocabulary (nbcl_lane_vector.h), for NBCL_VW
 * consecutive pixels (8 in double, 16 in single) per work-item, for CPU devices. Same loop order,
 * caching and running-sum semantics as the scalar kernel, lane by lane, because it is the same
 * source. This file only maps work-items to pixels and writes them. */

/* NBCL_VW consecutive pixels per work-item: pixels [first + NBCL_VW*gid, ... + NBCL_VW) */
__kernel void nbcl_k_pixel_simd(__global const REAL *P, __global const int *IP,
                                __global const REAL *src, __global const REAL *orient,
                                __global const REAL *Fhkl, __global const uchar *mask,
                                __global float *out, __global int *flags,
                                __global float *omega_out, int first, int count)
{
    int gid = (int)get_global_id(0);
    int base = gid * NBCL_VW;
    if (base >= count)
        return;
    int fp = IP[NBCL_IP_FPIXELS];
    IV idx = (IV)(first + base) + LANES;
    /* one scalar division per work-item; lanes that run past the row end wrap (vector integer
     * division has no SIMD instruction on CPUs) */
    int s0 = (first + base) / fp;
    IV fpixel = (IV)(first + base - s0 * fp) + LANES;
    IV spixel = (IV)(s0);
    for (int wrap = 0; wrap < NBCL_VW && any(fpixel >= fp); wrap++) {
        IV over = fpixel >= fp;
        fpixel = select(fpixel, fpixel - fp, over);
        spixel = select(spixel, spixel + 1, over);
    }
    IV inside = (fpixel >= IP[NBCL_IP_ROI_XMIN]) & (fpixel <= IP[NBCL_IP_ROI_XMAX]) &
                (spixel >= IP[NBCL_IP_ROI_YMIN]) & (spixel <= IP[NBCL_IP_ROI_YMAX]) &
                (idx < first + count);
    if (IP[NBCL_IP_HAS_MASK]) {
        int mk[NBCL_VW];
        int lim = first + count;
        for (int i = 0; i < NBCL_VW; i++) {
            int p = first + base + i;
            mk[i] = (p < lim && mask[base + i] != 0) ? -1 : 0; /* the mask holds the tile */
        }
        inside = inside & VLOAD(0, mk);
    }
    float res[NBCL_VW], om[NBCL_VW];
    RV osum = LSPLAT(R(0.0));
    if (any(inside)) {
        MV live = CONVERT_MV(inside);
        MV fallback = (MV)(0);
        RV v = nbcl_pixel_lanes_v(fpixel, spixel, live, P, IP, src, orient, Fhkl, &osum,
                                  &fallback);
        if (any(fallback)) {
            int fb[NBCL_VW];
            VSTORE(CONVERT_IV(fallback), 0, fb);
            for (int i = 0; i < NBCL_VW; i++)
                if (fb[i]) {
                    atomic_min(flags, first + base + i);
                    break;
                }
        }
        VSTORE(CONVERT_FV(select(LSPLAT(R(0.0)), v, live)), 0, res);
        VSTORE(CONVERT_FV(select(LSPLAT(R(0.0)), osum, live)), 0, om);
    } else {
        for (int i = 0; i < NBCL_VW; i++)
            res[i] = om[i] = 0.0f;
    }
    float osum_item = 0.0f;
    for (int i = 0; i < NBCL_VW && base + i < count; i++) {
        out[base + i] = res[i];
        osum_item += om[i];
    }
    omega_out[gid] = osum_item; /* one solid-angle sum per work-item: the host adds them up */
}
