/* Acceptance tests AT-GEO-001..006 (spec-a-core "Geometry & Conventions"), checked on the scene
 * the host builds (nbcl_scene_build) and on the host pixel path (nbcl_scene_pixel_host). Expected
 * values are computed here from first principles (own rotation matrices), not with the engine's
 * helpers. Where the spec disagrees with the reference nanoBragg the test asserts what the
 * implementation does and says so (see docs/parity.md). */
#include "nbcl_test.h"
#include "nbcl_scene_internal.h" /* white-box: the scene's fields */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#define DEG (M_PI / 180.0)

/* ------------------------------------------------------------------ helpers */

static void base_cfg(nbcl_config *c)
{
    nbcl_config_init(c);
    c->user_cell = 1;
    c->cell[0] = c->cell[1] = c->cell[2] = 100.0;
    c->cell[3] = c->cell[4] = c->cell[5] = 90.0 * DEG;
    c->default_F = 100.0;
    c->read_dump = 0; /* never pick up or leave a Fdump.bin in the test's directory */
    c->write_dump = 0;
}

static nbcl_scene *build(const nbcl_config *c)
{
    nbcl_scene *s = NULL;
    char err[2048];
    nbcl_status st = nbcl_scene_build(c, &s, err, sizeof err);
    if (st != NBCL_OK)
        fail_msg("nbcl_scene_build: %s (%s)", err, nbcl_status_name(st));
    assert_non_null(s);
    return s;
}

static void set3(double *v, double x, double y, double z)
{
    v[0] = x;
    v[1] = y;
    v[2] = z;
}

