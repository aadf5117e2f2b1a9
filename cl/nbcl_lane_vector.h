/* nbcl_lane_vector.h — the lane vocabulary (nbcl_lane_scalar.h) for NBCL_VW consecutive pixels
 * per evaluation in OpenCL vector types: 8 doubles or 16 floats, one 512-bit register each (two
 * 256-bit ones on AVX2). Device only; the kernel nbcl_k_pixel_simd (nbcl_pixel_simd.cl) runs it
 * on CPUs, where PoCL vectorises a work-item's code only through explicit vectors (every
 * work-item runs nested loops). Comparisons of vectors give 0/-1 integer vectors of the element
 * width (long8 for double8), which is what select() and any() take. */
#if NBCL_PRECISION == 64
#define NBCL_VW 8
typedef double8 RV;
typedef float8 FV;
typedef long8 MV;
typedef int8 IV;
#define VLOAD vload8
#define VSTORE vstore8
#define CONVERT_RV convert_double8
#define CONVERT_FV convert_float8
#define CONVERT_MV convert_long8
#define CONVERT_IV convert_int8
#define LANES (IV)(0, 1, 2, 3, 4, 5, 6, 7)
#else
#define NBCL_VW 16
typedef float16 RV;
typedef float16 FV;
typedef int16 MV;
typedef int16 IV;
#define VLOAD vload16
#define VSTORE vstore16
#define CONVERT_RV convert_float16
#define CONVERT_FV convert_float16
#define CONVERT_MV convert_int16
#define CONVERT_IV convert_int16
#define LANES (IV)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#endif

/* the scalar vocabulary came first (engine/CMakeLists.txt NBCL_KERNEL_FILES) */
#undef LW
#undef LREAL
#undef LINT
#undef LMASK
#undef LNAME
#undef LSPLAT
#undef LFROMINT
#undef LSEL
#undef LANY
#undef LNOT
#undef LSTORE
#undef LLOAD
#undef LMASK_LOAD
#undef LFRAMES

#define LW NBCL_VW
#define LREAL RV
#define LINT IV
#define LMASK MV
#define LNAME(f) f##_v
#define LSPLAT(x) ((RV)(x))
#define LFROMINT(i) CONVERT_RV(i)
#define LSEL(a, b, m) select(a, b, m)
#define LANY(m) any(m)
#define LNOT(m) (~(m))
#define LSTORE(v, a) VSTORE(v, 0, a)
#define LLOAD(a) VLOAD(0, a)
#define LMASK_LOAD(a) CONVERT_MV(VLOAD(0, a))
#define LFRAMES NBCL_BATCH_MAX /* frames of a rotation series per launch (nbcl_layout.h) */
