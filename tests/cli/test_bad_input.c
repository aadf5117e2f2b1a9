/* Bad input to the nbcl command line (issue 5): every case must give
 *   - the documented exit code (cli/args.h, docs/exit_codes.md),
 *   - stderr of exactly ONE line, starting "nbcl: ", naming the problem (flag, file, file:line),
 *   - no output: the previous outputs in the directory (float.bin, int.img) byte-identical and no
 *     new file at all (no default outputs, no Fdump.bin, no ".name.tmp.XXXXXX" leftovers).
 * Each case runs nbcl in a fresh directory under the test tmpdir that holds the fixtures below.
 * Cases that reach the device (unknown device, kernel build failure, host memory) are skipped
 * when no OpenCL device exists. Double precision on a device without fp64 cannot be provoked on
 * PoCL: tests/unit/test_precision_resolve.c covers that decision. */
#include "nbcl_test.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define NBCL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NBCL_ASAN 1
#endif
#endif

/* exit codes, as documented (cli/args.h) */
#define X_USAGE 2
#define X_PARAM 3
#define X_INPUT 4
#define X_DEVICE 5
#define X_OUTPUT 6
#define X_NONFINITE 7

/* case flags */
#define NOCELL 1u      /* base without -cell (the case gives its own crystal) */
#define MULTILINE 2u   /* stderr may have several lines (kernel build log) */
#define DEVICE 4u      /* reaches the device: skipped without one */
#define NO_ASAN 8u     /* uses ulimit -v, which AddressSanitizer cannot run under */
#define FDUMP_BAD 16u  /* a corrupt Fdump.bin lies in the directory */
#define KDIR_BAD 32u   /* kdir/ holds the kernel sources with a syntax error */
#define ULIMIT 64u     /* run under ulimit -v 4000000 (about 3.8 GiB of address space) */

typedef struct bad_case {
    const char *name;
    int code;
    unsigned flags;
    const char *args;     /* shell words appended to the base arguments */
    const char *needle;   /* stderr must contain this (the flag, file or file:line) */
    const char *needle2;  /* and this, when not NULL */
} bad_case;

#define XTAL "-cell 100 100 100 90 90 90 "
#define BASE                                                                                 \
    "-default_F 10 -detpixels 16 -floatfile float.bin -intfile int.img -pgmfile image.pgm "  \
    "-noisefile noise.img -noprogress -seed 1 "