static double dot(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static double norm(const double *a)
{
    return sqrt(dot(a, a));
}

/* right-handed rotations about the lab axes */
static void rot_x(double *v, double a)
{
    double y = v[1] * cos(a) - v[2] * sin(a), z = v[1] * sin(a) + v[2] * cos(a);
    v[1] = y;
    v[2] = z;
}
static void rot_y(double *v, double a)
{
    double x = v[0] * cos(a) + v[2] * sin(a), z = -v[0] * sin(a) + v[2] * cos(a);
    v[0] = x;
    v[2] = z;
}
static void rot_z(double *v, double a)
{
    double x = v[0] * cos(a) - v[1] * sin(a), y = v[0] * sin(a) + v[1] * cos(a);
    v[0] = x;
    v[1] = y;
}
static void rot_xyz(double *v, double ax, double ay, double az)
{
    rot_x(v, ax);
    rot_y(v, ay);
    rot_z(v, az);
}
/* Rodrigues: v cos a + (k x v) sin a + k (k.v)(1 - cos a), k unit */
static void rot_axis(double *v, const double *k, double a)
{
    double kv = dot(k, v), c = cos(a), s = sin(a);
    double cx = k[1] * v[2] - k[2] * v[1], cy = k[2] * v[0] - k[0] * v[2],
           cz = k[0] * v[1] - k[1] * v[0];
    double x = v[0] * c + cx * s + k[0] * kv * (1 - c);
    double y = v[1] * c + cy * s + k[1] * kv * (1 - c);
    double z = v[2] * c + cz * s + k[2] * kv * (1 - c);
    set3(v, x, y, z);
}

#define assert_vec_close(got, e0, e1, e2, tol)                                                    \
    do {                                                                                         \
        assert_close((got)[0], (e0), (tol), 0);                                                  \
        assert_close((got)[1], (e1), (tol), 0);                                                  \
        assert_close((got)[2], (e2), (tol), 0);                                                  \
    } while (0)

/* ------------------------------------------------------------------ AT-GEO-001 */

/* MOSFLM, pixel 0.1 mm, distance 100 mm, beam centre 51.2/51.2 mm, BEAM pivot:
 * Fbeam = Sbeam = 51.25 mm and pix0 = [0.1, 0.05125, -0.05125] m (+-1e-9 m). */
static void at_geo_001_mosflm_pix0(void **state)
{
    (void)state;
    nbcl_config c;
    base_cfg(&c);
    c.convention = NBCL_CONV_MOSFLM;
    c.pixel_size = 0.1e-3;
    c.distance = 100e-3;
    c.Xbeam = c.Ybeam = 51.2e-3;
    c.fpixels = c.spixels = 1024;
    nbcl_scene *s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    assert_vec_close(s->fdet, 0, 0, 1, 1e-15);
    assert_vec_close(s->sdet, 0, -1, 0, 1e-15);
    assert_vec_close(s->odet, 1, 0, 0, 1e-15);
    assert_vec_close(s->beam, 1, 0, 0, 1e-15);
    assert_close(s->Fbeam, 0.05125, 1e-12, 0);
    assert_close(s->Sbeam, 0.05125, 1e-12, 0);
    assert_vec_close(s->pix0, 0.1, 0.05125, -0.05125, 1e-9);
    /* derived: near point and XDS origin of the same geometry */
    assert_close(s->close_distance, 0.1, 1e-12, 0);
    assert_close(s->distance, 0.1, 1e-12, 0);
    assert_close(s->ORGX, 0.05125 / 0.1e-3 + 0.5, 1e-9, 0);
    assert_close(s->ORGY, 0.05125 / 0.1e-3 + 0.5, 1e-9, 0);
    nbcl_scene_destroy(s);

    /* DENZO: same bases without the half-pixel shift */
    c.convention = NBCL_CONV_DENZO;
    s = build(&c);
    assert_close(s->Fbeam, 0.0512, 1e-12, 0);
    assert_close(s->Sbeam, 0.0512, 1e-12, 0);
    assert_vec_close(s->pix0, 0.1, 0.0512, -0.0512, 1e-9);
    nbcl_scene_destroy(s);
}

/* -pix0_vector places the first pixel (spec-a-cli; CUSTOM convention). The reference parses it
 * and then overwrites it with the pivot computation; we honour it (docs/parity.md: pix0_vector). */
static void at_geo_001_pix0_vector_custom(void **state)
{
    (void)state;
    nbcl_config c;
    base_cfg(&c);
    c.convention = NBCL_CONV_CUSTOM;
    c.custom_vectors = 1;
    c.fpixels = c.spixels = 64;
    set3(c.pix0, 0.1, 0.002, -0.003);
    c.pix0_given = 1;
    nbcl_scene *s = build(&c);
    assert_vec_close(s->pix0, 0.1, 0.002, -0.003, 1e-15);
    /* the reported near point and origins follow from it */
    assert_close(s->Fclose, 0.003, 1e-15, 0);  /* -pix0.f, f = (0,0,1) */
    assert_close(s->Sclose, 0.002, 1e-15, 0);  /* -pix0.s, s = (0,-1,0) */
    assert_close(s->close_distance, 0.1, 1e-15, 0);
    assert_close(s->dials_origin[0], -3.0, 1e-12, 0);
    assert_close(s->dials_origin[1], 2.0, 1e-12, 0);
    assert_close(s->dials_origin[2], -100.0, 1e-12, 0);
    nbcl_scene_destroy(s);
}

/* ------------------------------------------------------------------ AT-GEO-002 */

/* Scene level: a named convention sets its default pivot; an explicit pivot (pivot_given, what
 * the CLI sets for -pivot, -distance, -close_distance, ...) wins. The flag-to-pivot mapping of the
 * command line is tested through the nbcl binary in tests/cli/test_at_cli.c. */
static void at_geo_002_pivot_defaults_and_override(void **state)
{
    (void)state;
    nbcl_config c;
    base_cfg(&c);
    c.fpixels = c.spixels = 64;
    c.detector_roty = 5 * DEG; /* so that the two pivots give different geometry */

    /* A: -distance only, MOSFLM: BEAM */
    c.convention = NBCL_CONV_MOSFLM;
    nbcl_scene *s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    double pix0_beam[3] = {s->pix0[0], s->pix0[1], s->pix0[2]};
    nbcl_scene_destroy(s);

    /* B: close distance with an explicit SAMPLE pivot */
    c.close_distance = 100e-3;
    c.pivot = NBCL_PIVOT_SAMPLE;
    c.pivot_given = 1;
    s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_SAMPLE);
    assert_close(s->close_distance, 100e-3, 1e-12, 0);
    /* the pivot changes where the rotated detector sits */
    assert_true(fabs(s->pix0[0] - pix0_beam[0]) + fabs(s->pix0[2] - pix0_beam[2]) > 1e-5);
    nbcl_scene_destroy(s);

    /* C: explicit SAMPLE with distance (no close distance) */
    c.close_distance = NAN;
    s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_SAMPLE);
    nbcl_scene_destroy(s);

    /* XDS defaults to SAMPLE; explicit BEAM wins */
    c.convention = NBCL_CONV_XDS;
    c.pivot_given = 0;
    s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_SAMPLE);
    nbcl_scene_destroy(s);
    c.pivot_given = 1;
    c.pivot = NBCL_PIVOT_BEAM;
    s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    nbcl_scene_destroy(s);
}

