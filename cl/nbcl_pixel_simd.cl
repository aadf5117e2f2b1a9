/* nbcl_pixel_simd.cl — the per-pixel physics of nbcl_pixel.h evaluated for NBCL_VW consecutive
 * pixels (8 in double, 16 in single) at once in OpenCL vector types, for CPU devices: PoCL vectorises a work-item's code only
 * through explicit vectors, because every work-item runs nested loops. Same loop order, same
 * caching and the same running-sum semantics as the scalar function, lane by lane: a lane's
 * "continue" becomes a mask. The differential test checks it against the host path. */

/* 8 doubles or 16 floats: one 512-bit register each (two 256-bit ones on AVX2) */
#if NBCL_PRECISION == 64
#define NBCL_VW 8
typedef double8 RV;
typedef long8 MV; /* comparison result type for double8 */
typedef int8 IV;
#define VLOAD vload8
#define VSTORE vstore8
#define CONVERT_RV convert_double8
#define CONVERT_FV convert_float8
#define CONVERT_MV convert_long8
#define LANES (IV)(0, 1, 2, 3, 4, 5, 6, 7)
#define convert_int16_or8 convert_int8
#else
#define NBCL_VW 16
typedef float16 RV;
typedef int16 MV;
typedef int16 IV;
#define VLOAD vload16
#define VSTORE vstore16
#define CONVERT_RV convert_float16
#define CONVERT_FV convert_float16
#define CONVERT_MV convert_int16
#define LANES (IV)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define convert_int16_or8 convert_int16
#endif

#define RVS(x) ((RV)(x))
#define MTRUE(m) ((m) != (MV)(0))

inline RV nbcl_v_sinpi_half(RV x)
{
    NBCL_SINPI_HALF_POLY(RV, x);
}

/* |sincg| product for the three axes, as nbcl_sincg3 */
inline RV nbcl_v_sincg3(RV h, RV k, RV l, REAL Na, REAL Nb, REAL Nc)
{
    RV dh = h - rint(h), dk = k - rint(k), dl = l - rint(l);
    RV rh = Na * dh, rk = Nb * dk, rl = Nc * dl;
    rh -= rint(rh);
    rk -= rint(rk);
    rl -= rint(rl);
    RV nh = nbcl_v_sinpi_half(rh), nk = nbcl_v_sinpi_half(rk), nl = nbcl_v_sinpi_half(rl);
    RV qh = nbcl_v_sinpi_half(dh), qk = nbcl_v_sinpi_half(dk), ql = nbcl_v_sinpi_half(dl);
    MV zh = dh == RVS(R(0.0)), zk = dk == RVS(R(0.0)), zl = dl == RVS(R(0.0));
    nh = select(nh, RVS(Na), zh);
    qh = select(qh, RVS(R(1.0)), zh);
    nk = select(nk, RVS(Nb), zk);
    qk = select(qk, RVS(R(1.0)), zk);
    nl = select(nl, RVS(Nc), zl);
    ql = select(ql, RVS(R(1.0)), zl);
    return fabs((nh * nk * nl) / (qh * qk * ql));
}

inline RV nbcl_v_sinc3(RV x)
{
    RV v = R(3.0) * (sin(x) / x - cos(x)) / (x * x);
    return select(v, RVS(R(1.0)), x == RVS(R(0.0)));
}

/* Rodrigues rotation of per-lane vectors about a uniform axis by per-lane angles */
inline void nbcl_v_rotate_axis(RV *vx, RV *vy, RV *vz, const REAL *ax, RV phi)
{
    RV s = sin(phi), c = cos(phi);
    RV d = (ax[0] * *vx + ax[1] * *vy + ax[2] * *vz) * (R(1.0) - c);
    RV x = ax[0] * d + *vx * c + (-ax[2] * *vy + ax[1] * *vz) * s;
    RV y = ax[1] * d + *vy * c + (ax[2] * *vx - ax[0] * *vz) * s;
    RV z = ax[2] * d + *vz * c + (-ax[1] * *vx + ax[0] * *vy) * s;
    *vx = x;
    *vy = y;
    *vz = z;
}

