/* nbcl_pixel_simd.cl — the vector kernel: nbcl_pixel_frames_v(), the per-pixel physics of
 * nbcl_pixel.h expanded in the vector lane vocabulary (nbcl_lane_vector.h), for NBCL_VW
 * consecutive pixels (8 in double, 16 in single) per work-item, for CPU devices. Same loop order,
 * caching and running-sum semantics as the scalar kernel, lane by lane, because it is the same
 * source. This file only maps work-items to pixels and writes them. */

#if NBCL_BATCH_MAX != 16
#error "nbcl_k_pixel_simd has one output argument per frame: 16 (NBCL_BATCH_MAX)"
#endif

/* NBCL_VW consecutive pixels per work-item: pixels [first + NBCL_VW*gid, ... + NBCL_VW), in
 * nframes (1 .. NBCL_BATCH_MAX) frames of a rotation series that differ only in their
 * orientation tables (orient: nframes x NBCL_IP_NORIENT records). Frame b's pixels go to its own
 * buffer (out, out1 .. out15: each frame's image itself where the device works in host memory)
 * at b*stride (stride 0), or all to out at b*stride (stride = count); its first interpolation
 * fallback goes to flags[b]. The solid angle is the same in every frame and written once. */
__kernel void nbcl_k_pixel_simd(__global const REAL *P, __global const int *IP,
                                __global const REAL *src, __global const REAL *orient,
                                __global const REAL *Fhkl, __global const uchar *mask,
                                __global float *out, __global int *flags,
                                __global float *omega_out, int first, int count, int nframes,
                                int stride, __global float *out1, __global float *out2,
                                __global float *out3, __global float *out4, __global float *out5,
                                __global float *out6, __global float *out7, __global float *out8,
                                __global float *out9, __global float *out10,
                                __global float *out11, __global float *out12,
                                __global float *out13, __global float *out14,
                                __global float *out15)
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
    float om[NBCL_VW];
    RV osum = LSPLAT(R(0.0)), v[NBCL_BATCH_MAX];
    MV fallback[NBCL_BATCH_MAX];
    MV live = CONVERT_MV(inside);
    int lim = count - base < NBCL_VW ? count - base : NBCL_VW;
    if (any(inside)) {
        for (int b = 0; b < nframes; b++)
            fallback[b] = (MV)(0);
        nbcl_pixel_frames_v(fpixel, spixel, live, P, IP, src, orient, nframes, Fhkl, v, &osum,
                            fallback);
        for (int b = 0; b < nframes; b++)
            if (any(fallback[b])) {
                int fb[NBCL_VW];
                VSTORE(CONVERT_IV(fallback[b]), 0, fb);
                for (int i = 0; i < NBCL_VW; i++)
                    if (fb[i]) {
                        atomic_min(flags + b, first + base + i);
                        break;
                    }
            }
        VSTORE(CONVERT_FV(select(LSPLAT(R(0.0)), osum, live)), 0, om);
    } else {
        for (int b = 0; b < nframes; b++)
            v[b] = LSPLAT(R(0.0));
        for (int i = 0; i < NBCL_VW; i++)
            om[i] = 0.0f;
    }
    __global float *const outs[NBCL_BATCH_MAX] = {out,   out1,  out2,  out3,  out4,  out5,
                                                   out6,  out7,  out8,  out9,  out10, out11,
                                                   out12, out13, out14, out15};
    for (int b = 0; b < nframes; b++) {
        __global float *ob = outs[b] + b * stride + base;
        FV res = CONVERT_FV(select(LSPLAT(R(0.0)), v[b], live));
        if (lim == NBCL_VW) {
            VSTORE(res, 0, ob);
        } else {
            float r[NBCL_VW];
            VSTORE(res, 0, r);
            for (int i = 0; i < lim; i++)
                ob[i] = r[i];
        }
    }
    float osum_item = 0.0f;
    for (int i = 0; i < lim; i++)
        osum_item += om[i];
    omega_out[gid] = osum_item; /* one solid-angle sum per work-item: the host adds them up */
}
