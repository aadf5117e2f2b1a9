/* Acceptance tests that need a render: AT-ROI-001 (ROI and mask skipped in rendering and
 * statistics), AT-STA-001 (float-image statistics), and AT-NOISE-001 on a rendered image.
 * Small scenes only (<= 40x32 pixels). Exit 77 without an OpenCL device. */
#include "nbcl_test.h"
#include "nbcl_scene_internal.h" /* white-box: the scene's fields */
#include "nbcl_rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#define DEG (M_PI / 180.0)
#define FP 40
#define SP 32

static int masked_at(int x, int y)
{
    return (x >= 10 && x <= 14 && y >= 8 && y <= 12) || (x <= 3 && y <= 3);
}

static const char *mask_path(void)
{
    static char path[4096];
    if (path[0])
        return path;
    snprintf(path, sizeof path, "%s/mask40x32.img", nbcl_test_tmpdir());
    static uint16_t pix[FP * SP];
    for (int y = 0; y < SP; y++)
        for (int x = 0; x < FP; x++)
            pix[y * FP + x] = masked_at(x, y) ? 0 : 3;
    nbcl_smv_header_info h;
    memset(&h, 0, sizeof h);
    h.fpixels = FP;
    h.spixels = SP;
    h.pixel_size_mm = 0.1;
    h.distance_mm = 100;
    h.close_distance_mm = 100;
    h.wavelength_A = 1;
    char err[1024];
    if (nbcl_write_smv(path, &h, pix, err, sizeof err) != NBCL_OK)
        fail_msg("%s", err);
    return path;
}

static nbcl_scene *roi_mask_scene(int with_mask)
{
    nbcl_config c;
    nbcl_config_init(&c);
    c.user_cell = 1;
    c.cell[0] = c.cell[1] = c.cell[2] = 60.0;
    c.cell[3] = c.cell[4] = c.cell[5] = 90.0 * DEG;
    c.misset_mode = 1;
    c.misset[0] = 5 * DEG;
    c.misset[1] = 15 * DEG;
    c.misset[2] = 25 * DEG;
    c.default_F = 50;
    c.Na = c.Nb = c.Nc = 3;
    c.distance = 60e-3;
    c.fpixels = FP;
    c.spixels = SP;
    c.oversample = 2;
    c.read_dump = c.write_dump = 0;
    c.roi[0] = 5;
    c.roi[1] = 30;
    c.roi[2] = 4;
    c.roi[3] = 25;
    if (with_mask)
        c.maskfile = mask_path();
    nbcl_scene *s = NULL;
    char err[1024];
    if (nbcl_scene_build(&c, &s, err, sizeof err) != NBCL_OK)
        fail_msg("%s", err);
    return s;
}

static int in_roi(const nbcl_scene *s, int x, int y)
{
    return x >= s->roi[0] && x <= s->roi[1] && y >= s->roi[2] && y <= s->roi[3];
}

/* statistics as spec-a-core defines them (and the reference computes them): mean and RMS over
 * unmasked ROI pixels (RMS with N-1); max_I and the first raster-order pixel that reaches it;
 * RMSD about that mean over every ROI pixel with its own N-1 (the reference's second pass does
 * not look at the mask; docs/parity.md: RMSD and the mask) */
static void expected_stats(const nbcl_scene *s, const float *v, nbcl_stats *e)
{
    memset(e, 0, sizeof *e);
    double sum = 0, sq = 0;
    size_t n = 0, nroi = 0;
    for (int y = 0; y < s->spixels; y++)
        for (int x = 0; x < s->fpixels; x++) {
            if (!in_roi(s, x, y))
                continue;
            nroi++;
            if (s->mask && !s->mask[(size_t)y * s->fpixels + x])
                continue;
            double p = v[(size_t)y * s->fpixels + x];
            if (p > e->max_I) {
                e->max_I = p;
                e->max_fpixel = x;
                e->max_spixel = y;
            }
            sum += p;
            sq += p * p;
            n++;
        }
    e->n = n;
    e->sum = sum;
    e->mean = sum / n;
    e->rms = sqrt(sq / (n - 1));
    double ss = 0;
    for (int y = 0; y < s->spixels; y++)
        for (int x = 0; x < s->fpixels; x++)
            if (in_roi(s, x, y)) {
                double dv = v[(size_t)y * s->fpixels + x] - e->mean;
                ss += dv * dv;
            }
    e->rmsd = sqrt(ss / (nroi - 1));
}