/* F of the nearest reflection for every lane (gather) */
inline RV nbcl_v_f_nearest(RV h, RV k, RV l, __global const int *IP, __global const REAL *P,
                           __global const REAL *Fhkl)
{
    REAL hv[NBCL_VW], kv[NBCL_VW], lv[NBCL_VW], out[NBCL_VW];
    VSTORE(h, 0, hv);
    VSTORE(k, 0, kv);
    VSTORE(l, 0, lv);
    for (int i = 0; i < NBCL_VW; i++)
        out[i] = nbcl_f_nearest((int)ceil(hv[i] - R(0.5)), (int)ceil(kv[i] - R(0.5)),
                                (int)ceil(lv[i] - R(0.5)), IP, P, Fhkl);
    return VLOAD(0, out);
}

/* Lagrange interpolation through 4 consecutive integer nodes, per lane (nbcl_physics.h) */
inline RV nbcl_v_polint4(RV x0, RV x1, RV x2, RV x3, RV y0, RV y1, RV y2, RV y3)
{
    return NBCL_POLINT4_UNIT(x0, x1, x2, x3, y0, y1, y2, y3);
}

/* Tricubic interpolation of F for every lane (nbcl_f_interp): lanes whose 4x4x4 neighbourhood
 * leaves the grid get default_F and are marked in *fallback (when they are live). */
