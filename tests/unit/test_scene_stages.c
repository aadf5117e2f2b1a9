/* Scene stages run alone (engine/src/scene/): each stage on an empty scene, or after only the
 * stages it reads, with values checked against numbers worked out by hand from the reference's
 * rules (spec-a-core). The whole build is checked elsewhere (test_at_geometry, test_parity,
 * the golden set); here a stage's contract is checked in isolation. */
#include "nbcl_test.h"
#include "nbcl_scene_internal.h" /* white-box: the stages and the scene's fields */
#include "render/pack.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#define DEG (M_PI / 180.0)

static char g_err[512];

static nbcl_scene *fresh(void)
{
    nbcl_scene *s = nbcl__scene_new();
    assert_non_null(s);
    g_err[0] = '\0';
    return s;
}

#define RUN(stage, cfg, s) assert_int_equal(stage(cfg, s, g_err, sizeof g_err), NBCL_OK)

/* the reference's order of decisions is the table's order */
static void test_stage_order(void **state)
{
    (void)state;
    static const char *const want[] = {
        "inputs", "detector_size", "beam_intensity", "beam_centre", "phi_steps", "divergence",
        "detector_thickness", "mosaic", "detector_geometry", "interpolation", "crystal",
        "crystal_size", "oversample", "structure_factors", "sources", "orientations",
        "normalisation", "roi_mask", "output_params"};
    assert_int_equal(nbcl__scene_stage_count, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < nbcl__scene_stage_count; i++) {
        assert_string_equal(nbcl__scene_stages[i].name, want[i]);
        assert_non_null(nbcl__scene_stages[i].run);
    }
}

/* -detpixels wins over -detsize; the count is the size / pixel rounded half down */
static void test_detector_size(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.pixel_size = 0.1e-3;
    c.detsize_f = 10.24e-3; /* 102.4 pixels: ceil(102.4 - 0.5) = 102 */
    c.detsize_s = 10.26e-3; /* 102.6 pixels: 103 */
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_detector_size, &c, s);
    assert_int_equal(s->fpixels, 102);
    assert_int_equal(s->spixels, 103);
    assert_close(s->detsize_f, 10.24e-3, 0, 1e-15);
    c.fpixels = 64; /* -detpixels_x: the size follows */
    RUN(nbcl__stage_detector_size, &c, s);
    assert_int_equal(s->fpixels, 64);
    assert_close(s->detsize_f, 6.4e-3, 0, 1e-15);
    c.detsize_f = 0.01e-3; /* with no count given, a size under half a pixel has no pixels */
    c.fpixels = 0;
    assert_int_equal(nbcl__stage_detector_size(&c, s, g_err, sizeof g_err),
                     NBCL_INVALID_ARGUMENT);
    assert_non_null(strstr(g_err, "no pixels"));
    nbcl_scene_destroy(s);
}

/* MOSFLM defaults: beam centre (detsize + pixel)/2, moved half a pixel onto the detector's
 * axes; the convention's axes and the beam pivot */
static void test_beam_centre_mosflm(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.detsize_f = c.detsize_s = 10e-3;
    c.pixel_size = 0.1e-3;
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_detector_size, &c, s);
    RUN(nbcl__stage_beam_centre, &c, s);
    assert_close(s->Xbeam, 5.05e-3, 0, 1e-14);
    assert_close(s->Ybeam, 5.05e-3, 0, 1e-14);
    assert_close(s->Fbeam, 5.10e-3, 0, 1e-14); /* Ybeam + pixel/2 */
    assert_close(s->Sbeam, 5.10e-3, 0, 1e-14); /* Xbeam + pixel/2 */
    const double beam[3] = {1, 0, 0}, fdet[3] = {0, 0, 1}, sdet[3] = {0, -1, 0};
    for (int i = 0; i < 3; i++) {
        assert_true(s->beam[i] == beam[i]);
        assert_true(s->fdet[i] == fdet[i]);
        assert_true(s->sdet[i] == sdet[i]);
        assert_true(s->odet[i] == beam[i]);
    }
    assert_int_equal(s->pivot, NBCL_PIVOT_BEAM);
    /* vert = beam x polar = (1,0,0) x (0,0,1) = (0,-1,0) */
    assert_true(s->vert[0] == 0.0 && s->vert[1] == -1.0 && s->vert[2] == 0.0);
    assert_int_equal(s->log_len, 0); /* nothing to say */
    nbcl_scene_destroy(s);
}

