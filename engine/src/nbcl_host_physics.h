/* Host inclusion of the kernel's shared headers, in double precision, one pixel per evaluation
 * (the scalar lane vocabulary; the device also expands them for vectors). */
#ifndef NBCL_HOST_PHYSICS_H
#define NBCL_HOST_PHYSICS_H
#undef NBCL_PRECISION
#define NBCL_PRECISION 64
#include "nbcl_real.h"
#include "nbcl_layout.h"
#include "nbcl_lane_scalar.h"
#include "nbcl_physics.h"
#include "nbcl_pixel.h"
#endif