inline RV nbcl_v_f_interp(RV h, RV k, RV l, MV live, __global const int *IP,
                          __global const REAL *P, __global const REAL *Fhkl, MV *fallback)
{
    const REAL hmin = (REAL)IP[NBCL_IP_H_MIN], kmin = (REAL)IP[NBCL_IP_K_MIN];
    const REAL lmin = (REAL)IP[NBCL_IP_L_MIN];
    const int kr = IP[NBCL_IP_K_RANGE], lr = IP[NBCL_IP_L_RANGE];
    const REAL hr = (REAL)IP[NBCL_IP_H_RANGE], krr = (REAL)kr, lrr = (REAL)lr;
    MV out = ((h - hmin + R(3.0)) > hr) | ((h - R(2.0)) < hmin) | ((k - kmin + R(3.0)) > krr) |
             ((k - R(2.0)) < kmin) | ((l - lmin + R(3.0)) > lrr) | ((l - R(2.0)) < lmin);
    *fallback |= out & live;
    RV hf = floor(h), kf = floor(k), lf = floor(l);
    /* lanes outside the grid interpolate at the grid's first cell, then are replaced */
    hf = select(hf, RVS(hmin + R(1.0)), out);
    kf = select(kf, RVS(kmin + R(1.0)), out);
    lf = select(lf, RVS(lmin + R(1.0)), out);
    RV dh[4], dk[4], dl[4];
    for (int i = 0; i < 4; i++) {
        dh[i] = h - (hf - R(1.0) + (REAL)i);
        dk[i] = k - (kf - R(1.0) + (REAL)i);
        dl[i] = l - (lf - R(1.0) + (REAL)i);
    }
    REAL hb[NBCL_VW], kb[NBCL_VW], lb[NBCL_VW];
    VSTORE(hf - R(1.0) - hmin, 0, hb);
    VSTORE(kf - R(1.0) - kmin, 0, kb);
    VSTORE(lf - R(1.0) - lmin, 0, lb);
    int base[NBCL_VW];
    for (int q = 0; q < NBCL_VW; q++)
        base[q] = ((int)hb[q] * kr + (int)kb[q]) * lr + (int)lb[q];
    /* Neighbouring pixels mostly share a 4x4x4 neighbourhood, or a few of them: group the lanes
     * by neighbourhood (up to NBCL_NGROUP groups), load each group's values once and broadcast
     * them; lanes spread wider are gathered one by one. */
#define NBCL_NGROUP 4
    int gbase[NBCL_NGROUP], ng = 0, lane_group[NBCL_VW];
    for (int q = 0; q < NBCL_VW && ng <= NBCL_NGROUP; q++) {
        int g = 0;
        while (g < ng && gbase[g] != base[q])
            g++;
        if (g == ng) {
            if (ng == NBCL_NGROUP) {
                ng = NBCL_NGROUP + 1; /* too many: gather */
                break;
            }
            gbase[ng++] = base[q];
        }
        lane_group[q] = g;
    }
    MV gmask[NBCL_NGROUP];
    if (ng <= NBCL_NGROUP)
        for (int g = 1; g < ng; g++) {
            int m[NBCL_VW];
            for (int q = 0; q < NBCL_VW; q++)
                m[q] = lane_group[q] == g ? -1 : 0;
            gmask[g] = CONVERT_MV(VLOAD(0, m));
        }
    RV t1[4];
    for (int i = 0; i < 4; i++) {
        RV t2[4];
        for (int j = 0; j < 4; j++) {
            int off = (i * kr + j) * lr;
            RV y0, y1, y2, y3;
            if (ng <= NBCL_NGROUP) {
                __global const REAL *f = Fhkl + gbase[0] + off;
                y0 = RVS(f[0]);
                y1 = RVS(f[1]);
                y2 = RVS(f[2]);
                y3 = RVS(f[3]);
                for (int g = 1; g < ng; g++) {
                    f = Fhkl + gbase[g] + off;
                    y0 = select(y0, RVS(f[0]), gmask[g]);
                    y1 = select(y1, RVS(f[1]), gmask[g]);
                    y2 = select(y2, RVS(f[2]), gmask[g]);
                    y3 = select(y3, RVS(f[3]), gmask[g]);
                }
            } else {
                REAL y[4][NBCL_VW];
                for (int q = 0; q < NBCL_VW; q++)
                    for (int m = 0; m < 4; m++)
                        y[m][q] = Fhkl[base[q] + off + m];
                y0 = VLOAD(0, y[0]);
                y1 = VLOAD(0, y[1]);
                y2 = VLOAD(0, y[2]);
                y3 = VLOAD(0, y[3]);
            }
            t2[j] = nbcl_v_polint4(dl[0], dl[1], dl[2], dl[3], y0, y1, y2, y3);
        }
        t1[i] = nbcl_v_polint4(dk[0], dk[1], dk[2], dk[3], t2[0], t2[1], t2[2], t2[3]);
    }
    RV F = nbcl_v_polint4(dh[0], dh[1], dh[2], dh[3], t1[0], t1[1], t1[2], t1[3]);
    return select(F, RVS(P[NBCL_P_DEFAULT_F]), out);
}

