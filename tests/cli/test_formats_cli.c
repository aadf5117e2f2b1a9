/* nbcl -cbffile/-nexusfile/-pngfile (docs/formats.md): the files hold the noise image less its
 * ADC offset (or the rounded float image with -nonoise), masked pixels marked, the PNG holds the
 * PGM's pixels; nbcl-compare reads CBF and NXmx. Needs an OpenCL device (PoCL in CI). */
#define _DEFAULT_SOURCE /* mknod, makedev */
#include "nbcl_test.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define W 40
#define H 24
#define BASE                                                                                 \
    "-cell 100 100 100 90 90 90 -lambda 1.2 -N 5 -default_F 100 -distance 60 -pixel 0.172 "  \
    "-detpixels_f 40 -detpixels_s 24 -oversample 1 -noprogress -seed 11 "

static char g_dir[1024];

static void nbcl_in_dir(const char *args, int want_rc)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' " BASE "%s > out.txt 2> err.txt", g_dir,
             nbcl_test_bin("nbcl"), args);
    int rc = nbcl_test_run(cmd);
    if (rc != want_rc) {
        char p[1200];
        snprintf(p, sizeof p, "%s/err.txt", g_dir);
        char *e = nbcl_test_read_file(p, NULL);
        fail_msg("nbcl %s: exit %d, expected %d: %s", args, rc, want_rc, e ? e : "");
    }
}

static char *in_dir(const char *name)
{
    static char p[4][1200];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", g_dir, name);
    return p[k];
}

static int32_t *read_counts(const char *name, int cbf)
{
    nbcl_counts_image ci;
    char err[1024];
    nbcl_status st = cbf ? nbcl_read_cbf(in_dir(name), &ci, err, sizeof err)
                         : nbcl_read_nexus(in_dir(name), 0, &ci, err, sizeof err);
    if (st != NBCL_OK)
        fail_msg("%s", err);
    assert_int_equal(ci.fpixels, W);
    assert_int_equal(ci.spixels, H);
    return ci.counts;
}

static int group_setup(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        return 0;
    snprintf(g_dir, sizeof g_dir, "%s/fmt", nbcl_test_tmpdir());
    mkdir(g_dir, 0755);
    return 0;
}

static void test_noise_counts_and_png(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        skip();
    nbcl_in_dir("-floatfile f.bin -intfile i.img -noisefile n.img -pgmfile p.pgm -adc 25 "
                "-cbffile c.cbf -nexusfile x.nxs -pngfile p.png",
                0);
    nbcl_smv noise;
    char err[1024];
    assert_int_equal(nbcl_read_smv(in_dir("n.img"), &noise, err, sizeof err), NBCL_OK);
    int32_t *c = read_counts("c.cbf", 1), *x = read_counts("x.nxs", 0);
    long total = 0;
    for (int i = 0; i < W * H; i++) {
        assert_true(noise.pixels[i] < 65535);
        if (c[i] != (int32_t)noise.pixels[i] - 25)
            fail_msg("pixel %d: CBF %d, noise %u less -adc 25", i, c[i], noise.pixels[i]);
        assert_int_equal(x[i], c[i]);
        total += c[i];
    }
    assert_true(total > 0);
    /* the photon count nbcl printed is the counts' sum */
    char *out = nbcl_test_read_file(in_dir("out.txt"), NULL);
    char want[64];
    snprintf(want, sizeof want, "%ld photons on noise image", total);
    assert_non_null(strstr(out, want));
    free(out);
    nbcl_smv_free(&noise);
    free(c);
    free(x);
    /* the PNG has the PGM's pixels */
    size_t len;
    unsigned char *pgm = nbcl_test_read_file(in_dir("p.pgm"), &len);
    assert_true(len > (size_t)W * H);
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&im, in_dir("p.png")));
    assert_int_equal(im.width, W);
    assert_int_equal(im.height, H);
    im.format = PNG_FORMAT_GRAY;
    unsigned char png[W * H];
    assert_true(png_image_finish_read(&im, NULL, png, 0, NULL));
    assert_memory_equal(png, pgm + len - (size_t)W * H, (size_t)W * H);
    free(pgm);
}

static void test_rounded_and_masked(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        skip();
    /* a mask (SMV, 0 = skip) with the detector's geometry */
    uint16_t m[W * H];
    for (int i = 0; i < W * H; i++)
        m[i] = (i % 5 == 0) ? 0 : 1;
    nbcl_smv_header_info h;
    memset(&h, 0, sizeof h);
    h.fpixels = W;
    h.spixels = H;
    h.pixel_size_mm = 0.172;
    h.distance_mm = 60;
    h.wavelength_A = 1.2;
    h.close_distance_mm = 60;
    h.beam_center_x_mm = h.beam_center_y_mm = 2.0;
    h.orgx = h.orgy = 12;
    char err[1024];
    assert_int_equal(nbcl_write_smv(in_dir("mask.img"), &h, m, err, sizeof err), NBCL_OK);
    nbcl_in_dir("-nonoise -nopgm -mask mask.img -floatfile f.bin -intfile i.img -cbffile c.cbf "
                "-nexusfile x.nxs",
                0);
    size_t n;
    float *f = NULL;
    assert_int_equal(nbcl_read_float(in_dir("f.bin"), &f, &n, err, sizeof err), NBCL_OK);
    assert_int_equal(n, W * H);
    int32_t *c = read_counts("c.cbf", 1), *x = read_counts("x.nxs", 0);
    for (int i = 0; i < W * H; i++) {
        int32_t want = m[i] ? (int32_t)floor(f[i] + 0.5) : NBCL_COUNTS_MASKED;
        if (c[i] != want)
            fail_msg("pixel %d: CBF %d, expected %d (float %g, mask %u)", i, c[i], want, f[i],
                     m[i]);
        assert_int_equal(x[i], want);
    }
    free(c);
    free(x);
    free(f);
}

