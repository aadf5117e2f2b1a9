/* nbcl_pixel.h — the per-pixel physics of nanoBragg (spec-a-core "Rendering"), written once for
 * the device kernel and the host reference path. Loop order and caching follow the reference so
 * that its normalisation quirks come out the same:
 *   thickness layers > sub-pixels (slow, fast) > sources > phi steps > mosaic domains;
 *   solid angle and polarization are computed once per pixel (first sub-pixel / first source
 *   that passes the dmin cut) unless -oversample_omega / -oversample_polar; the capture fraction
 *   once per layer unless -oversample_thick; the "oversample" flags multiply the running sum
 *   (I = (I + term) * factor) and otherwise the LAST value multiplies the pixel at the end. */
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

/* Tricubic interpolation of F at fractional (h,k,l). When the 4x4x4 neighbourhood leaves the
 * grid, default_F is used for this reflection and *fallback is set (spec-a-core "Interpolation
 * & Fallbacks"; the host prints the one-time warning). */
NBCL_FN REAL nbcl_f_interp(REAL h, REAL k, REAL l, NBCL_GLOBAL const int *IP, NBCL_GLOBAL const REAL *P,
                           NBCL_GLOBAL const REAL *Fhkl, int *fallback)
{
    int hmin = IP[NBCL_IP_H_MIN], kmin = IP[NBCL_IP_K_MIN], lmin = IP[NBCL_IP_L_MIN];
    int hr = IP[NBCL_IP_H_RANGE], kr = IP[NBCL_IP_K_RANGE], lr = IP[NBCL_IP_L_RANGE];
    if ((h - (REAL)hmin + R(3.0)) > (REAL)hr || (h - R(2.0)) < (REAL)hmin ||
        (k - (REAL)kmin + R(3.0)) > (REAL)kr || (k - R(2.0)) < (REAL)kmin ||
        (l - (REAL)lmin + R(3.0)) > (REAL)lr || (l - R(2.0)) < (REAL)lmin) {
        *fallback = 1;
        return P[NBCL_P_DEFAULT_F];
    }
    int hf = (int)floor(h), kf = (int)floor(k), lf = (int)floor(l);
    REAL dh[4], dk[4], dl[4]; /* distances to the nodes hf-1 .. hf+2 (and for k, l) */
    for (int i = 0; i < 4; i++) {
        dh[i] = h - (REAL)(hf - 1 + i);
        dk[i] = k - (REAL)(kf - 1 + i);
        dl[i] = l - (REAL)(lf - 1 + i);
    }
    /* along l, then k, then h (the reference's order), reading F straight from the grid */
    REAL t1[4];
    for (int i = 0; i < 4; i++) {
        REAL t2[4];
        for (int j = 0; j < 4; j++) {
            NBCL_GLOBAL const REAL *f =
                Fhkl + ((hf - 1 + i - hmin) * kr + (kf - 1 + j - kmin)) * lr + (lf - 1 - lmin);
            t2[j] = NBCL_POLINT4_UNIT(dl[0], dl[1], dl[2], dl[3], f[0], f[1], f[2], f[3]);
        }
        t1[i] = NBCL_POLINT4_UNIT(dk[0], dk[1], dk[2], dk[3], t2[0], t2[1], t2[2], t2[3]);
    }
    return NBCL_POLINT4_UNIT(dh[0], dh[1], dh[2], dh[3], t1[0], t1[1], t1[2], t1[3]);
}

/* The scene scalars and vectors every pixel loop reads, unpacked from the parameter blocks as
 * named locals. One definition for the scalar function below and the vector kernel
 * (nbcl_pixel_simd.cl), so both read the layout the same way. */
