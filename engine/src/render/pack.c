/* Kernel-parameter packing: the scene holds each value once, in physical units; the arrays the
 * kernel reads (cl/nbcl_layout.h) are derived here when a render (or a host evaluation of a
 * pixel) starts. */
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "nbcl_scene_internal.h"
#include "render/pack.h"

static void pack_reals(const nbcl_scene *s, double *P)
{
    for (int i = 0; i < 3; i++) {
        P[NBCL_P_PIX0 + i] = s->pix0[i];
        P[NBCL_P_FDET + i] = s->fdet[i];
        P[NBCL_P_SDET + i] = s->sdet[i];
        P[NBCL_P_ODET + i] = s->odet[i];
        P[NBCL_P_BEAM + i] = s->beam[i];
        P[NBCL_P_POLAR_VEC + i] = s->polar_vector[i];
        P[NBCL_P_ASTAR + i] = s->a_star[i];
        P[NBCL_P_BSTAR + i] = s->b_star[i];
        P[NBCL_P_CSTAR + i] = s->c_star[i];
    }
    P[NBCL_P_PIXEL] = s->pixel_size;
    P[NBCL_P_SUBPIXEL] = s->subpixel_size;
    P[NBCL_P_DISTANCE] = s->distance;
    P[NBCL_P_CLOSE_DISTANCE] = s->close_distance;
    P[NBCL_P_THICKSTEP] = s->thickstep;
    P[NBCL_P_MU] = s->mu;
    P[NBCL_P_THICK] = s->thick;
    P[NBCL_P_POLARIZATION] = s->polarization;
    P[NBCL_P_DMIN] = s->dmin;
    P[NBCL_P_I_BG] = s->I_bg;
    P[NBCL_P_SCALE] = s->scale;
    P[NBCL_P_NA] = s->Na;
    P[NBCL_P_NB] = s->Nb;
    P[NBCL_P_NC] = s->Nc;
    P[NBCL_P_FUDGE] = s->fudge;
    P[NBCL_P_DEFAULT_F] = s->default_F;
    P[NBCL_P_WATER] = s->water_size;
}

static void pack_ints(const nbcl_scene *s, int *IP)
{
    IP[NBCL_IP_FPIXELS] = s->fpixels;
    IP[NBCL_IP_SPIXELS] = s->spixels;
    IP[NBCL_IP_OVERSAMPLE] = s->oversample;
    IP[NBCL_IP_THICKSTEPS] = s->thicksteps;
    IP[NBCL_IP_OS_THICK] = s->oversample_thick;
    IP[NBCL_IP_OS_POLAR] = s->oversample_polar;
    IP[NBCL_IP_OS_OMEGA] = s->oversample_omega;
    IP[NBCL_IP_CURVED] = s->curved_det;
    IP[NBCL_IP_POINT_PIXEL] = s->point_pixel;
    IP[NBCL_IP_NOPOLAR] = s->nopolar;
    IP[NBCL_IP_SOURCES] = s->sources;
    IP[NBCL_IP_NORIENT] = (int)((size_t)s->phisteps * (size_t)s->mosaic_domains);
    IP[NBCL_IP_SHAPE] = (int)s->shape;
    IP[NBCL_IP_INTERPOLATE] = s->interpolate;
    IP[NBCL_IP_HKLS] = s->hkl.count > 0 && s->hkl.F != NULL;
    IP[NBCL_IP_H_MIN] = s->hkl.h_min;
    IP[NBCL_IP_H_MAX] = s->hkl.h_max;
    IP[NBCL_IP_K_MIN] = s->hkl.k_min;
    IP[NBCL_IP_K_MAX] = s->hkl.k_max;
    IP[NBCL_IP_L_MIN] = s->hkl.l_min;
    IP[NBCL_IP_L_MAX] = s->hkl.l_max;
    IP[NBCL_IP_H_RANGE] = s->hkl.h_range;
    IP[NBCL_IP_K_RANGE] = s->hkl.k_range;
    IP[NBCL_IP_L_RANGE] = s->hkl.l_range;
    IP[NBCL_IP_ROI_XMIN] = s->roi[0];
    IP[NBCL_IP_ROI_XMAX] = s->roi[1];
    IP[NBCL_IP_ROI_YMIN] = s->roi[2];
    IP[NBCL_IP_ROI_YMAX] = s->roi[3];
    IP[NBCL_IP_HAS_MASK] = s->mask != NULL;
}

nbcl_status nbcl__pack_kernel_inputs(const nbcl_scene *s, nbcl_kernel_inputs *k)
{
    memset(k, 0, sizeof *k);
    pack_reals(s, k->P);
    pack_ints(s, k->IP);
    k->orient = s->orient;
    k->norient = (size_t)s->phisteps * (size_t)s->mosaic_domains;
    if (s->hkl.F) {
        k->F = s->hkl.F;
        k->nF = (size_t)s->hkl.h_range * s->hkl.k_range * s->hkl.l_range;
    } else {
        k->F = &s->default_F;
        k->nF = 0;
    }
    k->nsrc = (size_t)s->sources;
    k->src = malloc(sizeof(double) * NBCL_SRC_STRIDE * (k->nsrc ? k->nsrc : 1));
    if (!k->src)
        return NBCL_OUT_OF_MEMORY;
    /* the kernel wants the incident direction (towards the detector): minus the direction to
     * the source */
    for (size_t i = 0; i < k->nsrc; i++) {
        for (int j = 0; j < 3; j++)
            k->src[i * NBCL_SRC_STRIDE + j] = -s->source_dir[3 * i + j];
        k->src[i * NBCL_SRC_STRIDE + 3] = s->source_lambda[i];
    }
    return NBCL_OK;
}

void nbcl__kernel_inputs_free(nbcl_kernel_inputs *k)
{
    if (!k)
        return;
    free(k->src);
    k->src = NULL;
}
