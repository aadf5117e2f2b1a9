/* One pixel's terms on the host (-printout, -printout_pixel, and the cause of a non-finite
 * image): the device's per-pixel function for the value, and the terms of the pixel's LAST
 * sub-path (last thickness layer, last sub-pixel, last source, last phi/mosaic orientation)
 * evaluated with the same physics functions, so a user can follow the geometry of a pixel the
 * way nanoBragg's printout lets them. The trace format is nbcl's own (docs/parity.md). */
#include <math.h>
#include <string.h>

#include "nbcl_host_physics.h"
#include "nbcl_internal.h"
#include "render/pack.h"

/* the lattice factor of one sub-path, as nbcl_pixel_value() computes it for each shape */
static double lattice_factor(const double *P, const int *IP, double h, double k, double l)
{
    const double Na = P[NBCL_P_NA], Nb = P[NBCL_P_NB], Nc = P[NBCL_P_NC];
    const double NaNbNc = Na * Nb * Nc, fudge = P[NBCL_P_FUDGE];
    const int shape = IP[NBCL_IP_SHAPE];
    if (shape == 0)
        return nbcl_sincg3(h, k, l, Na > 1.0 ? Na : 1.0, Nb > 1.0 ? Nb : 1.0, Nc > 1.0 ? Nc : 1.0);
    double dh = h - ceil(h - 0.5), dk = k - ceil(k - 0.5), dl = l - ceil(l - 0.5);
    if (shape == 1) {
        double hrad = dh * dh * Na * Na + dk * dk * Nb * Nb + dl * dl * Nc * Nc;
        return NaNbNc * 0.723601254558268 * nbcl_sinc3(NBCL_PI * sqrt(hrad * fudge));
    }
    double d[3];
    for (int i = 0; i < 3; i++)
        d[i] = dh * P[NBCL_P_ASTAR + i] + dk * P[NBCL_P_BSTAR + i] + dl * P[NBCL_P_CSTAR + i];
    double rad = nbcl_dot3(d, d) * Na * Na * Nb * Nb * Nc * Nc;
    if (shape == 2)
        return NaNbNc * exp(-(rad / 0.63 * fudge));
    return rad * fudge < 0.3969 ? NaNbNc : 0.0;
}