inline RV nbcl_pixel_value_v(IV fpixel, IV spixel, MV live, __global const REAL *P,
                             __global const int *IP, __global const REAL *src,
                             __global const REAL *orient, __global const REAL *Fhkl,
                             RV *omega_sum, MV *fallback)
{
    NBCL_UNPACK_SCENE(P, IP)
    const int any_os = os_thick || os_polar || os_omega;
    const REAL kahn = P[NBCL_P_POLARIZATION];
    const REAL F_default = P[NBCL_P_DEFAULT_F];
    const RV zero = RVS(R(0.0));
    const RV fpx = CONVERT_RV(fpixel), spx = CONVERT_RV(spixel);

    RV I = RVS(P[NBCL_P_I_BG]);
    RV polar = IP[NBCL_IP_NOPOLAR] ? RVS(R(1.0)) : zero;
    RV omega = zero;
    RV capture = zero;
    RV osum = zero;
    const int thick_on = P[NBCL_P_THICK] != R(0.0) || os_thick;

    for (int t = 0; t < thicksteps; t++) {
        REAL Odet = (REAL)t * P[NBCL_P_THICKSTEP];
        capture = (P[NBCL_P_THICK] == R(0.0)) ? RVS(R(1.0)) : zero;
        for (int subS = 0; subS < oversample; subS++) {
            for (int subF = 0; subF < oversample; subF++) {
                RV Fdet = subpixel * (fpx * (REAL)oversample + (REAL)subF) + subpixel / R(2.0);
                RV Sdet = subpixel * (spx * (REAL)oversample + (REAL)subS) + subpixel / R(2.0);
                RV px = Fdet * fdet[0] + Sdet * sdet[0] + Odet * odet[0] + pix0[0];
                RV py = Fdet * fdet[1] + Sdet * sdet[1] + Odet * odet[1] + pix0[1];
                RV pz = Fdet * fdet[2] + Sdet * sdet[2] + Odet * odet[2] + pix0[2];
                if (IP[NBCL_IP_CURVED]) {
                    RV ay = py / distance, az = pz / distance;
                    px = RVS(distance * beam[0]);
                    py = RVS(distance * beam[1]);
                    pz = RVS(distance * beam[2]);
                    nbcl_v_rotate_axis(&px, &py, &pz, sdet, ay);
                    nbcl_v_rotate_axis(&px, &py, &pz, fdet, az);
                }
                RV inv_air = R(1.0) / sqrt(px * px + py * py + pz * pz);
                RV dx = px * inv_air, dy = py * inv_air, dz = pz * inv_air;
                {
                    RV om = IP[NBCL_IP_POINT_PIXEL]
                                ? inv_air * inv_air
                                : pixel * pixel * close_distance * (inv_air * inv_air * inv_air);
                    omega = os_omega ? om : select(omega, om, omega == zero);
                }
                osum += omega;
                if (thick_on) {
                    RV parallax = dx * odet[0] + dy * odet[1] + dz * odet[2];
                    REAL st = P[NBCL_P_THICKSTEP], mu = P[NBCL_P_MU];
                    RV cf = exp(-(REAL)t * st * mu / parallax) -
                            exp(-(REAL)(t + 1) * st * mu / parallax);
                    capture = os_thick ? cf : select(capture, cf, capture == zero);
                }
                for (int s = 0; s < sources; s++) {
                    REAL inc[3];
                    REAL lambda = src[s * NBCL_SRC_STRIDE + 3];
                    for (int i = 0; i < 3; i++)
                        inc[i] = src[s * NBCL_SRC_STRIDE + i];
                    RV Sx = (dx - inc[0]) / lambda, Sy = (dy - inc[1]) / lambda;
                    RV Sz = (dz - inc[2]) / lambda;
                    MV pass = live;
                    if (dmin > R(0.0)) {
                        RV stol = R(0.5) * sqrt(Sx * Sx + Sy * Sy + Sz * Sz);
                        pass = pass & ~((stol > zero) & (dmin > R(0.5) / stol));
                    }
                    if (!any(pass))
                        continue;
                    {
                        /* polarization: B and E depend only on the source */
                        REAL psi_unused = R(0.0);
                        (void)psi_unused;
                        RV c2t = inc[0] * dx + inc[1] * dy + inc[2] * dz;
                        RV c2t2 = c2t * c2t;
                        RV pol;
                        if (kahn != R(0.0)) {
                            REAL B[3], E[3];
                            nbcl_cross3(pvec, inc, B);
                            nbcl_unitize3(B, B);
                            nbcl_cross3(inc, B, E);
                            nbcl_unitize3(E, E);
                            RV psi = -atan2(dx * B[0] + dy * B[1] + dz * B[2],
                                            dx * E[0] + dy * E[1] + dz * E[2]);
                            pol = R(0.5) * (R(1.0) + c2t2 - kahn * cos(R(2.0) * psi) * (R(1.0) - c2t2));
                        } else {
                            pol = R(0.5) * (R(1.0) + c2t2);
                        }
                        MV upd = os_polar ? pass : (pass & (polar == zero));
                        polar = select(polar, pol, upd);
                    }
                    for (int o = 0; o < norient; o++) {
                        __global const REAL *m = orient + o * NBCL_ORIENT_STRIDE;
                        RV h = m[0] * Sx + m[1] * Sy + m[2] * Sz;
                        RV k = m[3] * Sx + m[4] * Sy + m[5] * Sz;
                        RV l = m[6] * Sx + m[7] * Sy + m[8] * Sz;
                        RV F_latt;
                        if (shape == 0) {
                            F_latt = nbcl_v_sincg3(h, k, l, Na1, Nb1, Nc1);
                        } else {
                            RV dh = h - ceil(h - R(0.5)), dk = k - ceil(k - R(0.5));
                            RV dl = l - ceil(l - R(0.5));
                            if (shape == 1) {
                                RV hrad = dh * dh * Na * Na + dk * dk * Nb * Nb + dl * dl * Nc * Nc;
                                F_latt = NaNbNc * R(0.723601254558268) *
                                         nbcl_v_sinc3(NBCL_PI * sqrt(hrad * fudge));
                            } else {
                                RV qx = dh * as[0] + dk * bs[0] + dl * cs[0];
                                RV qy = dh * as[1] + dk * bs[1] + dl * cs[1];
                                RV qz = dh * as[2] + dk * bs[2] + dl * cs[2];
                                RV rad = (qx * qx + qy * qy + qz * qz) * N2;
                                if (shape == 2)
                                    F_latt = NaNbNc * exp(-(rad / R(0.63) * fudge));
                                else
                                    F_latt = select(zero, RVS(NaNbNc), rad * fudge < R(0.3969));
                            }
                        }
                        RV F_cell = RVS(F_default);
                        if (interpolate) {
                            /* lanes past their first out-of-grid neighbourhood: nearest F */
                            MV before = *fallback;
                            F_cell = nbcl_v_f_interp(h, k, l, pass & ~before, IP, P, Fhkl,
                                                     fallback);
                            if (any(before))
                                F_cell = select(F_cell, nbcl_v_f_nearest(h, k, l, IP, P, Fhkl),
                                                before);
                        } else if (has_grid) {
                            F_cell = nbcl_v_f_nearest(h, k, l, IP, P, Fhkl);
                        }
                        RV term = F_cell * F_cell * F_latt * F_latt;
                        if (!any_os) {
                            I += select(zero, term, pass);
                        } else {
                            MV act = pass;
                            if (water == R(0.0))
                                act = act & (F_latt != zero);
                            RV In = I + term;
                            if (os_thick)
                                In *= capture;
                            if (os_polar)
                                In *= polar;
                            if (os_omega)
                                In *= omega;
                            I = select(I, In, act);
                        }
                    }
                }
            }
        }
    }
    *omega_sum = osum;
    RV value = P[NBCL_P_SCALE] * I;
    if (!os_thick)
        value *= capture;
    if (!os_polar)
        value *= polar;
    if (!os_omega)
        value *= omega;
    return value;
}

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
    RV osum = RVS(R(0.0));
    if (any(inside)) {
        MV live = CONVERT_MV(inside);
        MV fallback = (MV)(0);
        RV v = nbcl_pixel_value_v(fpixel, spixel, live, P, IP, src, orient, Fhkl, &osum,
                                  &fallback);
        if (any(fallback)) {
            int fb[NBCL_VW];
            VSTORE(convert_int16_or8(fallback), 0, fb);
            for (int i = 0; i < NBCL_VW; i++)
                if (fb[i]) {
                    atomic_min(flags, first + base + i);
                    break;
                }
        }
        VSTORE(CONVERT_FV(select(RVS(R(0.0)), v, live)), 0, res);
        VSTORE(CONVERT_FV(select(RVS(R(0.0)), osum, live)), 0, om);
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
