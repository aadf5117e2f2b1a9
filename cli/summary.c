/* The set-up summary nbcl prints: the same facts, in the same order and format, as nanoBragg. */
#include <math.h>
#include <stdio.h>

#include "summary.h"

#define RTD (180.0 / M_PI)

void nbcl_print_summary(FILE *out, const nbcl_scene *scene, int noise)
{
    nbcl_scene_info info, *s = &info;
    nbcl_scene_get_info(scene, &info);
    static const char *conv[] = {"custom", "adxv", "mosflm", "xds", "dials", "denzo"};
    (void)conv;
    fputs("nanoBragg-CL (nbcl) - OpenCL nanocrystal diffraction simulator, after nanoBragg by James "
          "Holton and Ken Frankel\n",
          out);
    if (s->log)
        fputs(s->log, out);
    fprintf(out, "Unit Cell: %g %g %g %g %g %g\n", s->cell[0], s->cell[1], s->cell[2], s->cell[3],
            s->cell[4], s->cell[5]);
    fprintf(out, "Recp Cell: %g %g %g %g %g %g\n", s->rcell[0], s->rcell[1], s->rcell[2],
            s->rcell[3], s->rcell[4], s->rcell[5]);
    fprintf(out, "volume = %g A^3\n", s->V_cell);
    fprintf(out, "real-space cell vectors (Angstrom):\n");
    fprintf(out, "     %-10s  %-10s  %-10s\n", "a", "b", "c");
    for (int i = 0; i < 3; i++)
        fprintf(out, "%c: %11.8f %11.8f %11.8f\n", "XYZ"[i], s->a[i] * 1e10, s->b[i] * 1e10,
                s->c[i] * 1e10);
    fprintf(out, "reciprocal-space cell vectors (Angstrom^-1):\n");
    fprintf(out, "     %-10s  %-10s  %-10s\n", "a_star", "b_star", "c_star");
    for (int i = 0; i < 3; i++)
        fprintf(out, "%c: %11.8f %11.8f %11.8f\n", "XYZ"[i], s->a_star[i], s->b_star[i],
                s->c_star[i]);
    fprintf(out, "crystal is %g x %g x %g microns\n", s->xtalsize[0] * 1e6, s->xtalsize[1] * 1e6,
            s->xtalsize[2] * 1e6);
    for (int t = 0; t < s->thicksteps; t++)
        fprintf(out, "thick%d = %g um\n", t, s->thickstep * t * 1e6);
    for (int p = 0; p < s->phisteps; p++)
        fprintf(out, "phi%d = %g\n", p, (s->phi0 + s->phistep * p) * RTD);
    fprintf(out, "  created a total of %d sources:\n", s->sources);
    for (int i = 0; i < s->sources; i++)
        fprintf(out, "%g %g %g   %g %g\n", s->source_dir[3 * i], s->source_dir[3 * i + 1],
                s->source_dir[3 * i + 2], s->source_I[i], s->source_lambda[i]);
    fprintf(out, "  created a total of %d mosaic domains\n", s->mosaic_domains);
    fprintf(out, "  %zu initialized hkls (all others =%g)\n", s->hkl_count, s->default_F);
    static const char *shape[] = {"parallelpiped", "ellipsoidal", "gaussian", "tophat-spot"};
    fprintf(out, "  %s xtal: %.0fx%.0fx%.0f cells\n", shape[s->shape], s->Na, s->Nb, s->Nc);
    fprintf(out, "  wave=%g meters +/- %g%% in %d steps\n", s->lambda0, s->dispersion * 100,
            s->dispsteps);
    if (s->nopolar)
        fprintf(out, "  polarization effect disabled\n");
    else
        fprintf(out, "  Kahn polarization factor: %f\n", s->polarization);
    if (s->curved_det)
        fprintf(out, "  curved detector: all pixels same distance from origin\n");
    if (s->point_pixel)
        fprintf(out, "  pixel obliquity effect disabled\n");
    fprintf(out, "  incident fluence: %lg photons/m^2\n", s->fluence);
    fprintf(out, "  distance=%lg detsize=%lgx%lg  pixel=%lg meters (%dx%d pixels)\n", s->distance,
            s->detsize_f, s->detsize_s, s->pixel_size, s->fpixels, s->spixels);
    fprintf(out, "  sensor is %lg m thick in %d layers with mu= %lg\n", s->thick, s->thicksteps,
            s->mu);
    fprintf(out, "  Xbeam=%lg Ybeam=%lg\n", s->Xbeam, s->Ybeam);
    fprintf(out, "  Fbeam=%lg Sbeam=%lg\n", s->Fbeam, s->Sbeam);
    fprintf(out, "  Xclose=%lg Yclose=%lg\n", s->Xclose, s->Yclose);
    fprintf(out, "  Fclose=%lg Sclose=%lg\n", s->Fclose, s->Sclose);
    fprintf(out, "  DIRECTION_OF_DETECTOR_X-AXIS= %g %g %g\n", s->fdet[0], s->fdet[1], s->fdet[2]);
    fprintf(out, "  DIRECTION_OF_DETECTOR_Y-AXIS= %g %g %g\n", s->sdet[0], s->sdet[1], s->sdet[2]);
    fprintf(out, "  DIRECTION_OF_DETECTOR_Z-AXIS= %g %g %g\n", s->odet[0], s->odet[1], s->odet[2]);
    fprintf(out, "  INCIDENT_BEAM_DIRECTION= %g %g %g\n", s->beam[0], s->beam[1], s->beam[2]);
    fprintf(out, "  spindle ROTATION_AXIS= %g %g %g\n", s->spindle[0], s->spindle[1], s->spindle[2]);
    {
        double v[3] = {s->beam[1] * s->polar_vector[2] - s->beam[2] * s->polar_vector[1],
                       s->beam[2] * s->polar_vector[0] - s->beam[0] * s->polar_vector[2],
                       s->beam[0] * s->polar_vector[1] - s->beam[1] * s->polar_vector[0]};
        fprintf(out, "  POLARIZATION_PLANE_NORMAL= %g %g %g\n", v[0], v[1], v[2]);
    }
    fprintf(out, "  dials origin= %g %g %g\n", s->dials_origin[0], s->dials_origin[1],
            s->dials_origin[2]);
    fprintf(out, "  roi: %d < x < %d && %d < y < %d\n", s->roi[0], s->roi[1], s->roi[2], s->roi[3]);
    fprintf(out, "  hdivrange=%g hdivstep=%g  radians\n", s->hdivrange, s->hdivstep);
    fprintf(out, "  vdivrange=%g vdivstep=%g  radians\n", s->vdivrange, s->vdivstep);
    fprintf(out, "  %d divergence steps\n", s->divsteps);
    fprintf(out, "  %d sources\n", s->sources);
    fprintf(out, "  %d mosaic domains over mosaic spread of %g degrees\n", s->mosaic_domains,
            s->mosaic_spread * RTD);
    fprintf(out, "  %d phi steps from %g to %g degrees\n", s->phisteps, s->phi0 * RTD,
            (s->phi0 + s->osc) * RTD);
    fprintf(out, "  %dx%d pixel oversample steps", s->oversample, s->oversample);
    if (s->oversample_thick)
        fprintf(out, " +thick");
    if (s->oversample_polar)
        fprintf(out, " +polar");
    if (s->oversample_omega)
        fprintf(out, " +omega");
    fprintf(out, "\n");
    if (s->has_mask)
        fprintf(out, "  skipping zero-flagged pixels in the mask\n");
    if (noise) {
        fprintf(out, "\n  noise image paramters:\n");
        fprintf(out, "  seed: %ld\n", s->seed);
        fprintf(out, "  water droplet size: %g m\n", s->water_size);
    }
}


