/* nbcl_lane_scalar.h — the lane vocabulary for ONE pixel per evaluation (LW == 1): the scalar
 * kernel nbcl_k_pixel (GPUs) and the host (C11, double). nbcl_physics.h and nbcl_pixel.h are
 * written once in this vocabulary and expanded after each lane file: after this one they define
 * the scalar functions (nbcl_sincg3, nbcl_pixel_frames, ...), after nbcl_lane_vector.h the same
 * bodies again for NBCL_VW pixels at once (nbcl_sincg3_v, ...); docs/architecture.md,
 * "Single-source physics", says why and how.
 *
 *   LREAL, LINT, LMASK   a real, an int and a truth value per lane
 *   LNAME(f)             the function name for this lane width (f here, f_v for vectors)
 *   LSPLAT(x)            a uniform REAL on every lane
 *   LFROMINT(i)          LINT -> LREAL
 *   LSEL(a, b, m)        per lane: m ? b : a (OpenCL's select argument order)
 *   LANY(m)              some lane is true (a branch that some lane needs)
 *   LNOT(m)              lane-wise not (scalars compare to 0/1, vectors to 0/-1: never use ~)
 *   LSTORE(v, a)/LLOAD(a)  lanes to/from a private REAL[LW] array (per-lane gathers)
 *   LMASK_LOAD(a)        an int[LW] array of 0/-1 to a mask
 *   LFRAMES              the most frames one evaluation sums at once (nbcl_pixel_frames) */
#define LW 1
#define LREAL REAL
#define LINT int
#define LMASK int
#define LNAME(f) f
#define LSPLAT(x) ((REAL)(x))
#define LFROMINT(i) ((REAL)(i))
#define LSEL(a, b, m) ((m) ? (b) : (a))
#define LANY(m) ((m) != 0)
#define LNOT(m) (!(m))
#define LSTORE(v, a) ((a)[0] = (v))
#define LLOAD(a) ((a)[0])
#define LMASK_LOAD(a) ((a)[0])
#define LFRAMES 1