/* the trace from the packed kernel inputs k of the scene s */
static void trace_pixel(const nbcl_scene *s, const nbcl_kernel_inputs *k, int fpixel, int spixel,
                        nbcl_pixel_trace *t)
{
    memset(t, 0, sizeof *t);
    t->fpixel = fpixel;
    t->spixel = spixel;
    const double *P = k->P;
    const int *IP = k->IP;
    t->in_roi = !(fpixel < s->roi[0] || fpixel > s->roi[1] || spixel < s->roi[2] ||
                  spixel > s->roi[3]);
    t->masked = s->mask && s->mask[(size_t)spixel * s->fpixels + fpixel] == 0;
    const int os = IP[NBCL_IP_OVERSAMPLE], nsrc = IP[NBCL_IP_SOURCES];
    const int norient = IP[NBCL_IP_NORIENT], layers = IP[NBCL_IP_THICKSTEPS];
    t->subpaths = (double)layers * os * os * nsrc * norient;
    t->I_bg = P[NBCL_P_I_BG];
    t->scale = P[NBCL_P_SCALE];
    const double *F = k->F;
    if (t->in_roi && !t->masked) {
        int fallback = 0;
        double osum = 0.0;
        t->value = nbcl_pixel_value(fpixel, spixel, P, IP, k->src, k->orient, F, &fallback,
                                    &osum);
    }
    if (os < 1 || nsrc < 1 || norient < 1 || layers < 1)
        return;

    /* the last sub-path: position of the last sub-pixel in the last layer */
    double sub = P[NBCL_P_SUBPIXEL];
    double Fdet = sub * (double)(fpixel * os + os - 1) + sub / 2.0;
    double Sdet = sub * (double)(spixel * os + os - 1) + sub / 2.0;
    double Odet = (double)(layers - 1) * P[NBCL_P_THICKSTEP];
    for (int i = 0; i < 3; i++)
        t->pos[i] = Fdet * P[NBCL_P_FDET + i] + Sdet * P[NBCL_P_SDET + i] +
                    Odet * P[NBCL_P_ODET + i] + P[NBCL_P_PIX0 + i];
    if (IP[NBCL_IP_CURVED]) {
        double v[3], w[3], dist = P[NBCL_P_DISTANCE];
        for (int i = 0; i < 3; i++)
            v[i] = dist * P[NBCL_P_BEAM + i];
        nbcl_rotate_axis(v, P + NBCL_P_SDET, t->pos[1] / dist, w);
        nbcl_rotate_axis(w, P + NBCL_P_FDET, t->pos[2] / dist, t->pos);
    }
    t->airpath = nbcl_norm3(t->pos);
    for (int i = 0; i < 3; i++)
        t->diffracted[i] = t->pos[i] / t->airpath;
    t->omega = IP[NBCL_IP_POINT_PIXEL]
                   ? 1.0 / (t->airpath * t->airpath)
                   : P[NBCL_P_PIXEL] * P[NBCL_P_PIXEL] * P[NBCL_P_CLOSE_DISTANCE] /
                         (t->airpath * t->airpath * t->airpath);
    t->capture = P[NBCL_P_THICK] == 0.0
                     ? 1.0
                     : nbcl_capture_fraction(layers - 1, P[NBCL_P_THICKSTEP], P[NBCL_P_MU],
                                             nbcl_dot3(t->diffracted, P + NBCL_P_ODET));
    const double *src = k->src + (size_t)(nsrc - 1) * NBCL_SRC_STRIDE;
    t->lambda = src[3];
    for (int i = 0; i < 3; i++) {
        t->incident[i] = src[i];
        t->scattering[i] = (t->diffracted[i] - t->incident[i]) / t->lambda;
    }
    t->stol = 0.5 * nbcl_norm3(t->scattering);
    t->twotheta = acos(fmax(-1.0, fmin(1.0, nbcl_dot3(t->incident, t->diffracted))));
    t->polar = IP[NBCL_IP_NOPOLAR] ? 1.0
                                    : nbcl_polarization(P[NBCL_P_POLARIZATION], t->incident,
                                                        t->diffracted, P + NBCL_P_POLAR_VEC);
    const double *m = k->orient + (size_t)(norient - 1) * NBCL_ORIENT_STRIDE;
    for (int r = 0; r < 3; r++) {
        t->hkl[r] = m[3 * r] * t->scattering[0] + m[3 * r + 1] * t->scattering[1] +
                    m[3 * r + 2] * t->scattering[2];
        t->hkl0[r] = (int)fmax(-2147483647.0, fmin(2147483647.0, ceil(t->hkl[r] - 0.5)));
    }
    t->F_latt = lattice_factor(P, IP, t->hkl[0], t->hkl[1], t->hkl[2]);
    t->F_cell = P[NBCL_P_DEFAULT_F];
    if (IP[NBCL_IP_INTERPOLATE]) {
        int fb = 0;
        t->F_cell = nbcl_f_interp(t->hkl[0], t->hkl[1], t->hkl[2], IP, P, F, &fb);
        t->interp_fallback = fb;
    } else if (IP[NBCL_IP_HKLS]) {
        t->F_cell = nbcl_f_nearest(t->hkl0[0], t->hkl0[1], t->hkl0[2], IP, P, F);
    }
}

nbcl_status nbcl_scene_pixel_trace(const nbcl_scene *s, int fpixel, int spixel,
                                   nbcl_pixel_trace *t)
{
    if (!s || !t)
        return NBCL_INVALID_ARGUMENT;
    if (fpixel < 0 || spixel < 0 || fpixel >= s->fpixels || spixel >= s->spixels)
        return NBCL_INVALID_ARGUMENT;
    nbcl_kernel_inputs k;
    if (nbcl__pack_kernel_inputs(s, &k) != NBCL_OK)
        return NBCL_OUT_OF_MEMORY;
    trace_pixel(s, &k, fpixel, spixel, t);
    nbcl__kernel_inputs_free(&k);
    return NBCL_OK;
}