/* ------------------------------------------------------------------ AT-GEO-003 */

static double r_factor_xyz(const double *o0, const double *b, double rx, double ry, double rz)
{
    double o[3] = {o0[0], o0[1], o0[2]};
    rot_xyz(o, rx, ry, rz);
    return dot(b, o);
}

/* r = b.o after the detector rotations; distance = close_distance / r; the direct-beam position
 * from R = close_distance/r b - D0 equals the user's beam centre (BEAM pivot) and the near point
 * is preserved (SAMPLE pivot). */
static void at_geo_003_r_factor_beam_pivot(void **state)
{
    (void)state;
    const double rx = 5 * DEG, ry = 3 * DEG, rz = 2 * DEG;
    const double b[3] = {1, 0, 0}, f0[3] = {0, 0, 1}, s0[3] = {0, -1, 0}, o0[3] = {1, 0, 0};
    nbcl_config c;
    base_cfg(&c);
    c.convention = NBCL_CONV_MOSFLM;
    c.fpixels = c.spixels = 256;
    c.Xbeam = c.Ybeam = 12.8e-3; /* Fbeam = Sbeam = 12.85 mm */
    c.detector_rotx = rx;
    c.detector_roty = ry;
    c.detector_rotz = rz;
    const double r = r_factor_xyz(o0, b, rx, ry, rz);
    assert_true(fabs(r - 1.0) > 1e-4); /* the rotations make r != 1 */
    double f[3] = {f0[0], f0[1], f0[2]}, sv[3] = {s0[0], s0[1], s0[2]};
    rot_xyz(f, rx, ry, rz);
    rot_xyz(sv, rx, ry, rz);

    /* (i) -distance 100: close_distance = |r d|, distance stays d */
    c.distance = 100e-3;
    nbcl_scene *s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    assert_close(s->close_distance, r * 0.1, 1e-12, 0);
    assert_close(s->distance, s->close_distance / r, 1e-12, 0);
    assert_close(s->distance, 0.1, 1e-12, 0);
    for (int i = 0; i < 3; i++)
        assert_close(s->pix0[i], -0.01285 * f[i] - 0.01285 * sv[i] + 0.1 * b[i], 1e-12, 0);
    assert_close(s->Fbeam, 0.01285, 1e-12, 0);
    assert_close(s->Sbeam, 0.01285, 1e-12, 0);
    /* R = close/r b - D0 lies in the detector plane at the beam centre */
    double R[3];
    for (int i = 0; i < 3; i++)
        R[i] = s->close_distance / r * b[i] - s->pix0[i];
    assert_close(dot(R, s->fdet), 0.01285, 1e-12, 0);
    assert_close(dot(R, s->sdet), 0.01285, 1e-12, 0);
    assert_close(dot(R, s->odet), 0.0, 1e-12, 0);
    nbcl_scene_destroy(s);

    /* (ii) close_distance given explicitly, BEAM pivot kept: distance = close / r */
    c.close_distance = 95e-3;
    c.pivot = NBCL_PIVOT_BEAM;
    c.pivot_given = 1;
    s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    assert_close(s->close_distance, 0.095, 1e-12, 0);
    assert_close(s->distance, 0.095 / r, 1e-12, 0);
    assert_true(fabs(s->distance - 0.095) > 1e-6);
    assert_close(s->Fbeam, 0.01285, 1e-12, 0);
    assert_close(s->Sbeam, 0.01285, 1e-12, 0);
    nbcl_scene_destroy(s);
}