/* -osc 1 -phistep 0.25: four steps; nothing given: one step of nothing */
static void test_phi_steps(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_phi_steps, &c, s);
    assert_int_equal(s->phisteps, 1);
    assert_true(s->osc == 0.0 && s->phistep == 0.0);
    c.osc = 1 * DEG;
    c.phistep = 0.25 * DEG;
    RUN(nbcl__stage_phi_steps, &c, s);
    assert_int_equal(s->phisteps, 4);
    c.phistep = -1; /* -osc alone: two steps of half the range */
    RUN(nbcl__stage_phi_steps, &c, s);
    assert_int_equal(s->phisteps, 2);
    assert_close(s->phistep, 0.5 * DEG, 0, 1e-15);
    nbcl_scene_destroy(s);
}

/* -detector_thick 100um -detector_thicksteps 5: steps of thick/(n-1) = 25 um; no -detector_abs:
 * the attenuation depth is the thickness, with the reference's warning */
static void test_detector_thickness(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.detector_thick = 100e-6;
    c.detector_thicksteps = 5;
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_detector_thickness, &c, s);
    assert_int_equal(s->thicksteps, 5);
    assert_close(s->thickstep, 25e-6, 0, 1e-15);
    assert_close(s->mu, 1e4, 0, 1e-15);
    assert_non_null(s->log);
    assert_non_null(strstr(s->log, "setting detector attenuation depth"));
    nbcl_scene_destroy(s);
}

/* -mosaic 0.5 without -mosaic_domains: upped to 10 domains, with the warning */
static void test_mosaic(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.mosaic_spread = 0.5 * DEG;
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_mosaic, &c, s);
    assert_int_equal(s->mosaic_domains, 10);
    assert_non_null(strstr(s->log, "upping to 10"));
    c.mosaic_spread = 0.0; /* zero spread: one domain whatever was asked */
    c.mosaic_domains = 7;
    RUN(nbcl__stage_mosaic, &c, s);
    assert_int_equal(s->mosaic_domains, 1);
    nbcl_scene_destroy(s);
}

/* a cubic 100 A cell: a = 1e-8 m along x, a* = 0.01 /A, volume 1e6 A^3, angles 90;
 * then a 1 um sample is 100 cells per edge */
static void test_crystal_and_size(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.user_cell = 1;
    c.cell[0] = c.cell[1] = c.cell[2] = 100.0;
    c.cell[3] = c.cell[4] = c.cell[5] = 90 * DEG;
    c.sample_x = c.sample_y = c.sample_z = 1e-6;
    c.beamsize = 1.0; /* no clipping */
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_beam_intensity, &c, s);
    RUN(nbcl__stage_crystal, &c, s);
    assert_close(s->a[0], 1e-8, 0, 1e-12);
    assert_close(s->b[1], 1e-8, 0, 1e-12);
    assert_close(s->c[2], 1e-8, 0, 1e-12);
    assert_close(fabs(s->a[1]) + fabs(s->a[2]), 0, 1e-20, 0);
    assert_close(s->a_star[0], 0.01, 0, 1e-12);
    assert_close(s->V_cell, 1e6, 0, 1e-12);
    for (int i = 0; i < 3; i++) {
        assert_close(s->cell[i], 100.0, 0, 1e-12);
        assert_close(s->cell[3 + i], 90.0, 0, 1e-12);
        assert_close(s->rcell[i], 0.01, 0, 1e-12);
    }
    assert_true(s->misset_deg[0] == 0 && s->misset_deg[1] == 0 && s->misset_deg[2] == 0);
    RUN(nbcl__stage_crystal_size, &c, s);
    assert_true(s->Na == 100 && s->Nb == 100 && s->Nc == 100);
    assert_close(s->xtalsize[0], 1e-6, 0, 1e-12);
    /* the automatic oversampling: 3 x 1 um / (lambda distance / pixel = 1e-7 m) = 30 */
    s->distance = 0.1;
    s->pixel_size = 1e-4;
    RUN(nbcl__stage_oversample, &c, s);
    assert_int_equal(s->recommended_oversample, 30);
    assert_int_equal(s->oversample, 30);
    assert_non_null(strstr(s->log, "auto-selected 30-fold oversampling"));
    assert_close(s->subpixel_size, 1e-4 / 30, 0, 1e-15);
    nbcl_scene_destroy(s);
}

/* a 3 x 1 divergence grid (0.2 mrad in 3 steps: -0.1, 0, +0.1 mrad) at 2 wavelengths
 * (10% dispersion: lambda (1 - 0.05) and (1 + 0.05)): 6 sources, weight 1/6 */
