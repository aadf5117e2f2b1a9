/* nbcl_pixel.h — the per-pixel physics of nanoBragg (spec-a-core "Rendering"), written once for
 * both device kernels and the host reference path. Loop order and caching follow the reference
 * so that its normalisation quirks come out the same:
 *   thickness layers > sub-pixels (slow, fast) > sources > phi steps > mosaic domains;
 *   solid angle and polarization are computed once per pixel (first sub-pixel / first source
 *   that passes the dmin cut) unless -oversample_omega / -oversample_polar; the capture fraction
 *   once per layer unless -oversample_thick; the "oversample" flags multiply the running sum
 *   (I = (I + term) * factor) and otherwise the LAST value multiplies the pixel at the end.
 *
 * As nbcl_physics.h: a uniform part (once), then a part in the lane vocabulary expanded once per
 * lane file — nbcl_pixel_frames() evaluates LW pixels at once (1 for the scalar kernel and the
 * host, NBCL_VW for the vector kernel), a lane's "continue" being a mask, in up to LFRAMES
 * frames of a rotation series at once (1 for the scalar kernel and the host). */
#ifndef NBCL_PIXEL_H
#define NBCL_PIXEL_H

/* F for integer-rounded indices, default_F outside the grid or without a grid */
NBCL_FN REAL nbcl_f_nearest(int h0, int k0, int l0, NBCL_GLOBAL const int *IP,
                            NBCL_GLOBAL const REAL *P, NBCL_GLOBAL const REAL *Fhkl)
{
    if (IP[NBCL_IP_HKLS] && h0 <= IP[NBCL_IP_H_MAX] && h0 >= IP[NBCL_IP_H_MIN] &&
        k0 <= IP[NBCL_IP_K_MAX] && k0 >= IP[NBCL_IP_K_MIN] && l0 <= IP[NBCL_IP_L_MAX] &&
        l0 >= IP[NBCL_IP_L_MIN]) {
        int idx = ((h0 - IP[NBCL_IP_H_MIN]) * IP[NBCL_IP_K_RANGE] + (k0 - IP[NBCL_IP_K_MIN])) *
                      IP[NBCL_IP_L_RANGE] +
                  (l0 - IP[NBCL_IP_L_MIN]);
        return Fhkl[idx];
    }
    return P[NBCL_P_DEFAULT_F];
}

/* The scene scalars and vectors every pixel loop reads, unpacked once from the parameter
 * blocks (nbcl_layout.h). */
typedef struct nbcl_uniform {
    int oversample, thicksteps, os_thick, os_polar, os_omega, sources, norient, shape;
    int interpolate, has_grid, curved, point_pixel;
    REAL subpixel, pixel, distance, close_distance, thick, thickstep, mu, kahn, dmin, water;
    REAL default_F, fudge;
    REAL Na, Nb, Nc, NaNbNc, N2;
    REAL Na1, Nb1, Nc1; /* axes with N <= 1 contribute exactly 1 (the reference skips them) */
    REAL fdet[3], sdet[3], odet[3], pix0[3], beam[3], pvec[3], as[3], bs[3], cs[3];
} nbcl_uniform;