static void at_geo_003_r_factor_sample_pivot(void **state)
{
    (void)state;
    const double rx = 5 * DEG, ry = 3 * DEG, rz = 2 * DEG, tt = 10 * DEG;
    const double b[3] = {0, 0, 1}, f0[3] = {1, 0, 0}, s0[3] = {0, 1, 0}, o0[3] = {0, 0, 1};
    const double axis[3] = {1, 0, 0}; /* XDS two-theta axis */
    nbcl_config c;
    base_cfg(&c);
    c.convention = NBCL_CONV_XDS;
    c.fpixels = c.spixels = 256;
    c.close_distance = 95e-3;
    c.ORGX = 140.5;
    c.ORGY = 115.5;
    c.detector_rotx = rx;
    c.detector_roty = ry;
    c.detector_rotz = rz;
    c.twotheta = tt;
    nbcl_scene *s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_SAMPLE);
    const double Fclose = 140.0e-4, Sclose = 115.0e-4; /* (ORG - 0.5) * pixel */
    double D0[3];
    for (int i = 0; i < 3; i++)
        D0[i] = -Fclose * f0[i] - Sclose * s0[i] + 0.095 * o0[i];
    rot_xyz(D0, rx, ry, rz);
    rot_axis(D0, axis, tt);
    for (int i = 0; i < 3; i++)
        assert_close(s->pix0[i], D0[i], 1e-12, 0);
    /* near point and XDS origin preserved through the rotations */
    assert_close(s->close_distance, 0.095, 1e-12, 0);
    assert_close(s->Fclose, Fclose, 1e-12, 0);
    assert_close(s->Sclose, Sclose, 1e-12, 0);
    assert_close(s->ORGX, 140.5, 1e-9, 0);
    assert_close(s->ORGY, 115.5, 1e-9, 0);
    /* r excludes two-theta (the reference's ratio uses o rotated by rotx/y/z only; with SAMPLE
     * pivot this only affects the reported distance and beam centre; docs/parity.md) */
    const double r = r_factor_xyz(o0, b, rx, ry, rz);
    assert_close(s->distance, 0.095 / r, 1e-12, 0);
    double R[3];
    for (int i = 0; i < 3; i++)
        R[i] = 0.095 / r * b[i] - D0[i];
    assert_close(s->Fbeam, dot(R, s->fdet), 1e-12, 0);
    assert_close(s->Sbeam, dot(R, s->sdet), 1e-12, 0);
    nbcl_scene_destroy(s);
}

/* BEAM pivot with two-theta: the reference computes r from o rotated by rotx/roty/rotz but not by
 * two-theta, so distance = close_distance / r_xyz and the direct-beam position moves off the
 * user's beam centre by (d_final - d0) (b.f). We follow the reference (docs/parity.md: "r-factor
 * excludes two-theta"); the spec's "b.o_after_rotations" would keep the beam centre. */
