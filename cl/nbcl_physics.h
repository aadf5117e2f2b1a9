/* nbcl_physics.h — small pure physics and vector functions, written once for OpenCL C and C11.
 * Vectors are 3-element arrays (x, y, z). Functions follow nanoBragg's definitions (spec-a-core)
 * so that the host set-up, the host reference path and the device kernel agree. */
#ifndef NBCL_PHYSICS_H
#define NBCL_PHYSICS_H

NBCL_FN REAL nbcl_dot3(const REAL *a, const REAL *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

NBCL_FN void nbcl_cross3(const REAL *a, const REAL *b, REAL *out)
{
    REAL x = a[1] * b[2] - a[2] * b[1];
    REAL y = a[2] * b[0] - a[0] * b[2];
    REAL z = a[0] * b[1] - a[1] * b[0];
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

NBCL_FN REAL nbcl_norm3(const REAL *v)
{
    return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

/* out = v/|v| (out may alias v); a zero vector gives zero; returns |v| */
NBCL_FN REAL nbcl_unitize3(const REAL *v, REAL *out)
{
    REAL mag = nbcl_norm3(v);
    if (mag != R(0.0)) {
        out[0] = v[0] / mag;
        out[1] = v[1] / mag;
        out[2] = v[2] / mag;
    } else {
        out[0] = out[1] = out[2] = R(0.0);
    }
    return mag;
}

/* Rodrigues rotation of v by angle phi about the unit vector axis (out may alias v) */
NBCL_FN void nbcl_rotate_axis(const REAL *v, const REAL *axis, REAL phi, REAL *out)
{
    REAL s = sin(phi), c = cos(phi);
    REAL d = (axis[0] * v[0] + axis[1] * v[1] + axis[2] * v[2]) * (R(1.0) - c);
    REAL x = axis[0] * d + v[0] * c + (-axis[2] * v[1] + axis[1] * v[2]) * s;
    REAL y = axis[1] * d + v[1] * c + (axis[2] * v[0] - axis[0] * v[2]) * s;
    REAL z = axis[2] * d + v[2] * c + (-axis[1] * v[0] + axis[0] * v[1]) * s;
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

/* rotation about x, then y, then z (right-handed, angles in radians); zero angles are skipped */
NBCL_FN void nbcl_rotate_xyz(const REAL *v, REAL rx, REAL ry, REAL rz, REAL *out)
{
    REAL x = v[0], y = v[1], z = v[2], t0, t1, t2;
    if (rx != R(0.0)) {
        REAL c = cos(rx), s = sin(rx);
        t1 = y * c - z * s;
        t2 = y * s + z * c;
        y = t1;
        z = t2;
    }
    if (ry != R(0.0)) {
        REAL c = cos(ry), s = sin(ry);
        t0 = x * c + z * s;
        t2 = -x * s + z * c;
        x = t0;
        z = t2;
    }
    if (rz != R(0.0)) {
        REAL c = cos(rz), s = sin(rz);
        t0 = x * c - y * s;
        t1 = x * s + y * c;
        x = t0;
        y = t1;
    }
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

/* apply a row-major 3x3 matrix: out = U v */
NBCL_FN void nbcl_mat3_apply(const REAL *u, const REAL *v, REAL *out)
{
    REAL x = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    REAL y = u[3] * v[0] + u[4] * v[1] + u[5] * v[2];
    REAL z = u[6] * v[0] + u[7] * v[1] + u[8] * v[2];
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

/* Fourier transform of a grating of N slits: sin(N x)/sin(x), N at x == 0 (spec definition) */
NBCL_FN REAL nbcl_sincg(REAL x, REAL N)
{
    if (x == R(0.0))
        return N;
    return sin(x * N) / sin(x);
}

/* sin(pi x) for |x| <= 1/2 by its Taylor polynomial in y = pi x (odd terms to y^19 in double,
 * relative error < 3e-16; to y^13 in single, < 1e-9): branch-free FMAs, no libm call.
 * NBCL_SINPI_HALF_POLY(T, x) is the body for any scalar or vector type T (the vector kernel
 * uses it on double8/float16). */
#if NBCL_PRECISION == 64
#define NBCL_SINPI_HALF_POLY(T, x)                                                         \
    T y = NBCL_PI * (x);                                                                   \
    T z = y * y;                                                                           \
    T p = (T)(R(-8.2206352466243297e-18));  /* -1/19! */                                   \
    p = p * z + R(2.8114572543455206e-15);  /* 1/17! */                                    \
    p = p * z - R(7.6471637318198164e-13);  /* -1/15! */                                   \
    p = p * z + R(1.6059043836821613e-10);  /* 1/13! */                                    \
    p = p * z - R(2.5052108385441720e-08);  /* -1/11! */                                   \
    p = p * z + R(2.7557319223985893e-06);  /* 1/9! */                                     \
    p = p * z - R(1.9841269841269841e-04);  /* -1/7! */                                    \
    p = p * z + R(8.3333333333333333e-03);  /* 1/5! */                                     \
    p = p * z - R(1.6666666666666667e-01);  /* -1/3! */                                    \
    return y + y * z * p
#else
#define NBCL_SINPI_HALF_POLY(T, x)                                                         \
    T y = NBCL_PI * (x);                                                                   \
    T z = y * y;                                                                           \
    T p = (T)(R(1.6059043836821613e-10));                                                  \
    p = p * z - R(2.5052108385441720e-08);                                                 \
    p = p * z + R(2.7557319223985893e-06);                                                 \
    p = p * z - R(1.9841269841269841e-04);                                                 \
    p = p * z + R(8.3333333333333333e-03);                                                 \
    p = p * z - R(1.6666666666666667e-01);                                                 \
    return y + y * z * p
#endif

NBCL_FN REAL nbcl_sinpi_half(REAL x)
{
    NBCL_SINPI_HALF_POLY(REAL, x);
}

/* |sincg(pi*h, N)| = |sin(N pi h) / sin(pi h)| for integer N, from the fractional parts only:
 * with d = h - rint(h) and r = N d - rint(N d), |sin(N pi h)| = |sin(pi r)| and
 * |sin(pi h)| = |sin(pi d)|, both arguments within [-1/2, 1/2]. Exact identities, so it equals
 * the reference's sin(N x)/sin(x) up to rounding, stays accurate in single precision near Bragg
 * peaks, and needs no transcendental call. N at d == 0 (the limit). Only the magnitude is
 * returned, which is all the intensity uses (F_latt is squared). */
NBCL_FN REAL nbcl_sincg_frac(REAL h, REAL N)
{
    REAL d = h - rint(h);
    REAL nd = N * d;
    REAL r = nd - rint(nd);
    REAL den = nbcl_sinpi_half(d);
    REAL v = (d == R(0.0)) ? N : nbcl_sinpi_half(r) / den;
    return fabs(v);
}

/* |F_latt| of a parallelepiped: |sincg(pi h, Na) sincg(pi k, Nb) sincg(pi l, Nc)| with one
 * division for the three axes (same identities as nbcl_sincg_frac; N = 1 axes give exactly 1
 * and may be passed as 1) */
NBCL_FN REAL nbcl_sincg3(REAL h, REAL k, REAL l, REAL Na, REAL Nb, REAL Nc)
{
    REAL dh = h - rint(h), dk = k - rint(k), dl = l - rint(l);
    REAL rh = Na * dh, rk = Nb * dk, rl = Nc * dl;
    rh -= rint(rh);
    rk -= rint(rk);
    rl -= rint(rl);
    REAL nh = nbcl_sinpi_half(rh), nk = nbcl_sinpi_half(rk), nl = nbcl_sinpi_half(rl);
    REAL qh = nbcl_sinpi_half(dh), qk = nbcl_sinpi_half(dk), ql = nbcl_sinpi_half(dl);
    if (dh == R(0.0)) {
        nh = Na;
        qh = R(1.0);
    }
    if (dk == R(0.0)) {
        nk = Nb;
        qk = R(1.0);
    }
    if (dl == R(0.0)) {
        nl = Nc;
        ql = R(1.0);
    }
    return fabs((nh * nk * nl) / (qh * qk * ql));
}

/* Fourier transform of a sphere: 3 (sin x - x cos x) / x^3, 1 at x == 0 */
NBCL_FN REAL nbcl_sinc3(REAL x)
{
    if (x == R(0.0))
        return R(1.0);
    return R(3.0) * (sin(x) / x - cos(x)) / (x * x);
}

/* Kahn polarization factor for unit vectors incident, diffracted and E-vector axis:
 * 0.5 (1 + cos^2 2theta - K cos(2 psi) sin^2 2theta) */
NBCL_FN REAL nbcl_polarization(REAL kahn, const REAL *incident, const REAL *diffracted,
                               const REAL *axis)
{
    REAL c2t = nbcl_dot3(incident, diffracted);
    REAL c2t2 = c2t * c2t;
    REAL s2t2 = R(1.0) - c2t2;
    REAL psi = R(0.0);
    if (kahn != R(0.0)) {
        REAL B[3], E[3];
        nbcl_cross3(axis, incident, B);
        nbcl_unitize3(B, B);
        nbcl_cross3(incident, B, E);
        nbcl_unitize3(E, E);
        psi = -atan2(nbcl_dot3(diffracted, B), nbcl_dot3(diffracted, E));
    }
    return R(0.5) * (R(1.0) + c2t2 - kahn * cos(R(2.0) * psi) * s2t2);
}

/* fraction of photons absorbed in layer t of thickness step (attenuation mu, 1/m), for a ray
 * whose cosine to the detector normal is parallax */
NBCL_FN REAL nbcl_capture_fraction(int t, REAL step, REAL mu, REAL parallax)
{
    return exp(-(REAL)t * step * mu / parallax) - exp(-(REAL)(t + 1) * step * mu / parallax);
}

/* 4-point Lagrange interpolation on 4 consecutive integer nodes, as an expression for any scalar
 * or vector type: xk = x - node_k, yk the values there. The node products are exact (-6, 2, -2,
 * 6), so in double this is the reference's polint to the last bit (same products, same order);
 * in single the division by 6 is a multiplication by its reciprocal (at most 1 ulp apart; the
 * halves are exact either way): 42 divisions per tricubic evaluation cost more than the rest of
 * it. Tricubic interpolation applies it along l, then k, then h, as the reference's polin3. */
#if NBCL_PRECISION == 64
#define NBCL_POLINT4_UNIT(x0, x1, x2, x3, y0, y1, y2, y3)                                         \
    ((x1) * (x2) * (x3) * (y0) / R(-6.0) + (x0) * (x2) * (x3) * (y1) / R(2.0) +                  \
     (x0) * (x1) * (x3) * (y2) / R(-2.0) + (x0) * (x1) * (x2) * (y3) / R(6.0))
#else
#define NBCL_POLINT4_UNIT(x0, x1, x2, x3, y0, y1, y2, y3)                                         \
    ((x1) * (x2) * (x3) * (y0) * -(R(1.0) / R(6.0)) + (x0) * (x2) * (x3) * (y1) * R(0.5) +       \
     (x0) * (x1) * (x3) * (y2) * R(-0.5) + (x0) * (x1) * (x2) * (y3) * (R(1.0) / R(6.0)))
#endif

#endif