static void check_stats(const nbcl_stats *got, const nbcl_stats *e, double rel)
{
    assert_int_equal(got->n, e->n);
    assert_close(got->max_I, e->max_I, 0, rel);
    assert_int_equal(got->max_fpixel, e->max_fpixel);
    assert_int_equal(got->max_spixel, e->max_spixel);
    assert_close(got->sum, e->sum, 0, rel);
    assert_close(got->mean, e->mean, 0, rel);
    assert_close(got->rms, e->rms, 0, rel);
    assert_close(got->rmsd, e->rmsd, 0, rel);
}

/* ------------------------------------------------------------------ AT-ROI-001 */

static void at_roi_001_roi_and_mask_skipped(void **state)
{
    (void)state;
    nbcl_engine *e = nbcl_test_engine(NBCL_PRECISION_AUTO);
    assert_non_null(e);
    nbcl_scene *s = roi_mask_scene(1);
    assert_non_null(s->mask);
    nbcl_image img;
    if (nbcl_render(e, s, NULL, &img, NULL) != NBCL_OK)
        fail_msg("%s", nbcl_engine_last_error(e));
    assert_int_equal(img.fpixels, FP);
    assert_int_equal(img.spixels, SP);
    int rendered = 0, skipped_roi = 0, skipped_mask = 0;
    for (int y = 0; y < SP; y++)
        for (int x = 0; x < FP; x++) {
            float v = img.data[y * FP + x];
            if (!in_roi(s, x, y)) {
                assert_true(v == 0.0f);
                skipped_roi++;
            } else if (masked_at(x, y)) {
                assert_true(v == 0.0f);
                skipped_mask++;
            } else {
                assert_true(v > 0.0f);
                assert_close(v, nbcl_scene_pixel_host(s, x, y), 0, 1e-5);
                rendered++;
            }
        }
    assert_int_equal(skipped_mask, 25); /* the block inside the ROI; the corner lies outside */
    assert_int_equal(rendered, 26 * 22 - 25);
    assert_int_equal(skipped_roi, FP * SP - 26 * 22);
    /* the host path honours ROI and mask the same way */
    assert_true(nbcl_scene_pixel_host(s, 2, 2) == 0.0);
    assert_true(nbcl_scene_pixel_host(s, 12, 10) == 0.0);
    assert_true(nbcl_scene_pixel_host(s, 31, 10) == 0.0);

    /* statistics exclude what was skipped */
    nbcl_stats got, exp;
    expected_stats(s, img.data, &exp);
    assert_int_equal(exp.n, (size_t)rendered);
    assert_int_equal(nbcl_image_stats(e, s, &img, &got), NBCL_OK);
    check_stats(&got, &exp, 1e-9);
    nbcl_image_stats_host(s, &img, &got);
    check_stats(&got, &exp, 1e-12);
    nbcl_image_free(&img);
    nbcl_scene_destroy(s);
}

/* ------------------------------------------------------------------ AT-STA-001 */

static void at_sta_001_statistics_known_pattern(void **state)
{
    (void)state;
    nbcl_engine *e = nbcl_test_engine(NBCL_PRECISION_AUTO);
    assert_non_null(e);
    /* a known pattern with several pixels at the maximum: the first in raster order wins (the
     * reference updates max_I on a strict ">", so that pixel is where it was last set) */
    nbcl_image img;
    assert_int_equal(nbcl_image_alloc(&img, FP, SP), NBCL_OK);
    for (int y = 0; y < SP; y++)
        for (int x = 0; x < FP; x++)
            img.data[y * FP + x] = (float)((x * 7 + y * 3) % 11) + 0.25f * (float)(y % 2);
    for (int with_mask = 0; with_mask < 2; with_mask++) {
        nbcl_scene *s = roi_mask_scene(with_mask);
        nbcl_stats exp, got;
        expected_stats(s, img.data, &exp);
        assert_close(exp.max_I, 10.25, 0, 0);
        assert_int_equal(nbcl_image_stats(e, s, &img, &got), NBCL_OK);
        check_stats(&got, &exp, 1e-9);
        nbcl_image_stats_host(s, &img, &got);
        check_stats(&got, &exp, 1e-12);
        if (with_mask) {
            /* with a mask the RMSD (all ROI pixels) differs from the unmasked-only version */
            double ss = 0;
            size_t n = 0;
            for (int y = s->roi[2]; y <= s->roi[3]; y++)
                for (int x = s->roi[0]; x <= s->roi[1]; x++)
                    if (!masked_at(x, y)) {
                        double dv = img.data[y * FP + x] - exp.mean;
                        ss += dv * dv;
                        n++;
                    }
            assert_true(fabs(sqrt(ss / (n - 1)) / got.rmsd - 1) > 1e-4);
        } else {
            assert_int_equal(got.n, 26 * 22);
        }
        nbcl_scene_destroy(s);
    }
    /* exact values for a tiny ROI: 2x2 pixels 1, 2, 3, 6 (no mask) */
    nbcl_scene *s = roi_mask_scene(0);
    s->roi[0] = 0;
    s->roi[1] = 1;
    s->roi[2] = 0;
    s->roi[3] = 1;
    img.data[0] = 1;
    img.data[1] = 2;
    img.data[FP] = 3;
    img.data[FP + 1] = 6;
    nbcl_stats got;
    nbcl_image_stats_host(s, &img, &got);
    assert_int_equal(got.n, 4);
    assert_close(got.max_I, 6, 0, 0);
    assert_int_equal(got.max_fpixel, 1);
    assert_int_equal(got.max_spixel, 1);
    assert_close(got.mean, 3.0, 0, 1e-15);
    assert_close(got.rms, sqrt((1 + 4 + 9 + 36) / 3.0), 0, 1e-15);
    assert_close(got.rmsd, sqrt((4 + 1 + 0 + 9) / 3.0), 0, 1e-15);
    nbcl_scene_destroy(s);
    nbcl_image_free(&img);

    /* a rendered image: device statistics agree with the definitions */
    s = roi_mask_scene(1);
    if (nbcl_render(e, s, NULL, &img, NULL) != NBCL_OK)
        fail_msg("%s", nbcl_engine_last_error(e));
    nbcl_stats exp;
    expected_stats(s, img.data, &exp);
    assert_true(exp.max_I > 0);
    assert_int_equal(nbcl_image_stats(e, s, &img, &got), NBCL_OK);
    check_stats(&got, &exp, 1e-9);
    nbcl_image_free(&img);
    nbcl_scene_destroy(s);
}

