/* Unit tests for the reference-compatible random numbers (engine/src/scene/rng.c).
 *
 * Hex-float constants below were printed (%a) by nanoBragg itself (bl831/nanoBragg@455534a,
 * gcc -O3 -fopenmp): its ran1/poidev/gaussdev for the listed seeds, and an instrumented run of
 *   -mosaic 0.5 -mosaic_dom 8 -mosaic_seed 4321 -misset_seed 77 -misset random
 * that printed the raw domain matrices and the random-misset matrix and angles. */
#include "nbcl_test.h"
#include "nbcl_rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the reference's degrees-per-radian, spelled as it spells it (180*M_1_PI) */
#define REF_RTD (180.0 * 0.31830988618379067154)
#define TEST_PI 3.14159265358979323846

static void expect_ran1_sequence(long seed, const float *want, int n)
{
    nbcl_rng r;
    nbcl_rng_init(&r, seed);
    for (int i = 0; i < n; ++i) {
        float got = nbcl_ran1(&r);
        if (memcmp(&got, &want[i], sizeof got) != 0)
            fail_msg("seed %ld draw %d: got %a want %a", seed, i, (double)got, (double)want[i]);
    }
}

static void test_ran1_reference_values(void **state)
{
    (void)state;
    static const float s12345678[] = {0x1.882fcp-1f, 0x1.8043ccp-6f, 0x1.2df0a6p-1f,
                                      0x1.11f8d6p-1f, 0x1.f6e70ap-1f, 0x1.62d302p-1f};
    static const float s1234[] = {0x1.52ef9ep-1f, 0x1.144d48p-3f, 0x1.5028bap-5f,
                                  0x1.e15936p-1f, 0x1.a4e5fep-2f, 0x1.f04eb2p-2f};
    static const float s1[] = {0x1.a9fbbcp-2f, 0x1.78b02ep-4f, 0x1.83483cp-1f,
                               0x1.0f34dep-1f, 0x1.dc622cp-1f, 0x1.88b4c4p-2f};
    /* seed = -(2^31-1) lands on the modulus: the first deviate is exactly 0 */
    static const float smod[] = {0.0f, 0x1.a9fbbcp-2f, 0x1.78b02ep-4f, 0x1.83483cp-1f};
    expect_ran1_sequence(-12345678, s12345678, 6);
    expect_ran1_sequence(-1234, s1234, 6);
    expect_ran1_sequence(-1, s1, 6);
    expect_ran1_sequence(0, s1, 6); /* 0 is promoted to 1 */
    expect_ran1_sequence(-2147483647L, smod, 4);

    nbcl_rng r;
    nbcl_rng_init(&r, -12345678);
    for (int i = 0; i < 6; ++i)
        (void)nbcl_ran1(&r);
    assert_int_equal(r.idum, 1086690778L);
}

static void test_ran1_range_and_reseed(void **state)
{
    (void)state;
    nbcl_rng r;
    nbcl_rng_init(&r, -99);
    double sum = 0.0;
    const int n = 1000000;
    for (int i = 0; i < n; ++i) {
        float u = nbcl_ran1(&r);
        assert_true(u >= 0.0f && u < 1.0f);
        sum += u;
    }
    assert_close(sum / n, 0.5, 2e-3, 0);

    /* a negative idum restarts the stream, as in the reference */
    nbcl_rng a, b;
    nbcl_rng_init(&a, -5);
    float first = nbcl_ran1(&a);
    (void)nbcl_ran1(&a);
    a.idum = -5;
    nbcl_rng_init(&b, -5);
    assert_true(nbcl_ran1(&a) == first);
    assert_true(nbcl_ran1(&b) == first);
}

static void test_poidev_gaussdev_reference_values(void **state)
{
    (void)state;
    /* one stream, means chosen to visit every branch and the cached-mean logic */
    static const float means[] = {0.5f, 5.0f, 50.0f, 2e6f, 12.0f, 11.99f, 3e6f};
    static const float want_p[] = {0x1p+0f,         0x1.6p+3f, 0x1.ap+5f, 0x1.e74dd4p+20f,
                                   0x1.8p+3f,       0x1.6p+3f, 0x1.6dda72p+21f};
    nbcl_rng r;
    nbcl_rng_init(&r, -777);
    for (int i = 0; i < 7; ++i) {
        float got = nbcl_poidev(&r, means[i]);
        if (memcmp(&got, &want_p[i], sizeof got) != 0)
            fail_msg("poidev #%d (mean %g): got %a want %a", i, (double)means[i], (double)got,
                     (double)want_p[i]);
    }

    static const float want_g[] = {0x1.12926cp-5f, 0x1.bcbdf2p-3f, 0x1.48c34ap-1f,
                                   -0x1.aaae9ep+0f, 0x1.c09252p-1f};
    nbcl_rng_init(&r, -4242);
    for (int i = 0; i < 5; ++i) {
        float got = nbcl_gaussdev(&r);
        if (memcmp(&got, &want_g[i], sizeof got) != 0)
            fail_msg("gaussdev #%d: got %a want %a", i, (double)got, (double)want_g[i]);
    }
}

