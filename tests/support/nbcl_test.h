/* Shared test helpers (cmocka). */
#ifndef NBCL_TEST_H
#define NBCL_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>
#include "nbcl/nbcl.h"

/* |a-b| <= abs_tol + rel_tol*|b|, NaN never close. Prints both values on failure. */
int nbcl_test_close(double a, double b, double abs_tol, double rel_tol);
#define assert_close(a, b, abs_tol, rel_tol)                                               \
    do {                                                                                   \
        double nbcl_a_ = (a), nbcl_b_ = (b);                                               \
        if (!nbcl_test_close(nbcl_a_, nbcl_b_, (abs_tol), (rel_tol)))                      \
            fail_msg("%s = %.17g, expected %s = %.17g (abs %g rel %g)", #a, nbcl_a_, #b,   \
                     nbcl_b_, (double)(abs_tol), (double)(rel_tol));                      \
    } while (0)

/* Golden directory: env NBCL_GOLDEN_DIR, else the build-time default; NULL if absent. */
const char *nbcl_test_golden_dir(void);
/* Device tests: env NBCL_TEST_DEVICE (default "cpu", i.e. PoCL in CI). Returns NULL and prints
 * why when no OpenCL device exists. Engines are cached per precision for the process. */
nbcl_engine *nbcl_test_engine(nbcl_precision p);
void nbcl_test_engines_release(void);
/* A new engine on the test device (not cached: the caller destroys it) with these NBCL_*
 * settings (NULL: read from the environment) and this cancel token (NULL: none); NULL and the
 * reason on stderr when it cannot be created. */
nbcl_engine *nbcl_test_engine_with(nbcl_precision p, const nbcl_env_options *env,
                                   nbcl_cancel *cancel);
/* 1 if any OpenCL device exists */
int nbcl_test_have_device(void);
/* For a device test binary's main() without any OpenCL device: says so and returns CTest's
 * skip code (77, SKIP_RETURN_CODE) for main to return. */
int nbcl_test_skip_all(void);
/* Inside a cmocka test: skip it (saying why) when no OpenCL device exists; the answer is cached. */
void nbcl_test_need_device(void);
/* Read a whole file; NULL on failure. */
void *nbcl_test_read_file(const char *path, size_t *len);
/* Scratch directory for this test binary (created). */
const char *nbcl_test_tmpdir(void);
/* Fresh empty scratch directory <tmpdir>/<name> (the last 8 names stay valid); NULL on failure. */
const char *nbcl_test_workdir(const char *name);
/* Run a command line through /bin/sh, returning the exit status (or -1); output to files. */
int nbcl_test_run(const char *cmdline);
/* A configuration with the reference's defaults and a cubic cell: edge cell_A (Angstrom), 90
 * degree angles, N unit cells along each axis, default_F everywhere, a square detector of
 * `pixels` pixels, no Fdump.bin read or written. */
void nbcl_test_cubic_config(nbcl_config *c, double cell_A, int N, double default_F, int pixels);
/* Make a null character device (1,3) at path, never touching the system's /dev/null: 1 when it
 * exists and opens for writing, 0 when that cannot be done here (not root, a nodev mount). */
int nbcl_test_make_null_device(const char *path);
/* Path of an executable in the build's bin directory (env NBCL_BIN_DIR). */
const char *nbcl_test_bin(const char *name);
/* A 100 A cubic crystal, default_F 100, N^3 cells, no Fdump: fpixels x spixels detector with
 * the given oversampling (fails the test when the scene cannot be built). */
nbcl_scene *nbcl_test_cubic_scene(int fpixels, int spixels, int N, int oversample);

#endif
