/* Scene stages of the crystal: interpolation choice, the unit cell (from -cell or a -mat file,
 * with its misset), the crystal size in cells, and the structure factors.
 * spec-a-core "Crystal" and "Structure factors". */
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nbcl_host_physics.h"
#include "nbcl_internal.h"
#include "nbcl_rng.h"
#include "nbcl_scene_internal.h"
#include "scene/stage_util.h"

/* -interpolate/-nointerpolate; automatic: tricubic for small crystals. Decided from the -N
 * values as given, before the sample size sets N (the reference's order) */
nbcl_status nbcl__stage_interpolation(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                      size_t errlen)
{
    (void)err;
    (void)errlen;
    s->interpolate = cfg->interpolate;
    if (s->interpolate > 1) {
        if (cfg->Na <= 2 || cfg->Nb <= 2 || cfg->Nc <= 2) {
            nbcl__scene_logf(s, "auto-selected tricubic interpolation of structure factors\n");
            s->interpolate = 1;
        } else {
            nbcl__scene_logf(s, "auto-selected no interpolation\n");
            s->interpolate = 0;
        }
    }
    return NBCL_OK;
}

/* -cell a b c alpha beta gamma: the reciprocal vectors (1/A) in the reference's standard
 * setting; len gets a b c and *V_cell the volume (A^3) for the rescaling after the misset */
static nbcl_status cell_reciprocal(const nbcl_config *cfg, double len[3], double *V_cell,
                                   double as[3], double bs[3], double cs[3], char *err,
                                   size_t errlen)
{
    double la = cfg->cell[0], lb = cfg->cell[1], lc = cfg->cell[2];
    double alpha = cfg->cell[3], beta = cfg->cell[4], gamma = cfg->cell[5];
    if (!(la > 0.0) || !isfinite(la))
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen, "cell length a must be positive");
    lb = lb <= 0.0 ? la : lb;
    lc = lc <= 0.0 ? la : lc;
    alpha = alpha <= 0.0 ? M_PI / 2 : alpha;
    beta = beta <= 0.0 ? M_PI / 2 : beta;
    gamma = gamma <= 0.0 ? M_PI / 2 : gamma;
    if (!isfinite(lb) || !isfinite(lc) || !isfinite(alpha) || !isfinite(beta) ||
        !isfinite(gamma) || alpha >= M_PI || beta >= M_PI || gamma >= M_PI)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "cell angles must lie strictly between 0 and 180 degrees");
    double aavg = (alpha + beta + gamma) / 2;
    double skew = sin(aavg) * sin(aavg - alpha) * sin(aavg - beta) * sin(aavg - gamma);
    /* the angles make a cell only if each is less than the sum of the other two and the
     * three sum to less than 360 degrees */
    if (alpha >= beta + gamma || beta >= alpha + gamma || gamma >= alpha + beta ||
        alpha + beta + gamma >= 2 * M_PI || skew <= 0.0)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "cell angles %g %g %g make no cell (zero or negative volume)",
                          alpha * NBCL_RTD, beta * NBCL_RTD, gamma * NBCL_RTD);
    *V_cell = 2.0 * la * lb * lc * sqrt(skew);
    double V_star = 1.0 / *V_cell;
    double as0 = lb * lc * sin(alpha) * V_star;
    double bs0 = lc * la * sin(beta) * V_star;
    double cs0 = la * lb * sin(gamma) * V_star;
    double sin_gs = lc * V_star / as0 / bs0;
    double cos_as = (cos(beta) * cos(gamma) - cos(alpha)) / (sin(beta) * sin(gamma));
    double cos_bs = (cos(gamma) * cos(alpha) - cos(beta)) / (sin(gamma) * sin(alpha));
    double cos_gs = (cos(alpha) * cos(beta) - cos(gamma)) / (sin(alpha) * sin(beta));
    sin_gs = sin_gs > 1.0 ? 1.0 : (sin_gs < -1.0 ? -1.0 : sin_gs);
    if (cos_as * cos_as > 1.0)
        cos_as = 1.0;
    if (cos_bs * cos_bs > 1.0)
        cos_bs = 1.0;
    if (cos_gs * cos_gs > 1.0)
        cos_gs = 1.0;
    as[0] = as0;
    bs[0] = bs0 * cos_gs;
    cs[0] = cs0 * cos_bs;
    as[1] = 0.0;
    bs[1] = bs0 * sin_gs;
    cs[1] = cs0 * (cos_as - cos_bs * cos_gs) / sin_gs;
    as[2] = 0.0;
    bs[2] = 0.0;
    cs[2] = cs0 * *V_cell / (la * lb * lc * sin_gs);
    len[0] = la;
    len[1] = lb;
    len[2] = lc;
    return NBCL_OK;
}

/* -misset X Y Z, or -misset random (with -misset_seed): rotate the reciprocal vectors; the
 * applied angles are recorded */