/* ------------------------------------------------------------------ AT-NOISE-001 (rendered) */

/* a rendered image scaled into the three regimes (<12, 12..1e6, >1e6): reproducible with the
 * seed, ADC added, clipped, overloads counted, ROI respected */
static void at_noise_001_rendered_image(void **state)
{
    (void)state;
    nbcl_engine *e = nbcl_test_engine(NBCL_PRECISION_AUTO);
    assert_non_null(e);
    nbcl_scene *s = roi_mask_scene(0);
    nbcl_image img;
    if (nbcl_render(e, s, NULL, &img, NULL) != NBCL_OK)
        fail_msg("%s", nbcl_engine_last_error(e));
    double vmax = 0;
    for (int i = 0; i < FP * SP; i++)
        vmax = img.data[i] > vmax ? img.data[i] : vmax;
    assert_true(vmax > 0);
    /* scale so that the brightest pixel has mean 5e6 */
    for (int i = 0; i < FP * SP; i++)
        img.data[i] = (float)(img.data[i] * (5e6 / vmax));
    int low = 0, mid = 0, high = 0, expect_over = 0;
    for (int y = s->roi[2]; y <= s->roi[3]; y++)
        for (int x = s->roi[0]; x <= s->roi[1]; x++) {
            float v = img.data[y * FP + x];
            low += v < 12;
            mid += v >= 12 && v <= 1e6;
            high += v > 1e6;
            expect_over += v > 1e6; /* certainly above 65535 - 40 */
        }
    assert_true(low > 0 && mid > 0 && high > 0);
    static uint16_t a[FP * SP], b[FP * SP], c[FP * SP];
    int oa = 0, ob = 0, oc = 0;
    nbcl_noise_image(img.data, FP, SP, s->roi, -99, 40.0, a, &oa);
    nbcl_noise_image(img.data, FP, SP, s->roi, -99, 40.0, b, &ob);
    nbcl_noise_image(img.data, FP, SP, s->roi, -100, 40.0, c, &oc);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(oa, ob);
    assert_memory_not_equal(a, c, sizeof a);
    assert_true(oa >= expect_over);
    int over = 0;
    for (int y = 0; y < SP; y++)
        for (int x = 0; x < FP; x++) {
            uint16_t v = a[y * FP + x];
            if (!in_roi(s, x, y)) {
                assert_int_equal(v, 0);
                continue;
            }
            assert_true(v >= 40);
            over += v == 65535;
            if (img.data[y * FP + x] > 1e6)
                assert_int_equal(v, 65535);
        }
    assert_int_equal(over, oa);
    nbcl_image_free(&img);
    nbcl_scene_destroy(s);
}

int main(void)
{
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(at_roi_001_roi_and_mask_skipped),
        cmocka_unit_test(at_sta_001_statistics_known_pattern),
        cmocka_unit_test(at_noise_001_rendered_image),
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