static void check_poisson_moments(float mean, int n, long seed)
{
    nbcl_rng r;
    nbcl_rng_init(&r, seed);
    double s = 0.0, s2 = 0.0;
    for (int i = 0; i < n; ++i) {
        double k = nbcl_poidev(&r, mean);
        if (mean <= 1e6f)
            assert_true(k >= 0.0 && k == floor(k));
        s += k;
        s2 += k * k;
    }
    const double m = s / n;
    const double var = s2 / n - m * m;
    const double lam = mean;
    /* 6 standard errors; Poisson excess kurtosis 1/lambda widens the variance's spread */
    const double se_mean = sqrt(lam / n);
    const double se_var = lam * sqrt((2.0 + 1.0 / lam) / n);
    if (fabs(m - lam) > 6 * se_mean || fabs(var - lam) > 6 * se_var)
        fail_msg("mean %g: sample mean %.6g var %.6g over %d draws", lam, m, var, n);
}

static void test_poidev_moments(void **state)
{
    (void)state;
    check_poisson_moments(0.5f, 400000, -11);
    check_poisson_moments(5.0f, 400000, -12);
    check_poisson_moments(50.0f, 200000, -13);
    check_poisson_moments(2e6f, 200000, -14);
    /* alternating means exercise the cached-mean reset */
    nbcl_rng r;
    nbcl_rng_init(&r, -15);
    double s_lo = 0, s_hi = 0;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
        s_lo += nbcl_poidev(&r, 3.0f);
        s_hi += nbcl_poidev(&r, 30.0f);
    }
    assert_close(s_lo / n, 3.0, 6 * sqrt(3.0 / n), 0);
    assert_close(s_hi / n, 30.0, 6 * sqrt(30.0 / n), 0);
    /* zero mean is always zero and costs one uniform deviate */
    nbcl_rng_init(&r, -16);
    for (int i = 0; i < 100; ++i)
        assert_true(nbcl_poidev(&r, 0.0f) == 0.0f);
}

static void test_gaussdev_moments(void **state)
{
    (void)state;
    nbcl_rng r;
    nbcl_rng_init(&r, -31);
    const int n = 400000;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
        double g = nbcl_gaussdev(&r);
        s += g;
        s2 += g * g;
    }
    assert_close(s / n, 0.0, 6 / sqrt(n), 0);
    assert_close(s2 / n, 1.0, 6 * sqrt(2.0 / n), 0);
}

static double det3(const double u[9])
{
    return u[0] * (u[4] * u[8] - u[5] * u[7]) - u[1] * (u[3] * u[8] - u[5] * u[6]) +
           u[2] * (u[3] * u[7] - u[4] * u[6]);
}

static void check_rotation(const double u[9])
{
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            double d = u[3 * i] * u[3 * j] + u[3 * i + 1] * u[3 * j + 1] +
                       u[3 * i + 2] * u[3 * j + 2];
            assert_close(d, i == j ? 1.0 : 0.0, 1e-12, 0);
        }
    assert_close(det3(u), 1.0, 1e-12, 0);
}

static double rotation_angle(const double u[9])
{
    double c = (u[0] + u[4] + u[8] - 1.0) / 2.0;
    if (c > 1.0)
        c = 1.0;
    if (c < -1.0)
        c = -1.0;
    return acos(c);
}