static void at_geo_003_twotheta_r_factor_parity(void **state)
{
    (void)state;
    const double rx = 5 * DEG, ry = 3 * DEG, rz = 2 * DEG, tt = 10 * DEG;
    const double b[3] = {1, 0, 0}, f0[3] = {0, 0, 1}, s0[3] = {0, -1, 0}, o0[3] = {1, 0, 0};
    const double axis[3] = {0, 0, -1};
    nbcl_config c;
    base_cfg(&c);
    c.convention = NBCL_CONV_MOSFLM;
    c.fpixels = c.spixels = 256;
    c.Xbeam = c.Ybeam = 12.8e-3;
    c.distance = 100e-3;
    c.detector_rotx = rx;
    c.detector_roty = ry;
    c.detector_rotz = rz;
    c.twotheta = tt;
    nbcl_scene *s = build(&c);
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    const double r = r_factor_xyz(o0, b, rx, ry, rz);
    double f[3] = {f0[0], f0[1], f0[2]}, sv[3] = {s0[0], s0[1], s0[2]}, o[3] = {o0[0], o0[1], o0[2]};
    rot_xyz(f, rx, ry, rz);
    rot_xyz(sv, rx, ry, rz);
    rot_xyz(o, rx, ry, rz);
    rot_axis(f, axis, tt);
    rot_axis(sv, axis, tt);
    rot_axis(o, axis, tt);
    const double d0 = fabs(r * 0.1) / r;
    double D0[3];
    for (int i = 0; i < 3; i++)
        D0[i] = -0.01285 * f[i] - 0.01285 * sv[i] + d0 * b[i];
    for (int i = 0; i < 3; i++) {
        assert_close(s->pix0[i], D0[i], 1e-12, 0);
        assert_close(s->fdet[i], f[i], 1e-12, 0);
        assert_close(s->odet[i], o[i], 1e-12, 0);
    }
    const double close = dot(D0, o);
    assert_close(s->close_distance, close, 1e-12, 0);
    assert_close(s->distance, close / r, 1e-12, 0);
    /* the spec-literal r (with two-theta) would give a different distance */
    assert_true(fabs(s->distance - close / dot(b, o)) > 1e-4);
    double R[3];
    for (int i = 0; i < 3; i++)
        R[i] = close / r * b[i] - D0[i];
    assert_close(s->Fbeam, dot(R, f), 1e-12, 0);
    assert_close(s->Sbeam, dot(R, sv), 1e-12, 0);
    /* the reported two-theta is the user's */
    assert_close(s->twotheta / DEG, 10.0, 1e-12, 0);
    nbcl_scene_destroy(s);
}

/* ------------------------------------------------------------------ AT-GEO-004 */

static void at_geo_004_twotheta_axis_defaults(void **state)
{
    (void)state;
    static const struct {
        nbcl_convention conv;
        double axis[3];
        double o0[3];
    } cases[] = {
        {NBCL_CONV_MOSFLM, {0, 0, -1}, {1, 0, 0}},
        {NBCL_CONV_DENZO, {0, 0, -1}, {1, 0, 0}},
        {NBCL_CONV_XDS, {1, 0, 0}, {0, 0, 1}},
        {NBCL_CONV_DIALS, {0, 1, 0}, {0, 0, 1}},
        {NBCL_CONV_ADXV, {-1, 0, 0}, {0, 0, 1}},
    };
    const double tt = 3.25 * DEG;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nbcl_config c;
        base_cfg(&c);
        c.convention = cases[i].conv;
        c.fpixels = c.spixels = 64;
        c.twotheta = tt;
        nbcl_scene *s = build(&c);
        assert_vec_close(s->twotheta_axis, cases[i].axis[0], cases[i].axis[1], cases[i].axis[2],
                         1e-15);
        double o[3] = {cases[i].o0[0], cases[i].o0[1], cases[i].o0[2]};
        rot_axis(o, cases[i].axis, tt);
        assert_vec_close(s->odet, o[0], o[1], o[2], 1e-12);
        /* a rotation about the axis leaves the axis and the angle to it alone */
        assert_close(dot(s->odet, cases[i].axis), dot(cases[i].o0, cases[i].axis), 1e-12, 0);
        assert_close(s->twotheta / DEG, 3.25, 1e-12, 0);
        nbcl_scene_destroy(s);
    }

    /* overridden axis (CUSTOM) */
    nbcl_config c;
    base_cfg(&c);
    c.convention = NBCL_CONV_CUSTOM;
    c.fpixels = c.spixels = 64;
    set3(c.twotheta_axis, 0, 0.6, 0.8);
    c.twotheta_axis_given = 1;
    c.custom_vectors = 1;
    c.twotheta = tt;
    nbcl_scene *s = build(&c);
    assert_vec_close(s->twotheta_axis, 0, 0.6, 0.8, 1e-15);
    double o[3] = {1, 0, 0};
    rot_axis(o, s->twotheta_axis, tt);
    assert_vec_close(s->odet, o[0], o[1], o[2], 1e-12);
    nbcl_scene_destroy(s);
}

