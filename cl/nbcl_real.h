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

/* Rounding to integral values for scalars and vectors. PoCL's kernel library implements the
 * OpenCL C rint/floor/ceil of vectors as portable software sequences (about 20 instructions a
 * vector on x86, where AVX-512 and SSE4.1 round in one); clang's element-wise builtins are the
 * same IEEE operations (roundeven is rint in the default rounding mode, the only one an OpenCL
 * kernel has) and lower to the device's own instruction. Not every clang-based runtime can run
 * them (oclgrind's interpreter lacks llvm.ceil), so the host asks for them, with
 * -DNBCL_ROUND_BUILTINS=1, on the platforms known to lower them (program.c: PoCL). The same
 * values to the bit either way (tests/device/test_rounding.c). NBCL_ROUND_NATIVE says which
 * path was compiled. */
#if NBCL_DEVICE && defined(NBCL_ROUND_BUILTINS) && defined(__has_builtin)
#if NBCL_ROUND_BUILTINS && __has_builtin(__builtin_elementwise_roundeven) &&                      \
    __has_builtin(__builtin_elementwise_floor) && __has_builtin(__builtin_elementwise_ceil)
#define NBCL_RINT(x) __builtin_elementwise_roundeven(x)
#define NBCL_FLOOR(x) __builtin_elementwise_floor(x)
#define NBCL_CEIL(x) __builtin_elementwise_ceil(x)
#define NBCL_ROUND_NATIVE 1
#endif
#endif
#ifndef NBCL_RINT
#define NBCL_RINT(x) rint(x)
#define NBCL_FLOOR(x) floor(x)
#define NBCL_CEIL(x) ceil(x)
#define NBCL_ROUND_NATIVE 0
#endif

#endif