static void test_mosaic_umat_reference_values(void **state)
{
    (void)state;
    /* raw matrices for domains 0 and 1 (the reference then overwrites domain 0 with I) */
    static const double want[2][9] = {
        {0x1.fffec81b44cd8p-1, 0x1.003be6def58e3p-9, -0x1.f7b5349e7c6c1p-9,
         -0x1.04002386ecf39p-9, 0x1.fffc113d48421p-1, -0x1.eabdb5a16e9a1p-8,
         0x1.f5c6259ff5761p-9, 0x1.eb3c6fc3cced7p-8, 0x1.fffb5b796f5d7p-1},
        {0x1.fffc6762a9b2ap-1, -0x1.c898c32215875p-8, 0x1.49cf29dec643ap-9,
         0x1.c8b77b72d3017p-8, 0x1.fffcc87ed65d1p-1, -0x1.794f1542cb80bp-11,
         -0x1.4924d9e5f7ad4p-9, 0x1.827e046797cadp-11, 0x1.ffff8d1602b5bp-1},
    };
    nbcl_rng r;
    nbcl_rng_init(&r, -4321);
    const float spread = (float)(0.5 / REF_RTD);
    for (int d = 0; d < 2; ++d) {
        double u[9];
        nbcl_mosaic_rotation_umat(&r, spread, u);
        for (int k = 0; k < 9; ++k)
            if (memcmp(&u[k], &want[d][k], sizeof(double)) != 0)
                fail_msg("domain %d element %d: got %a want %a", d, k, u[k], want[d][k]);
    }

    /* -misset random -misset_seed 77: the reference passes 90.0 (radians) as the cap */
    static const double want_mis_u[9] = {
        0x1.da5c63b043e54p-1,  -0x1.7f2bceb46551ap-2, -0x1.482e3b151dc6ep-5,
        0x1.0938b78ae19f6p-2,  0x1.1d1426c17286p-1,   0x1.9416f85f0b52ep-1,
        -0x1.17926d0b7348cp-2, -0x1.7bb23100708cep-1, 0x1.39be40aa5c8fbp-1};
    static const double want_mis_a[3] = {-0x1.c2ac8e86a5abp-1, 0x1.1b2ac89b66b66p-2,
                                         0x1.1723d34e96492p-2};
    double u[9], a[3];
    nbcl_rng_init(&r, -77);
    nbcl_mosaic_rotation_umat(&r, 90.0f, u);
    assert_memory_equal(u, want_mis_u, sizeof u);
    nbcl_umat2misset(u, a);
    for (int k = 0; k < 3; ++k)
        if (memcmp(&a[k], &want_mis_a[k], sizeof(double)) != 0)
            fail_msg("misset angle %d: got %a want %a", k, a[k], want_mis_a[k]);
}

static void test_mosaic_umat_properties(void **state)
{
    (void)state;
    static const double caps_deg[] = {0.01, 0.5, 5.0, 30.0, 90.0};
    for (size_t c = 0; c < sizeof caps_deg / sizeof caps_deg[0]; ++c) {
        const float cap = (float)(caps_deg[c] / REF_RTD);
        nbcl_rng r;
        nbcl_rng_init(&r, -12345678);
        double widest = 0.0;
        for (int i = 0; i < 2000; ++i) {
            double u[9];
            nbcl_mosaic_rotation_umat(&r, cap, u);
            check_rotation(u);
            double ang = rotation_angle(u);
            if (ang > (double)cap * (1 + 1e-6) + 1e-9)
                fail_msg("cap %g deg: angle %.9g deg", caps_deg[c], ang * REF_RTD);
            if (ang > widest)
                widest = ang;
        }
        assert_true(widest > 0.9 * (double)cap); /* the cap is actually reached */
    }
    /* a zero cap gives the identity */
    nbcl_rng r;
    nbcl_rng_init(&r, -3);
    double u[9];
    nbcl_mosaic_rotation_umat(&r, 0.0f, u);
    static const double eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (int k = 0; k < 9; ++k)
        assert_true(u[k] == eye[k]); /* off-diagonals may be -0.0 */
}