/* ------------------------------------------------------------------ AT-GEO-005 */

/* With N=1 (F_latt = 1), -default_F only, no absorption, a pixel's value is
 * r_e^2 fluence / steps * F^2 * omega * polar. */
static void flat_physics_cfg(nbcl_config *c)
{
    base_cfg(c);
    c->Na = c->Nb = c->Nc = 1;
    c->default_F = 10.0;
    c->oversample = 1;
    c->interpolate = 0;
}

static void pixel_pos_flat(const nbcl_scene *s, int fp, int sp, double *pos)
{
    double Fd = (fp + 0.5) * s->pixel_size, Sd = (sp + 0.5) * s->pixel_size;
    for (int i = 0; i < 3; i++)
        pos[i] = s->pix0[i] + Fd * s->fdet[i] + Sd * s->sdet[i];
}

/* Kahn factor from first principles */
static double kahn(double K, const double *inc, const double *d, const double *p)
{
    double c2t = dot(inc, d), s2t2 = 1 - c2t * c2t;
    double B[3] = {p[1] * inc[2] - p[2] * inc[1], p[2] * inc[0] - p[0] * inc[2],
                   p[0] * inc[1] - p[1] * inc[0]};
    double nb = norm(B);
    for (int i = 0; i < 3; i++)
        B[i] /= nb;
    double E[3] = {inc[1] * B[2] - inc[2] * B[1], inc[2] * B[0] - inc[0] * B[2],
                   inc[0] * B[1] - inc[1] * B[0]};
    double ne = norm(E);
    for (int i = 0; i < 3; i++)
        E[i] /= ne;
    double psi = -atan2(dot(d, B), dot(d, E));
    return 0.5 * (1 + c2t * c2t - K * cos(2 * psi) * s2t2);
}

/* -curved_det: every pixel at |pos| = distance. With -point_pixel (omega = 1/R^2) or without
 * (omega = pixel^2/R^2 close/R) the flat-F image is then constant. The direction of each pixel
 * follows the spherical mapping: start at distance*b, rotate about s by y/distance, then about f
 * by z/distance, where y and z are the lab components of the flat pixel position. The spec says
 * "Sdet/distance and Fdet/distance"; the reference uses the lab components, which for MOSFLM are
 * the beam-centred slow and fast offsets (docs/parity.md: curved detector angles). */