NBCL_FN void nbcl_uniform_unpack(nbcl_uniform *u, NBCL_GLOBAL const REAL *P,
                                 NBCL_GLOBAL const int *IP)
{
    u->oversample = IP[NBCL_IP_OVERSAMPLE];
    u->thicksteps = IP[NBCL_IP_THICKSTEPS];
    u->os_thick = IP[NBCL_IP_OS_THICK];
    u->os_polar = IP[NBCL_IP_OS_POLAR];
    u->os_omega = IP[NBCL_IP_OS_OMEGA];
    u->sources = IP[NBCL_IP_SOURCES];
    u->norient = IP[NBCL_IP_NORIENT];
    u->shape = IP[NBCL_IP_SHAPE];
    u->interpolate = IP[NBCL_IP_INTERPOLATE];
    u->has_grid = IP[NBCL_IP_HKLS];
    u->curved = IP[NBCL_IP_CURVED];
    u->point_pixel = IP[NBCL_IP_POINT_PIXEL];
    u->subpixel = P[NBCL_P_SUBPIXEL];
    u->pixel = P[NBCL_P_PIXEL];
    u->distance = P[NBCL_P_DISTANCE];
    u->close_distance = P[NBCL_P_CLOSE_DISTANCE];
    u->thick = P[NBCL_P_THICK];
    u->thickstep = P[NBCL_P_THICKSTEP];
    u->mu = P[NBCL_P_MU];
    u->kahn = P[NBCL_P_POLARIZATION];
    u->dmin = P[NBCL_P_DMIN];
    u->water = P[NBCL_P_WATER];
    u->default_F = P[NBCL_P_DEFAULT_F];
    u->fudge = P[NBCL_P_FUDGE];
    u->Na = P[NBCL_P_NA];
    u->Nb = P[NBCL_P_NB];
    u->Nc = P[NBCL_P_NC];
    u->NaNbNc = u->Na * u->Nb * u->Nc;
    u->N2 = u->Na * u->Na * u->Nb * u->Nb * u->Nc * u->Nc;
    u->Na1 = u->Na > R(1.0) ? u->Na : R(1.0);
    u->Nb1 = u->Nb > R(1.0) ? u->Nb : R(1.0);
    u->Nc1 = u->Nc > R(1.0) ? u->Nc : R(1.0);
    for (int i = 0; i < 3; i++) {
        u->fdet[i] = P[NBCL_P_FDET + i];
        u->sdet[i] = P[NBCL_P_SDET + i];
        u->odet[i] = P[NBCL_P_ODET + i];
        u->pix0[i] = P[NBCL_P_PIX0 + i];
        u->beam[i] = P[NBCL_P_BEAM + i];
        u->pvec[i] = P[NBCL_P_POLAR_VEC + i];
        u->as[i] = P[NBCL_P_ASTAR + i];
        u->bs[i] = P[NBCL_P_BSTAR + i];
        u->cs[i] = P[NBCL_P_CSTAR + i];
    }
}

/* lanes sharing a tricubic neighbourhood are served by one load (nbcl_f_tricubic) */
#define NBCL_NGROUP 4

#endif /* NBCL_PIXEL_H: the uniform part */

/* ---------------------------------------------------------------------------------------------
 * Per lane: expanded once per lane vocabulary (cl/nbcl_lane_scalar.h). */

/* F of the nearest reflection for every lane (one grid read per lane) */
NBCL_FN LREAL LNAME(nbcl_f_nearest_lanes)(LREAL h, LREAL k, LREAL l, NBCL_GLOBAL const int *IP,
                                          NBCL_GLOBAL const REAL *P,
                                          NBCL_GLOBAL const REAL *Fhkl)
{
    REAL h0[LW], k0[LW], l0[LW], out[LW];
    LSTORE(NBCL_CEIL(h - R(0.5)), h0);
    LSTORE(NBCL_CEIL(k - R(0.5)), k0);
    LSTORE(NBCL_CEIL(l - R(0.5)), l0);
    for (int q = 0; q < LW; q++)
        out[q] = nbcl_f_nearest((int)h0[q], (int)k0[q], (int)l0[q], IP, P, Fhkl);
    return LLOAD(out);
}

/* Tricubic interpolation of F at fractional (h,k,l), along l, then k, then h (the reference's
 * polin3), reading F straight from the grid. Lanes whose 4x4x4 neighbourhood leaves the grid get
 * default_F and, when live, are marked in *fallback (spec-a-core "Interpolation & Fallbacks"; the
 * host prints the one-time warning). */