/* The reference's rotate(): about x, then y, then z, applied to a column vector. */
static void rotate_xyz(const double v[3], double ax, double ay, double az, double out[3])
{
    double x = v[0], y = v[1], z = v[2], t;
    t = y * cos(ax) - z * sin(ax);
    z = y * sin(ax) + z * cos(ax);
    y = t;
    t = x * cos(ay) + z * sin(ay);
    z = -x * sin(ay) + z * cos(ay);
    x = t;
    t = x * cos(az) - y * sin(az);
    y = x * sin(az) + y * cos(az);
    x = t;
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

static void umat_from_angles(double ax, double ay, double az, double u[9])
{
    for (int col = 0; col < 3; ++col) {
        double e[3] = {0, 0, 0}, w[3];
        e[col] = 1.0;
        rotate_xyz(e, ax, ay, az, w);
        for (int row = 0; row < 3; ++row)
            u[3 * row + col] = w[row];
    }
}

static void test_umat2misset_round_trip(void **state)
{
    (void)state;
    nbcl_rng r;
    nbcl_rng_init(&r, -2024);
    for (int i = 0; i < 2000; ++i) {
        double ax = (2.0 * nbcl_ran1(&r) - 1.0) * TEST_PI * 0.999;
        double ay = (2.0 * nbcl_ran1(&r) - 1.0) * TEST_PI * 0.499;
        double az = (2.0 * nbcl_ran1(&r) - 1.0) * TEST_PI * 0.999;
        double u[9], m[3];
        umat_from_angles(ax, ay, az, u);
        check_rotation(u);
        nbcl_umat2misset(u, m);
        assert_close(m[0], ax, 1e-9, 0);
        assert_close(m[1], ay, 1e-9, 0);
        assert_close(m[2], az, 1e-9, 0);
    }
    /* mosaic matrices: rotate() with the recovered angles reproduces umat * v */
    nbcl_rng_init(&r, -8);
    for (int i = 0; i < 500; ++i) {
        double u[9], m[3], v[3] = {0.3, -1.2, 2.5}, w[3];
        nbcl_mosaic_rotation_umat(&r, (float)(60.0 / REF_RTD), u);
        nbcl_umat2misset(u, m);
        rotate_xyz(v, m[0], m[1], m[2], w);
        for (int k = 0; k < 3; ++k)
            assert_close(w[k], u[3 * k] * v[0] + u[3 * k + 1] * v[1] + u[3 * k + 2] * v[2],
                         1e-12, 0);
    }
}

static void test_umat2misset_degenerate(void **state)
{
    (void)state;
    double m[3];
    /* scaled rows are normalised first */
    double u[9], s[9];
    umat_from_angles(0.3, -0.2, 1.1, u);
    for (int k = 0; k < 9; ++k)
        s[k] = u[k] * (k < 3 ? 2.0 : k < 6 ? 0.5 : 7.0);
    nbcl_umat2misset(s, m);
    assert_close(m[0], 0.3, 1e-12, 0);
    assert_close(m[1], -0.2, 1e-12, 0);
    assert_close(m[2], 1.1, 1e-12, 0);

    /* all-zero matrix falls back to the identity */
    static const double zero[9] = {0};
    nbcl_umat2misset(zero, m);
    assert_true(m[0] == 0.0 && m[1] == 0.0 && m[2] == 0.0);

    /* one missing row is rebuilt from the other two */
    memcpy(s, u, sizeof s);
    s[6] = s[7] = s[8] = 0.0;
    nbcl_umat2misset(s, m);
    assert_close(m[0], 0.3, 1e-12, 0);
    assert_close(m[1], -0.2, 1e-12, 0);
    assert_close(m[2], 1.1, 1e-12, 0);

    /* gimbal lock (z row = +x): the reference's fixed branch, pi, pi/2, atan2(uxy,-uyy) */
    static const double lock[9] = {0, 0, -1, 0, 1, 0, 1, 0, 0};
    nbcl_umat2misset(lock, m);
    assert_true(m[0] == atan2(1.0, 1.0) * 4);
    assert_true(m[1] == atan2(1.0, 1.0) * 2);
    assert_true(m[2] == atan2(0.0, -1.0));
}

enum { NX = 40, NY = 30 };

static void fill_image(float *img)
{
    nbcl_rng r;
    nbcl_rng_init(&r, -606);
    for (int i = 0; i < NX * NY; ++i) {
        float u = nbcl_ran1(&r);
        /* spans the product method, the rejection method and the Gaussian branch */
        img[i] = (i % 97 == 0) ? 2.5e6f : (i % 13 == 0) ? 400.0f * u : 8.0f * u;
    }
}

static void test_noise_image_deterministic(void **state)
{
    (void)state;
    static float img[NX * NY];
    static uint16_t a[NX * NY], b[NX * NY], c[NX * NY];
    fill_image(img);
    int ova = -1, ovb = -1, ovc = -1;
    double sa = nbcl_noise_image(img, NX, NY, NULL, -1234, 40.0, a, &ova);
    double sb = nbcl_noise_image(img, NX, NY, NULL, -1234, 40.0, b, &ovb);
    double sc = nbcl_noise_image(img, NX, NY, NULL, -4321, 40.0, c, &ovc);
    assert_memory_equal(a, b, sizeof a);
    assert_true(sa == sb);
    assert_int_equal(ova, ovb);
    assert_true(memcmp(a, c, sizeof a) != 0);
    assert_true(sa != sc);

    /* Gaussian-branch pixels clip; everything else is photons + adc */
    int clipped = 0;
    for (int i = 0; i < NX * NY; ++i)
        if (img[i] > 1e6f) {
            assert_int_equal(a[i], 65535);
            ++clipped;
        } else {
            assert_true(a[i] >= 40);
        }
    assert_int_equal(ova, clipped);

    /* the photon sum excludes the offset: an all-zero image gives 0 photons, pixels = adc */
    static const float zeros[NX * NY];
    int ov = -1;
    assert_true(nbcl_noise_image(zeros, NX, NY, NULL, -1, 10.7, a, &ov) == 0.0);
    assert_int_equal(ov, 0);
    for (int i = 0; i < NX * NY; ++i)
        assert_int_equal(a[i], 10); /* truncated */
    /* a negative offset wraps as the reference's (unsigned short) cast does on x86-64 */
    assert_true(nbcl_noise_image(zeros, NX, NY, NULL, -1, -50.0, a, NULL) == 0.0);
    assert_int_equal(a[0], 65486);
}

static void test_noise_image_roi(void **state)
{
    (void)state;
    static float img[NX * NY];
    static uint16_t full[NX * NY], part[NX * NY];
    fill_image(img);
    const int roi[4] = {5, 20, 3, 17}; /* xmin xmax ymin ymax, inclusive */
    int ov = -1;
    double photons = nbcl_noise_image(img, NX, NY, roi, -77, 40.0, part, &ov);
    int inside = 0, clipped = 0;
    double sum = 0.0;
    for (int y = 0; y < NY; ++y)
        for (int x = 0; x < NX; ++x) {
            uint16_t v = part[y * NX + x];
            if (x < roi[0] || x > roi[1] || y < roi[2] || y > roi[3]) {
                assert_int_equal(v, 0);
            } else {
                ++inside;
                assert_true(v >= 40);
                if (v == 65535)
                    ++clipped;
                else
                    sum += v - 40;
            }
        }
    assert_int_equal(inside, 16 * 15);
    assert_int_equal(ov, clipped);
    if (clipped == 0)
        assert_true(photons == sum);

    /* the ROI changes which deviates each pixel gets: the full-frame image differs inside */
    (void)nbcl_noise_image(img, NX, NY, NULL, -77, 40.0, full, NULL);
    assert_true(memcmp(full, part, sizeof full) != 0);
    /* the first in-ROI pixel draws first in both runs only when the ROI starts at (0,0) */
    const int corner[4] = {0, NX - 1, 0, NY - 1};
    (void)nbcl_noise_image(img, NX, NY, corner, -77, 40.0, part, NULL);
    assert_memory_equal(full, part, sizeof full);
}

static void test_noise_image_overloads(void **state)
{
    (void)state;
    enum { N = 64 };
    float img[N];
    uint16_t out[N];
    for (int i = 0; i < N; ++i)
        img[i] = (i % 4 == 0) ? 1.0e5f : (i % 4 == 1) ? 65000.0f : 1.0f;
    int ov = -1;
    double photons = nbcl_noise_image(img, N, 1, NULL, -9, 40.0, out, &ov);
    int expect = 0;
    for (int i = 0; i < N; ++i) {
        if (i % 4 == 0)
            assert_int_equal(out[i], 65535); /* 1e5 +- 316 photons always clips */
        if (out[i] == 65535)
            ++expect;
    }
    assert_int_equal(ov, expect);
    assert_true(ov >= N / 4);
    assert_true(photons > 16 * 1.0e5 * 0.98);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ran1_reference_values),
        cmocka_unit_test(test_ran1_range_and_reseed),
        cmocka_unit_test(test_poidev_gaussdev_reference_values),
        cmocka_unit_test(test_poidev_moments),
        cmocka_unit_test(test_gaussdev_moments),
        cmocka_unit_test(test_mosaic_umat_reference_values),
        cmocka_unit_test(test_mosaic_umat_properties),
        cmocka_unit_test(test_umat2misset_round_trip),
        cmocka_unit_test(test_umat2misset_degenerate),
        cmocka_unit_test(test_noise_image_deterministic),
        cmocka_unit_test(test_noise_image_roi),
        cmocka_unit_test(test_noise_image_overloads),
    };
    return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
