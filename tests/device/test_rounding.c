/* The kernels' rounding vocabulary (cl/nbcl_real.h NBCL_RINT, NBCL_FLOOR, NBCL_CEIL): on the
 * test device, for scalars and for the vector widths the vector kernel uses (float16, double8),
 * every value equals the OpenCL C rint/floor/ceil and the host C99 functions bit for bit,
 * including halves (ties to even), negative zero, values past 2^23 / 2^52, infinities and NaN.
 * Built with the options the engine gives its own program on this platform, and without the
 * request for builtins; on PoCL the first must compile the builtin path, so the comparison is not
 * of a function with itself. */
#include "nbcl_test.h"
#include "nbcl_internal.h" /* white-box: the engine's context and device */
#include "nbcl_embedded.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVAL 64 /* a multiple of 16 and 8 */

static const char *kernel_text =
    "__kernel void t_round(__global const REAL *x, __global REAL *out, __global int *facts)\n"
    "{\n"
    "    int i = (int)get_global_id(0);\n"
    "#if NBCL_PRECISION == 64\n"
    "    double8 v = vload8(i, x);\n"
    "    vstore8(NBCL_RINT(v), i, out);\n"
    "    vstore8(NBCL_FLOOR(v), i, out + 64);\n"
    "    vstore8(NBCL_CEIL(v), i, out + 128);\n"
    "    vstore8(rint(v), i, out + 192);\n"
    "    vstore8(floor(v), i, out + 256);\n"
    "    vstore8(ceil(v), i, out + 320);\n"
    "    for (int j = 0; j < 8; j++) {\n"
    "        REAL s = x[8 * i + j];\n"
    "#else\n"
    "    float16 v = vload16(i, x);\n"
    "    vstore16(NBCL_RINT(v), i, out);\n"
    "    vstore16(NBCL_FLOOR(v), i, out + 64);\n"
    "    vstore16(NBCL_CEIL(v), i, out + 128);\n"
    "    vstore16(rint(v), i, out + 192);\n"
    "    vstore16(floor(v), i, out + 256);\n"
    "    vstore16(ceil(v), i, out + 320);\n"
    "    for (int j = 0; j < 16; j++) {\n"
    "        REAL s = x[16 * i + j];\n"
    "#endif\n"
    "        int at = (NBCL_PRECISION == 64 ? 8 : 16) * i + j;\n"
    "        out[384 + at] = NBCL_RINT(s);\n"
    "        out[448 + at] = NBCL_FLOOR(s);\n"
    "        out[512 + at] = NBCL_CEIL(s);\n"
    "    }\n"
    "    if (i == 0)\n"
    "        facts[0] = NBCL_ROUND_NATIVE;\n"
    "}\n";

static void fill(double *v)
{
    static const double fixed[] = {0.5,  -0.5, 1.5,  -1.5, 2.5,   -2.5,  0.0,  -0.0,
                                   0.49999997, -0.49999997, 1e-30, -1e-30, 3.7, -3.7,
                                   8388607.5, -8388607.5, 8388609.0, 16777217.0, 4503599627370495.5,
                                   -4503599627370495.5, 1e300, -1e300, 12.25, -12.75};
    size_t n = sizeof fixed / sizeof fixed[0];
    for (size_t i = 0; i < n; i++)
        v[i] = fixed[i];
    v[n] = INFINITY;
    v[n + 1] = -INFINITY;
    v[n + 2] = NAN;
    unsigned s = 12345u;
    for (size_t i = n + 3; i < NVAL; i++) {
        s = s * 1103515245u + 12345u;
        v[i] = ((double)(s >> 8) / 16777216.0 - 0.5) * 80.0; /* Miller-index-like values */
        if (i % 4 == 0)
            v[i] = rint(v[i] * 2.0) / 2.0; /* exact halves */
    }
}

/* bitwise equality of a device value with the host's (NaN: any NaN) */
static void same(double got, double want, const char *what, double x)
{
    if (isnan(want)) {
        if (!isnan(got))
            fail_msg("%s(%.17g): %.17g, want NaN", what, x, got);
        return;
    }
    if (memcmp(&got, &want, sizeof got) != 0)
        fail_msg("%s(%.17g): %.17g, want %.17g", what, x, got, want);
}

