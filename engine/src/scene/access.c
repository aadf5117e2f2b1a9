/* The public view of an opaque scene (nbcl/nbcl_scene.h): accessors for programs. */
#include <string.h>

#include "nbcl_internal.h"
#include "nbcl_scene_internal.h"

#define CP3(f) memcpy(o->f, s->f, sizeof o->f)

static void detector_info(const nbcl_scene *s, nbcl_scene_info *o)
{
    o->fpixels = s->fpixels;
    o->spixels = s->spixels;
    o->pixel_size = s->pixel_size;
    o->subpixel_size = s->subpixel_size;
    o->detsize_f = s->detsize_f;
    o->detsize_s = s->detsize_s;
    o->oversample = s->oversample;
    o->recommended_oversample = s->recommended_oversample;
    o->oversample_thick = s->oversample_thick;
    o->oversample_polar = s->oversample_polar;
    o->oversample_omega = s->oversample_omega;
    CP3(fdet);
    CP3(sdet);
    CP3(odet);
    CP3(pix0);
    CP3(beam);
    CP3(polar_vector);
    CP3(spindle);
    o->distance = s->distance;
    o->close_distance = s->close_distance;
    o->Xbeam = s->Xbeam;
    o->Ybeam = s->Ybeam;
    o->Fbeam = s->Fbeam;
    o->Sbeam = s->Sbeam;
    o->Xclose = s->Xclose;
    o->Yclose = s->Yclose;
    o->Fclose = s->Fclose;
    o->Sclose = s->Sclose;
    o->ORGX = s->ORGX;
    o->ORGY = s->ORGY;
    CP3(dials_origin);
    o->twotheta = s->twotheta;
    o->convention = s->convention;
    o->pivot = s->pivot;
    o->curved_det = s->curved_det;
    o->point_pixel = s->point_pixel;
    o->thicksteps = s->thicksteps;
    o->thick = s->thick;
    o->thickstep = s->thickstep;
    o->mu = s->mu;
    memcpy(o->roi, s->roi, sizeof o->roi);
    o->has_mask = s->mask != NULL;
}

static void crystal_info(const nbcl_scene *s, nbcl_scene_info *o)
{
    CP3(a);
    CP3(b);
    CP3(c);
    CP3(a_star);
    CP3(b_star);
    CP3(c_star);
    memcpy(o->cell, s->cell, sizeof o->cell);
    memcpy(o->rcell, s->rcell, sizeof o->rcell);
    o->V_cell = s->V_cell;
    CP3(misset_deg);
    o->Na = s->Na;
    o->Nb = s->Nb;
    o->Nc = s->Nc;
    CP3(xtalsize);
    o->shape = s->shape;
    o->fudge = s->fudge;
    o->phisteps = s->phisteps;
    o->phi0 = s->phi0;
    o->phistep = s->phistep;
    o->osc = s->osc;
    o->mosaic_domains = s->mosaic_domains;
    o->mosaic_spread = s->mosaic_spread;
    o->hkl_count = s->hkl.count;
    o->default_F = s->default_F;
    o->interpolate = s->interpolate;
}

static void beam_info(const nbcl_scene *s, nbcl_scene_info *o)
{
    o->sources = s->sources;
    o->source_dir = s->source_dir;
    o->source_lambda = s->source_lambda;
    o->source_I = s->source_I;
    o->divsteps = s->divsteps;
    o->dispsteps = s->dispsteps;
    o->hdivsteps = s->hdivsteps;
    o->vdivsteps = s->vdivsteps;
    o->hdivrange = s->hdivrange;
    o->vdivrange = s->vdivrange;
    o->hdivstep = s->hdivstep;
    o->vdivstep = s->vdivstep;
    o->dispersion = s->dispersion;
    o->dispstep = s->dispstep;
    o->lambda0 = s->lambda0;
    o->fluence = s->fluence;
    o->flux = s->flux;
    o->exposure = s->exposure;
    o->beamsize = s->beamsize;
    o->polarization = s->polarization;
    o->nopolar = s->nopolar;
    o->dmin = s->dmin;
    o->water_size = s->water_size;
    o->I_bg = s->I_bg;
    o->steps = s->steps;
    o->scale = s->scale;
    o->seed = s->seed;
    o->intfile_scale = s->intfile_scale;
    o->pgm_scale = s->pgm_scale;
    o->adc_offset = s->adc_offset;
    o->log = s->log ? s->log : "";
}

void nbcl_scene_get_info(const nbcl_scene *s, nbcl_scene_info *out)
{
    memset(out, 0, sizeof *out);
    detector_info(s, out);
    crystal_info(s, out);
    beam_info(s, out);
}

void nbcl_scene_size(const nbcl_scene *s, int *fpixels, int *spixels)
{
    if (fpixels)
        *fpixels = s->fpixels;
    if (spixels)
        *spixels = s->spixels;
}

void nbcl_scene_roi(const nbcl_scene *s, int roi[4])
{
    memcpy(roi, s->roi, sizeof s->roi);
}

const unsigned char *nbcl_scene_mask(const nbcl_scene *s)
{
    return s->mask;
}

long nbcl_scene_seed(const nbcl_scene *s)
{
    return s->seed;
}

const nbcl_hkl_grid *nbcl_scene_hkl(const nbcl_scene *s)
{
    return &s->hkl;
}
