/* device listing and resolution, engine creation, the precision decision */
#include "nbcl_test.h"
#include "nbcl_embedded.h"
#include "nbcl_kcache.h"
#include "nbcl_internal.h" /* nbcl__round_builtins_ok */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static nbcl_device_info g_list[64];
static size_t g_count;
static char g_trivial_dir[4096];

static int icontains(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < nl && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl)
            return 1;
    }
    return nl == 0;
}

/* A kernel dir with the same file names as cl/ and a trivial nbcl_k_pixel. */
static int write_trivial_kernels(const char *dir)
{
    mkdir(dir, 0755);
    for (size_t i = 0; i < nbcl_embedded_count; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, nbcl_embedded_files[i].name);
        FILE *f = fopen(path, "w");
        if (!f)
            return -1;
        if (i + 1 == nbcl_embedded_count)
            fputs("__kernel void nbcl_k_pixel(__global float *o) { o[get_global_id(0)] = 0; }\n", f);
        else
            fprintf(f, "/* trivial %s */\n", nbcl_embedded_files[i].name);
        fclose(f);
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (nbcl_device_list(g_list, 64, &g_count) != NBCL_OK)
        return -1;
    snprintf(g_trivial_dir, sizeof g_trivial_dir, "%s/trivial_cl", nbcl_test_tmpdir());
    return write_trivial_kernels(g_trivial_dir);
}

static void test_list(void **state)
{
    (void)state;
    assert_true(g_count >= 1);
    size_t n2 = 0;
    assert_int_equal(nbcl_device_list(NULL, 0, &n2), NBCL_OK);
    assert_int_equal(n2, g_count);
    assert_int_equal(nbcl_device_list(NULL, 0, NULL), NBCL_INVALID_ARGUMENT);
    assert_int_equal(nbcl_device_list(NULL, 3, &n2), NBCL_INVALID_ARGUMENT);
    for (size_t i = 0; i < g_count && i < 64; i++) {
        const nbcl_device_info *d = &g_list[i];
        assert_true(strlen(d->platform_name) > 0);
        assert_true(strlen(d->platform_vendor) > 0);
        assert_true(strlen(d->platform_version) > 0);
        assert_true(strlen(d->device_name) > 0);
        assert_true(strlen(d->device_name_normalised) > 0);
        assert_true(strncmp(d->device_name_normalised, "pthread-", 8) != 0);
        size_t ln = strlen(d->device_name), lnn = strlen(d->device_name_normalised);
        assert_true(lnn <= ln);
        assert_string_equal(d->device_name + (ln - lnn), d->device_name_normalised);
        assert_true(strlen(d->device_vendor) > 0);
        assert_true(strcmp(d->device_type, "CPU") == 0 || strcmp(d->device_type, "GPU") == 0 ||
                    strcmp(d->device_type, "ACCELERATOR") == 0 ||
                    strcmp(d->device_type, "OTHER") == 0);
        assert_true(strncmp(d->device_version, "OpenCL ", 7) == 0);
        assert_true(strlen(d->driver_version) > 0);
        assert_true(strncmp(d->opencl_c_version, "OpenCL C ", 9) == 0);
        assert_true(d->compute_units > 0);
        assert_true(d->global_mem_bytes > 0);
        assert_true(d->local_mem_bytes > 0);
        assert_true(d->max_alloc_bytes > 0);
        assert_true(d->max_alloc_bytes <= d->global_mem_bytes);
        assert_true(d->max_work_group_size > 0);
        assert_true(strlen(d->extensions) > 0);
        /* fp64 flag agrees with the extension list on CL 1.2 devices */
        if (d->has_fp64)
            assert_non_null(strstr(d->extensions, "cl_khr_fp64"));
        if (strcmp(d->platform_name, "Portable Computing Language") == 0) {
            assert_int_equal(d->has_fp64, 1);
        }
    }
}