void nbcl_print_pixel_trace(FILE *out, const nbcl_scene *s, const nbcl_image *img, int fpixel,
                            int spixel)
{
    nbcl_pixel_trace t;
    if (nbcl_scene_pixel_trace(s, fpixel, spixel, &t) != NBCL_OK) {
        int fp, sp;
        nbcl_scene_size(s, &fp, &sp);
        fprintf(out, "pixel trace: pixel %d %d is not on the %dx%d detector\n", fpixel, spixel,
                fp, sp);
        return;
    }
    double d = t.stol > 0 ? 0.5 / t.stol * 1e10 : INFINITY;
    fprintf(out, "pixel trace (nbcl format; the terms of this pixel's last sub-path, the value "
                 "of the whole pixel):\n");
    fprintf(out, "  pixel          fast %d slow %d%s\n", t.fpixel, t.spixel,
            !t.in_roi ? " (outside the ROI: not rendered)"
            : t.masked ? " (masked: not rendered)"
                       : "");
    fprintf(out, "  position       %.9g %.9g %.9g m (sample to sub-pixel), R = %.9g m\n",
            t.pos[0], t.pos[1], t.pos[2], t.airpath);
    fprintf(out, "  diffracted     %.9g %.9g %.9g\n", t.diffracted[0], t.diffracted[1],
            t.diffracted[2]);
    fprintf(out, "  incident       %.9g %.9g %.9g, lambda %.9g A\n", t.incident[0] + 0.0,
            t.incident[1] + 0.0, t.incident[2] + 0.0, t.lambda * 1e10); /* no "-0" */
    fprintf(out, "  scattering S   %.9g %.9g %.9g 1/A\n", t.scattering[0] * 1e-10,
            t.scattering[1] * 1e-10, t.scattering[2] * 1e-10);
    fprintf(out, "  resolution     sin(theta)/lambda %.9g 1/A, d %.9g A, two-theta %.9g deg\n",
            t.stol * 1e-10, d, t.twotheta * RTD);
    fprintf(out, "  hkl            %.6f %.6f %.6f, nearest %d %d %d\n", t.hkl[0], t.hkl[1],
            t.hkl[2], t.hkl0[0], t.hkl0[1], t.hkl0[2]);
    fprintf(out, "  F_cell         %.9g%s\n", t.F_cell,
            t.interp_fallback ? " (interpolation left the HKL grid: default_F)" : "");
    fprintf(out, "  F_latt         %.9g\n", t.F_latt);
    fprintf(out, "  omega          %.9g sr\n", t.omega);
    fprintf(out, "  polarization   %.9g\n", t.polar);
    fprintf(out, "  capture        %.9g\n", t.capture);
    fprintf(out, "  I_bg           %.9g (water background, added to the sum)\n", t.I_bg);
    fprintf(out, "  scale          %.9g (r_e^2 fluence / steps), %.0f sub-paths summed\n",
            t.scale, t.subpaths);
    fprintf(out, "  I              %.9g photons (host, double)", t.value);
    if (img && img->data)
        fprintf(out, "; image %.9g", (double)img->data[(size_t)spixel * img->fpixels + fpixel]);
    fprintf(out, "\n");
}