/* clang-format off */
static const bad_case CASES[] = {
    /* ---- input files: missing, unreadable, malformed (file and line named) -> 4 */
    {"hkl_missing", X_INPUT, 0, "-hkl missing.hkl", "missing.hkl", NULL},
    {"hkl_unreadable_directory", X_INPUT, 0, "-hkl adir", "adir", NULL},
    {"hkl_malformed_number", X_INPUT, 0, "-hkl bad.hkl", "bad.hkl:3", NULL},
    {"hkl_malformed_short_line", X_INPUT, 0, "-hkl short.hkl", "short.hkl:2", NULL},
    {"hkl_no_reflections", X_INPUT, 0, "-hkl empty.hkl", "empty.hkl", NULL},
    {"mat_missing", X_INPUT, NOCELL, "-mat missing.mat", "missing.mat", NULL},
    {"mat_malformed_number", X_INPUT, NOCELL, "-mat bad.mat", "bad.mat:2", NULL},
    {"mat_too_few_numbers", X_INPUT, NOCELL, "-mat short.mat", "short.mat", NULL},
    {"sourcefile_missing", X_INPUT, 0, "-sourcefile missing.src", "missing.src", NULL},
    {"sourcefile_malformed", X_INPUT, 0, "-sourcefile bad.src", "bad.src:2", NULL},
    {"img_missing", X_INPUT, 0, "-img missing.img", "missing.img", NULL},
    {"img_not_smv", X_INPUT, 0, "-img notsmv.img", "notsmv.img", NULL},
    {"img_truncated", X_INPUT, 0, "-img trunc.img", "trunc.img", NULL},
    {"mask_missing", X_INPUT, 0, "-mask missing.img", "missing.img", NULL},
    {"mask_not_smv", X_INPUT, 0, "-mask notsmv.img", "notsmv.img", NULL},
    {"mask_truncated", X_INPUT, 0, "-mask trunc.img", "trunc.img", NULL},
    {"fdump_corrupt", X_INPUT, FDUMP_BAD, "", "Fdump.bin", NULL},
    /* a valid -hkl must not leave Fdump.bin behind when the run fails later */
    {"fdump_not_written_on_failure", X_INPUT, 0, "-hkl good.hkl -sourcefile bad.src",
     "bad.src:2", NULL},

    /* ---- numbers out of range -> 3 */
    {"lambda_zero", X_PARAM, 0, "-lambda 0", "-lambda", NULL},
    {"energy_zero", X_PARAM, 0, "-energy 0", "-energy", NULL},
    {"distance_negative", X_PARAM, 0, "-distance -100", "-distance", NULL},
    {"close_distance_negative", X_PARAM, 0, "-close_distance -5", "-close_distance", NULL},
    {"pixel_negative", X_PARAM, 0, "-pixel -0.1", "-pixel", NULL},
    {"pixel_zero", X_PARAM, 0, "-pixel 0", "-pixel", NULL},
    {"detpixels_zero", X_PARAM, 0, "-detpixels 0", "-detpixels", NULL},
    {"detpixels_negative", X_PARAM, 0, "-detpixels -5", "-detpixels", NULL},
    {"detpixels_too_large", X_PARAM, 0, "-detpixels 100000", "too large", NULL},
    {"detpixels_beyond_memory", X_PARAM, DEVICE | NO_ASAN | ULIMIT, "-detpixels 40000", "memory",
     NULL},
    {"cell_angles_make_no_cell", X_PARAM, 0, "-cell 100 100 100 10 10 170", "cell", NULL},
    {"cell_angle_out_of_range", X_PARAM, 0, "-cell 100 100 100 90 90 200", "-cell", NULL},
    {"cell_length_zero", X_PARAM, 0, "-cell 0 100 100 90 90 90", "-cell", NULL},
    {"fdet_vector_zero", X_PARAM, 0, "-fdet_vector 0 0 0", "-fdet_vector", NULL},
    {"beam_vector_zero", X_PARAM, 0, "-beam_vector 0 0 0", "-beam_vector", NULL},
    {"spindle_axis_zero", X_PARAM, 0, "-spindle_axis 0 0 0", "-spindle_axis", NULL},
    {"oversample_zero", X_PARAM, 0, "-oversample 0", "-oversample", NULL},
    {"oversample_too_many_steps", X_PARAM, 0, "-oversample 100000", "oversample", NULL},
    {"auto_oversample_too_many_steps", X_PARAM, 0, "-lambda 1e-6", "automatic oversampling",
     "-oversample N"},
    {"thicksteps_zero", X_PARAM, 0, "-thicksteps 0", "-thicksteps", NULL},
    {"N_negative", X_PARAM, 0, "-N -3", "-N", NULL},
    {"roi_inverted", X_PARAM, 0, "-roi 10 5 0 0", "-roi", NULL},
    {"dispersion_negative_wavelength", X_PARAM, 0, "-dispersion 300", "wavelength", NULL},
    /* physical ranges (issue 14 class 4): values that would make a NaN or infinite image */
    {"lambda_beyond_range", X_PARAM, 0, "-lambda 1e150", "-lambda", "1e-06 to 1e+06 Angstrom"},
    {"lambda_below_range", X_PARAM, 0, "-lambda 1e-12", "-lambda", "1e-06 to 1e+06 Angstrom"},
    {"energy_below_range", X_PARAM, 0, "-energy 1e-3", "-energy", "eV"},
    {"pixel_below_range", X_PARAM, 0, "-pixel 1e-160", "-pixel", "1e-06 to 10000 mm"},
    {"pixel_beyond_range", X_PARAM, 0, "-pixel 1e5", "-pixel", "mm"},
    {"distance_beyond_range", X_PARAM, 0, "-distance 1e100", "-distance", "1e-06 to 1e+09 mm"},
    {"close_distance_beyond_range", X_PARAM, 0, "-close_distance 1e100", "-close_distance", "mm"},
    {"water_beyond_range", X_PARAM, 0, "-water 1e30", "-water", "0 to 1e+06 um"},
    {"polar_beyond_range", X_PARAM, 0, "-polar 1e300", "-polar", "-1 to 1"},
    {"img_header_wavelength_beyond_range", X_PARAM, 0, "-img farwave.img", "farwave.img",
     "WAVELENGTH"},
    {"mat_volume_overflow", X_PARAM, NOCELL, "-mat huge.mat", "overflows", "-mat"},
    {"cell_volume_overflow", X_PARAM, NOCELL, "-cell 1e300 1e300 1e300 90 90 90", "-cell",
     "double precision"},

    /* ---- usage: unknown flags, missing or non-numeric values, contradictions -> 2 */
    {"unknown_flag", X_USAGE, 0, "-frobnicate", "-frobnicate", NULL},
    {"stray_argument", X_USAGE, 0, "stray", "stray", NULL},
    {"missing_value_last_detector_abs", X_USAGE, 0, "-detector_abs", "-detector_abs", NULL},
    {"missing_value_last_lambda", X_USAGE, 0, "-lambda", "-lambda", NULL},
    {"missing_values_cell", X_USAGE, 0, "-cell 100 100 100 90 90", "-cell", NULL},
    {"non_numeric_value", X_USAGE, 0, "-lambda abc", "-lambda", "abc"},
    {"non_finite_value_nan", X_USAGE, 0, "-lambda nan", "-lambda", NULL},
    {"non_finite_value_inf", X_USAGE, 0, "-distance inf", "-distance", NULL},
    {"trailing_garbage", X_USAGE, 0, "-distance 100mm", "-distance", "100mm"},
    {"non_integer_count", X_USAGE, 0, "-detpixels 12.5", "-detpixels", "not an integer"},
    /* the message names the problem: range, underflow, overflow (issue 14 class 8) */
    {"integer_out_of_range", X_USAGE, 0, "-detpixels 4294967360", "-detpixels", "out of range"},
    {"number_underflows", X_USAGE, 0, "-lambda 1e-308", "-lambda", "too close to zero"},
    {"number_overflows", X_USAGE, 0, "-distance 1e400", "-distance", "too large"},
    {"empty_value", X_USAGE, 0, "-lambda ''", "-lambda", NULL},
    {"bad_keyword_pivot", X_USAGE, 0, "-pivot middle", "-pivot", NULL},
    {"bad_keyword_precision", X_USAGE, 0, "-precision quadruple", "-precision", NULL},
    {"contradiction_cell_and_mat", X_USAGE, 0, "-mat good.mat", "-mat", "-cell"},
    {"contradiction_same_output_twice", X_USAGE, 0, "-intfile float.bin", "float.bin", NULL},
    {"contradiction_cbf_and_nexus_one_name", X_USAGE, 0, "-cbffile x.out -nexusfile x.out",
     "-cbffile", "-nexusfile"},
    {"bad_keyword_nexus_compression", X_USAGE, 0, "-nexusfile x.nxs -nexus_compression zstd",
     "-nexus_compression", "zstd"},

    /* ---- device -> 5 */
    {"unknown_device", X_DEVICE, DEVICE, "-device nosuchdevice", "nosuchdevice", NULL},
    /* build failure: several lines allowed (the log), with the device and the options */
    {"kernel_build_failure", X_DEVICE, DEVICE | MULTILINE | KDIR_BAD, "-kernel_dir kdir",
     "build log", "options"},

    /* ---- the rendered image has NaN or infinite pixels -> 7, nothing written, the cause named */
    {"nonfinite_default_F_overflows_float", X_NONFINITE, DEVICE, "-default_F 1e200",
     "infinite pixels", "exceeds the float image"},
    {"nonfinite_fluence_overflows_float", X_NONFINITE, DEVICE, "-fluence 1e300",
     "infinite pixels", "-fluence"},
    {"nonfinite_water_background_overflows_float", X_NONFINITE, DEVICE,
     "-water 1e6 -fluence 1e40", "infinite pixels", "-water"},
    {"nonfinite_single_precision_result_too_large", X_NONFINITE, DEVICE,
     "-default_F 1e30 -precision single", "infinite pixels", "exceeds the float image"},
    /* the running sum times 1/R^2 = 100 after each of 25 sub-paths: 1e50 in float */
    {"nonfinite_single_precision_intermediate", X_NONFINITE, DEVICE,
     "-default_F 1 -N 1 -point_pixel -oversample_omega -oversample 5 -fluence 1e-20 "
     "-precision single", "overflowed single precision", "-precision double"},
    {"nonfinite_nan_physics", X_NONFINITE, DEVICE, "-mosaic 1e300", "NaN pixels",
     "-printout_pixel 0 0"},

    /* ---- outputs -> 6: nothing written when one output cannot be */
    {"output_directory_missing", X_OUTPUT, DEVICE, "-intfile nodir/int.img", "nodir/int.img",
     NULL},
    {"output_directory_missing_cbf", X_OUTPUT, DEVICE, "-cbffile nodir/c.cbf", "nodir/c.cbf",
     NULL},
    {"output_directory_missing_nexus", X_OUTPUT, DEVICE, "-nexusfile nodir/x.nxs",
     "nodir/x.nxs", NULL},
    {"output_directory_missing_png", X_OUTPUT, DEVICE, "-pngfile nodir/p.png", "nodir/p.png",
     NULL},
};
/* clang-format on */
#define NCASES (sizeof CASES / sizeof CASES[0])