static void check(nbcl_precision p, int ask_builtins)
{
    nbcl_engine *e = nbcl_test_engine(p);
    if (!e) {
        nbcl_test_need_device();
        fail_msg("no engine");
    }
    int dbl = p == NBCL_PRECISION_F64;
    size_t esz = dbl ? sizeof(double) : sizeof(float);
    const char *real = nbcl_embedded_files[0].text; /* cl/nbcl_real.h comes first */
    assert_non_null(strstr(nbcl_embedded_files[0].name, "nbcl_real.h"));
    char head[64];
    snprintf(head, sizeof head, "#define NBCL_PRECISION %d\n", dbl ? 64 : 32);
    const char *parts[3] = {head, real, kernel_text};
    cl_int err;
    cl_program prog = clCreateProgramWithSource(e->ctx, 3, parts, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    int ask = ask_builtins && nbcl__round_builtins_ok(e->info.platform_name);
    err = clBuildProgram(prog, 1, &e->device,
                         ask ? "-cl-std=CL1.2 -DNBCL_ROUND_BUILTINS=1" : "-cl-std=CL1.2", NULL,
                         NULL);
    if (err != CL_SUCCESS) {
        char log[4096] = "";
        clGetProgramBuildInfo(prog, e->device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        fail_msg("build: %d\n%s", (int)err, log);
    }
    cl_kernel k = clCreateKernel(prog, "t_round", &err);
    assert_int_equal(err, CL_SUCCESS);

    double xd[NVAL];
    fill(xd);
    unsigned char xin[NVAL * sizeof(double)], out[576 * sizeof(double)];
    for (int i = 0; i < NVAL; i++) {
        if (dbl)
            memcpy(xin + i * esz, &xd[i], esz);
        else {
            float f = (float)xd[i];
            memcpy(xin + i * esz, &f, esz);
        }
    }
    cl_mem bx = clCreateBuffer(e->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, NVAL * esz, xin,
                               &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem bo = clCreateBuffer(e->ctx, CL_MEM_WRITE_ONLY, 576 * esz, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem bf = clCreateBuffer(e->ctx, CL_MEM_WRITE_ONLY, sizeof(int), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    clSetKernelArg(k, 0, sizeof bx, &bx);
    clSetKernelArg(k, 1, sizeof bo, &bo);
    clSetKernelArg(k, 2, sizeof bf, &bf);
    size_t global = NVAL / (dbl ? 8 : 16);
    assert_int_equal(clEnqueueNDRangeKernel(e->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    int builtins = -1;
    assert_int_equal(clEnqueueReadBuffer(e->queue, bo, CL_TRUE, 0, 576 * esz, out, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(e->queue, bf, CL_TRUE, 0, sizeof builtins, &builtins, 0,
                                         NULL, NULL),
                     CL_SUCCESS);
    if (strstr(e->info.platform_name, "Portable Computing Language"))
        assert_int_equal(builtins, ask_builtins); /* on PoCL the builtins are what is tested */
    else
        assert_int_equal(builtins, ask); /* elsewhere: the OpenCL C functions */

    static const char *const what[3] = {"rint", "floor", "ceil"};
    for (int i = 0; i < NVAL; i++) {
        double x;
        if (dbl) {
            x = xd[i];
        } else {
            float f;
            memcpy(&f, xin + i * esz, esz);
            x = f;
        }
        double host[3] = {rint(x), floor(x), ceil(x)};
        if (!dbl)
            for (int f = 0; f < 3; f++)
                host[f] = (float)(f == 0 ? rintf((float)x) : f == 1 ? floorf((float)x)
                                                                   : ceilf((float)x));
        for (int f = 0; f < 3; f++) {
            /* blocks: builtin vector, OpenCL C vector, builtin scalar */
            int at[3] = {f * 64 + i, 192 + f * 64 + i, 384 + f * 64 + i};
            for (int b = 0; b < 3; b++) {
                double got;
                if (dbl) {
                    memcpy(&got, out + at[b] * esz, esz);
                } else {
                    float g;
                    memcpy(&g, out + at[b] * esz, esz);
                    got = g;
                }
                same(got, host[f], what[f], x);
            }
        }
    }
    clReleaseMemObject(bx);
    clReleaseMemObject(bo);
    clReleaseMemObject(bf);
    clReleaseKernel(k);
    clReleaseProgram(prog);
}

static void test_rounding_single(void **state)
{
    (void)state;
    nbcl_test_need_device();
    check(NBCL_PRECISION_F32, 1);
    check(NBCL_PRECISION_F32, 0);
}

static void test_rounding_double(void **state)
{
    (void)state;
    nbcl_test_need_device();
    check(NBCL_PRECISION_F64, 1);
    check(NBCL_PRECISION_F64, 0);
}

int main(void)
{
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding_single),
        cmocka_unit_test(test_rounding_double),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nbcl_test_engines_release();
    return rc;
}
