/* Differential test: small random scenes (fixed seeds) rendered on the device in double and in
 * single precision and compared pixel by pixel with the host evaluation of the same per-pixel
 * function (nbcl_pixel_value in double, what nbcl_scene_pixel_host returns before its float
 * cast). Every scene draws its own cell, misset, N (1..6), oversample (1..3), detector
 * thickness/absorption, polarization, spot shape, divergence, dispersion, mosaic, phi steps,
 * detector rotations and two-theta, convention, curved detector, point pixel, water, default_F
 * and, for most scenes, an HKL grid (written to a temporary file) with interpolation on or off.
 *
 *   double: each device pixel (a float image) equals the host double value within 1e-9
 *           relative (+1e-30 absolute) or within one float ulp of it, since both end as floats;
 *   single: Pearson correlation >= 0.9999 and |sum ratio - 1| <= 1e-3. */
#include "nbcl_test.h"
#include "nbcl_scene_internal.h" /* white-box: the scene's fields */
#include "render/pack.h"
#include "nbcl_host_physics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEG (M_PI / 180.0)
#define NSCENES 10

typedef struct rng64 {
    uint64_t s;
} rng64;

static double urand(rng64 *r)
{
    /* xorshift64*: platform-independent sequence */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double urange(rng64 *r, double lo, double hi)
{
    return lo + (hi - lo) * urand(r);
}

static int irange(rng64 *r, int lo, int hi)
{
    int v = lo + (int)(urand(r) * (hi - lo + 1));
    return v > hi ? hi : v;
}

static int chance(rng64 *r, double p)
{
    return urand(r) < p;
}

typedef struct scene_desc {
    char text[512]; /* what was drawn, for failure messages */
} scene_desc;

static void describe(scene_desc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t len = strlen(d->text);
    vsnprintf(d->text + len, sizeof d->text - len, fmt, ap);
    va_end(ap);
}

/* Draw a configuration; returns the sub-step estimate (sources*domains*phi*os^2*layers). */
static double draw(rng64 *r, nbcl_config *c, int idx, scene_desc *d, char *hklpath, size_t hkllen)
{
    nbcl_config_init(c);
    d->text[0] = 0;
    c->read_dump = c->write_dump = 0;
    c->fpixels = irange(r, 24, 48);
    c->spixels = irange(r, 24, 40);
    c->pixel_size = urange(r, 0.05e-3, 0.2e-3);
    c->distance = urange(r, 40e-3, 150e-3);
    c->lambda0 = urange(r, 0.8e-10, 2.0e-10);
    static const nbcl_convention convs[] = {NBCL_CONV_MOSFLM, NBCL_CONV_XDS, NBCL_CONV_ADXV,
                                            NBCL_CONV_DENZO, NBCL_CONV_DIALS};
    c->convention = convs[irange(r, 0, 4)];
    describe(d, "%dx%d px %.3gmm d=%.3gmm lambda=%.3gA conv=%d", c->fpixels, c->spixels,
             c->pixel_size * 1e3, c->distance * 1e3, c->lambda0 * 1e10, (int)c->convention);

    c->user_cell = 1;
    for (int i = 0; i < 3; i++)
        c->cell[i] = urange(r, 30, 120);
    for (int i = 3; i < 6; i++)
        c->cell[i] = urange(r, 75, 105) * DEG;
    c->misset_mode = 1;
    for (int i = 0; i < 3; i++)
        c->misset[i] = urange(r, -180, 180) * DEG;
    c->Na = irange(r, 1, 6);
    c->Nb = irange(r, 1, 6);
    c->Nc = irange(r, 1, 6);
    c->oversample = irange(r, 1, 3);
    describe(d, " cell %.4g %.4g %.4g N %g %g %g os %d", c->cell[0], c->cell[1], c->cell[2],
             c->Na, c->Nb, c->Nc, c->oversample);
    double est = (double)c->oversample * c->oversample;

    if (chance(r, 0.4)) {
        c->detector_thick = urange(r, 50e-6, 300e-6);
        c->detector_thicksteps = irange(r, 1, 3);
        c->detector_mu = 1.0 / urange(r, 100e-6, 500e-6);
        c->oversample_thick = chance(r, 0.5);
        est *= c->detector_thicksteps < 2 ? 2 : c->detector_thicksteps;
        describe(d, " thick %.3gum x%d os_thick %d", c->detector_thick * 1e6,
                 c->detector_thicksteps, c->oversample_thick);
    }
    if (chance(r, 0.3)) {
        c->nopolar = 1;
        describe(d, " nopolar");
    } else {
        c->polarization = urand(r);
        c->oversample_polar = chance(r, 0.4);
        describe(d, " K=%.3g os_polar %d", c->polarization, c->oversample_polar);
    }
    c->oversample_omega = chance(r, 0.4);
    c->shape = (nbcl_shape)irange(r, 0, 3);
    c->fudge = urange(r, 0.5, 1.5);
    describe(d, " os_omega %d shape %d fudge %.3g", c->oversample_omega, (int)c->shape, c->fudge);

    if (chance(r, 0.3)) {
        c->hdivrange = urange(r, 0.1e-3, 1e-3);
        c->vdivrange = urange(r, 0.1e-3, 1e-3);
        c->hdivsteps = irange(r, 1, 3);
        c->vdivsteps = irange(r, 1, 3);
        c->round_div = chance(r, 0.5);
        est *= c->hdivsteps * c->vdivsteps;
        describe(d, " div %dx%d round %d", c->hdivsteps, c->vdivsteps, c->round_div);
    }
    if (chance(r, 0.3)) {
        c->dispersion = urange(r, 0.001, 0.01);
        c->dispsteps = irange(r, 2, 3);
        est *= c->dispsteps;
        describe(d, " disp %.3g%% x%d", c->dispersion * 100, c->dispsteps);
    }
    if (chance(r, 0.3)) {
        c->mosaic_spread = urange(r, 0.1, 1.0) * DEG;
        c->mosaic_domains = irange(r, 2, 3);
        c->mosaic_seed = irange(r, 1, 1000000);
        est *= c->mosaic_domains;
        describe(d, " mosaic %.3gdeg x%d", c->mosaic_spread / DEG, c->mosaic_domains);
    }
    if (chance(r, 0.3)) {
        c->phi0 = urange(r, 0.05, 10) * DEG;
        c->osc = urange(r, 0.1, 1.0) * DEG;
        c->phisteps = irange(r, 2, 3);
        est *= c->phisteps;
        describe(d, " phi %.3g+%.3g x%d", c->phi0 / DEG, c->osc / DEG, c->phisteps);
    }
    if (chance(r, 0.3)) {
        c->detector_rotx = urange(r, -5, 5) * DEG;
        c->detector_roty = urange(r, -5, 5) * DEG;
        c->detector_rotz = urange(r, -5, 5) * DEG;
        c->twotheta = urange(r, 0, 10) * DEG;
        describe(d, " rot %.3g %.3g %.3g 2theta %.3g", c->detector_rotx / DEG,
                 c->detector_roty / DEG, c->detector_rotz / DEG, c->twotheta / DEG);
    }
    c->curved_det = chance(r, 0.2);
    /* -point_pixel with -oversample_omega multiplies the running sum by 1/R^2 (m^-2, >> 1)
     * after every sub-path: like the reference it overflows for many sub-paths, so the draw
     * keeps them apart */
    c->point_pixel = !c->oversample_omega && chance(r, 0.25);
    if (chance(r, 0.2))
        c->water_size = urange(r, 0.1e-6, 1e-6);
    if (chance(r, 0.2))
        c->dmin = urange(r, 2e-10, 6e-10);
    describe(d, " curved %d point %d water %.3gum dmin %.3gA", c->curved_det, c->point_pixel,
             c->water_size * 1e6, c->dmin * 1e10);

    if (chance(r, 0.6)) {
        int m = irange(r, 3, 6);
        snprintf(hklpath, hkllen, "%s/diff_%d.hkl", nbcl_test_tmpdir(), idx);
        FILE *f = fopen(hklpath, "w");
        assert_non_null(f);
        for (int h = -m; h <= m; h++)
            for (int k = -m; k <= m; k++)
                for (int l = -m; l <= m; l++)
                    if (!chance(r, 0.2) || (h == -m && k == -m && l == -m) ||
                        (h == m && k == m && l == m))
                        fprintf(f, "%d %d %d %.6f\n", h, k, l, urange(r, 0, 100));
        fclose(f);
        c->hklfile = hklpath;
        c->default_F = chance(r, 0.5) ? 0.0 : urange(r, 1, 50);
        c->interpolate = chance(r, 0.5);
        describe(d, " hkl +-%d default_F %.3g interp %d", m, c->default_F, c->interpolate);
    } else {
        c->default_F = urange(r, 10, 100);
        describe(d, " default_F %.3g", c->default_F);
    }
    return est;
}

/* The host evaluation in raster order with the run-level interpolation rule: once a pixel's
 * interpolation leaves the HKL grid, every later pixel uses nearest-neighbour F (*switched). */
static double host_value(const nbcl_scene *s, int x, int y, int *switched)
{
    int fallback = 0;
    double omega_sum = 0.0;
    nbcl_kernel_inputs k;
    assert_int_equal(nbcl__pack_kernel_inputs(s, &k), NBCL_OK);
    if (*switched)
        k.IP[NBCL_IP_INTERPOLATE] = 0;
    double v = nbcl_pixel_value(x, y, k.P, k.IP, k.src, k.orient, k.F, &fallback, &omega_sum);
    nbcl__kernel_inputs_free(&k);
    if (fallback)
        *switched = 1;
    return v;
}

static int within_one_float_ulp(float dev, double host)
{
    float h = (float)host;
    if (dev == h)
        return 1;
    return dev == nextafterf(h, INFINITY) || dev == nextafterf(h, -INFINITY);
}

static void test_random_scenes(void **state)
{
    (void)state;
    nbcl_engine *e64 = nbcl_test_engine(NBCL_PRECISION_F64);
    nbcl_engine *e32 = nbcl_test_engine(NBCL_PRECISION_F32);
    assert_non_null(e32);
    if (!e64)
        printf("differential: no fp64 engine on this device; single precision only\n");
    int done = 0;
    for (int i = 0; done < NSCENES; i++) {
        assert_true(i < 100 * NSCENES);
        rng64 r = {0x9E3779B97F4A7C15ULL ^ (uint64_t)(1000 + i) * 0x100000001B3ULL};
        for (int k = 0; k < 4; k++)
            urand(&r);
        nbcl_config c;
        scene_desc d;
        char hkl[4096];
        double est = draw(&r, &c, i, &d, hkl, sizeof hkl);
        if (est > 400) /* keep every scene quick */
            continue;
        nbcl_scene *s = NULL;
        char err[1024];
        nbcl_status st = nbcl_scene_build(&c, &s, err, sizeof err);
        if (st != NBCL_OK) {
            /* a draw the engine rightly rejects (e.g. detector behind the sample): redraw */
            continue;
        }
        const int fp = s->fpixels, sp = s->spixels;
        const size_t n = (size_t)fp * sp;
        double *host = malloc(n * sizeof *host);
        assert_non_null(host);
        double hsum = 0, hmax = 0;
        int switched = 0;
        for (int y = 0; y < sp; y++)
            for (int x = 0; x < fp; x++) {
                double v = host_value(s, x, y, &switched);
                host[(size_t)y * fp + x] = v;
                hsum += v;
                hmax = v > hmax ? v : hmax;
                if (!isfinite(v))
                    fail_msg("scene %d: host pixel (%d,%d) = %g (%s)", i, x, y, v, d.text);
            }
        if (!(hmax > 0)) {
            free(host);
            nbcl_scene_destroy(s);
            continue;
        }

        /* double precision: pixel for pixel */
        if (e64) {
            nbcl_image img;
            st = nbcl_render(e64, s, NULL, &img, NULL);
            if (st != NBCL_OK)
                fail_msg("render (double): %s", nbcl_engine_last_error(e64));
            size_t exact = 0;
            double worst = 0;
            for (size_t p = 0; p < n; p++) {
                double dv = img.data[p], hv = host[p];
                double rel = fabs(hv) > 1e-30 ? fabs(dv - hv) / fabs(hv) : 0.0;
                if ((float)hv == img.data[p])
                    exact++;
                if (!(fabs(dv - hv) <= 1e-9 * fabs(hv) + 1e-30) &&
                    !within_one_float_ulp(img.data[p], hv))
                    fail_msg("scene %d pixel (%zu,%zu): device %.9g host %.17g (%s)", i, p % fp,
                             p / fp, dv, hv, d.text);
                if (rel > worst)
                    worst = rel;
            }
            printf("scene %2d double: %zu/%zu pixels equal to the rounded host value, worst rel "
                   "%.2e | %s\n", i, exact, n, worst, d.text);
            nbcl_image_free(&img);
        }

        /* single precision: correlation and total */
        nbcl_image img;
        st = nbcl_render(e32, s, NULL, &img, NULL);
        if (st != NBCL_OK)
            fail_msg("render (single): %s", nbcl_engine_last_error(e32));
        double ssum = 0, mh = hsum / n, ms, cab = 0, caa = 0, cbb = 0;
        for (size_t p = 0; p < n; p++) {
            assert_true(isfinite(img.data[p]));
            ssum += img.data[p];
        }
        ms = ssum / n;
        for (size_t p = 0; p < n; p++) {
            double a = img.data[p] - ms, b = host[p] - mh;
            cab += a * b;
            caa += a * a;
            cbb += b * b;
        }
        double corr = (caa > 0 && cbb > 0) ? cab / sqrt(caa * cbb) : (caa == cbb ? 1.0 : 0.0);
        double ratio = ssum / hsum;
        printf("scene %2d single: corr %.9f sum ratio %.9f\n", i, corr, ratio);
        if (!(corr >= 0.9999))
            fail_msg("scene %d single precision correlation %.9f < 0.9999 (%s)", i, corr, d.text);
        if (!(fabs(ratio - 1) <= 1e-3))
            fail_msg("scene %d single precision sum ratio %.9f (%s)", i, ratio, d.text);
        nbcl_image_free(&img);
        free(host);
        nbcl_scene_destroy(s);
        done++;
    }
}

int main(void)
{
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_scenes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nbcl_test_engines_release();
    if (rc == 0) { /* scratch files are kept only when something failed */
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%.4000s'", nbcl_test_tmpdir());
        nbcl_test_run(cmd);
    }
    return rc;
}