static void test_find_cpu_gpu(void **state)
{
    (void)state;
    int have_cpu = 0, have_gpu = 0;
    for (size_t i = 0; i < g_count && i < 64; i++) {
        have_cpu |= strcmp(g_list[i].device_type, "CPU") == 0;
        have_gpu |= strcmp(g_list[i].device_type, "GPU") == 0;
    }
    nbcl_device_info d;
    char err[4096];
    nbcl_status st = nbcl_device_find("CPU", &d, err, sizeof err);
    if (have_cpu) {
        assert_int_equal(st, NBCL_OK);
        assert_string_equal(d.device_type, "CPU");
    } else {
        assert_int_equal(st, NBCL_NO_DEVICE);
    }
    st = nbcl_device_find("gpu", &d, err, sizeof err);
    if (have_gpu) {
        assert_int_equal(st, NBCL_OK);
        assert_string_equal(d.device_type, "GPU");
    } else {
        assert_int_equal(st, NBCL_NO_DEVICE);
        assert_non_null(strstr(err, "gpu"));
    }
    assert_int_equal(nbcl_device_find("cpu", NULL, err, sizeof err), NBCL_INVALID_ARGUMENT);
}

static void test_find_indices(void **state)
{
    (void)state;
    nbcl_device_info d;
    char err[4096];
    assert_int_equal(nbcl_device_find("0:0", &d, err, sizeof err), NBCL_OK);
    assert_int_equal(d.platform_index, 0);
    assert_int_equal(d.device_index, 0);
    assert_string_equal(d.device_name, g_list[0].device_name);
    const nbcl_device_info *last = &g_list[(g_count < 64 ? g_count : 64) - 1];
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", last->platform_index, last->device_index);
    assert_int_equal(nbcl_device_find(spec, &d, err, sizeof err), NBCL_OK);
    assert_string_equal(d.device_name, last->device_name);
    assert_int_equal(nbcl_device_find("99:99", &d, err, sizeof err), NBCL_NO_DEVICE);
    assert_non_null(strstr(err, "99:99"));
}

static void test_find_substring(void **state)
{
    (void)state;
    /* a case-flipped middle slice of the first device's name */
    const char *name = g_list[0].device_name_normalised;
    size_t ln = strlen(name);
    char sub[64];
    size_t start = ln / 4, len = ln / 2 < sizeof sub - 1 ? ln / 2 : sizeof sub - 1;
    if (len == 0) {
        start = 0;
        len = ln;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[start + i];
        sub[i] = (char)(isupper(c) ? tolower(c) : toupper(c));
    }
    sub[len] = '\0';
    nbcl_device_info d;
    char err[4096];
    assert_int_equal(nbcl_device_find(sub, &d, err, sizeof err), NBCL_OK);
    assert_true(icontains(d.device_name, sub) || icontains(d.platform_name, sub));
    /* platform name matches too */
    assert_int_equal(nbcl_device_find(g_list[0].platform_name, &d, err, sizeof err), NBCL_OK);
    assert_string_equal(d.platform_name, g_list[0].platform_name);
}

static void test_find_unknown(void **state)
{
    (void)state;
    nbcl_device_info d;
    char err[4096];
    err[0] = 'x';
    assert_int_equal(nbcl_device_find("no-such-device-zz9", &d, err, sizeof err), NBCL_NO_DEVICE);
    assert_non_null(strstr(err, "no-such-device-zz9"));
    assert_non_null(strstr(err, g_list[0].device_name)); /* lists what exists */
    assert_non_null(strstr(err, "0:0"));
    /* tiny buffer: truncated, terminated, no overflow */
    char small[16];
    assert_int_equal(nbcl_device_find("no-such-device-zz9", &d, small, sizeof small),
                     NBCL_NO_DEVICE);
    assert_true(strlen(small) < sizeof small);
    assert_int_equal(nbcl_device_find("no-such-device-zz9", &d, NULL, 0), NBCL_NO_DEVICE);
}

