/* Defaults of every user parameter: the reference's values (spec-a-cli). */
#include <math.h>
#include <string.h>
#include "nbcl_internal.h"

void nbcl_config_init(nbcl_config *c)
{
    memset(c, 0, sizeof *c);
    c->cell[0] = c->cell[1] = c->cell[2] = 0.0;
    c->misset_seed = 0;
    c->Na = c->Nb = c->Nc = 1.0;
    c->shape = NBCL_SHAPE_SQUARE;
    c->fudge = 1.0;
    c->mosaic_spread = -1.0;
    c->mosaic_domains = -1;
    c->mosaic_seed = 12345678;
    c->phi0 = 0.0;
    c->osc = -1.0;
    c->phistep = -1.0;
    c->phisteps = -1;
    c->spindle[2] = 1.0;

    c->dumpfile = "Fdump.bin";
    c->read_dump = 1;
    c->write_dump = 1;
    c->default_F = 0.0;
    c->interpolate = 2;

    c->lambda0 = 1.0e-10;
    c->dispersion = 0.0;
    c->dispstep = -1.0;
    c->dispsteps = -1;
    c->hdivrange = c->vdivrange = -1.0;
    c->hdivstep = c->vdivstep = -1.0;
    c->hdivsteps = c->vdivsteps = -1;
    c->round_div = 1;
    c->source_distance = 10.0;
    c->fluence = 125932015286227086360700780544.0;
    c->flux = 0.0;
    c->exposure = 1.0;
    c->beamsize = 1e-4;
    c->polarization = 0.0;
    c->beam_vector[0] = 1.0;
    c->polar_vector[2] = 1.0;

    c->convention = NBCL_CONV_MOSFLM;
    c->pivot = NBCL_PIVOT_BEAM;
    c->distance = 100.0e-3;
    c->close_distance = NAN;
    c->pixel_size = 0.1e-3;
    c->detsize_f = c->detsize_s = 102.4e-3;
    c->Xbeam = c->Ybeam = c->Xclose = c->Yclose = c->ORGX = c->ORGY = NAN;
    c->twotheta_axis[1] = 1.0;
    c->fdet[2] = 1.0;
    c->sdet[1] = -1.0;
    c->odet[0] = 1.0;
    c->detector_mu = -1.0;
    c->detector_thick = 0.0;
    c->detector_thickstep = -1.0;
    c->detector_thicksteps = -1;
    c->oversample = -1;
    c->roi[0] = c->roi[1] = c->roi[2] = c->roi[3] = -1;

    c->adc_offset = 40.0;
    c->printout_fpixel = c->printout_spixel = -1;
}