/* ------------------------------------------------------------------ fixtures */
static void put(const char *dir, const char *name, const void *data, size_t len)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void put_text(const char *dir, const char *name, const char *text)
{
    put(dir, name, text, strlen(text));
}

/* SMV image w x h with `have` bytes of pixel data (less than 2*w*h: truncated) and the header's
 * WAVELENGTH given as text */
static void put_smv_wave(const char *dir, const char *name, int w, int h, size_t have,
                         const char *wavelength)
{
    char head[512];
    memset(head, ' ', sizeof head);
    int n = snprintf(head, sizeof head,
                     "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                     "TYPE=unsigned_short;\nSIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=0.1;\n"
                     "DISTANCE=100;\nWAVELENGTH=%s;\n}\f",
                     w, h, wavelength);
    head[n] = ' ';
    size_t len = sizeof head + have;
    unsigned char *buf = calloc(1, len);
    assert_non_null(buf);
    memcpy(buf, head, sizeof head);
    for (size_t i = sizeof head; i < len; i += 2)
        buf[i] = 1;
    put(dir, name, buf, len);
    free(buf);
}

static void put_smv(const char *dir, const char *name, int w, int h, size_t have)
{
    put_smv_wave(dir, name, w, h, have, "1");
}

static void copy_file(const char *from, const char *to, const char *append)
{
    size_t len = 0;
    char *data = nbcl_test_read_file(from, &len);
    assert_non_null(data);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    fwrite(data, 1, len, f);
    if (append)
        fputs(append, f);
    fclose(f);
    free(data);
}