static void apply_misset(const nbcl_config *cfg, nbcl_scene *s)
{
    double misset[3] = {cfg->misset[0], cfg->misset[1], cfg->misset[2]};
    int misset_mode = cfg->misset_mode;
    if (misset_mode == -1) {
        nbcl_rng r;
        long mseed = cfg->misset_seed_set ? -cfg->misset_seed : -(long)time(NULL);
        nbcl_rng_init(&r, mseed);
        double umat[9];
        /* a uniformly random orientation: the spherical cap covers the whole sphere at a cap of
         * pi/2 (the reference passes 90, which it then treats as radians; docs/parity.md) */
        nbcl_mosaic_rotation_umat(&r, (float)(M_PI / 2.0), umat);
        nbcl_umat2misset(umat, misset);
        nbcl__scene_logf(s, "random orientation misset angles: %f %f %f deg\n",
                         misset[0] * NBCL_RTD, misset[1] * NBCL_RTD, misset[2] * NBCL_RTD);
        misset_mode = 1;
    }
    if (misset_mode > 0) {
        nbcl_rotate_xyz(s->a_star, misset[0], misset[1], misset[2], s->a_star);
        nbcl_rotate_xyz(s->b_star, misset[0], misset[1], misset[2], s->b_star);
        nbcl_rotate_xyz(s->c_star, misset[0], misset[1], misset[2], s->c_star);
    }
    for (int i = 0; i < 3; i++)
        s->misset_deg[i] = misset[i] * NBCL_RTD;
}

static void scale_to(double v[3], double length)
{
    double m = nbcl_norm3(v);
    if (m <= 0)
        m = 1;
    for (int i = 0; i < 3; i++)
        v[i] *= length / m;
}

/* the real-space cell from the reciprocal one (a user cell keeps its exact lengths and volume),
 * then the reciprocal cell again from it, as the reference does */
static nbcl_status real_space(const nbcl_config *cfg, nbcl_scene *s, const double len[3],
                              double V_cell, double *V_star_out, char *err, size_t errlen)
{
    double axb[3], bxc[3], cxa[3];
    nbcl_cross3(s->a_star, s->b_star, axb);
    nbcl_cross3(s->b_star, s->c_star, bxc);
    nbcl_cross3(s->c_star, s->a_star, cxa);
    double V_star = nbcl_dot3(s->a_star, bxc);
    if (cfg->user_cell) {
        scale_to(bxc, len[0] / V_cell);
        scale_to(cxa, len[1] / V_cell);
        scale_to(axb, len[2] / V_cell);
        V_star = 1.0 / V_cell;
    }
    if (!isfinite(V_star) || (cfg->user_cell && !(isfinite(V_cell) && V_cell > 0.0)))
        /* entries so large (or small) that a cross product leaves double precision */
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen, "%s",
                          cfg->user_cell
                              ? "the -cell volume is not representable in double precision "
                                "(cell lengths too large or too small)"
                              : "the reciprocal cell's volume overflows double precision "
                                "(entries of the -mat file too large)");
    if (!(fabs(V_star) > 0.0))
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen, "%s",
                          cfg->user_cell ? "the -cell has zero volume"
                                         : "the reciprocal cell has zero volume (degenerate -mat "
                                           "file: its three vectors are coplanar, or their "
                                           "entries too small)");
    V_cell = 1.0 / V_star;
    for (int i = 0; i < 3; i++) {
        s->a[i] = bxc[i] * V_cell;
        s->b[i] = cxa[i] * V_cell;
        s->c[i] = axb[i] * V_cell;
    }
    nbcl_cross3(s->a, s->b, axb);
    nbcl_cross3(s->b, s->c, bxc);
    nbcl_cross3(s->c, s->a, cxa);
    for (int i = 0; i < 3; i++) {
        s->a_star[i] = bxc[i] * V_star;
        s->b_star[i] = cxa[i] * V_star;
        s->c_star[i] = axb[i] * V_star;
    }
    s->V_cell = V_cell;
    *V_star_out = V_star;
    return NBCL_OK;
}

#define CLAMP1(x) ((x) > 1.0 ? 1.0 : ((x) < -1.0 ? -1.0 : (x)))
#define CLAMPC(x) ((x) * (x) > 1.0 ? 1.0 : (x))

/* lengths and angles (degrees) of a cell given its three vectors, their reciprocal lengths
 * (rlen) and the volume factor V linking them */
static void cell_params(const double *a, const double *b, const double *c, const double rlen[3],
                        double V, double out[6])
{
    double A = nbcl_norm3(a), B = nbcl_norm3(b), C = nbcl_norm3(c);
    double ca = nbcl_dot3(b, c) / B / C, cb = nbcl_dot3(a, c) / A / C, cg = nbcl_dot3(a, b) / A / B;
    double sa = rlen[0] * V / B / C, sb = rlen[1] * V / A / C, sg = rlen[2] * V / A / B;
    out[0] = A;
    out[1] = B;
    out[2] = C;
    out[3] = atan2(CLAMP1(sa), CLAMPC(ca)) * NBCL_RTD;
    out[4] = atan2(CLAMP1(sb), CLAMPC(cb)) * NBCL_RTD;
    out[5] = atan2(CLAMP1(sg), CLAMPC(cg)) * NBCL_RTD;
}