static void test_divergence_and_sources(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.hdivrange = 0.2e-3;
    c.hdivsteps = 3;
    c.dispersion = 0.1;
    c.dispsteps = 2;
    c.round_div = 0;
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_beam_centre, &c, s); /* beam, polarization and vert vectors */
    RUN(nbcl__stage_divergence, &c, s);
    assert_int_equal(s->hdivsteps, 3);
    assert_close(s->hdivstep, 0.1e-3, 0, 1e-15);
    assert_int_equal(s->vdivsteps, 1); /* no vertical divergence: one point at zero */
    assert_true(s->vdivrange == 0.0);
    assert_int_equal(s->dispsteps, 2);
    assert_close(s->dispstep, 0.1, 0, 1e-15);
    RUN(nbcl__stage_sources, &c, s);
    assert_int_equal(s->sources, 6);
    assert_int_equal(s->divsteps, 3);
    assert_close(s->source_lambda[0], 0.95e-10, 0, 1e-14);
    assert_close(s->source_lambda[1], 1.05e-10, 0, 1e-14);
    assert_close(s->source_I[5], 1.0 / 6.0, 0, 1e-15);
    /* the middle of the grid lies on the beam, towards the source: -beam */
    assert_close(s->source_dir[3 * 2 + 0], -1.0, 0, 1e-15);
    /* the first is (-1,0,0) turned by hdiv = -0.1 mrad about vert u = (0,-1,0): its z part is
     * (u x v)_z sin(hdiv) = (-1) sin(-0.1 mrad) = +sin(0.1 mrad), in the x-z plane */
    assert_close(s->source_dir[2], sin(0.1e-3), 0, 1e-9);
    assert_true(s->source_dir[1] == 0.0);
    nbcl_scene_destroy(s);
}

/* -flux 1e12 -exposure 1 -beamsize 0.1mm: fluence = flux exposure / beamsize^2 = 1e20 /m^2; a
 * 0.2 mm high sample is clipped to the beam, with the reference's warning */
static void test_beam_intensity(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.flux = 1e12;
    c.exposure = 1.0;
    c.beamsize = 1e-4;
    c.sample_y = 2e-4;
    c.sample_z = 0.5e-4;
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_beam_intensity, &c, s);
    assert_close(s->fluence, 1e20, 0, 1e-15);
    assert_close(s->flux, 1e12, 0, 1e-15);
    assert_true(s->sample[1] == 1e-4);   /* clipped */
    assert_true(s->sample[2] == 0.5e-4); /* narrower than the beam: kept */
    assert_non_null(strstr(s->log, "clipping sample (0.0002 m high) with beam (0.0001 m)"));
    assert_null(strstr(s->log, "wide"));
    nbcl_scene_destroy(s);
}

/* MOSFLM, 10 mm detector at 100 mm, beam pivot, no rotation: the first pixel lies at
 * pix0 = -Fbeam fdet - Sbeam sdet + distance beam = (0.1, 5.1e-3, -5.1e-3) m; the near point is
 * then the beam spot, ORGX = 5.1 mm / 0.1 mm + 0.5 = 51.5 */
static void test_detector_geometry(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.detsize_f = c.detsize_s = 10e-3;
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_detector_size, &c, s);
    RUN(nbcl__stage_beam_centre, &c, s);
    RUN(nbcl__stage_detector_geometry, &c, s);
    const double pix0[3] = {0.1, 5.1e-3, -5.1e-3};
    for (int i = 0; i < 3; i++)
        assert_close(s->pix0[i], pix0[i], 0, 1e-13);
    assert_close(s->distance, 0.1, 0, 1e-15);
    assert_close(s->close_distance, 0.1, 0, 1e-15);
    assert_close(s->Fclose, 5.1e-3, 0, 1e-13);
    assert_close(s->Sclose, 5.1e-3, 0, 1e-13);
    assert_close(s->ORGX, 51.5, 0, 1e-13);
    assert_close(s->dials_origin[2], -100.0, 0, 1e-13);
    assert_non_null(strstr(s->log, "mosflm convention selected.\n"));
    assert_non_null(strstr(s->log, "pivoting detector around direct beam spot"));
    nbcl_scene_destroy(s);
}

/* automatic interpolation: tricubic when a crystal edge has at most 2 cells (as given by -N,
 * before the sample size), none otherwise */
