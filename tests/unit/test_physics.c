/* The shared physics functions the kernels use (cl/nbcl_physics.h), against libm and analytic
 * values: the polynomial sin(pi x), the three-axis lattice transform, rotations. */
#include "nbcl_test.h"
#include "nbcl_host_physics.h"

#include <stdlib.h>

static double uni(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) / 16777216.0;
}

static void sinpi_half_matches_libm(void **state)
{
    (void)state;
    double worst = 0;
    for (int i = -5000; i <= 5000; i++) {
        double x = i / 10000.0;
        double ref = sin(M_PI * x), got = nbcl_sinpi_half(x);
        if (ref != 0) {
            double rel = fabs(got - ref) / fabs(ref);
            worst = rel > worst ? rel : worst;
        } else {
            assert_close(got, 0.0, 0, 0);
        }
    }
    /* Taylor to y^19 on |y| <= pi/2: below 3e-16 plus rounding */
    assert_true(worst < 1e-15);
}

static void sincg3_matches_direct_ratio(void **state)
{
    (void)state;
    unsigned seed = 12345u;
    for (int t = 0; t < 20000; t++) {
        double h = (uni(&seed) - 0.5) * 80, k = (uni(&seed) - 0.5) * 80, l = (uni(&seed) - 0.5) * 80;
        double N[3] = {1 + (int)(uni(&seed) * 12), 1 + (int)(uni(&seed) * 12), 1 + (int)(uni(&seed) * 60)};
        double x[3] = {h, k, l}, ref = 1;
        for (int i = 0; i < 3; i++)
            ref *= (N[i] > 1) ? fabs(sin(N[i] * M_PI * x[i]) / sin(M_PI * x[i])) : 1.0;
        double got = nbcl_sincg3(h, k, l, N[0], N[1], N[2]);
        /* the reference's direct form loses digits through sin of large arguments: 1e-9 */
        assert_close(got, ref, 1e-9, 1e-9);
    }
    /* exact integers give N (the limit), N = 1 axes give 1 */
    assert_close(nbcl_sincg3(3.0, -2.0, 0.0, 5, 7, 9), 5.0 * 7.0 * 9.0, 0, 0);
    assert_close(nbcl_sincg3(0.37, 0.41, -0.2, 1, 1, 1), 1.0, 0, 1e-15);
}

static void rotations_are_rotations(void **state)
{
    (void)state;
    double v[3] = {0.3, -1.2, 2.5}, out[3], axis[3] = {1, 2, 2};
    nbcl_unitize3(axis, axis);
    nbcl_rotate_axis(v, axis, 0.7, out);
    assert_close(nbcl_norm3(out), nbcl_norm3(v), 0, 1e-15);
    assert_close(nbcl_dot3(out, axis), nbcl_dot3(v, axis), 1e-15, 1e-15);
    /* x then y then z, right-handed: (1,0,0) about z by 90 deg is (0,1,0) */
    double e[3] = {1, 0, 0};
    nbcl_rotate_xyz(e, 0, 0, M_PI / 2, out);
    assert_close(out[0], 0.0, 1e-16, 0);
    assert_close(out[1], 1.0, 0, 1e-15);
    /* about y by 90 deg: (1,0,0) -> (0,0,-1) */
    nbcl_rotate_xyz(e, 0, M_PI / 2, 0, out);
    assert_close(out[2], -1.0, 0, 1e-15);
}

static void polarization_limits(void **state)
{
    (void)state;
    double inc[3] = {1, 0, 0}, axis[3] = {0, 0, 1};
    /* forward scattering: factor 1 for any Kahn factor */
    assert_close(nbcl_polarization(0.0, inc, inc, axis), 1.0, 0, 1e-15);
    assert_close(nbcl_polarization(0.9, inc, inc, axis), 1.0, 0, 1e-15);
    /* 90 degrees, in the E-vector direction: 0.5 (1 - K); perpendicular: 0.5 (1 + K) */
    double along_e[3] = {0, 0, 1}, along_b[3] = {0, 1, 0};
    assert_close(nbcl_polarization(0.9, inc, along_e, axis), 0.5 * (1 - 0.9), 1e-15, 1e-12);
    assert_close(nbcl_polarization(0.9, inc, along_b, axis), 0.5 * (1 + 0.9), 1e-15, 1e-12);
    /* unpolarized: 0.5 (1 + cos^2 2theta) */
    double d[3] = {cos(0.4), sin(0.4), 0};
    assert_close(nbcl_polarization(0.0, inc, d, axis), 0.5 * (1 + cos(0.4) * cos(0.4)), 0, 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sinpi_half_matches_libm),
        cmocka_unit_test(sincg3_matches_direct_ratio),
        cmocka_unit_test(rotations_are_rotations),
        cmocka_unit_test(polarization_limits),
    };
    return cmocka_run_group_tests_name("physics", tests, NULL, NULL);
}
