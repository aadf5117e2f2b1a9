/* Pipeline formats (docs/formats.md): the experiment description from a scene, photon counts,
 * miniCBF and NXmx written and read back, a 4-frame NXmx series written out of order, PNG,
 * format detection, and the safety rules (no file when a write fails or a frame is missing). */
#include "nbcl_test.h"

#include <hdf5.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static nbcl_scene *make_scene(nbcl_convention conv, int fp, int sp, double twotheta_deg)
{
    nbcl_config c;
    nbcl_config_init(&c);
    c.user_cell = 1;
    c.cell[0] = c.cell[1] = c.cell[2] = 100;
    c.cell[3] = c.cell[4] = c.cell[5] = M_PI / 2;
    c.default_F = 100;
    c.read_dump = c.write_dump = 0;
    c.fpixels = fp;
    c.spixels = sp;
    c.pixel_size = 0.172e-3;
    c.distance = 0.08;
    c.lambda0 = 1.2e-10;
    c.convention = conv;
    c.twotheta = twotheta_deg * M_PI / 180;
    c.phi0 = 10 * M_PI / 180;
    c.osc = 0.25 * M_PI / 180;
    nbcl_scene *s = NULL;
    char err[1024];
    if (nbcl_scene_build(&c, &s, err, sizeof err) != NBCL_OK)
        fail_msg("scene: %s", err);
    return s;
}

