/* Bit-exact Poisson noise against images written by nanoBragg itself.
 *
 * tests/data/noise/ holds the reference's float image and its noise image (SMV, 512-byte
 * header) for two runs; see README.md there for the exact command lines. nbcl_noise_image fed
 * the reference's float image, seed, offset and ROI must reproduce every pixel, the overload
 * count and the photon sum the reference printed ("%.0f photons on noise image (%d overloads)"). */
#include "nbcl_test.h"
#include "nbcl_rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMV_HEADER 512

typedef struct {
    const char *float_file;
    const char *noise_file;
    int fpixels, spixels;
    int roi[4];           /* as the reference resolves it: unset bounds become 0 / npixels */
    long seed;            /* -atoi(argv) of "-seed 1234" */
    double adc;
    const char *photons;  /* the reference's "%.0f" */
    int overloads;
} ref_case;

static const ref_case k_plain = {"float.bin", "noise.img", 64, 64, {0, 64, 0, 64},
                                 -1234, 40.0, "24136", 0};
static const ref_case k_mosaic_roi = {"mosaic_roi_float.bin", "mosaic_roi_noise.img", 64, 64,
                                      {10, 40, 5, 50}, -1234, 40.0, "170262402", 368};

static const char *data_dir(void)
{
    static char dir[4096];
    const char *src = getenv("NBCL_SOURCE_DIR");
    if (src && *src) {
        snprintf(dir, sizeof dir, "%s/tests/data/noise/", src);
    } else {
        /* run by hand: locate the data next to this source file */
        snprintf(dir, sizeof dir, "%s", __FILE__);
        char *cut = strstr(dir, "tests/unit/test_noise_ref.c");
        if (cut)
            snprintf(cut, sizeof dir - (size_t)(cut - dir), "tests/data/noise/");
        else
            snprintf(dir, sizeof dir, "tests/data/noise/");
    }
    return dir;
}

static void *load(const char *name, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s%s", data_dir(), name);
    void *buf = nbcl_test_read_file(path, len);
    if (!buf)
        fail_msg("cannot read %s (set NBCL_SOURCE_DIR to the source tree)", path);
    return buf;
}

/* split: 0 = nbcl_noise_image; 1 = the deviates drawn once (nbcl_noise_poisson), then the noise
 * image from them, and the photon counts of -cbffile/-nexusfile from the same deviates */
static void run_case(const ref_case *c, int split)
{
    const size_t npix = (size_t)c->fpixels * (size_t)c->spixels;
    size_t flen = 0, nlen = 0;
    float *img = load(c->float_file, &flen);
    unsigned char *smv = load(c->noise_file, &nlen);
    assert_int_equal(flen, npix * sizeof(float));
    assert_int_equal(nlen, SMV_HEADER + npix * sizeof(uint16_t));
    assert_non_null(strstr((const char *)smv, "BYTE_ORDER=little_endian;"));

    uint16_t *want = malloc(npix * sizeof *want);
    uint16_t *got = malloc(npix * sizeof *got);
    assert_non_null(want);
    assert_non_null(got);
    memcpy(want, smv + SMV_HEADER, npix * sizeof *want); /* little-endian host assumed */

    int overloads = -1;
    double photons;
    float *dev = malloc(npix * sizeof *dev);
    assert_non_null(dev);
    if (split) {
        photons = nbcl_noise_poisson(img, c->fpixels, c->spixels, c->roi, c->seed, dev);
        nbcl_noise_from_poisson(dev, c->fpixels, c->spixels, c->roi, c->adc, got, &overloads);
    } else {
        photons = nbcl_noise_image(img, c->fpixels, c->spixels, c->roi, c->seed, c->adc, got,
                                   &overloads);
    }

    size_t differing = 0, first = 0;
    for (size_t i = 0; i < npix; ++i)
        if (got[i] != want[i] && differing++ == 0)
            first = i;
    if (differing)
        fail_msg("%s: %zu of %zu pixels differ; first at fast=%zu slow=%zu: got %u want %u "
                 "(float %.9g)",
                 c->noise_file, differing, npix, first % (size_t)c->fpixels,
                 first / (size_t)c->fpixels, got[first], want[first], (double)img[first]);

    char printed[64];
    snprintf(printed, sizeof printed, "%.0f", photons);
    assert_string_equal(printed, c->photons);
    assert_int_equal(overloads, c->overloads);
    if (split) {
        /* the counts are the reference's noise image less its ADC offset, pixel for pixel,
         * wherever the 16-bit noise image did not clip; 0 outside the ROI */
        nbcl_frame_meta m;
        memset(&m, 0, sizeof m);
        m.fpixels = c->fpixels;
        m.spixels = c->spixels;
        m.saturation = NBCL_COUNTS_SATURATION;
        int32_t *counts = malloc(npix * sizeof *counts);
        assert_non_null(counts);
        nbcl_counts_info ci;
        assert_int_equal(nbcl_frame_counts(&m, img, dev, counts, &ci), NBCL_OK);
        size_t compared = 0, above = 0;
        for (size_t i = 0; i < npix; ++i) {
            int f = (int)(i % (size_t)c->fpixels), sl = (int)(i / (size_t)c->fpixels);
            int in = f >= c->roi[0] && f <= c->roi[1] && sl >= c->roi[2] && sl <= c->roi[3];
            if (!in) {
                assert_int_equal(counts[i], 0);
            } else if (want[i] < 65535) {
                if (counts[i] != (int32_t)want[i] - (int32_t)c->adc)
                    fail_msg("pixel %zu: count %d, noise image %u less ADC %g", i, counts[i],
                             want[i], c->adc);
                compared++;
            } else {
                assert_true(counts[i] >= 65535 - (int32_t)c->adc);
                above++;
            }
        }
        assert_int_equal(above, (size_t)c->overloads);
        assert_true(compared > npix / 4);
        free(counts);
    }
    free(dev);

    free(got);
    free(want);
    free(smv);
    free(img);
}

static void test_noise_plain(void **state)
{
    (void)state;
    run_case(&k_plain, 0);
    run_case(&k_plain, 1);
}

static void test_noise_mosaic_roi_bright(void **state)
{
    (void)state;
    run_case(&k_mosaic_roi, 0);
    run_case(&k_mosaic_roi, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise_plain),
        cmocka_unit_test(test_noise_mosaic_roi_bright),
    };
    return cmocka_run_group_tests_name("noise_ref", tests, NULL, NULL);
}