/* kernel sources with a syntax error appended to the last file */
static void put_broken_kernels(const char *dir)
{
    const char *src = getenv("NBCL_SOURCE_DIR");
    assert_non_null(src);
    char kdir[4400], from[8192], to[8192];
    snprintf(kdir, sizeof kdir, "%s/kdir", dir);
    assert_int_equal(mkdir(kdir, 0755), 0);
    snprintf(from, sizeof from, "%s/cl", src);
    DIR *d = opendir(from);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(from, sizeof from, "%s/cl/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", kdir, e->d_name);
        copy_file(from, to,
                  strcmp(e->d_name, "nbcl_kernels.cl") == 0
                      ? "\n__kernel void nbcl_broken(void) { this is not OpenCL C; }\n"
                      : NULL);
    }
    closedir(d);
}

static const unsigned char SENTINEL_FLOAT[16] = {'p', 'r', 'e', 'v', 'i', 'o', 'u', 's',
                                                 0,   1,   2,   3,   0xfe, 0xff, 0x7f, 0x80};
static const char SENTINEL_INT[] = "previous int.img: must survive a failed run\n";

static void make_fixtures(const char *dir, unsigned flags)
{
    put(dir, "float.bin", SENTINEL_FLOAT, sizeof SENTINEL_FLOAT);
    put_text(dir, "int.img", SENTINEL_INT);
    put_text(dir, "good.hkl", "0 0 0 10\n1 0 0 20\n0 1 0 30\n0 0 1 40\n");
    put_text(dir, "bad.hkl", "0 0 0 10\n1 0 0 20\n1 x 0 30\n0 0 1 40\n");
    put_text(dir, "short.hkl", "0 0 0 10\n1 0 20\n");
    put_text(dir, "empty.hkl", "# nothing here\n\n");
    put_text(dir, "good.mat", "0.01 0 0\n0 0.01 0\n0 0 0.01\n");
    put_text(dir, "bad.mat", "0.01 0 0\n0 0.01 zz\n0 0 0.01\n");
    put_text(dir, "short.mat", "0.01 0 0\n0 0.01 0\n0 0\n");
    put_text(dir, "good.src", "-10 0 0 1 1e-10\n");
    put_text(dir, "bad.src", "-10 0 0 1 1e-10\n-10 0 zero 1 1e-10\n");
    put_text(dir, "notsmv.img", "this is not an SMV image\n");
    put_smv(dir, "trunc.img", 16, 16, 100);
    put_smv_wave(dir, "farwave.img", 16, 16, 2 * 16 * 16, "1e150");
    put_text(dir, "huge.mat", "1e300 0 0\n0 1e300 0\n0 0 1e300\n");
    char p[4400];
    snprintf(p, sizeof p, "%s/adir", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    if (flags & FDUMP_BAD) {
        /* header promises 3x3x3 doubles, the file holds 10 */
        static const char head[] = "0 1 0 1 0 1\n\f";
        unsigned char buf[sizeof head - 1 + 80];
        memset(buf, 0, sizeof buf);
        memcpy(buf, head, sizeof head - 1);
        put(dir, "Fdump.bin", buf, sizeof buf);
    }
    if (flags & KDIR_BAD)
        put_broken_kernels(dir);
}

/* ------------------------------------------------------------------ directory snapshot */
typedef struct entry {
    char name[256];
    char *data; /* NULL for directories */
    size_t len;
} entry;

typedef struct snapshot {
    entry e[64];
    int n;
} snapshot;

static void snap_take(const char *dir, snapshot *s)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        assert_true(s->n < 64);
        entry *e = &s->e[s->n++];
        snprintf(e->name, sizeof e->name, "%s", de->d_name);
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        if (!S_ISDIR(st.st_mode)) {
            e->data = nbcl_test_read_file(p, &e->len);
            assert_non_null(e->data);
        }
    }
    closedir(d);
}