static void test_find_default_and_env(void **state)
{
    (void)state;
    nbcl_device_info d;
    char err[4096];
    const char *saved = getenv("NBCL_DEVICE");
    char saved_copy[256] = "";
    if (saved)
        snprintf(saved_copy, sizeof saved_copy, "%s", saved);

    unsetenv("NBCL_DEVICE");
    assert_int_equal(nbcl_device_find(NULL, &d, err, sizeof err), NBCL_OK);
    int have_gpu = 0;
    for (size_t i = 0; i < g_count && i < 64; i++)
        have_gpu |= strcmp(g_list[i].device_type, "GPU") == 0;
    if (have_gpu)
        assert_string_equal(d.device_type, "GPU");
    assert_int_equal(nbcl_device_find("", &d, err, sizeof err), NBCL_OK);

    const nbcl_device_info *last = &g_list[(g_count < 64 ? g_count : 64) - 1];
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", last->platform_index, last->device_index);
    setenv("NBCL_DEVICE", spec, 1);
    assert_int_equal(nbcl_device_find(NULL, &d, err, sizeof err), NBCL_OK);
    assert_int_equal(d.platform_index, last->platform_index);
    assert_int_equal(d.device_index, last->device_index);
    setenv("NBCL_DEVICE", "no-such-device-env", 1);
    assert_int_equal(nbcl_device_find(NULL, &d, err, sizeof err), NBCL_NO_DEVICE);
    assert_non_null(strstr(err, "NBCL_DEVICE"));
    /* an explicit spec wins over the environment */
    assert_int_equal(nbcl_device_find("0:0", &d, err, sizeof err), NBCL_OK);

    if (saved)
        setenv("NBCL_DEVICE", saved_copy, 1);
    else
        unsetenv("NBCL_DEVICE");
}

static void test_precision_resolve(void **state)
{
    (void)state;
    nbcl_precision p = NBCL_PRECISION_AUTO;
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_AUTO, 1, &p), NBCL_OK);
    assert_int_equal(p, NBCL_PRECISION_F64);
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_AUTO, 0, &p), NBCL_OK);
    assert_int_equal(p, NBCL_PRECISION_F32);
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_F32, 1, &p), NBCL_OK);
    assert_int_equal(p, NBCL_PRECISION_F32);
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_F32, 0, &p), NBCL_OK);
    assert_int_equal(p, NBCL_PRECISION_F32);
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_F64, 1, &p), NBCL_OK);
    assert_int_equal(p, NBCL_PRECISION_F64);
    p = NBCL_PRECISION_AUTO;
    assert_int_equal(nbcl__precision_resolve(NBCL_PRECISION_F64, 0, &p), NBCL_NO_FP64);
    assert_int_equal(p, NBCL_PRECISION_AUTO); /* untouched on failure */
    assert_int_equal(nbcl__precision_resolve((nbcl_precision)16, 1, &p), NBCL_INVALID_ARGUMENT);
}

/* ---- engines */

static char g_log[65536];
static void capture_log(void *user, nbcl_log_level level, const char *msg)
{
    (void)user;
    size_t used = strlen(g_log);
    snprintf(g_log + used, sizeof g_log - used, "[%d] %s\n", (int)level, msg);
}

static const char *test_device_spec(void)
{
    const char *dev = getenv("NBCL_TEST_DEVICE");
    return (dev && *dev) ? dev : NULL;
}

