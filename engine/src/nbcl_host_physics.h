/* Host inclusion of the kernel's shared headers, in double precision. */
#ifndef NBCL_HOST_PHYSICS_H
#define NBCL_HOST_PHYSICS_H
#undef NBCL_PRECISION
#define NBCL_PRECISION 64
#include "nbcl_real.h"
#include "nbcl_layout.h"
#include "nbcl_physics.h"
#include "nbcl_pixel.h"
#endif