static double dot(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void path_in_tmp(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", nbcl_test_tmpdir(), name);
}

/* no temporary ".name.tmp.*" left in the scratch directory */
static void assert_no_temporaries(void)
{
    DIR *d = opendir(nbcl_test_tmpdir());
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            fail_msg("temporary file left: %s", e->d_name);
    closedir(d);
}

static void test_meta_mosflm(void **state)
{
    (void)state;
    nbcl_scene *s = make_scene(NBCL_CONV_MOSFLM, 96, 64, 0);
    nbcl_frame_meta m;
    assert_int_equal(nbcl_frame_meta_from_scene(s, &m), NBCL_OK);
    assert_int_equal(m.fpixels, 96);
    assert_int_equal(m.spixels, 64);
    /* MOSFLM default beam: Fbeam = (96 + 1)/2 + 1/2 pixels, Sbeam = (64 + 1)/2 + 1/2 */
    assert_close(m.beam_fast_px, 49.0, 1e-9, 0);
    assert_close(m.beam_slow_px, 33.0, 1e-9, 0);
    assert_close(m.beam_distance, 0.08, 1e-12, 0);
    assert_close(m.close_distance, 0.08, 1e-12, 0);
    assert_int_equal(m.beam_hits, 1);
    /* McStas: fast -x (imgCIF +x), slow -y, corner of the first pixel at (+Fbeam, +Sbeam, d) */
    const double fast[3] = {-1, 0, 0}, slow[3] = {0, -1, 0}, axis[3] = {-1, 0, 0};
    const double origin[3] = {49 * 0.172e-3, 33 * 0.172e-3, 0.08};
    for (int i = 0; i < 3; i++) {
        assert_close(m.mcstas_fast[i], fast[i], 1e-12, 0);
        assert_close(m.mcstas_slow[i], slow[i], 1e-12, 0);
        assert_close(m.mcstas_spindle[i], axis[i], 1e-12, 0);
        assert_close(m.mcstas_origin[i], origin[i], 1e-12, 0);
    }
    assert_close(m.phi_start, 10, 1e-12, 0);
    assert_close(m.osc, 0.25, 1e-12, 0);
    assert_close(m.wavelength, 1.2e-10, 0, 1e-15);
    assert_int_equal(m.thickness_given, 0);
    assert_close(m.thickness, NBCL_DEFAULT_SENSOR_THICKNESS_M, 0, 1e-15);
    nbcl_scene_destroy(s);
}

/* any convention and a two-theta swing: the frame change keeps every angle and length */
static void test_meta_frame_is_a_rotation(void **state)
{
    (void)state;
    const nbcl_convention conv[] = {NBCL_CONV_MOSFLM, NBCL_CONV_XDS, NBCL_CONV_DIALS,
                                    NBCL_CONV_ADXV};
    for (int k = 0; k < 4; k++) {
        nbcl_scene *scene = make_scene(conv[k], 80, 50, k == 1 ? 0 : 20);
        nbcl_frame_meta m;
        assert_int_equal(nbcl_frame_meta_from_scene(scene, &m), NBCL_OK);
        nbcl_scene_info info, *s = &info; /* the geometry as a program sees it */
        nbcl_scene_get_info(scene, &info);
        const double *lab[4] = {s->fdet, s->sdet, s->pix0, s->spindle};
        const double *mc[4] = {m.mcstas_fast, m.mcstas_slow, m.mcstas_origin, m.mcstas_spindle};
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                assert_close(dot(mc[i], mc[j]), dot(lab[i], lab[j]), 1e-15, 1e-12);
        /* the beam is McStas +z; handedness kept: fast x slow along the same side */
        for (int i = 0; i < 4; i++)
            assert_close(mc[i][2], dot(lab[i], s->beam), 1e-15, 1e-12);
        double cf[3] = {m.mcstas_fast[1] * m.mcstas_slow[2] - m.mcstas_fast[2] * m.mcstas_slow[1],
                        m.mcstas_fast[2] * m.mcstas_slow[0] - m.mcstas_fast[0] * m.mcstas_slow[2],
                        m.mcstas_fast[0] * m.mcstas_slow[1] - m.mcstas_fast[1] * m.mcstas_slow[0]};
        double cl[3] = {s->fdet[1] * s->sdet[2] - s->fdet[2] * s->sdet[1],
                        s->fdet[2] * s->sdet[0] - s->fdet[0] * s->sdet[2],
                        s->fdet[0] * s->sdet[1] - s->fdet[1] * s->sdet[0]};
        assert_close(dot(cf, m.mcstas_origin), dot(cl, s->pix0), 1e-15, 1e-12);
        /* the direct beam meets the plane at (beam_fast, beam_slow) pixels */
        double hit[3];
        for (int i = 0; i < 3; i++)
            hit[i] = s->pix0[i] + m.beam_fast_px * s->pixel_size * s->fdet[i] +
                     m.beam_slow_px * s->pixel_size * s->sdet[i];
        double len = sqrt(dot(hit, hit));
        assert_close(len, m.beam_distance, 1e-12, 1e-9);
        assert_close(dot(hit, s->beam) / len, 1.0, 1e-9, 0);
        nbcl_scene_destroy(scene);
    }
}

static void test_counts(void **state)
{
    (void)state;
    nbcl_frame_meta m;
    memset(&m, 0, sizeof m);
    m.fpixels = 4;
    m.spixels = 2;
    m.saturation = 1000;
    float img[8] = {0.49f, 0.5f, 2.5f, -3.0f, NAN, 999.4f, 999.6f, 2e9f};
    unsigned char mask[8] = {1, 1, 1, 1, 1, 1, 1, 0};
    int32_t c[8];
    nbcl_counts_info ci;
    assert_int_equal(nbcl_frame_counts(&m, img, NULL, c, &ci), NBCL_OK);
    const int32_t want[8] = {0, 1, 3, 0, 0, 999, 1000, 1000};
    for (int i = 0; i < 8; i++)
        assert_int_equal(c[i], want[i]);
    assert_int_equal(ci.overloads, 2);
    assert_int_equal(ci.masked, 0);
    m.mask = mask;
    float dev[8] = {0, 1, 2, 3, 4, 5, 1000, 7};
    assert_int_equal(nbcl_frame_counts(&m, img, dev, c, &ci), NBCL_OK);
    const int32_t want2[8] = {0, 1, 2, 3, 4, 5, 1000, NBCL_COUNTS_MASKED};
    for (int i = 0; i < 8; i++)
        assert_int_equal(c[i], want2[i]);
    assert_int_equal(ci.overloads, 1);
    assert_int_equal(ci.masked, 1);
    assert_int_equal(nbcl_frame_counts(&m, NULL, NULL, c, &ci), NBCL_INVALID_ARGUMENT);
}

static int32_t *pattern(int n, int k)
{
    int32_t *c = malloc((size_t)n * sizeof *c);
    for (int i = 0; i < n; i++)
        c[i] = (int32_t)((i * 7919 + k * 104729) % 5000) - (i % 97 == 0 ? 5002 : 0);
    return c;
}

static void test_cbf_roundtrip(void **state)
{
    (void)state;
    const int sizes[2][2] = {{96, 64}, {487, 195}};
    for (int t = 0; t < 2; t++) {
        nbcl_scene *s = make_scene(NBCL_CONV_MOSFLM, sizes[t][0], sizes[t][1], 0);
        nbcl_frame_meta m;
        nbcl_frame_meta_from_scene(s, &m);
        int n = m.fpixels * m.spixels;
        int32_t *c = pattern(n, t);
        char path[4200], err[1024];
        path_in_tmp(path, sizeof path, "rt.cbf");
        if (nbcl_write_cbf(path, &m, c, err, sizeof err) != NBCL_OK)
            fail_msg("%s", err);
        assert_int_equal(nbcl_detect_format(path), NBCL_FORMAT_CBF);
        nbcl_counts_image ci;
        if (nbcl_read_cbf(path, &ci, err, sizeof err) != NBCL_OK)
            fail_msg("%s", err);
        assert_int_equal(ci.fpixels, m.fpixels);
        assert_int_equal(ci.spixels, m.spixels);
        assert_memory_equal(ci.counts, c, (size_t)n * sizeof *c);
        free(ci.counts);
        size_t len;
        char *text = nbcl_test_read_file(path, &len);
        assert_non_null(text);
        assert_non_null(strstr(text, t ? "header_convention PILATUS_1.2"
                                       : "header_convention GENERIC_MINI"));
        const char *lines[] = {"# Pixel_size 172e-6 m x 172e-6 m",
                               "# Silicon sensor, thickness 0.00045 m",
                               "# Count_cutoff 1048575 counts", "# Wavelength 1.2 A",
                               "# Detector_distance 0.08 m", "# Start_angle 10 deg.",
                               "# Angle_increment 0.25 deg.", "x-CBF_BYTE_OFFSET"};
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
            if (!strstr(text, lines[i]))
                fail_msg("CBF header lacks '%s'", lines[i]);
        free(text);
        free(c);
        nbcl_scene_destroy(s);
    }
    assert_no_temporaries();
}

static double read_double_at(hid_t f, const char *ds, int k)
{
    hid_t d = H5Dopen2(f, ds, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t sp = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    double *v = malloc((size_t)n * sizeof *v);
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    double r = v[k];
    free(v);
    H5Sclose(sp);
    H5Dclose(d);
    return r;
}

static void read_str(hid_t f, const char *ds, char *out, size_t n)
{
    hid_t d = H5Dopen2(f, ds, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t t = H5Dget_type(d), mt = H5Tcopy(H5T_C_S1);
    assert_true(H5Tget_size(t) < n);
    H5Tset_size(mt, n);
    memset(out, 0, n);
    H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    H5Tclose(mt);
    H5Tclose(t);
    H5Dclose(d);
}

static void test_nexus_series(void **state)
{
    (void)state;
    nbcl_scene *s = make_scene(NBCL_CONV_MOSFLM, 96, 64, 0);
    nbcl_frame_meta m;
    nbcl_frame_meta_from_scene(s, &m);
    int n = m.fpixels * m.spixels;
    char path[4200], err[1024];
    path_in_tmp(path, sizeof path, "series.nxs");
    nbcl_nexus_opts o = {4, NBCL_NEXUS_DEFLATE, 0};
    nbcl_nexus *w = NULL;
    if (nbcl_nexus_open(path, &m, &o, &w, err, sizeof err) != NBCL_OK)
        fail_msg("%s", err);
    const int order[4] = {2, 0, 3, 1}; /* frames complete in any order */
    for (int i = 0; i < 4; i++) {
        int k = order[i];
        nbcl_frame_meta mk = m;
        mk.phi_start = m.phi_start + k * m.osc;
        int32_t *c = pattern(n, k);
        if (nbcl_nexus_write_frame(w, k, c, &mk, err, sizeof err) != NBCL_OK)
            fail_msg("%s", err);
        free(c);
        struct stat st;
        assert_int_equal(stat(path, &st), -1); /* nothing at the name until the close */
    }
    nbcl_frame_meta other = m;
    other.mcstas_fast[0] = 0.5;
    int32_t *c0 = pattern(n, 0);
    assert_int_equal(nbcl_nexus_write_frame(w, 1, c0, &other, err, sizeof err),
                     NBCL_INVALID_ARGUMENT);
    assert_int_equal(nbcl_nexus_write_frame(w, 4, c0, &m, err, sizeof err),
                     NBCL_INVALID_ARGUMENT);
    free(c0);
    if (nbcl_nexus_close(w, err, sizeof err) != NBCL_OK)
        fail_msg("%s", err);
    assert_int_equal(nbcl_detect_format(path), NBCL_FORMAT_HDF5);
    for (int k = 0; k < 4; k++) {
        nbcl_counts_image ci;
        if (nbcl_read_nexus(path, k, &ci, err, sizeof err) != NBCL_OK)
            fail_msg("%s", err);
        assert_int_equal(ci.nframes, 4);
        assert_int_equal(ci.fpixels, 96);
        int32_t *c = pattern(n, k);
        assert_memory_equal(ci.counts, c, (size_t)n * sizeof *c);
        free(c);
        free(ci.counts);
    }
    nbcl_counts_image none;
    assert_int_not_equal(nbcl_read_nexus(path, 4, &none, err, sizeof err), NBCL_OK);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    for (int k = 0; k < 4; k++) {
        assert_close(read_double_at(f, "/entry/sample/transformations/phi", k), 10 + 0.25 * k,
                     1e-12, 0);
        assert_close(read_double_at(f, "/entry/sample/transformations/phi_end", k),
                     10.25 + 0.25 * k, 1e-12, 0);
    }
    char str[256];
    read_str(f, "/entry/definition", str, sizeof str);
    assert_string_equal(str, "NXmx");
    read_str(f, "/entry/instrument/detector/sensor_material", str, sizeof str);
    assert_string_equal(str, "Si");
    read_str(f, "/entry/sample/depends_on", str, sizeof str);
    assert_string_equal(str, "/entry/sample/transformations/phi");
    assert_close(read_double_at(f, "/entry/instrument/beam/incident_wavelength", 0), 1.2, 1e-12,
                 0);
    assert_close(read_double_at(f, "/entry/instrument/detector/module/module_offset", 0),
                 sqrt(pow(49 * 0.172e-3, 2) + pow(33 * 0.172e-3, 2) + 0.08 * 0.08), 1e-12, 0);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(d);
    hsize_t chunk[3];
    assert_int_equal(H5Pget_chunk(dcpl, 3, chunk), 3);
    assert_int_equal(chunk[0], 1);
    assert_int_equal(chunk[1], 64);
    assert_int_equal(chunk[2], 96);
    assert_true(H5Pget_nfilters(dcpl) >= 2); /* shuffle + deflate */
    H5Pclose(dcpl);
    H5Dclose(d);
    H5Fclose(f);

    /* a frame never written: the file is not kept */
    path_in_tmp(path, sizeof path, "incomplete.nxs");
    assert_int_equal(nbcl_nexus_open(path, &m, &o, &w, err, sizeof err), NBCL_OK);
    int32_t *c = pattern(n, 0);
    assert_int_equal(nbcl_nexus_write_frame(w, 0, c, &m, err, sizeof err), NBCL_OK);
    assert_int_equal(nbcl_nexus_close(w, err, sizeof err), NBCL_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "frame 2 of 4 was never written"));
    struct stat st;
    assert_int_equal(stat(path, &st), -1);
    /* a directory that does not exist: a message, no file */
    path_in_tmp(path, sizeof path, "no/such/dir.nxs");
    assert_int_equal(nbcl_write_nexus(path, &m, c, NULL, err, sizeof err), NBCL_IO);
    assert_non_null(strstr(err, "no/such/dir.nxs"));
    free(c);
    assert_no_temporaries();
    nbcl_scene_destroy(s);
}

static void test_nexus_mask_and_spectrum(void **state)
{
    (void)state;
    nbcl_frame_meta m;
    memset(&m, 0, sizeof m);
    m.fpixels = 5;
    m.spixels = 3;
    m.pixel_size = 1e-4;
    m.wavelength = 1e-10;
    m.saturation = 100;
    m.mcstas_fast[0] = -1;
    m.mcstas_slow[1] = -1;
    m.mcstas_origin[2] = 0.1;
    m.mcstas_spindle[0] = -1;
    unsigned char mask[15];
    for (int i = 0; i < 15; i++)
        mask[i] = i % 4 != 0;
    m.mask = mask;
    double lam[4] = {0.99e-10, 1e-10, 1.01e-10, 1e-10}, wt[4] = {1, 2, 1, 2};
    m.nsources = 4;
    m.source_lambda = lam;
    m.source_weight = wt;
    int32_t c[15] = {0};
    char path[4200], err[1024];
    path_in_tmp(path, sizeof path, "mask.nxs");
    if (nbcl_write_nexus(path, &m, c, NULL, err, sizeof err) != NBCL_OK)
        fail_msg("%s", err);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "/entry/instrument/detector/pixel_mask", H5P_DEFAULT);
    assert_true(d >= 0);
    int32_t pm[15];
    H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, pm);
    for (int i = 0; i < 15; i++)
        assert_int_equal(pm[i], mask[i] ? 0 : 256);
    H5Dclose(d);
    /* the spectrum: three distinct wavelengths, weights summed */
    const char *sw = "/entry/instrument/beam/incident_wavelength_spectrum/weight";
    assert_close(read_double_at(f, sw, 1), 4, 0, 1e-15);
    assert_close(read_double_at(f, "/entry/instrument/beam/incident_wavelength_spectrum/wavelength", 2),
                 1.01, 1e-12, 0);
    H5Fclose(f);
}

