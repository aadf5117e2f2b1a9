/* nbcl_physics.h — small pure physics and vector functions, written once for OpenCL C and C11.
 * Functions follow nanoBragg's definitions (spec-a-core) so that the host set-up, the host
 * reference path and both device kernels agree.
 *
 * Two parts. The first (once, include-guarded) works on uniform 3-vectors (REAL[3] arrays): the
 * host's scene set-up uses it. The second is written in the lane vocabulary (LREAL, LSEL, ...;
 * cl/nbcl_lane_scalar.h) and is expanded after every lane file: for one pixel (the scalar kernel
 * and the host: nbcl_sincg3, ...) and for NBCL_VW pixels in OpenCL vectors (the vector kernel:
 * nbcl_sincg3_v, ...). The kernel assembly lists this file twice (engine/CMakeLists.txt). */
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

/* right-handed rotation by angle in the plane of two components, b following a:
 * (a, b) -> (a cos - b sin, a sin + b cos); a zero angle is skipped */
NBCL_FN void nbcl_rotate_plane(REAL *a, REAL *b, REAL angle)
{
    if (angle == R(0.0))
        return;
    REAL c = cos(angle), s = sin(angle);
    REAL ta = *a * c - *b * s;
    REAL tb = *a * s + *b * c;
    *a = ta;
    *b = tb;
}