static void test_interpolation(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.Na = 5;
    c.Nb = 5;
    c.Nc = 2;
    nbcl_scene *s = fresh();
    RUN(nbcl__stage_interpolation, &c, s);
    assert_int_equal(s->interpolate, 1);
    c.Nc = 3;
    RUN(nbcl__stage_interpolation, &c, s);
    assert_int_equal(s->interpolate, 0);
    assert_non_null(strstr(s->log, "auto-selected tricubic"));
    assert_non_null(strstr(s->log, "auto-selected no interpolation"));
    c.interpolate = 0; /* -nointerpolate: no choice, nothing logged */
    size_t len = s->log_len;
    RUN(nbcl__stage_interpolation, &c, s);
    assert_int_equal(s->interpolate, 0);
    assert_int_equal(s->log_len, len);
    nbcl_scene_destroy(s);
}

/* steps = sources x domains x phi steps x oversample^2; scale = r_e^2 fluence / steps */
static void test_normalisation(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    nbcl_scene *s = fresh();
    s->sources = 2;
    s->mosaic_domains = 3;
    s->phisteps = 4;
    s->oversample = 2;
    s->fluence = 1e24;
    RUN(nbcl__stage_normalisation, &c, s);
    assert_int_equal(s->steps, 96);
    assert_close(s->scale, 7.94079248018965e-30 * 1e24 / 96, 0, 1e-15);
    assert_true(s->I_bg == 0.0); /* no water */
    s->oversample = 50000; /* 2*3*4*2.5e9 sub-steps: more than an int counts */
    c.oversample = 50000;
    assert_int_equal(nbcl__stage_normalisation(&c, s, g_err, sizeof g_err),
                     NBCL_INVALID_ARGUMENT);
    assert_non_null(strstr(g_err, "too many sub-steps"));
    nbcl_scene_destroy(s);
}

/* the packed kernel inputs are the scene's values, in the layout's places */
static void test_pack_from_scene(void **state)
{
    (void)state;
    nbcl_config c;
    nbcl_config_init(&c);
    c.user_cell = 1;
    c.cell[0] = c.cell[1] = c.cell[2] = 50.0;
    c.default_F = 7.0;
    c.read_dump = 0; /* never an Fdump.bin of the working directory */
    c.fpixels = c.spixels = 16;
    nbcl_scene *s = NULL;
    assert_int_equal(nbcl_scene_build(&c, &s, g_err, sizeof g_err), NBCL_OK);
    nbcl_kernel_inputs k;
    assert_int_equal(nbcl__pack_kernel_inputs(s, &k), NBCL_OK);
    assert_true(k.P[NBCL_P_DISTANCE] == s->distance);
    assert_true(k.P[NBCL_P_SCALE] == s->scale);
    assert_true(k.P[NBCL_P_DEFAULT_F] == 7.0);
    assert_int_equal(k.IP[NBCL_IP_FPIXELS], 16);
    assert_int_equal(k.IP[NBCL_IP_ROI_XMAX], 16);
    assert_int_equal(k.IP[NBCL_IP_NORIENT], 1);
    assert_int_equal(k.IP[NBCL_IP_HKLS], 0);
    assert_true(k.F == &s->default_F && k.nF == 0);
    assert_int_equal((int)k.nsrc, 1);
    /* the kernel's incident direction is towards the detector: +beam */
    for (int j = 0; j < 3; j++)
        assert_true(k.src[j] == -s->source_dir[j]);
    assert_true(k.src[0] == 1.0 && k.src[3] == 1e-10);
    nbcl__kernel_inputs_free(&k);
    /* the public view says the same */
    nbcl_scene_info info;
    nbcl_scene_get_info(s, &info);
    assert_int_equal(info.fpixels, 16);
    assert_true(info.scale == s->scale && info.steps == s->steps);
    assert_true(info.source_dir == s->source_dir);
    assert_int_equal(info.has_mask, 0);
    int fp = 0, sp = 0, roi[4];
    nbcl_scene_size(s, &fp, &sp);
    nbcl_scene_roi(s, roi);
    assert_true(fp == 16 && sp == 16 && roi[1] == 16 && roi[3] == 16);
    assert_true(nbcl_scene_hkl(s)->count == 0);
    nbcl_scene_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stage_order),
        cmocka_unit_test(test_detector_size),
        cmocka_unit_test(test_beam_centre_mosflm),
        cmocka_unit_test(test_phi_steps),
        cmocka_unit_test(test_detector_thickness),
        cmocka_unit_test(test_mosaic),
        cmocka_unit_test(test_crystal_and_size),
        cmocka_unit_test(test_divergence_and_sources),
        cmocka_unit_test(test_beam_intensity),
        cmocka_unit_test(test_detector_geometry),
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_normalisation),
        cmocka_unit_test(test_pack_from_scene),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