NBCL_FN LREAL LNAME(nbcl_f_tricubic)(LREAL h, LREAL k, LREAL l, LMASK live,
                                     NBCL_GLOBAL const int *IP, NBCL_GLOBAL const REAL *P,
                                     NBCL_GLOBAL const REAL *Fhkl, LMASK *fallback)
{
    const REAL hmin = (REAL)IP[NBCL_IP_H_MIN], kmin = (REAL)IP[NBCL_IP_K_MIN];
    const REAL lmin = (REAL)IP[NBCL_IP_L_MIN];
    const int kr = IP[NBCL_IP_K_RANGE], lr = IP[NBCL_IP_L_RANGE];
    const REAL hr = (REAL)IP[NBCL_IP_H_RANGE], krr = (REAL)kr, lrr = (REAL)lr;
    LMASK out = ((h - hmin + R(3.0)) > hr) | ((h - R(2.0)) < hmin) | ((k - kmin + R(3.0)) > krr) |
                ((k - R(2.0)) < kmin) | ((l - lmin + R(3.0)) > lrr) | ((l - R(2.0)) < lmin);
    *fallback |= out & live;
    if (!LANY(LNOT(out)))
        return LSPLAT(P[NBCL_P_DEFAULT_F]);
    /* lanes outside the grid interpolate at the grid's first cell, then are replaced */
    LREAL hf = LSEL(NBCL_FLOOR(h), LSPLAT(hmin + R(1.0)), out);
    LREAL kf = LSEL(NBCL_FLOOR(k), LSPLAT(kmin + R(1.0)), out);
    LREAL lf = LSEL(NBCL_FLOOR(l), LSPLAT(lmin + R(1.0)), out);
    LREAL dh[4], dk[4], dl[4]; /* distances to the nodes hf-1 .. hf+2 (and for k, l) */
    for (int i = 0; i < 4; i++) {
        dh[i] = h - (hf - R(1.0) + (REAL)i);
        dk[i] = k - (kf - R(1.0) + (REAL)i);
        dl[i] = l - (lf - R(1.0) + (REAL)i);
    }
    /* each lane's first node in the grid; lanes with the same one form a group (neighbouring
     * pixels mostly share a neighbourhood, or a few of them): each group's values are loaded
     * once and broadcast; with more than NBCL_NGROUP groups every lane is gathered alone */
    REAL hb[LW], kb[LW], lb[LW];
    LSTORE(hf - R(1.0) - hmin, hb);
    LSTORE(kf - R(1.0) - kmin, kb);
    LSTORE(lf - R(1.0) - lmin, lb);
    int base[LW], gbase[NBCL_NGROUP], ng = 0, lane_group[LW];
    for (int q = 0; q < LW; q++)
        base[q] = ((int)hb[q] * kr + (int)kb[q]) * lr + (int)lb[q];
    for (int q = 0; q < LW && ng <= NBCL_NGROUP; q++) {
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
    LMASK gmask[NBCL_NGROUP];
    if (ng <= NBCL_NGROUP)
        for (int g = 1; g < ng; g++) {
            int m[LW];
            for (int q = 0; q < LW; q++)
                m[q] = lane_group[q] == g ? -1 : 0;
            gmask[g] = LMASK_LOAD(m);
        }
    LREAL t1[4];
    for (int i = 0; i < 4; i++) {
        LREAL t2[4];
        for (int j = 0; j < 4; j++) {
            int off = (i * kr + j) * lr;
            LREAL y[4];
            if (ng <= NBCL_NGROUP) {
                NBCL_GLOBAL const REAL *f = Fhkl + gbase[0] + off;
                for (int m = 0; m < 4; m++)
                    y[m] = LSPLAT(f[m]);
                for (int g = 1; g < ng; g++) {
                    f = Fhkl + gbase[g] + off;
                    for (int m = 0; m < 4; m++)
                        y[m] = LSEL(y[m], LSPLAT(f[m]), gmask[g]);
                }
            } else {
                for (int m = 0; m < 4; m++) {
                    REAL ym[LW];
                    for (int q = 0; q < LW; q++)
                        ym[q] = Fhkl[base[q] + off + m];
                    y[m] = LLOAD(ym);
                }
            }
            t2[j] = NBCL_POLINT4_UNIT(dl[0], dl[1], dl[2], dl[3], y[0], y[1], y[2], y[3]);
        }
        t1[i] = NBCL_POLINT4_UNIT(dk[0], dk[1], dk[2], dk[3], t2[0], t2[1], t2[2], t2[3]);
    }
    LREAL F = NBCL_POLINT4_UNIT(dh[0], dh[1], dh[2], dh[3], t1[0], t1[1], t1[2], t1[3]);
    return LSEL(F, LSPLAT(P[NBCL_P_DEFAULT_F]), out);
}

/* F_cell for the active lanes: tricubic until a lane's first out-of-grid neighbourhood, nearest
 * after it (interpolation is off for the rest of the run: the caller renders every later pixel
 * without it), nearest without interpolation, default_F without a grid */
NBCL_FN LREAL LNAME(nbcl_f_cell)(LREAL h, LREAL k, LREAL l, LMASK act, const nbcl_uniform *u,
                                 NBCL_GLOBAL const int *IP, NBCL_GLOBAL const REAL *P,
                                 NBCL_GLOBAL const REAL *Fhkl, LMASK *fallback)
{
    LREAL F = LSPLAT(u->default_F);
    if (u->interpolate) {
        LMASK before = *fallback;
        LMASK fresh = act & LNOT(before);
        if (LANY(fresh))
            F = LNAME(nbcl_f_tricubic)(h, k, l, fresh, IP, P, Fhkl, fallback);
        if (LANY(before))
            F = LSEL(F, LNAME(nbcl_f_nearest_lanes)(h, k, l, IP, P, Fhkl), before);
    } else if (u->has_grid) {
        F = LNAME(nbcl_f_nearest_lanes)(h, k, l, IP, P, Fhkl);
    }
    return F;
}

/* |F_latt|, the crystal's shape factor at fractional (h,k,l): parallelepiped (sincg), sphere
 * (sinc3), Gaussian or top-hat in reciprocal space */
NBCL_FN LREAL LNAME(nbcl_f_latt)(LREAL h, LREAL k, LREAL l, const nbcl_uniform *u)
{
    if (u->shape == 0)
        return LNAME(nbcl_sincg3)(h, k, l, u->Na1, u->Nb1, u->Nc1);
    LREAL dh = h - NBCL_CEIL(h - R(0.5)), dk = k - NBCL_CEIL(k - R(0.5));
    LREAL dl = l - NBCL_CEIL(l - R(0.5));
    if (u->shape == 1) {
        LREAL hrad = dh * dh * u->Na * u->Na + dk * dk * u->Nb * u->Nb + dl * dl * u->Nc * u->Nc;
        return u->NaNbNc * R(0.723601254558268) *
               LNAME(nbcl_sinc3)(NBCL_PI * sqrt(hrad * u->fudge));
    }
    LREAL qx = dh * u->as[0] + dk * u->bs[0] + dl * u->cs[0];
    LREAL qy = dh * u->as[1] + dk * u->bs[1] + dl * u->cs[1];
    LREAL qz = dh * u->as[2] + dk * u->bs[2] + dl * u->cs[2];
    LREAL rad = (qx * qx + qy * qy + qz * qz) * u->N2;
    if (u->shape == 2)
        return u->NaNbNc * exp(-(rad / R(0.63) * u->fudge));
    return LSEL(LSPLAT(R(0.0)), LSPLAT(u->NaNbNc), rad * u->fudge < R(0.3969));
}

/* The unit direction (dx, dy, dz) from the sample to the sub-pixels at detector coordinates
 * (Fdet, Sdet) and depth Odet; returns 1/distance (one division serves the direction and the
 * solid angle) */
NBCL_FN LREAL LNAME(nbcl_subpixel_ray)(const nbcl_uniform *u, LREAL Fdet, LREAL Sdet, REAL Odet,
                                       LREAL *dx, LREAL *dy, LREAL *dz)
{
    LREAL px = Fdet * u->fdet[0] + Sdet * u->sdet[0] + Odet * u->odet[0] + u->pix0[0];
    LREAL py = Fdet * u->fdet[1] + Sdet * u->sdet[1] + Odet * u->odet[1] + u->pix0[1];
    LREAL pz = Fdet * u->fdet[2] + Sdet * u->sdet[2] + Odet * u->odet[2] + u->pix0[2];
    if (u->curved) {
        /* every pixel at `distance` from the sample: detector coordinates as angles */
        LREAL ay = py / u->distance, az = pz / u->distance;
        px = LSPLAT(u->distance * u->beam[0]);
        py = LSPLAT(u->distance * u->beam[1]);
        pz = LSPLAT(u->distance * u->beam[2]);
        LNAME(nbcl_rotate_lanes)(&px, &py, &pz, u->sdet, ay);
        LNAME(nbcl_rotate_lanes)(&px, &py, &pz, u->fdet, az);
    }
    LREAL inv_air = R(1.0) / sqrt(px * px + py * py + pz * pz);
    *dx = px * inv_air;
    *dy = py * inv_air;
    *dz = pz * inv_air;
    return inv_air;
}

/* fractional Miller indices of the lanes' scattering vectors in one orientation record (its rows
 * are the rotated real-space axes a, b, c) */
NBCL_FN void LNAME(nbcl_hkl_lanes)(NBCL_GLOBAL const REAL *m, LREAL Sx, LREAL Sy, LREAL Sz,
                                   LREAL *h, LREAL *k, LREAL *l)
{
    *h = m[0] * Sx + m[1] * Sy + m[2] * Sz;
    *k = m[3] * Sx + m[4] * Sy + m[5] * Sz;
    *l = m[6] * Sx + m[7] * Sy + m[8] * Sz;
}

/* One frame's orientations (ob: norient records) summed onto Ib in the common case:
 * parallelepiped, F = default_F everywhere (F2 = default_F^2), no oversample factors, no zero
 * skip. The general loop (nbcl_orient_frames) calls nbcl_f_latt, which is not inlined (four
 * shapes), and merges F from its branches through memory; this keeps everything in registers.
 * The same operations in the same order, so the same bits. */
NBCL_FN LREAL LNAME(nbcl_orient_plain)(NBCL_GLOBAL const REAL *ob, LREAL Sx, LREAL Sy, LREAL Sz,
                                       LMASK pass, REAL F2, const nbcl_uniform *u, LREAL Ib)
{
    for (int o = 0; o < u->norient; o++) {
        LREAL h, k, l;
        LNAME(nbcl_hkl_lanes)(ob + o * NBCL_ORIENT_STRIDE, Sx, Sy, Sz, &h, &k, &l);
        LREAL F_latt = LNAME(nbcl_sincg3)(h, k, l, u->Na1, u->Nb1, u->Nc1);
        Ib += LSEL(LSPLAT(R(0.0)), F2 * F_latt * F_latt, pass);
    }
    return Ib;
}

/* The sub-paths of one (sub-pixel, source) pair for nframes frames: frame b sums its own
 * orientations (orient + b x norient records) into its own I[b], in the same order as alone. */
NBCL_FN void LNAME(nbcl_orient_frames)(LREAL Sx, LREAL Sy, LREAL Sz, LMASK pass, LREAL capture,
                                       LREAL polar, LREAL omega, const nbcl_uniform *u,
                                       int skip_zero, int nframes, NBCL_GLOBAL const int *IP,
                                       NBCL_GLOBAL const REAL *P, NBCL_GLOBAL const REAL *orient,
                                       NBCL_GLOBAL const REAL *Fhkl, LREAL *I, LMASK *fallback)
{
    const LREAL zero = LSPLAT(R(0.0));
    const int any_os = u->os_thick || u->os_polar || u->os_omega;
    /* the common case: parallelepiped, F = default_F everywhere, plain sum */
    const int plain = u->shape == 0 && !any_os && !skip_zero && !u->interpolate && !u->has_grid;
    const REAL F2 = u->default_F * u->default_F;
    for (int b = 0; b < nframes; b++) {
        NBCL_GLOBAL const REAL *ob = orient + b * u->norient * NBCL_ORIENT_STRIDE;
        LREAL Ib = I[b];
        if (plain) {
            I[b] = LNAME(nbcl_orient_plain)(ob, Sx, Sy, Sz, pass, F2, u, Ib);
            continue;
        }
        for (int o = 0; o < u->norient; o++) {
            NBCL_GLOBAL const REAL *m = ob + o * NBCL_ORIENT_STRIDE;
            LREAL h, k, l;
            LNAME(nbcl_hkl_lanes)(m, Sx, Sy, Sz, &h, &k, &l);
            LREAL F_latt = LNAME(nbcl_f_latt)(h, k, l, u);
            LMASK act = pass;
            if (skip_zero) {
                act = act & (F_latt != zero);
                if (!LANY(act))
                    continue;
            }
            LREAL F_cell = LNAME(nbcl_f_cell)(h, k, l, act, u, IP, P, Fhkl, &fallback[b]);
            LREAL term = F_cell * F_cell * F_latt * F_latt;
            if (!any_os) {
                Ib += LSEL(zero, term, act);
            } else {
                LREAL In = Ib + term;
                if (u->os_thick)
                    In *= capture;
                if (u->os_polar)
                    In *= polar;
                if (u->os_omega)
                    In *= omega;
                Ib = LSEL(Ib, In, act);
            }
        }
        I[b] = Ib;
    }
}

/* Intensity of LW pixels (photons) in each of nframes frames (at most LFRAMES) that differ only
 * in their orientations (orient: nframes x norient records), before they are added to the float
 * images: value[b] is frame b's. Everything that does not depend on the orientation (the ray,
 * solid angle, capture, polarization, scattering vector, resolution cut) is computed once for
 * all frames; each frame's own sum takes exactly the operations, in the same order, that
 * rendering it alone takes, so its value is the same to the bit. Lanes that are not live
 * (outside the ROI, masked, past the tile) are computed but never counted or flagged; the caller
 * writes 0 for them. fallback[b] (0 on entry) marks the lanes whose interpolation left the grid
 * in frame b; the evaluation that left it uses default_F and the lane's later ones nearest F.
 * *omega_sum is the solid angle summed per sub-pixel, as the reference reports it (the same for
 * every frame). */
NBCL_FN void LNAME(nbcl_pixel_frames)(LINT fpixel, LINT spixel, LMASK live,
                                      NBCL_GLOBAL const REAL *P, NBCL_GLOBAL const int *IP,
                                      NBCL_GLOBAL const REAL *src, NBCL_GLOBAL const REAL *orient,
                                      int nframes, NBCL_GLOBAL const REAL *Fhkl, LREAL *value,
                                      LREAL *omega_sum, LMASK *fallback)
{
    nbcl_uniform u;
    nbcl_uniform_unpack(&u, P, IP);
    const LREAL zero = LSPLAT(R(0.0));
    const LREAL fpx = LFROMINT(fpixel), spx = LFROMINT(spixel);
    LREAL I[LFRAMES];
    for (int b = 0; b < nframes; b++)
        I[b] = LSPLAT(P[NBCL_P_I_BG]);
    LREAL polar = LSPLAT(IP[NBCL_IP_NOPOLAR] ? R(1.0) : R(0.0));
    LREAL omega = zero, capture = zero, osum = zero;
    /* The reference skips a sub-path whose F_latt is 0 (without water). Its term is then exactly
     * 0, so the plain sum needs no test; it matters when the -oversample_* factors multiply the
     * running sum, for the interpolation fallback, and to save a grid lookup. */
    const int any_os = u.os_thick || u.os_polar || u.os_omega;
    const int skip_zero = u.water == R(0.0) && (any_os || u.interpolate || u.has_grid);

    for (int t = 0; t < u.thicksteps; t++) {
        REAL Odet = (REAL)t * u.thickstep;
        capture = LSPLAT(u.thick == R(0.0) ? R(1.0) : R(0.0));
        for (int subS = 0; subS < u.oversample; subS++) {
            for (int subF = 0; subF < u.oversample; subF++) {
                LREAL Fdet =
                    u.subpixel * (fpx * (REAL)u.oversample + (REAL)subF) + u.subpixel / R(2.0);
                LREAL Sdet =
                    u.subpixel * (spx * (REAL)u.oversample + (REAL)subS) + u.subpixel / R(2.0);
                LREAL dx, dy, dz;
                LREAL inv_air = LNAME(nbcl_subpixel_ray)(&u, Fdet, Sdet, Odet, &dx, &dy, &dz);
                /* (a uniform flag picks the new value whole: an all-true mask made from a flag
                 * is miscompiled by oclgrind 21.10's optimiser) */
                if (u.os_omega || LANY(omega == zero)) {
                    LREAL om = u.point_pixel ? inv_air * inv_air
                                             : u.pixel * u.pixel * u.close_distance *
                                                   (inv_air * inv_air * inv_air);
                    omega = u.os_omega ? om : LSEL(omega, om, omega == zero);
                }
                osum += omega;
                if (u.os_thick || LANY(capture == zero)) {
                    LREAL parallax = dx * u.odet[0] + dy * u.odet[1] + dz * u.odet[2];
                    LREAL cf = LNAME(nbcl_capture_fraction)(t, u.thickstep, u.mu, parallax);
                    capture = u.os_thick ? cf : LSEL(capture, cf, capture == zero);
                }
                for (int s = 0; s < u.sources; s++) {
                    REAL inc[3];
                    REAL lambda = src[s * NBCL_SRC_STRIDE + 3];
                    for (int i = 0; i < 3; i++)
                        inc[i] = src[s * NBCL_SRC_STRIDE + i];
                    LREAL Sx = (dx - inc[0]) / lambda, Sy = (dy - inc[1]) / lambda;
                    LREAL Sz = (dz - inc[2]) / lambda;
                    LMASK pass = live;
                    if (u.dmin > R(0.0)) {
                        /* d = 1/|S| = 0.5/stol: skip sub-paths beyond the resolution cut */
                        LREAL stol = R(0.5) * sqrt(Sx * Sx + Sy * Sy + Sz * Sz);
                        pass = pass & LNOT((stol > zero) & (u.dmin > R(0.5) / stol));
                    }
                    if (!LANY(pass))
                        continue;
                    LMASK upd = u.os_polar ? pass : (pass & (polar == zero));
                    if (LANY(upd))
                        polar = LSEL(polar,
                                     LNAME(nbcl_polar_lanes)(u.kahn, inc, dx, dy, dz, u.pvec),
                                     upd);
                    LNAME(nbcl_orient_frames)(Sx, Sy, Sz, pass, capture, polar, omega, &u,
                                              skip_zero, nframes, IP, P, orient, Fhkl, I,
                                              fallback);
                }
            }
        }
    }
    *omega_sum = osum;
    for (int b = 0; b < nframes; b++) {
        LREAL v = P[NBCL_P_SCALE] * I[b];
        if (!u.os_thick)
            v *= capture;
        if (!u.os_polar)
            v *= polar;
        if (!u.os_omega)
            v *= omega;
        value[b] = v;
    }
}

#if LW == 1
/* the one-pixel entry points the scalar kernel, the host reference path and the tests call */

/* Tricubic F at fractional (h,k,l); *fallback set when the neighbourhood leaves the grid */
NBCL_FN REAL nbcl_f_interp(REAL h, REAL k, REAL l, NBCL_GLOBAL const int *IP,
                           NBCL_GLOBAL const REAL *P, NBCL_GLOBAL const REAL *Fhkl, int *fallback)
{
    return nbcl_f_tricubic(h, k, l, 1, IP, P, Fhkl, fallback);
}

/* Intensity of one pixel; pixels outside the ROI or masked are the caller's business */
NBCL_FN REAL nbcl_pixel_value(int fpixel, int spixel, NBCL_GLOBAL const REAL *P,
                              NBCL_GLOBAL const int *IP, NBCL_GLOBAL const REAL *src,
                              NBCL_GLOBAL const REAL *orient, NBCL_GLOBAL const REAL *Fhkl,
                              int *fallback, REAL *omega_sum)
{
    REAL value;
    nbcl_pixel_frames(fpixel, spixel, 1, P, IP, src, orient, 1, Fhkl, &value, omega_sum,
                      fallback);
    return value;
}
#endif