/* -cell or -mat/-matrix FILE, then -misset: the cell vectors (a,b,c in m, a*,b*,c* in 1/A) and
 * the cell parameters the summary prints */
nbcl_status nbcl__stage_crystal(const nbcl_config *cfg, nbcl_scene *s, char *err, size_t errlen)
{
    double len[3] = {0, 0, 0}, V_cell = 0, V_star = 0;
    nbcl_status st;
    if (!cfg->user_cell && !cfg->matfile)
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "no crystal: give -cell a b c alpha beta gamma or -mat/-matrix FILE");
    if (cfg->user_cell &&
        (st = cell_reciprocal(cfg, len, &V_cell, s->a_star, s->b_star, s->c_star, err,
                              errlen)) != NBCL_OK)
        return st;
    if (cfg->matfile) {
        char e2[1024];
        st = nbcl_read_matrix(cfg->matfile, s->a_star, s->b_star, s->c_star, e2, sizeof e2);
        if (st != NBCL_OK)
            return stage_fail(st, err, errlen, "%s", e2);
        nbcl__scene_logf(s, "reading %s\n", cfg->matfile);
        double scl = 1e-10 / cfg->lambda0;
        for (int i = 0; i < 3; i++) {
            s->a_star[i] *= scl;
            s->b_star[i] *= scl;
            s->c_star[i] *= scl;
        }
    }
    apply_misset(cfg, s);
    if ((st = real_space(cfg, s, len, V_cell, &V_star, err, errlen)) != NBCL_OK)
        return st;
    double rlen[3] = {nbcl_norm3(s->a_star), nbcl_norm3(s->b_star), nbcl_norm3(s->c_star)};
    double dlen[3] = {nbcl_norm3(s->a), nbcl_norm3(s->b), nbcl_norm3(s->c)};
    cell_params(s->a, s->b, s->c, rlen, s->V_cell, s->cell);
    cell_params(s->a_star, s->b_star, s->c_star, dlen, V_star, s->rcell);
    for (int i = 0; i < 3; i++) {
        s->a[i] *= 1e-10;
        s->b[i] *= 1e-10;
        s->c[i] *= 1e-10;
    }
    return NBCL_OK;
}

/* -Na/-Nb/-Nc, or -samplesize/-xtalsize (the sample as the beam clipped it): cells per edge */
nbcl_status nbcl__stage_crystal_size(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                     size_t errlen)
{
    (void)err;
    (void)errlen;
    double len[3] = {nbcl_norm3(s->a), nbcl_norm3(s->b), nbcl_norm3(s->c)};
    double N[3] = {cfg->Na, cfg->Nb, cfg->Nc};
    for (int i = 0; i < 3; i++) {
        if (s->sample[i] > 0)
            N[i] = ceil(s->sample[i] / len[i]);
        if (N[i] <= 1.0)
            N[i] = 1.0;
        s->xtalsize[i] = len[i] * N[i];
    }
    s->Na = N[0];
    s->Nb = N[1];
    s->Nc = N[2];
    s->shape = cfg->shape;
    s->fudge = cfg->fudge;
    return NBCL_OK;
}

/* -hkl FILE, else an existing Fdump cache, else -default_F alone (a scene built with a base
 * borrows the base's grid) */
nbcl_status nbcl__stage_structure_factors(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                          size_t errlen)
{
    char e2[1024];
    nbcl_status st;
    s->default_F = cfg->default_F;
    if (s->shared_inputs) {
        /* the grid was borrowed before the stages ran */
    } else if (cfg->hklfile) {
        st = nbcl_read_hkl(cfg->hklfile, cfg->default_F, &s->hkl, e2, sizeof e2);
        if (st != NBCL_OK)
            return stage_fail(st, err, errlen, "%s", e2);
        nbcl__scene_logf(s, "read %zu structure factors from %s\n", s->hkl.count, cfg->hklfile);
        /* the Fdump.bin cache is written by the caller once the run has succeeded */
    } else if (cfg->read_dump && cfg->dumpfile && access(cfg->dumpfile, F_OK) == 0) {
        st = nbcl_read_fdump(cfg->dumpfile, &s->hkl, e2, sizeof e2);
        if (st != NBCL_OK)
            return stage_fail(st, err, errlen, "%s", e2);
        nbcl__scene_logf(s, "reading Fs from %s\n", cfg->dumpfile);
    } else if (cfg->default_F == 0.0) {
        return stage_fail(NBCL_INVALID_ARGUMENT, err, errlen,
                          "no structure factors: give -hkl FILE, an existing %s, or -default_F",
                          cfg->dumpfile ? cfg->dumpfile : "Fdump.bin");
    }
    if (s->hkl.count == 0)
        s->interpolate = 0;
    return NBCL_OK;
}