static void test_compare_reads_cbf_and_nexus(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        skip();
    nbcl_in_dir("-nonoise -nopgm -floatfile f.bin -intfile i.img -cbffile c.cbf -nexusfile x.nxs",
                0);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' c.cbf x.nxs --host --json > cmp.json", g_dir,
             nbcl_test_bin("nbcl-compare"));
    assert_int_equal(nbcl_test_run(cmd), 0);
    char *j = nbcl_test_read_file(in_dir("cmp.json"), NULL);
    assert_non_null(strstr(j, "\"format_a\": \"cbf\""));
    assert_non_null(strstr(j, "\"format_b\": \"nxmx\""));
    assert_non_null(strstr(j, "\"max_abs_diff\": 0"));
    free(j);
    /* the rounded counts against the float image they came from: within half a count */
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' x.nxs f.bin --host --json > cmp2.json", g_dir,
             nbcl_test_bin("nbcl-compare"));
    assert_int_equal(nbcl_test_run(cmd), 0);
    j = nbcl_test_read_file(in_dir("cmp2.json"), NULL);
    char *p = strstr(j, "\"max_abs_diff\": ");
    assert_non_null(p);
    assert_true(atof(p + 16) <= 0.5);
    free(j);
    /* a frame the file does not hold */
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' x.nxs c.cbf --frame 2 --host 2> cmp.err", g_dir,
             nbcl_test_bin("nbcl-compare"));
    assert_int_equal(nbcl_test_run(cmd), 3);
    j = nbcl_test_read_file(in_dir("cmp.err"), NULL);
    assert_non_null(strstr(j, "no frame 2"));
    free(j);
    /* the other formats hold one frame: --frame does not apply to them (nbcl-compare --help) */
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' c.cbf c.cbf --frame 5 --host --json > cmp3.json",
             g_dir, nbcl_test_bin("nbcl-compare"));
    assert_int_equal(nbcl_test_run(cmd), 0);
    j = nbcl_test_read_file(in_dir("cmp3.json"), NULL);
    assert_non_null(strstr(j, "\"max_abs_diff\": 0"));
    free(j);
}