static void check_engine(nbcl_precision req, const char *kernel_dir)
{
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    o.device = test_device_spec();
    o.precision = req;
    o.kernel_dir = kernel_dir;
    o.cache = NBCL_CACHE_OFF;
    o.log = capture_log;
    g_log[0] = '\0';
    nbcl_engine *e = (nbcl_engine *)1;
    char err[16384];
    nbcl_status st = nbcl_engine_create(&o, &e, err, sizeof err);
    if (st != NBCL_OK)
        fail_msg("nbcl_engine_create(F%d, %s): %s: %s", (int)req,
                 kernel_dir ? kernel_dir : "embedded", nbcl_status_name(st), err);
    assert_non_null(e);
    assert_int_equal(nbcl_engine_precision(e), req);
    const nbcl_device_info *d = nbcl_engine_device(e);
    assert_non_null(d);
    assert_true(strlen(d->device_name) > 0);
    const nbcl_build_facts *f = nbcl_engine_build_facts(e);
    assert_non_null(f);
    const char *env_kdir = getenv("NBCL_KERNEL_DIR");
    if (kernel_dir)
        assert_string_equal(f->source_origin, kernel_dir);
    else if (!env_kdir || !*env_kdir)
        assert_true(strcmp(f->source_origin, "embedded") == 0 ||
                    strstr(f->source_origin, "cl") != NULL);
    assert_int_equal(strlen(f->source_sha256), 64);
    assert_true(strncmp(f->options, "-cl-std=CL1.2", 13) == 0);
    assert_null(strstr(f->options, "fast-relaxed"));
    assert_string_equal(f->cache_state, "off");
    assert_true(f->build_seconds >= 0.0);
    assert_non_null(strstr(g_log, "program ready"));
    assert_string_equal(nbcl_engine_last_error(e), "");
    /* the assembled source carries the precision define and hashes to the recorded sha */
    char *src = NULL;
    assert_int_equal(nbcl__program_source(kernel_dir ? kernel_dir
                                          : (env_kdir && *env_kdir) ? env_kdir : NULL,
                                          (int)req, &src, err, sizeof err),
                     NBCL_OK);
    char def[64];
    snprintf(def, sizeof def, "#define NBCL_PRECISION %d\n", (int)req);
    assert_true(strncmp(src, def, strlen(def)) == 0);
    char sha[65];
    nbcl__sha256_hex(src, strlen(src), sha);
    assert_string_equal(sha, f->source_sha256);
    free(src);
    nbcl_engine_destroy(e);
}

static void test_engine_trivial_f32(void **state)
{
    (void)state;
    check_engine(NBCL_PRECISION_F32, g_trivial_dir);
}

static void test_engine_trivial_f64(void **state)
{
    (void)state;
    nbcl_device_info d;
    if (nbcl_device_find(test_device_spec(), &d, NULL, 0) != NBCL_OK || !d.has_fp64)
        skip();
    check_engine(NBCL_PRECISION_F64, g_trivial_dir);
}

static void test_engine_real_f32(void **state)
{
    (void)state;
    check_engine(NBCL_PRECISION_F32, NULL);
}

static void test_engine_real_f64(void **state)
{
    (void)state;
    nbcl_device_info d;
    if (nbcl_device_find(test_device_spec(), &d, NULL, 0) != NBCL_OK || !d.has_fp64)
        skip();
    check_engine(NBCL_PRECISION_F64, NULL);
}