/* rotation about x, then y, then z (right-handed, angles in radians); zero angles are skipped */
NBCL_FN void nbcl_rotate_xyz(const REAL *v, REAL rx, REAL ry, REAL rz, REAL *out)
{
    REAL x = v[0], y = v[1], z = v[2];
    nbcl_rotate_plane(&y, &z, rx); /* about x: y towards z */
    nbcl_rotate_plane(&z, &x, ry); /* about y: z towards x */
    nbcl_rotate_plane(&x, &y, rz); /* about z: x towards y */
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

#endif /* NBCL_PHYSICS_H: the uniform part */

/* ---------------------------------------------------------------------------------------------
 * Per lane: expanded once per lane vocabulary (LW pixels per evaluation). A branch that only some
 * lanes take is a mask (LMASK) and a select (LSEL); a uniform condition stays an if. */

/* sin(pi x) for |x| <= 1/2, branch-free FMAs, no libm call. Double: the Taylor polynomial in
 * y = pi x, odd terms to y^19 (relative error < 3e-16; kept as it is, since with it 16 of the 19
 * golden images are bit-identical to the reference's). Single: a minimax polynomial x P(x^2)
 * with P of degree 4 (relative error 5.3e-9, a tenth of a float ulp; 6 operations instead of the
 * Taylor form's 9; coefficients from a Remez fit of sin(pi sqrt t)/sqrt t, t in [0, 1/4]). */
NBCL_FN LREAL LNAME(nbcl_sinpi_half)(LREAL x)
{
#if NBCL_PRECISION == 64
    LREAL y = NBCL_PI * x;
    LREAL z = y * y;
    LREAL p = LSPLAT(R(-8.2206352466243297e-18)); /* -1/19! */
    p = p * z + R(2.8114572543455206e-15);        /* 1/17! */
    p = p * z - R(7.6471637318198164e-13);        /* -1/15! */
    p = p * z + R(1.6059043836821613e-10);        /* 1/13! */
    p = p * z - R(2.5052108385441720e-08);        /* -1/11! */
    p = p * z + R(2.7557319223985893e-06);        /* 1/9! */
    p = p * z - R(1.9841269841269841e-04);        /* -1/7! */
    p = p * z + R(8.3333333333333333e-03);        /* 1/5! */
    p = p * z - R(1.6666666666666667e-01);        /* -1/3! */
    return y + y * z * p;
#else
    LREAL t = x * x;
    LREAL p = LSPLAT(R(0.077560386935181817869));
    p = p * t - R(0.59824212638714887447);
    p = p * t + R(2.5500697263291621179);
    p = p * t - R(5.1677096847986404407);
    p = p * t + R(3.1415926368954011904);
    return x * p;
#endif
}

/* |sincg(pi*h, N)| = |sin(N pi h) / sin(pi h)| for integer N, from the fractional parts only:
 * with d = h - rint(h) and r = N d - rint(N d), |sin(N pi h)| = |sin(pi r)| and
 * |sin(pi h)| = |sin(pi d)|, both arguments within [-1/2, 1/2]. Exact identities, so it equals
 * the reference's sin(N x)/sin(x) up to rounding, stays accurate in single precision near Bragg
 * peaks, and needs no transcendental call. N at d == 0 (the limit). Only the magnitude is
 * returned, which is all the intensity uses (F_latt is squared). */
NBCL_FN LREAL LNAME(nbcl_sincg_frac)(LREAL h, REAL N)
{
    LREAL d = h - NBCL_RINT(h);
    LREAL nd = N * d;
    LREAL r = nd - NBCL_RINT(nd);
    LREAL den = LNAME(nbcl_sinpi_half)(d);
    LREAL v = LSEL(LNAME(nbcl_sinpi_half)(r) / den, LSPLAT(N), d == R(0.0));
    return fabs(v);
}

/* |F_latt| of a parallelepiped: |sincg(pi h, Na) sincg(pi k, Nb) sincg(pi l, Nc)| with one
 * division for the three axes (same identities as nbcl_sincg_frac; N = 1 axes give exactly 1
 * and may be passed as 1) */
NBCL_FN LREAL LNAME(nbcl_sincg3)(LREAL h, LREAL k, LREAL l, REAL Na, REAL Nb, REAL Nc)
{
    LREAL dh = h - NBCL_RINT(h), dk = k - NBCL_RINT(k), dl = l - NBCL_RINT(l);
    LREAL rh = Na * dh, rk = Nb * dk, rl = Nc * dl;
    rh -= NBCL_RINT(rh);
    rk -= NBCL_RINT(rk);
    rl -= NBCL_RINT(rl);
    LREAL nh = LNAME(nbcl_sinpi_half)(rh), nk = LNAME(nbcl_sinpi_half)(rk);
    LREAL nl = LNAME(nbcl_sinpi_half)(rl);
    LREAL qh = LNAME(nbcl_sinpi_half)(dh), qk = LNAME(nbcl_sinpi_half)(dk);
    LREAL ql = LNAME(nbcl_sinpi_half)(dl);
    LMASK zh = dh == R(0.0), zk = dk == R(0.0), zl = dl == R(0.0);
    nh = LSEL(nh, LSPLAT(Na), zh);
    qh = LSEL(qh, LSPLAT(R(1.0)), zh);
    nk = LSEL(nk, LSPLAT(Nb), zk);
    qk = LSEL(qk, LSPLAT(R(1.0)), zk);
    nl = LSEL(nl, LSPLAT(Nc), zl);
    ql = LSEL(ql, LSPLAT(R(1.0)), zl);
    return fabs((nh * nk * nl) / (qh * qk * ql));
}

/* Fourier transform of a sphere: 3 (sin x - x cos x) / x^3, 1 at x == 0 */
NBCL_FN LREAL LNAME(nbcl_sinc3)(LREAL x)
{
    LREAL v = R(3.0) * (sin(x) / x - cos(x)) / (x * x);
    return LSEL(v, LSPLAT(R(1.0)), x == R(0.0));
}

/* Rodrigues rotation of the lane vectors (x, y, z) by the lane angles phi about the uniform unit
 * vector axis (in place) */
NBCL_FN void LNAME(nbcl_rotate_lanes)(LREAL *vx, LREAL *vy, LREAL *vz, const REAL *axis,
                                      LREAL phi)
{
    LREAL s = sin(phi), c = cos(phi);
    LREAL d = (axis[0] * *vx + axis[1] * *vy + axis[2] * *vz) * (R(1.0) - c);
    LREAL x = axis[0] * d + *vx * c + (-axis[2] * *vy + axis[1] * *vz) * s;
    LREAL y = axis[1] * d + *vy * c + (axis[2] * *vx - axis[0] * *vz) * s;
    LREAL z = axis[2] * d + *vz * c + (-axis[1] * *vx + axis[0] * *vy) * s;
    *vx = x;
    *vy = y;
    *vz = z;
}

/* Kahn polarization factor for the uniform unit incident direction and E-vector axis and the lane
 * unit diffracted directions (dx, dy, dz):
 * 0.5 (1 + cos^2 2theta - K cos(2 psi) sin^2 2theta) */
NBCL_FN LREAL LNAME(nbcl_polar_lanes)(REAL kahn, const REAL *incident, LREAL dx, LREAL dy,
                                      LREAL dz, const REAL *axis)
{
    LREAL c2t = incident[0] * dx + incident[1] * dy + incident[2] * dz;
    LREAL c2t2 = c2t * c2t;
    if (kahn == R(0.0))
        return R(0.5) * (R(1.0) + c2t2);
    /* B and E depend only on the uniform vectors */
    REAL B[3], E[3];
    nbcl_cross3(axis, incident, B);
    nbcl_unitize3(B, B);
    nbcl_cross3(incident, B, E);
    nbcl_unitize3(E, E);
    LREAL psi = -atan2(dx * B[0] + dy * B[1] + dz * B[2], dx * E[0] + dy * E[1] + dz * E[2]);
    return R(0.5) * (R(1.0) + c2t2 - kahn * cos(R(2.0) * psi) * (R(1.0) - c2t2));
}

/* fraction of photons absorbed in layer t of thickness step (attenuation mu, 1/m), for rays
 * whose cosine to the detector normal is parallax */
NBCL_FN LREAL LNAME(nbcl_capture_fraction)(int t, REAL step, REAL mu, LREAL parallax)
{
    return exp(-(REAL)t * step * mu / parallax) - exp(-(REAL)(t + 1) * step * mu / parallax);
}

#if LW == 1
/* the one-pixel functions on REAL[3] vectors that the host set-up and the tests call */

/* Rodrigues rotation of v by angle phi about the unit vector axis (out may alias v) */
NBCL_FN void nbcl_rotate_axis(const REAL *v, const REAL *axis, REAL phi, REAL *out)
{
    REAL x = v[0], y = v[1], z = v[2];
    nbcl_rotate_lanes(&x, &y, &z, axis, phi);
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

/* Kahn polarization factor for unit vectors incident, diffracted and E-vector axis */
NBCL_FN REAL nbcl_polarization(REAL kahn, const REAL *incident, const REAL *diffracted,
                               const REAL *axis)
{
    return nbcl_polar_lanes(kahn, incident, diffracted[0], diffracted[1], diffracted[2], axis);
}
#endif