/* an NXmx file cannot be a character device or FIFO (HDF5 seeks): refused before any work */
static void test_nexus_not_to_a_device(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        skip();
    char dev[1200];
    snprintf(dev, sizeof dev, "%s/nulldev", g_dir);
    unlink(dev);
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) != 0)
        skip(); /* not root: no device node to test with */
    nbcl_in_dir("-nonoise -nopgm -floatfile f2.bin -intfile i2.img -nexusfile nulldev", 6);
    char *e = nbcl_test_read_file(in_dir("err.txt"), NULL);
    assert_non_null(strstr(e, "must be a regular file"));
    free(e);
    struct stat st;
    assert_int_equal(lstat(dev, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    struct stat none;
    assert_int_equal(stat(in_dir("f2.bin"), &none), -1); /* nothing written */
    unlink(dev);
}

/* frame k of NXmx file `name` (0-based), checked to hold `nframes` frames */
static int32_t *read_nexus_frame(const char *name, int k, int nframes)
{
    nbcl_counts_image ci;
    char err[1024];
    if (nbcl_read_nexus(in_dir(name), k, &ci, err, sizeof err) != NBCL_OK)
        fail_msg("%s", err);
    assert_int_equal(ci.nframes, nframes);
    assert_int_equal(ci.fpixels, W);
    assert_int_equal(ci.spixels, H);
    return ci.counts;
}

static void assert_counts_equal(int32_t *a, int32_t *b)
{
    assert_memory_equal(a, b, sizeof(int32_t) * W * H);
    free(a);
    free(b);
}

static int file_exists(const char *name)
{
    struct stat st;
    return stat(in_dir(name), &st) == 0;
}

/* a 4-frame series (-nframes): one CBF per frame and one NXmx file, each frame equal to the
 * single run of that frame (its phi, its seed) */
static void test_series_cbf_and_nexus(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        skip();
    nbcl_in_dir("-nframes 4 -phi 0 -osc 0.5 -nopgm -floatfile sf_#.bin -intfile si_#.img "
                "-noisefile sn_#.img -cbffile sc_#.cbf -nexusfile ss.nxs",
                0);
    for (int k = 1; k <= 4; k++) {
        char args[1024];
        snprintf(args, sizeof args,
                 "-seed %ld -phi %g -osc 0.5 -nopgm -floatfile 1f.bin -intfile 1i.img "
                 "-noisefile 1n.img -cbffile 1c.cbf -nexusfile 1x.nxs",
                 nbcl_frame_seed(11, k), 0.5 * (k - 1));
        nbcl_in_dir(args, 0);
        char cbf[64];
        snprintf(cbf, sizeof cbf, "sc_%d.cbf", k);
        assert_counts_equal(read_counts(cbf, 1), read_counts("1c.cbf", 1));
        assert_counts_equal(read_nexus_frame("ss.nxs", k - 1, 4), read_nexus_frame("1x.nxs", 0, 1));
    }
    /* the frames differ (a check that the frame index is not ignored) */
    int32_t *a = read_nexus_frame("ss.nxs", 0, 4), *b = read_nexus_frame("ss.nxs", 3, 4);
    assert_true(memcmp(a, b, sizeof(int32_t) * W * H) != 0);
    /* -frames 2 3: a file of those two frames, equal to frames 2 and 3 of the whole series */
    nbcl_in_dir("-nframes 4 -frames 2 3 -phi 0 -osc 0.5 -nopgm -floatfile tf_#.bin "
                "-intfile ti_#.img -noisefile tn_#.img -nexusfile part.nxs",
                0);
    assert_counts_equal(read_nexus_frame("part.nxs", 0, 2), read_nexus_frame("ss.nxs", 1, 4));
    assert_counts_equal(read_nexus_frame("part.nxs", 1, 2), read_nexus_frame("ss.nxs", 2, 4));
    free(a);
    free(b);
    /* -resume: complete CBFs are kept, a missing one is rendered again */
    assert_int_equal(unlink(in_dir("sc_3.cbf")), 0);
    nbcl_in_dir("-nframes 4 -phi 0 -osc 0.5 -nopgm -nonoise -floatfile sf_#.bin -intfile si_#.img "
                "-cbffile sc_#.cbf -resume",
                0);
    char *o = nbcl_test_read_file(in_dir("out.txt"), NULL);
    assert_non_null(strstr(o, "3 already complete"));
    free(o);
    assert_true(file_exists("sc_3.cbf"));
}

/* refusals: a CBF series without a '#' template; NXmx with -resume (one file for the series) */
static void test_series_refusals(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        skip();
    nbcl_in_dir("-nframes 3 -nopgm -nonoise -floatfile rf_#.bin -intfile ri_#.img "
                "-cbffile plain.cbf",
                2);
    char *e = nbcl_test_read_file(in_dir("err.txt"), NULL);
    assert_non_null(strstr(e, "-cbffile 'plain.cbf'"));
    free(e);
    nbcl_in_dir("-nframes 3 -nopgm -nonoise -floatfile rf_#.bin -intfile ri_#.img "
                "-nexusfile r.nxs -resume",
                2);
    e = nbcl_test_read_file(in_dir("err.txt"), NULL);
    assert_non_null(strstr(e, "-nexusfile with -resume"));
    free(e);
    assert_false(file_exists("plain.cbf"));
    assert_false(file_exists("r.nxs"));
    assert_false(file_exists("rf_1.bin"));
}

/* a series that fails at frame 3 (its CBF name is a directory): exit 6, the CBFs of frames 1
 * and 2 are whole, no NXmx file and no temporary file is left */
static void test_series_failure_leaves_no_nexus(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        skip();
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/fail' && mkdir -p '%s/fail/c_3.cbf'", g_dir, g_dir);
    assert_int_equal(nbcl_test_run(cmd), 0);
    nbcl_in_dir("-nframes 4 -osc 0.5 -nopgm -nonoise -floatfile fail/f_#.bin -intfile fail/i_#.img "
                "-cbffile fail/c_#.cbf -nexusfile fail/s.nxs",
                6);
    char *e = nbcl_test_read_file(in_dir("err.txt"), NULL);
    assert_non_null(strstr(e, "c_3.cbf"));
    free(e);
    free(read_counts("fail/c_1.cbf", 1));
    free(read_counts("fail/c_2.cbf", 1));
    assert_false(file_exists("fail/s.nxs"));
    assert_false(file_exists("fail/c_4.cbf"));
    /* what is there: 2 frames of 3 files and the directory, nothing else */
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s/fail' | wc -l) -eq 7", g_dir);
    assert_int_equal(nbcl_test_run(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise_counts_and_png),
        cmocka_unit_test(test_rounded_and_masked),
        cmocka_unit_test(test_compare_reads_cbf_and_nexus),
        cmocka_unit_test(test_nexus_not_to_a_device),
        cmocka_unit_test(test_series_cbf_and_nexus),
        cmocka_unit_test(test_series_refusals),
        cmocka_unit_test(test_series_failure_leaves_no_nexus),
    };
    return cmocka_run_group_tests_name("formats_cli", tests, group_setup, NULL);
}
