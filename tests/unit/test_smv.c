/* SMV writer and header reader: byte-exact header against the reference (golden p01), padding,
 * byte order, round trip, key lookup, rejection of non-SMV and truncated files. */
#include "nbcl_test.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_err[1024];

static const char *tmp_path(const char *name)
{
    static char buf[4][4096];
    static int slot;
    char *p = buf[slot++ & 3];
    snprintf(p, 4096, "%s/%s", nbcl_test_tmpdir(), name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int host_le(void)
{
    uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* A full SMV file from header text (padded to hb bytes) and raw pixel bytes. */
static void write_smv_raw(const char *path, const char *header, size_t hb, const void *pix,
                          size_t pixbytes)
{
    size_t hl = strlen(header);
    assert_true(hl <= hb);
    unsigned char *buf = malloc(hb + pixbytes);
    assert_non_null(buf);
    memcpy(buf, header, hl);
    memset(buf + hl, ' ', hb - hl);
    if (pixbytes)
        memcpy(buf + hb, pix, pixbytes);
    write_bytes(path, buf, hb + pixbytes);
    free(buf);
}

static void sample_info(nbcl_smv_header_info *h, int fp, int sp)
{
    memset(h, 0, sizeof *h);
    h->fpixels = fp;
    h->spixels = sp;
    h->pixel_size_mm = 0.1;
    h->distance_mm = 100;
    h->close_distance_mm = 100;
    h->wavelength_A = 1;
    h->beam_center_x_mm = 12.85;
    h->beam_center_y_mm = 12.85;
    h->adxv_x_mm = 12.9;
    h->adxv_y_mm = 12.7;
    h->mosflm_x_mm = 12.85;
    h->mosflm_y_mm = 12.85;
    h->denzo_x_mm = 12.9;
    h->denzo_y_mm = 12.9;
    h->dials_origin_mm[0] = -12.9;
    h->dials_origin_mm[1] = 12.9;
    h->dials_origin_mm[2] = -100;
    h->orgx = 129.5;
    h->orgy = 129.5;
    h->phi_deg = 0;
    h->osc_start_deg = 0;
    h->osc_range_deg = 0.5;
    h->twotheta_deg = 5;
}

/* ---- the reference's own file: header reproduced from the values it printed on stdout */

static const char *find_after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p)
        fail_msg("stdout.txt: '%s' not found", key);
    return p + strlen(key);
}

static void test_golden_p01(void **state)
{
    (void)state;
    const char *gd = nbcl_test_golden_dir();
    if (!gd)
        skip();
    char path[4200];
    snprintf(path, sizeof path, "%s/p01_cubic_defaultF/stdout.txt", gd);
    char *out = nbcl_test_read_file(path, NULL);
    if (!out)
        skip();

    double distance, detsize_f, detsize_s, pixel, lambda0, Xbeam, Ybeam, Fbeam, Sbeam, Fclose,
        Sclose, dials[3], phi_start, phi_end;
    int fp, sp;
    assert_int_equal(sscanf(find_after(out, "  distance="),
                            "%lg detsize=%lgx%lg  pixel=%lg meters (%dx%d", &distance, &detsize_f,
                            &detsize_s, &pixel, &fp, &sp),
                     6);
    assert_int_equal(sscanf(find_after(out, "lambda0 = "), "%lg", &lambda0), 1);
    assert_int_equal(sscanf(find_after(out, "  Xbeam="), "%lg Ybeam=%lg", &Xbeam, &Ybeam), 2);
    assert_int_equal(sscanf(find_after(out, "  Fbeam="), "%lg Sbeam=%lg", &Fbeam, &Sbeam), 2);
    assert_int_equal(sscanf(find_after(out, "  Fclose="), "%lg Sclose=%lg", &Fclose, &Sclose), 2);
    assert_int_equal(sscanf(find_after(out, "dials origin="), "%lg %lg %lg", &dials[0], &dials[1],
                            &dials[2]),
                     3);
    assert_int_equal(sscanf(find_after(out, " phi steps from "), "%lg to %lg", &phi_start,
                            &phi_end),
                     2);
    free(out);
    (void)detsize_f;

    /* The reference's SMV block (values in mm / Angstrom / degrees). p01 has no detector
     * rotation or two-theta, so close_distance == distance and TWOTHETA = 0. */
    nbcl_smv_header_info h;
    memset(&h, 0, sizeof h);
    h.fpixels = fp;
    h.spixels = sp;
    h.pixel_size_mm = pixel * 1000.0;
    h.distance_mm = distance * 1000.0;
    h.close_distance_mm = distance * 1000.0;
    h.wavelength_A = lambda0 * 1e10;
    h.beam_center_x_mm = Xbeam * 1000.0;
    h.beam_center_y_mm = Ybeam * 1000;
    h.adxv_x_mm = Fbeam * 1000.0;
    h.adxv_y_mm = (detsize_s - Sbeam) * 1000;
    h.mosflm_x_mm = (Sbeam - 0.5 * pixel) * 1000.0;
    h.mosflm_y_mm = (Fbeam - 0.5 * pixel) * 1000;
    h.denzo_x_mm = Sbeam * 1000.0;
    h.denzo_y_mm = Fbeam * 1000;
    h.dials_origin_mm[0] = dials[0];
    h.dials_origin_mm[1] = dials[1];
    h.dials_origin_mm[2] = dials[2];
    h.orgx = Fclose / pixel + 0.5;
    h.orgy = Sclose / pixel + 0.5;
    h.phi_deg = phi_start;
    h.osc_start_deg = phi_start;
    h.osc_range_deg = phi_end - phi_start;
    h.twotheta_deg = 0;

    /* pixels from the golden file itself, so the whole file must come out identical */
    snprintf(path, sizeof path, "%s/p01_cubic_defaultF/int.img", gd);
    nbcl_smv ref;
    assert_int_equal(nbcl_read_smv(path, &ref, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(ref.width, fp);
    assert_int_equal(ref.height, sp);
    assert_int_equal(ref.header_bytes, 512);

    const char *mine = tmp_path("p01_int.img");
    assert_int_equal(nbcl_write_smv(mine, &h, ref.pixels, g_err, sizeof g_err), NBCL_OK);
    size_t la = 0, lb = 0;
    unsigned char *a = nbcl_test_read_file(mine, &la);
    unsigned char *b = nbcl_test_read_file(path, &lb);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(la >= 512 && lb >= 512);
    if (memcmp(a, b, 512) != 0) {
        size_t i = 0;
        while (a[i] == b[i])
            i++;
        fail_msg("header differs at byte %zu:\nours:\n%.512s\nreference:\n%.512s", i, (char *)a,
                 (char *)b);
    }
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    nbcl_smv_free(&ref);
}

/* ---- layout */

static void test_padding_and_byte_order(void **state)
{
    (void)state;
    nbcl_smv_header_info h;
    sample_info(&h, 3, 2);
    const uint16_t pix[6] = {0x1234, 0, 1, 65535, 0xABCD, 7};
    const char *p = tmp_path("layout.img");
    assert_int_equal(nbcl_write_smv(p, &h, pix, g_err, sizeof g_err), NBCL_OK);
    size_t len = 0;
    unsigned char *d = nbcl_test_read_file(p, &len);
    assert_non_null(d);
    assert_int_equal(len, 512 + 6 * 2);
    assert_memory_equal(d, "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=", 38);
    /* "}\f" then spaces up to byte 512 */
    char *close = strstr((char *)d, "BEAMLINE=fake;\n}\f");
    assert_non_null(close);
    size_t end = (size_t)(close - (char *)d) + strlen("BEAMLINE=fake;\n}\f");
    assert_true(end <= 512);
    for (size_t i = end; i < 512; i++)
        assert_int_equal(d[i], ' ');
    assert_non_null(strstr((char *)d, "DIALS_ORIGIN=-12.9,12.9,-100\nXDS_ORGX=129.5;\n"));
    assert_non_null(strstr((char *)d, "SIZE1=3;\nSIZE2=2;\n"));
    assert_non_null(strstr((char *)d, "OSC_RANGE=0.5;\nTWOTHETA=5;\n"));
    if (host_le()) {
        assert_non_null(strstr((char *)d, "BYTE_ORDER=little_endian;\n"));
        /* pixels little-endian, fast-major */
        const unsigned char expect[12] = {0x34, 0x12, 0, 0, 1, 0, 0xff, 0xff, 0xcd, 0xab, 7, 0};
        assert_memory_equal(d + 512, expect, 12);
    } else {
        assert_non_null(strstr((char *)d, "BYTE_ORDER=big_endian;\n"));
    }
    free(d);
}

static void test_roundtrip(void **state)
{
    (void)state;
    enum { W = 17, H = 5 };
    uint16_t pix[W * H];
    for (int i = 0; i < W * H; i++)
        pix[i] = (uint16_t)(i * 771 + 3);
    nbcl_smv_header_info h;
    sample_info(&h, W, H);
    const char *p = tmp_path("rt.img");
    assert_int_equal(nbcl_write_smv(p, &h, pix, g_err, sizeof g_err), NBCL_OK);
    nbcl_smv s;
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(s.width, W);
    assert_int_equal(s.height, H);
    assert_int_equal(s.header_bytes, 512);
    assert_int_equal(s.swap, 0);
    assert_int_equal(strlen(s.header), 512);
    assert_memory_equal(s.pixels, pix, sizeof pix);
    assert_close(nbcl_smv_value(&s, "PIXEL_SIZE"), 0.1, 0, 1e-12);
    assert_close(nbcl_smv_value(&s, "WAVELENGTH"), 1.0, 0, 1e-12);
    assert_close(nbcl_smv_value(&s, "BEAM_CENTER_Y"), 12.85, 0, 1e-12);
    assert_close(nbcl_smv_value(&s, "XDS_ORGX"), 129.5, 0, 1e-12);
    assert_close(nbcl_smv_value(&s, "TWOTHETA"), 5, 0, 1e-12);
    assert_close(nbcl_smv_value(&s, "DIALS_ORIGIN"), -12.9, 0, 1e-12);
    assert_true(isnan(nbcl_smv_value(&s, "NO_SUCH_KEY")));
    nbcl_smv_free(&s);
    assert_null(s.header);
    assert_null(s.pixels);
    nbcl_smv_free(NULL);
}

static void test_long_header_grows(void **state)
{
    (void)state;
    nbcl_smv_header_info h;
    sample_info(&h, 2, 2);
    /* every number printed with 12 characters: the reference's header would overflow 512 */
    double *vals[] = {&h.pixel_size_mm,    &h.distance_mm,  &h.close_distance_mm, &h.wavelength_A,
                      &h.beam_center_x_mm, &h.beam_center_y_mm, &h.adxv_x_mm,     &h.adxv_y_mm,
                      &h.mosflm_x_mm,      &h.mosflm_y_mm,  &h.denzo_x_mm,       &h.denzo_y_mm,
                      &h.dials_origin_mm[0], &h.dials_origin_mm[1], &h.dials_origin_mm[2],
                      &h.orgx,             &h.orgy,         &h.phi_deg,          &h.osc_start_deg,
                      &h.osc_range_deg,    &h.twotheta_deg};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        *vals[i] = -1.23456789e-5;
    const uint16_t pix[4] = {1, 2, 3, 4};
    const char *p = tmp_path("long.img");
    assert_int_equal(nbcl_write_smv(p, &h, pix, g_err, sizeof g_err), NBCL_OK);
    size_t len = 0;
    char *d = nbcl_test_read_file(p, &len);
    assert_non_null(d);
    assert_int_equal(len, 1024 + 8);
    assert_memory_equal(d, "{\nHEADER_BYTES=1024;\n", 21);
    free(d);
    nbcl_smv s;
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(s.header_bytes, 1024);
    assert_memory_equal(s.pixels, pix, sizeof pix);
    assert_close(nbcl_smv_value(&s, "TWOTHETA"), -1.23457e-5, 0, 1e-12);
    nbcl_smv_free(&s);
}

static void test_c_locale(void **state)
{
    (void)state;
    static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8",
                                  "de_DE", "fr_FR", "ru_RU.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (!got)
        skip(); /* no comma-decimal locale installed */
    nbcl_smv_header_info h;
    sample_info(&h, 2, 1);
    const uint16_t pix[2] = {0, 0};
    const char *p = tmp_path("locale.img");
    nbcl_status st = nbcl_write_smv(p, &h, pix, g_err, sizeof g_err);
    nbcl_smv s;
    nbcl_status st2 = nbcl_read_smv(p, &s, g_err, sizeof g_err);
    double ps = (st2 == NBCL_OK) ? nbcl_smv_value(&s, "PIXEL_SIZE") : NAN;
    char *d = nbcl_test_read_file(p, NULL);
    setlocale(LC_NUMERIC, "C");
    assert_int_equal(st, NBCL_OK);
    assert_int_equal(st2, NBCL_OK);
    assert_non_null(d);
    assert_non_null(strstr(d, "PIXEL_SIZE=0.1;\n"));
    assert_close(ps, 0.1, 0, 1e-12);
    free(d);
    nbcl_smv_free(&s);
}

/* ---- reading foreign headers */

static void test_value_lookup(void **state)
{
    (void)state;
    const char *hdr = "{\nHEADER_BYTES=  512;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                      "TYPE=unsigned_short;\nSIZE1=2;\nSIZE2=1;\nPIXEL_SIZE=0.1;\n"
                      "DISTANCE=250;\nXDS_ORGX=10.5;\nPIXEL_SIZE = 0.172;\nCLOSE_DISTANCE=240;\n"
                      "COMMENT=PHI;\nPHI=12.5;\n}\f";
    const unsigned char pix[4] = {1, 0, 2, 0};
    const char *p = tmp_path("lookup.img");
    write_smv_raw(p, hdr, 512, pix, 4);
    nbcl_smv s;
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(s.header_bytes, 512);
    /* last occurrence wins, blanks around '=' allowed */
    assert_close(nbcl_smv_value(&s, "PIXEL_SIZE"), 0.172, 0, 1e-12);
    /* substring semantics as in the reference's ValueOf ... */
    assert_close(nbcl_smv_value(&s, "DISTANCE"), 240, 0, 1e-12);
    assert_close(nbcl_smv_value(&s, "ORGX"), 10.5, 0, 1e-12);
    /* ... and whole-name lookup */
    assert_close(nbcl_smv_value_exact(&s, "DISTANCE"), 250, 0, 1e-12);
    assert_true(isnan(nbcl_smv_value_exact(&s, "ORGX")));
    /* a key appearing as a value is not a key */
    assert_close(nbcl_smv_value(&s, "PHI"), 12.5, 0, 1e-12);
    assert_true(isnan(nbcl_smv_value(&s, "OSC_RANGE")));
    assert_int_equal(s.pixels[0], 1);
    assert_int_equal(s.pixels[1], 2);
    nbcl_smv_free(&s);
}

static void test_big_endian_and_dimensions(void **state)
{
    (void)state;
    const char *hdr = "{\nHEADER_BYTES=1024;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                      "TYPE=unsigned_short;\nDETECTOR_DIMENSIONS=2;\nBYTE_ORDER=big_endian;\n}\f";
    const unsigned char pix[8] = {0x12, 0x34, 0x00, 0x01, 0xff, 0x00, 0xab, 0xcd};
    const char *p = tmp_path("be.img");
    write_smv_raw(p, hdr, 1024, pix, 8);
    nbcl_smv s;
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(s.header_bytes, 1024);
    assert_int_equal(s.width, 2);
    assert_int_equal(s.height, 2);
    assert_int_equal(s.swap, host_le() ? 1 : 0);
    assert_int_equal(s.pixels[0], 0x1234);
    assert_int_equal(s.pixels[1], 0x0001);
    assert_int_equal(s.pixels[2], 0xff00);
    assert_int_equal(s.pixels[3], 0xabcd);
    nbcl_smv_free(&s);
}

static void test_reject(void **state)
{
    (void)state;
    nbcl_smv s;
    /* not SMV at all */
    const char *p = tmp_path("not.img");
    write_bytes(p, "P5\n2 2\n255\n\1\2\3\4", 15);
    g_err[0] = 0;
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "does not look like an SMV/ADSC image"));
    assert_non_null(strstr(g_err, "not.img"));
    assert_null(s.header);
    assert_null(s.pixels);

    /* empty file */
    p = tmp_path("empty.img");
    write_bytes(p, "", 0);
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_PARSE);

    /* truncated pixels */
    nbcl_smv_header_info h;
    sample_info(&h, 8, 8);
    uint16_t pix[64] = {0};
    p = tmp_path("trunc.img");
    assert_int_equal(nbcl_write_smv(p, &h, pix, g_err, sizeof g_err), NBCL_OK);
    size_t len = 0;
    char *d = nbcl_test_read_file(p, &len);
    assert_non_null(d);
    write_bytes(p, d, len - 1);
    g_err[0] = 0;
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "truncated"));
    /* truncated inside the header */
    write_bytes(p, d, 300);
    g_err[0] = 0;
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "truncated"));
    free(d);

    /* unsupported pixel type */
    p = tmp_path("float.img");
    write_smv_raw(p,
                  "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=float;\n"
                  "SIZE1=1;\nSIZE2=1;\n}\f",
                  512, "\0\0\0\0", 4);
    g_err[0] = 0;
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "TYPE"));

    /* no size */
    p = tmp_path("nosize.img");
    write_smv_raw(p, "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n}\f", 512, "\0\0",
                  2);
    assert_int_equal(nbcl_read_smv(p, &s, g_err, sizeof g_err), NBCL_PARSE);

    /* missing file */
    g_err[0] = 0;
    assert_int_equal(nbcl_read_smv(tmp_path("missing.img"), &s, g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "missing.img"));
    assert_non_null(strstr(g_err, "No such file"));

    /* writer arguments */
    assert_int_equal(nbcl_write_smv(tmp_path("x.img"), &h, NULL, g_err, sizeof g_err),
                     NBCL_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_p01),
        cmocka_unit_test(test_padding_and_byte_order),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_long_header_grows),
        cmocka_unit_test(test_c_locale),
        cmocka_unit_test(test_value_lookup),
        cmocka_unit_test(test_big_endian_and_dimensions),
        cmocka_unit_test(test_reject),
    };
    return cmocka_run_group_tests_name("smv", tests, NULL, NULL);
}