#define NBCL_UNPACK_SCENE(P, IP)                                                                   \
    const int oversample = IP[NBCL_IP_OVERSAMPLE];                                             \
    const int thicksteps = IP[NBCL_IP_THICKSTEPS];                                             \
    const int os_thick = IP[NBCL_IP_OS_THICK];                                                 \
    const int os_polar = IP[NBCL_IP_OS_POLAR];                                                 \
    const int os_omega = IP[NBCL_IP_OS_OMEGA];                                                 \
    const int sources = IP[NBCL_IP_SOURCES];                                                   \
    const int norient = IP[NBCL_IP_NORIENT];                                                   \
    const int shape = IP[NBCL_IP_SHAPE];                                                       \
    const int interpolate = IP[NBCL_IP_INTERPOLATE];                                           \
    const int has_grid = IP[NBCL_IP_HKLS];                                                     \
    const REAL subpixel = P[NBCL_P_SUBPIXEL];                                                  \
    const REAL pixel = P[NBCL_P_PIXEL];                                                        \
    const REAL distance = P[NBCL_P_DISTANCE];                                                  \
    const REAL close_distance = P[NBCL_P_CLOSE_DISTANCE];                                      \
    const REAL Na = P[NBCL_P_NA], Nb = P[NBCL_P_NB], Nc = P[NBCL_P_NC];                        \
    const REAL NaNbNc = Na * Nb * Nc;                                                          \
    /* axes with N <= 1 contribute exactly 1 (the reference skips them) */                     \
    const REAL Na1 = Na > R(1.0) ? Na : R(1.0), Nb1 = Nb > R(1.0) ? Nb : R(1.0);               \
    const REAL Nc1 = Nc > R(1.0) ? Nc : R(1.0);                                                \
    const REAL N2 = Na * Na * Nb * Nb * Nc * Nc;                                               \
    const REAL fudge = P[NBCL_P_FUDGE];                                                        \
    const REAL dmin = P[NBCL_P_DMIN];                                                          \
    const REAL water = P[NBCL_P_WATER];                                                        \
    REAL fdet[3], sdet[3], odet[3], pix0[3], beam[3], pvec[3], as[3], bs[3], cs[3];            \
    for (int i = 0; i < 3; i++) {                                                              \
        fdet[i] = P[NBCL_P_FDET + i];                                                          \
        sdet[i] = P[NBCL_P_SDET + i];                                                          \
        odet[i] = P[NBCL_P_ODET + i];                                                          \
        pix0[i] = P[NBCL_P_PIX0 + i];                                                          \
        beam[i] = P[NBCL_P_BEAM + i];                                                          \
        pvec[i] = P[NBCL_P_POLAR_VEC + i];                                                     \
        as[i] = P[NBCL_P_ASTAR + i];                                                           \
        bs[i] = P[NBCL_P_BSTAR + i];                                                           \
        cs[i] = P[NBCL_P_CSTAR + i];                                                           \
    }

/* Intensity of one pixel (photons), before it is added to the float image. Pixels outside the
 * ROI or masked are the caller's business. *fallback (0 on entry) is set when interpolation left
 * the grid; the evaluation that left it uses default_F and the pixel's later ones nearest F. */