static void at_geo_005_curved_detector(void **state)
{
    (void)state;
    nbcl_config c;
    flat_physics_cfg(&c);
    c.fpixels = c.spixels = 24;
    c.pixel_size = 1.0e-3; /* wide angles: up to ~0.12 rad off the beam */
    c.distance = 100e-3;
    c.curved_det = 1;
    c.point_pixel = 1;
    c.nopolar = 1;
    nbcl_scene *s = build(&c);
    const double expect_pp = s->scale * 100.0 / (0.1 * 0.1);
    for (int y = 0; y < s->spixels; y++)
        for (int x = 0; x < s->fpixels; x++)
            assert_close(nbcl_scene_pixel_host(s, x, y), expect_pp, 0, 2e-7);
    nbcl_scene_destroy(s);

    /* planar detector, same geometry: 1/R^2 falls off towards the corner */
    c.curved_det = 0;
    s = build(&c);
    double pos[3];
    pixel_pos_flat(s, 0, 0, pos);
    double Rflat = norm(pos);
    assert_true(Rflat > 0.1 * 1.001);
    assert_close(nbcl_scene_pixel_host(s, 0, 0), expect_pp * 0.01 / (Rflat * Rflat), 0, 2e-7);
    nbcl_scene_destroy(s);

    /* obliquity on (no -point_pixel): still constant, pixel^2/d^2 * close/d */
    c.curved_det = 1;
    c.point_pixel = 0;
    s = build(&c);
    const double expect_ob = s->scale * 100.0 * s->pixel_size * s->pixel_size / 0.01 *
                             s->close_distance / 0.1;
    assert_close(nbcl_scene_pixel_host(s, 3, 17), expect_ob, 0, 2e-7);
    assert_close(nbcl_scene_pixel_host(s, 23, 0), expect_ob, 0, 2e-7);
    nbcl_scene_destroy(s);

    /* direction of each curved pixel, seen through the Kahn factor (K = 0.9) */
    c.nopolar = 0;
    c.polarization = 0.9;
    s = build(&c);
    int checked = 0;
    for (int y = 0; y < s->spixels; y += 5)
        for (int x = 0; x < s->fpixels; x += 3) {
            double flat[3], v[3];
            pixel_pos_flat(s, x, y, flat);
            for (int i = 0; i < 3; i++)
                v[i] = s->distance * s->beam[i];
            rot_axis(v, s->sdet, flat[1] / s->distance);
            rot_axis(v, s->fdet, flat[2] / s->distance);
            assert_close(norm(v), s->distance, 1e-15, 0);
            double d[3] = {v[0] / norm(v), v[1] / norm(v), v[2] / norm(v)};
            double P = kahn(0.9, s->beam, d, s->polar_vector);
            assert_close(nbcl_scene_pixel_host(s, x, y), expect_ob * P, 0, 2e-7);
            checked++;
        }
    assert_true(checked > 20);
    nbcl_scene_destroy(s);
}

/* ------------------------------------------------------------------ AT-GEO-006 */

static void at_geo_006_point_pixel_solid_angle(void **state)
{
    (void)state;
    nbcl_config c;
    flat_physics_cfg(&c);
    c.fpixels = c.spixels = 64;
    c.distance = 50e-3;
    c.detector_roty = 10 * DEG; /* close_distance != distance */
    c.nopolar = 1;
    const int px = 3, py = 50;

    c.point_pixel = 1;
    nbcl_scene *s = build(&c);
    double pos[3];
    pixel_pos_flat(s, px, py, pos);
    double R = norm(pos);
    assert_true(fabs(s->close_distance - s->distance) > 1e-5);
    assert_close(nbcl_scene_pixel_host(s, px, py), s->scale * 100.0 / (R * R), 0, 2e-7);
    nbcl_scene_destroy(s);

    c.point_pixel = 0;
    s = build(&c);
    pixel_pos_flat(s, px, py, pos);
    R = norm(pos);
    double omega = s->pixel_size * s->pixel_size / (R * R) * s->close_distance / R;
    assert_close(nbcl_scene_pixel_host(s, px, py), s->scale * 100.0 * omega, 0, 2e-7);
    nbcl_scene_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(at_geo_001_mosflm_pix0),
        cmocka_unit_test(at_geo_001_pix0_vector_custom),
        cmocka_unit_test(at_geo_002_pivot_defaults_and_override),
        cmocka_unit_test(at_geo_003_r_factor_beam_pivot),
        cmocka_unit_test(at_geo_003_r_factor_sample_pivot),
        cmocka_unit_test(at_geo_003_twotheta_r_factor_parity),
        cmocka_unit_test(at_geo_004_twotheta_axis_defaults),
        cmocka_unit_test(at_geo_005_curved_detector),
        cmocka_unit_test(at_geo_006_point_pixel_solid_angle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
