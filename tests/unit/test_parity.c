/* Pins every deliberate difference from the reference listed in docs/parity.md. */
#include "nbcl_test.h"
#include "nbcl_scene_internal.h" /* white-box: the scene's fields */

#include <stdio.h>
#include <string.h>

#include "../../cli/args.c" /* white-box: the parser's decisions */
#include "nbcl_rng.h"

static int parse(nbcl_cli *cli, const char *line)
{
    static char buf[8192];
    char *argv[128];
    int argc = 0;
    snprintf(buf, sizeof buf, "nbcl %s", line);
    for (char *t = strtok(buf, " "); t && argc < 127; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    char err[1024];
    return nbcl_cli_parse(argc, argv, cli, err, sizeof err);
}

static nbcl_scene *build(const char *line)
{
    static nbcl_cli cli;
    assert_int_equal(parse(&cli, line), 0);
    nbcl_scene *s = NULL;
    char err[1024];
    nbcl_status st = nbcl_scene_build(&cli.cfg, &s, err, sizeof err);
    if (st != NBCL_OK)
        fail_msg("scene: %s", err);
    return s;
}

#define BASE "-cell 100 100 100 90 90 90 -default_F 1 -detpixels 16 -nodump "

/* P-1: a phi step of exactly 0 is the identity rotation (reference: stale rotation) */
static void parity_phi_zero_identity(void **state)
{
    (void)state;
    nbcl_scene *s = build(BASE "-phi -0.5 -osc 1.5 -phisteps 3 -phistep 0.5");
    assert_int_equal(s->phisteps, 3);
    const double *o = s->orient + 1 * 9; /* phi = 0 */
    for (int i = 0; i < 3; i++) {
        assert_close(o[i], s->a[i], 1e-25, 0);
        assert_close(o[3 + i], s->b[i], 1e-25, 0);
        assert_close(o[6 + i], s->c[i], 1e-25, 0);
    }
    /* and the neighbours are genuinely rotated */
    assert_true(fabs(s->orient[0 * 9 + 1] - s->a[1]) > 1e-12);
    nbcl_scene_destroy(s);
}

/* P-2: -pix0_vector places the first pixel (reference: parsed and ignored) */
static void parity_pix0_vector_used(void **state)
{
    (void)state;
    nbcl_scene *s = build(BASE "-pix0_vector 0.1 0.002 -0.003");
    assert_int_equal(s->convention, NBCL_CONV_CUSTOM);
    assert_close(s->pix0[0], 0.1, 1e-15, 0);
    assert_close(s->pix0[1], 0.002, 1e-15, 0);
    assert_close(s->pix0[2], -0.003, 1e-15, 0);
    nbcl_scene_destroy(s);
}

/* P-3: pivot precedence -pivot > pivot flags > convention (reference: convention always wins) */
static void parity_pivot_precedence(void **state)
{
    (void)state;
    nbcl_scene *s = build(BASE "-xds -pivot beam");
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    nbcl_scene_destroy(s);
    s = build(BASE "-close_distance 100");
    assert_int_equal(s->convention, NBCL_CONV_MOSFLM);
    assert_int_equal(s->pivot, NBCL_PIVOT_SAMPLE);
    nbcl_scene_destroy(s);
    s = build(BASE "-distance 100");
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    nbcl_scene_destroy(s);
    s = build(BASE "-xds");
    assert_int_equal(s->pivot, NBCL_PIVOT_SAMPLE);
    nbcl_scene_destroy(s);
    /* -twotheta alone keeps the MOSFLM beam pivot, as the reference ends up doing */
    s = build(BASE "-twotheta 5");
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    nbcl_scene_destroy(s);
}

/* P-4/P-5: flags match exactly: -misset_seed is not -misset, -twotheta_axis is not -twotheta */
static void parity_exact_flag_matching(void **state)
{
    (void)state;
    nbcl_cli cli;
    assert_int_equal(parse(&cli, BASE "-misset_seed 5 -N 2 -lambda 1"), 0);
    assert_int_equal(cli.cfg.misset_mode, 0);
    assert_int_equal(cli.cfg.misset_seed, 5);
    assert_int_equal(parse(&cli, BASE "-twotheta_axis 0 0 1"), 0);
    assert_close(cli.cfg.twotheta, 0.0, 0, 0);
    assert_int_equal(cli.cfg.convention, NBCL_CONV_CUSTOM);
}

/* P-6: -detector_abs as the last argument is a usage error (reference: segfault) */
static void parity_detector_abs_last(void **state)
{
    (void)state;
    nbcl_cli cli;
    assert_int_equal(parse(&cli, BASE "-detector_abs"), NBCL_EXIT_USAGE);
    assert_int_equal(parse(&cli, BASE "-bogus_flag 3"), NBCL_EXIT_USAGE);
}

/* P-7: the source file's wavelength column is ignored; -lambda rules (reference: uses it) */
static void parity_source_lambda_ignored(void **state)
{
    (void)state;
    char path[4200], line[4400];
    snprintf(path, sizeof path, "%s/src.txt", nbcl_test_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "-10 0 0 1.0 2e-10\n-10 0.05 0 0.5 3e-10\n");
    fclose(f);
    snprintf(line, sizeof line, BASE "-lambda 1.5 -sourcefile %s", path);
    nbcl_scene *s = build(line);
    assert_int_equal(s->sources, 2);
    assert_close(s->source_lambda[0], 1.5e-10, 1e-25, 0);
    assert_close(s->source_lambda[1], 1.5e-10, 1e-25, 0);
    nbcl_scene_destroy(s);
}

/* P-8: -misset random draws a rotation within a 90 degree cap (reference: a cap of 90 radians);
 * the misset seed defaults to the -seed value (reference: the clock) */
static void parity_random_misset(void **state)
{
    (void)state;
    nbcl_cli cli;
    assert_int_equal(parse(&cli, BASE "-seed 77 -misset random"), 0);
    assert_int_equal(cli.cfg.misset_seed, 77);
    nbcl_scene *s = build(BASE "-misset random -misset_seed 77");
    nbcl_rng r;
    nbcl_rng_init(&r, -77);
    double u[9], m[3];
    nbcl_mosaic_rotation_umat(&r, (float)(M_PI / 2.0), u);
    nbcl_umat2misset(u, m);
    for (int i = 0; i < 3; i++)
        assert_close(s->misset_deg[i], m[i] * 180.0 / M_PI, 1e-12, 0);
    /* rotation angle of the drawn matrix is at most 90 degrees */
    double tr = u[0] + u[4] + u[8];
    assert_true(acos((tr - 1) / 2) <= M_PI / 2 + 1e-6);
    nbcl_scene_destroy(s);
}

/* P-9: a -img header's TWOTHETA sets the detector two-theta (reference: read into an unused
 * variable) */
static void parity_img_twotheta(void **state)
{
    (void)state;
    char path[4200], line[4400], err[512];
    snprintf(path, sizeof path, "%s/hdr.img", nbcl_test_tmpdir());
    nbcl_smv_header_info h;
    memset(&h, 0, sizeof h);
    h.fpixels = h.spixels = 8;
    h.pixel_size_mm = 0.1;
    h.distance_mm = 80;
    h.close_distance_mm = 80;
    h.wavelength_A = 1.2;
    h.beam_center_x_mm = 0.4;
    h.beam_center_y_mm = 0.4;
    h.twotheta_deg = 7.5;
    uint16_t pix[64] = {0};
    assert_int_equal(nbcl_write_smv(path, &h, pix, err, sizeof err), NBCL_OK);
    nbcl_cli cli;
    snprintf(line, sizeof line, "-img %s", path);
    assert_int_equal(parse(&cli, line), 0);
    assert_close(cli.cfg.twotheta * 180.0 / M_PI, 7.5, 1e-12, 0);
    assert_close(cli.cfg.distance, 0.080, 1e-15, 0);       /* DISTANCE, not CLOSE_DISTANCE */
    assert_close(cli.cfg.lambda0, 1.2e-10, 1e-22, 0);
    assert_int_equal(cli.cfg.fpixels, 8);
}

/* P-16: -Xclose/-Yclose place the near point exactly like -ORGX/-ORGY (reference: ignored by
 * the geometry) */
static void parity_xclose_like_orgx(void **state)
{
    (void)state;
    nbcl_scene *a = build(BASE "-xds -Xclose 1.0 -Yclose 0.7");
    nbcl_scene *b = build(BASE "-xds -ORGX 10.5 -ORGY 7.5");
    for (int i = 0; i < 3; i++)
        assert_close(a->pix0[i], b->pix0[i], 1e-15, 0);
    assert_close(a->ORGX, 10.5, 1e-9, 0);
    assert_close(a->ORGY, 7.5, 1e-9, 0);
    assert_int_equal(a->pivot, NBCL_PIVOT_SAMPLE);
    nbcl_scene_destroy(a);
    nbcl_scene_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parity_phi_zero_identity),
        cmocka_unit_test(parity_pix0_vector_used),
        cmocka_unit_test(parity_pivot_precedence),
        cmocka_unit_test(parity_exact_flag_matching),
        cmocka_unit_test(parity_detector_abs_last),
        cmocka_unit_test(parity_source_lambda_ignored),
        cmocka_unit_test(parity_random_misset),
        cmocka_unit_test(parity_img_twotheta),
        cmocka_unit_test(parity_xclose_like_orgx),
    };
    return cmocka_run_group_tests_name("parity", tests, NULL, NULL);
}
