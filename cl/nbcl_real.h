/* nbcl_real.h — precision and portability layer shared by the OpenCL kernels and host C11.
 * Compiled as OpenCL C 1.2 (the program layer prepends "#define NBCL_PRECISION 32|64") and as
 * C11 on the host (double), so the host tests check the same functions the device runs. */
#ifndef NBCL_REAL_H
#define NBCL_REAL_H

#ifndef NBCL_PRECISION
#define NBCL_PRECISION 64
#endif

#ifdef __OPENCL_C_VERSION__
#define NBCL_DEVICE 1
#if NBCL_PRECISION == 64
#if defined(cl_khr_fp64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#else
#error "double precision requested but the device lacks cl_khr_fp64"
#endif
#endif
#define NBCL_FN inline
#define NBCL_GLOBAL __global
#else
#define NBCL_DEVICE 0
#include <math.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#define NBCL_FN static inline
#define NBCL_GLOBAL
#endif

#if NBCL_PRECISION == 64
typedef double REAL;
#define R(x) (x)
#define NBCL_PI 3.14159265358979323846
#else
typedef float REAL;
#define R(x) ((float)(x))
#define NBCL_PI 3.14159265358979323846f
#endif

#endif