static void snap_free(snapshot *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->e[i].data);
    s->n = 0;
}

static const entry *snap_find(const snapshot *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->e[i].name, name) == 0)
            return &s->e[i];
    return NULL;
}

/* every file before is there, unchanged; nothing new */
static void snap_compare(const char *what, const snapshot *before, const snapshot *after)
{
    for (int i = 0; i < after->n; i++)
        if (!snap_find(before, after->e[i].name))
            fail_msg("%s: the failed run left a new file '%s'", what, after->e[i].name);
    for (int i = 0; i < before->n; i++) {
        const entry *b = &before->e[i];
        const entry *a = snap_find(after, b->name);
        if (!a)
            fail_msg("%s: '%s' was removed", what, b->name);
        if ((a->data == NULL) != (b->data == NULL) || a->len != b->len ||
            (a->data && memcmp(a->data, b->data, a->len) != 0))
            fail_msg("%s: previous file '%s' was changed", what, b->name);
    }
}

/* ------------------------------------------------------------------ the test */
static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void run_with_env(const bad_case *c, const char *env)
{
    if ((c->flags & DEVICE) && !nbcl_test_have_device()) {
        fprintf(stderr, "%s: no OpenCL device, skipped\n", c->name);
        skip();
    }
#ifdef NBCL_ASAN
    if (c->flags & NO_ASAN) {
        fprintf(stderr, "%s: needs ulimit -v, not possible under AddressSanitizer, skipped\n",
                c->name);
        skip();
    }
#endif
    char dir[4200], out[4400], errf[4400], cmd[16384];
    snprintf(dir, sizeof dir, "%s/bad_%s", nbcl_test_tmpdir(), c->name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(nbcl_test_run(cmd), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    make_fixtures(dir, c->flags);
    snprintf(out, sizeof out, "%s.stdout", dir);
    snprintf(errf, sizeof errf, "%s.stderr", dir);

    snapshot before, after;
    snap_take(dir, &before);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s %s exec '%s' %s%s%s >'%s' 2>'%s'", dir,
             (c->flags & ULIMIT) ? "ulimit -v 4000000 &&" : "", env,
             nbcl_test_bin("nbcl"),
             (c->flags & NOCELL) ? "" : XTAL, BASE, c->args, out, errf);
    int rc = nbcl_test_run(cmd);
    char *err = nbcl_test_read_file(errf, NULL);
    assert_non_null(err);
    if (rc != c->code)
        fail_msg("%s: exit %d, expected %d; stderr: %s", c->name, rc, c->code, err);
    if (c->flags & MULTILINE) {
        /* the build log may follow, and compilers (PoCL's clang) print to stderr themselves */
        if (strncmp(err, "nbcl: ", 6) != 0 && !strstr(err, "\nnbcl: "))
            fail_msg("%s: no stderr line starts with 'nbcl: ': %s", c->name, err);
    } else {
        if (strncmp(err, "nbcl: ", 6) != 0)
            fail_msg("%s: stderr does not start with 'nbcl: ': %s", c->name, err);
        size_t len = strlen(err);
        if (count_char(err, '\n') != 1 || err[len - 1] != '\n')
            fail_msg("%s: stderr is not exactly one line: %s", c->name, err);
    }
    if (!strstr(err, c->needle))
        fail_msg("%s: the message does not name '%s': %s", c->name, c->needle, err);
    if (c->needle2 && !strstr(err, c->needle2))
        fail_msg("%s: the message does not name '%s': %s", c->name, c->needle2, err);
    snap_take(dir, &after);
    snap_compare(c->name, &before, &after);
    snap_free(&before);
    snap_free(&after);
    free(err);
    /* passed: tidy up (a failure keeps the directory for inspection) */
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", dir, out, errf);
    nbcl_test_run(cmd);
}

static void run_case(void **state)
{
    run_with_env(*state, "");
}

/* An NBCL_* variable with a value outside its list is an error naming the variable and the
 * values (issue 14 class 8), before any work: exit 2, nothing written. */
typedef struct env_case {
    bad_case c;
    const char *env; /* shell assignments put before nbcl */
} env_case;

/* clang-format off */
static const env_case ENV_CASES[] = {
    {{"env_kernel_unknown", X_USAGE, 0, "", "NBCL_KERNEL", "scalar"}, "NBCL_KERNEL=vector"},
    {{"env_stats_unknown", X_USAGE, 0, "", "NBCL_STATS", "device"}, "NBCL_STATS=gpu"},
    {{"env_cache_unknown", X_USAGE, 0, "", "NBCL_CACHE", "auto"}, "NBCL_CACHE=maybe"},
    {{"env_zero_copy_unknown", X_USAGE, 0, "", "NBCL_ZERO_COPY", "0"}, "NBCL_ZERO_COPY=yes"},
    {{"env_timing_unknown", X_USAGE, 0, "", "NBCL_TIMING", "1"}, "NBCL_TIMING=on"},
    {{"env_verbose_unknown", X_USAGE, 0, "", "NBCL_VERBOSE", "1"}, "NBCL_VERBOSE=loud"},
    {{"env_host_threads_not_a_count", X_USAGE, 0, "", "NBCL_HOST_THREADS", "integer"},
     "NBCL_HOST_THREADS=-2"},
    {{"env_launch_seconds_not_seconds", X_USAGE, 0, "", "NBCL_LAUNCH_SECONDS", "86400"},
     "NBCL_LAUNCH_SECONDS=fast"},
};
/* clang-format on */
#define NENV (sizeof ENV_CASES / sizeof ENV_CASES[0])

static void run_env_case(void **state)
{
    const env_case *e = *state;
    run_with_env(&e->c, e->env);
}

int main(void)
{
    static struct CMUnitTest tests[NCASES + NENV];
    for (size_t i = 0; i < NCASES + NENV; i++) {
        int env = i >= NCASES;
        tests[i].name = env ? ENV_CASES[i - NCASES].c.name : CASES[i].name;
        tests[i].test_func = env ? run_env_case : run_case;
        tests[i].setup_func = NULL;
        tests[i].teardown_func = NULL;
        tests[i].initial_state = env ? (void *)&ENV_CASES[i - NCASES] : (void *)&CASES[i];
    }
    return _cmocka_run_group_tests("bad_input", tests, NCASES + NENV, NULL, NULL);
}