NBCL_FN REAL nbcl_pixel_value(int fpixel, int spixel, NBCL_GLOBAL const REAL *P,
                              NBCL_GLOBAL const int *IP, NBCL_GLOBAL const REAL *src,
                              NBCL_GLOBAL const REAL *orient, NBCL_GLOBAL const REAL *Fhkl,
                              int *fallback, REAL *omega_sum)
{
    NBCL_UNPACK_SCENE(P, IP)

    REAL I = P[NBCL_P_I_BG];
    REAL polar = IP[NBCL_IP_NOPOLAR] ? R(1.0) : R(0.0);
    REAL omega = R(0.0);
    REAL capture = R(0.0);
    REAL osum = R(0.0); /* solid angle summed per sub-pixel, as the reference reports it */

    for (int t = 0; t < thicksteps; t++) {
        REAL Odet = (REAL)t * P[NBCL_P_THICKSTEP];
        capture = (P[NBCL_P_THICK] == R(0.0)) ? R(1.0) : R(0.0);
        for (int subS = 0; subS < oversample; subS++) {
            for (int subF = 0; subF < oversample; subF++) {
                REAL Fdet = subpixel * (REAL)(fpixel * oversample + subF) + subpixel / R(2.0);
                REAL Sdet = subpixel * (REAL)(spixel * oversample + subS) + subpixel / R(2.0);
                REAL pos[3], diffracted[3];
                for (int i = 0; i < 3; i++)
                    pos[i] = Fdet * fdet[i] + Sdet * sdet[i] + Odet * odet[i] + pix0[i];
                if (IP[NBCL_IP_CURVED]) {
                    /* every pixel at `distance` from the sample: detector coordinates as angles */
                    REAL v[3], w[3];
                    for (int i = 0; i < 3; i++)
                        v[i] = distance * beam[i];
                    nbcl_rotate_axis(v, sdet, pos[1] / distance, w);
                    nbcl_rotate_axis(w, fdet, pos[2] / distance, pos);
                }
                /* one division per sub-pixel: 1/R serves the direction and the solid angle */
                REAL inv_air = R(1.0) / nbcl_norm3(pos);
                for (int i = 0; i < 3; i++)
                    diffracted[i] = pos[i] * inv_air;
                if (omega == R(0.0) || os_omega) {
                    omega = pixel * pixel * close_distance * (inv_air * inv_air * inv_air);
                    if (IP[NBCL_IP_POINT_PIXEL])
                        omega = inv_air * inv_air;
                }
                osum += omega;
                if (capture == R(0.0) || os_thick) {
                    REAL parallax = nbcl_dot3(diffracted, odet);
                    capture = nbcl_capture_fraction(t, P[NBCL_P_THICKSTEP], P[NBCL_P_MU], parallax);
                }
                for (int s = 0; s < sources; s++) {
                    REAL incident[3], S[3];
                    REAL lambda = src[s * NBCL_SRC_STRIDE + 3];
                    for (int i = 0; i < 3; i++) {
                        incident[i] = src[s * NBCL_SRC_STRIDE + i];
                        S[i] = (diffracted[i] - incident[i]) / lambda;
                    }
                    if (dmin > R(0.0)) {
                        /* d = 1/|S| = 0.5/stol: skip sub-paths beyond the resolution cut */
                        REAL stol = R(0.5) * nbcl_norm3(S);
                        if (stol > R(0.0) && dmin > R(0.5) / stol)
                            continue;
                    }
                    if (polar == R(0.0) || os_polar)
                        polar = nbcl_polarization(P[NBCL_P_POLARIZATION], incident, diffracted, pvec);
                    for (int o = 0; o < norient; o++) {
                        NBCL_GLOBAL const REAL *m = orient + o * NBCL_ORIENT_STRIDE;
                        REAL h = m[0] * S[0] + m[1] * S[1] + m[2] * S[2];
                        REAL k = m[3] * S[0] + m[4] * S[1] + m[5] * S[2];
                        REAL l = m[6] * S[0] + m[7] * S[1] + m[8] * S[2];
                        REAL F_latt = R(1.0);
                        if (shape == 0) {
                            F_latt = nbcl_sincg3(h, k, l, Na1, Nb1, Nc1);
                        } else {
                            REAL dh = h - ceil(h - R(0.5)), dk = k - ceil(k - R(0.5));
                            REAL dl = l - ceil(l - R(0.5));
                            if (shape == 1) {
                                REAL hrad = dh * dh * Na * Na + dk * dk * Nb * Nb + dl * dl * Nc * Nc;
                                F_latt = NaNbNc * R(0.723601254558268) *
                                         nbcl_sinc3(NBCL_PI * sqrt(hrad * fudge));
                            } else {
                                REAL dx = dh * as[0] + dk * bs[0] + dl * cs[0];
                                REAL dy = dh * as[1] + dk * bs[1] + dl * cs[1];
                                REAL dz = dh * as[2] + dk * bs[2] + dl * cs[2];
                                REAL rad = (dx * dx + dy * dy + dz * dz) * N2;
                                if (shape == 2)
                                    F_latt = NaNbNc * exp(-(rad / R(0.63) * fudge));
                                else
                                    F_latt = (rad * fudge < R(0.3969)) ? NaNbNc : R(0.0);
                            }
                        }
                        if (F_latt == R(0.0) && water == R(0.0))
                            continue;
                        REAL F_cell = P[NBCL_P_DEFAULT_F];
                        /* after this pixel's first out-of-grid neighbourhood, nearest F
                         * (interpolation is off for the rest of the run: the caller renders
                         * every later pixel without it) */
                        if (interpolate && !*fallback)
                            F_cell = nbcl_f_interp(h, k, l, IP, P, Fhkl, fallback);
                        else if (has_grid)
                            F_cell = nbcl_f_nearest((int)ceil(h - R(0.5)), (int)ceil(k - R(0.5)),
                                                    (int)ceil(l - R(0.5)), IP, P, Fhkl);
                        I += F_cell * F_cell * F_latt * F_latt;
                        if (os_thick)
                            I *= capture;
                        if (os_polar)
                            I *= polar;
                        if (os_omega)
                            I *= omega;
                    }
                }
            }
        }
    }
    *omega_sum = osum;
    REAL value = P[NBCL_P_SCALE] * I;
    if (!os_thick)
        value *= capture;
    if (!os_polar)
        value *= polar;
    if (!os_omega)
        value *= omega;
    return value;
}

#endif