static void test_png_and_detection(void **state)
{
    (void)state;
    uint8_t pix[7 * 5];
    for (int i = 0; i < 35; i++)
        pix[i] = (uint8_t)(i * 7);
    char path[4200], err[1024];
    path_in_tmp(path, sizeof path, "p.png");
    if (nbcl_write_png(path, 7, 5, pix, 1.5, err, sizeof err) != NBCL_OK)
        fail_msg("%s", err);
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&im, path));
    assert_int_equal(im.width, 7);
    assert_int_equal(im.height, 5);
    im.format = PNG_FORMAT_GRAY;
    uint8_t back[35];
    assert_true(png_image_finish_read(&im, NULL, back, 0, NULL));
    assert_memory_equal(back, pix, 35);
    assert_int_equal(nbcl_detect_format(path), NBCL_FORMAT_UNKNOWN);
    path_in_tmp(path, sizeof path, "none/p.png");
    assert_int_equal(nbcl_write_png(path, 7, 5, pix, 1.5, err, sizeof err), NBCL_IO);
    assert_int_equal(nbcl_detect_format(path), NBCL_FORMAT_UNKNOWN);
    assert_no_temporaries();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_mosflm),
        cmocka_unit_test(test_meta_frame_is_a_rotation),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_cbf_roundtrip),
        cmocka_unit_test(test_nexus_series),
        cmocka_unit_test(test_nexus_mask_and_spectrum),
        cmocka_unit_test(test_png_and_detection),
    };
    return cmocka_run_group_tests_name("formats", tests, NULL, NULL);
}
