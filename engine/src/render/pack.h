/* The kernel's inputs packed from a scene (render/pack.c): the layout of cl/nbcl_layout.h, in
 * double; render.c converts them to the device precision. Private to the engine (and the tests
 * that evaluate a pixel on the host). */
#ifndef NBCL_RENDER_PACK_H
#define NBCL_RENDER_PACK_H

#include <stddef.h>
#include "nbcl/nbcl.h"
#include "nbcl_layout.h"

typedef struct nbcl_kernel_inputs {
    double P[NBCL_P_COUNT];   /* the real parameters (NBCL_P_*) */
    int IP[NBCL_IP_COUNT];    /* the integer parameters (NBCL_IP_*) */
    double *src;              /* owned: NBCL_SRC_STRIDE per source (incident direction, lambda) */
    size_t nsrc;
    const double *orient;     /* the scene's table: NBCL_ORIENT_STRIDE per orientation */
    size_t norient;
    const double *F;          /* the scene's grid, or its default_F when no grid was read */
    size_t nF;                /* entries of the grid; 0 when F is the default_F */
} nbcl_kernel_inputs;

/* Derive the kernel inputs from the scene's physical values. NBCL_OUT_OF_MEMORY when the source
 * array cannot be allocated (then k->src is NULL, the rest filled). Release with
 * nbcl__kernel_inputs_free (also after a failure). */
nbcl_status nbcl__pack_kernel_inputs(const nbcl_scene *s, nbcl_kernel_inputs *k);
void nbcl__kernel_inputs_free(nbcl_kernel_inputs *k);

#endif