static void test_engine_auto_and_options(void **state)
{
    (void)state;
    nbcl_device_info d;
    assert_int_equal(nbcl_device_find(test_device_spec(), &d, NULL, 0), NBCL_OK);
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    assert_int_equal(o.precision, NBCL_PRECISION_AUTO);
    assert_int_equal(o.cache, NBCL_CACHE_AUTO);
    assert_null(o.device);
    assert_null(o.log);
    char dev[256], opts[64];
    snprintf(dev, sizeof dev, "%s", test_device_spec() ? test_device_spec() : "");
    snprintf(opts, sizeof opts, "-DNBCL_TEST_OPT=1");
    o.device = dev[0] ? dev : NULL;
    o.kernel_dir = g_trivial_dir;
    o.cache = NBCL_CACHE_OFF;
    o.build_options = opts;
    setenv("NBCL_BUILD_OPTIONS", "-DNBCL_ENV_OPT=2", 1);
    nbcl_engine *e = NULL;
    char err[16384];
    nbcl_status st = nbcl_engine_create(&o, &e, err, sizeof err);
    unsetenv("NBCL_BUILD_OPTIONS");
    if (st != NBCL_OK)
        fail_msg("%s", err);
    assert_int_equal(nbcl_engine_precision(e), d.has_fp64 ? NBCL_PRECISION_F64 : NBCL_PRECISION_F32);
    /* ours first (with the rounding builtins on PoCL), then the caller's, then the variable's */
    const char *ours = nbcl__round_builtins_ok(nbcl_engine_device(e)->platform_name)
                           ? "-cl-std=CL1.2 -DNBCL_ROUND_BUILTINS=1"
                           : "-cl-std=CL1.2";
    char want[256];
    snprintf(want, sizeof want, "%s -DNBCL_TEST_OPT=1 -DNBCL_ENV_OPT=2", ours);
    assert_string_equal(nbcl_engine_build_facts(e)->options, want);
    assert_string_equal(nbcl_engine_build_facts(e)->source_origin, g_trivial_dir);
    nbcl_engine_destroy(e);

    /* fast_math adds the relaxed flag after -cl-std */
    o.build_options = NULL;
    o.fast_math = 1;
    o.precision = NBCL_PRECISION_F32;
    assert_int_equal(nbcl_engine_create(&o, &e, err, sizeof err), NBCL_OK);
    snprintf(want, sizeof want, "%s -cl-fast-relaxed-math", ours);
    assert_string_equal(nbcl_engine_build_facts(e)->options, want);
    nbcl_engine_destroy(e);

    /* NULL opts: defaults */
    if (!test_device_spec() && !getenv("NBCL_KERNEL_DIR")) {
        /* may build the real kernels: only checks it does not crash and reports cleanly */
        st = nbcl_engine_create(NULL, &e, err, sizeof err);
        if (st == NBCL_OK)
            nbcl_engine_destroy(e);
        else
            assert_null(e);
    }
}

static void test_engine_errors(void **state)
{
    (void)state;
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    nbcl_engine *e = (nbcl_engine *)1;
    char err[16384];
    o.device = "no-such-device-zz9";
    assert_int_equal(nbcl_engine_create(&o, &e, err, sizeof err), NBCL_NO_DEVICE);
    assert_null(e);
    assert_non_null(strstr(err, "no-such-device-zz9"));

    nbcl_engine_opts_init(&o);
    o.device = test_device_spec();
    o.precision = (nbcl_precision)16;
    e = (nbcl_engine *)1;
    assert_int_equal(nbcl_engine_create(&o, &e, err, sizeof err), NBCL_INVALID_ARGUMENT);
    assert_null(e);
    assert_true(strlen(err) > 0);

    nbcl_engine_opts_init(&o);
    o.device = test_device_spec();
    o.kernel_dir = "/nonexistent/nbcl/cl";
    o.precision = NBCL_PRECISION_F32;
    e = (nbcl_engine *)1;
    assert_int_equal(nbcl_engine_create(&o, &e, err, sizeof err), NBCL_IO);
    assert_null(e);
    assert_non_null(strstr(err, "/nonexistent/nbcl/cl"));

    assert_int_equal(nbcl_engine_create(&o, NULL, err, sizeof err), NBCL_INVALID_ARGUMENT);

    /* NULL-safe accessors */
    nbcl_engine_destroy(NULL);
    assert_string_equal(nbcl_engine_last_error(NULL), "");
    assert_null(nbcl_engine_device(NULL));
    assert_null(nbcl_engine_build_facts(NULL));
    assert_int_equal(nbcl_engine_precision(NULL), NBCL_PRECISION_AUTO);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_precision_resolve),
    };
    int fails = cmocka_run_group_tests_name("device_pure", pure, NULL, NULL);
    if (fails)
        return fails;
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_find_cpu_gpu),
        cmocka_unit_test(test_find_indices),
        cmocka_unit_test(test_find_substring),
        cmocka_unit_test(test_find_unknown),
        cmocka_unit_test(test_find_default_and_env),
        cmocka_unit_test(test_engine_errors),
        cmocka_unit_test(test_engine_trivial_f32),
        cmocka_unit_test(test_engine_trivial_f64),
        cmocka_unit_test(test_engine_auto_and_options),
        cmocka_unit_test(test_engine_real_f32),
        cmocka_unit_test(test_engine_real_f64),
    };
    return cmocka_run_group_tests_name("device", tests, group_setup, NULL);
}
