/* nbcl-bench case presets (each a nanoBragg argv) and the tricubic case's generated inputs. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

const bench_case_def bench_cases[] = {
    {"perf", "AT-PERF-001: cubic 100 A cell, lambda 6.2 A, N 5, default_F 100, distance 100 mm",
     {1024, 0, 0, 0}},
    {"absorption", "perf + detector absorption: -detector_abs 320 -detector_thick 450 "
                   "-thicksteps T (--thicksteps, default 5)",
     {512, 1024, 0, 0}},
    {"tricubic", "generated P1 HKL (-12..12) + MOSFLM A matrix, lambda 6.2 A, N 2, -interpolate",
     {512, 1024, 0, 0}},
    {"heavy", "triclinic 70 80 90 75 85 95 + misset 10 20 30, mosaic 0.5 deg x 10 domains, "
              "5 phi steps of 0.2 deg, oversample 2",
     {512, 0, 0, 0}},
    {"hires", "perf crystal at lambda 0.5 A, 4096x4096 pixels of 0.05 mm, distance 500 mm",
     {4096, 0, 0, 0}},
};
const size_t bench_ncases = sizeof bench_cases / sizeof bench_cases[0];

const bench_case_def *bench_case_find(const char *name)
{
    for (size_t i = 0; i < bench_ncases; i++)
        if (!strcmp(bench_cases[i].name, name))
            return &bench_cases[i];
    return NULL;
}

static int push_list(bench_argv *a, const char *const *list)
{
    for (; *list; list++)
        if (!bench_argv_push(a, *list))
            return 0;
    return 1;
}

int bench_case_argv(const char *name, int size, int thicksteps, const char *inputs_dir,
                    bench_argv *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char sz[32], ts[32], hkl[4200], mat[4200];
    snprintf(sz, sizeof sz, "%d", size);
    snprintf(ts, sizeof ts, "%d", thicksteps > 0 ? thicksteps : 5);
    /* output flags shared with the reference: no noise image, no PGM, no progress meter */
    static const char *const quiet[] = {"-nonoise", "-nopgm", "-noprogress", NULL};
    static const char *const cubic[] = {"-cell", "100", "100", "100", "90", "90", "90", NULL};
    int ok = bench_argv_push(out, "nbcl");
    if (!strcmp(name, "perf") || !strcmp(name, "absorption")) {
        static const char *const rest[] = {"-lambda", "6.2", "-N", "5", "-default_F", "100",
                                           "-distance", "100", NULL};
        ok = ok && push_list(out, cubic) && push_list(out, rest);
        /* -detector_abs is never the last argument (the reference crashes on that) */
        if (!strcmp(name, "absorption")) {
            const char *abs_[] = {"-detector_abs", "320", "-detector_thick", "450", "-thicksteps",
                                  ts, NULL};
            ok = ok && push_list(out, abs_);
        }
        ok = ok && bench_argv_push(out, "-detpixels") && bench_argv_push(out, sz);
    } else if (!strcmp(name, "tricubic")) {
        snprintf(hkl, sizeof hkl, "%s/tricubic_P1.hkl", inputs_dir);
        snprintf(mat, sizeof mat, "%s/tricubic_A.mat", inputs_dir);
        const char *l[] = {"-hkl", hkl, "-matrix", mat, "-lambda", "6.2", "-N", "2",
                           "-interpolate", "-distance", "100", "-detpixels", sz, NULL};
        ok = ok && push_list(out, l);
    } else if (!strcmp(name, "heavy")) {
        /* phi starts at 0.2 deg: a step of exactly 0 with -phisteps > 1 reuses a stale rotation
         * in the reference */
        static const char *const l[] = {"-cell", "70", "80", "90", "75", "85", "95", "-misset",
                                        "10", "20", "30", "-lambda", "1.0", "-N", "5",
                                        "-default_F", "100", "-distance", "100", "-mosaic", "0.5",
                                        "-mosaic_dom", "10", "-mosaic_seed", "4321", "-phi",
                                        "0.2", "-osc", "1.0", "-phisteps", "5", "-oversample",
                                        "2", "-detpixels", NULL};
        ok = ok && push_list(out, l) && bench_argv_push(out, sz);
    } else if (!strcmp(name, "hires")) {
        static const char *const rest[] = {"-lambda", "0.5", "-N", "5", "-default_F", "100",
                                           "-distance", "500", "-pixel", "0.05", "-detpixels",
                                           NULL};
        ok = ok && push_list(out, cubic) && push_list(out, rest) && bench_argv_push(out, sz);
    } else {
        snprintf(err, errlen, "unknown case '%s'", name);
        bench_argv_free(out);
        return 0;
    }
    ok = ok && push_list(out, quiet);
    if (!ok) {
        snprintf(err, errlen, "out of memory building the argv of case %s", name);
        bench_argv_free(out);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ tricubic inputs */
/* Deterministic: a fixed cell and orientation, and structure factors from a 64-bit LCG keyed by
 * (h,k,l), written with fixed formats and '.' as the decimal point. */
static uint64_t hkl_hash(int h, int k, int l)
{
    uint64_t x = 0x9E3779B97F4A7C15ull ^ ((uint64_t)(h + 64) << 32) ^
                 ((uint64_t)(k + 64) << 16) ^ (uint64_t)(l + 64);
    for (int i = 0; i < 3; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ull;
        x ^= x >> 33;
    }
    return x;
}

static void rotate_xyz(double v[3], double rx, double ry, double rz)
{
    double t[3];
    /* about x */
    t[0] = v[0];
    t[1] = v[1] * cos(rx) - v[2] * sin(rx);
    t[2] = v[1] * sin(rx) + v[2] * cos(rx);
    /* about y */
    v[0] = t[0] * cos(ry) + t[2] * sin(ry);
    v[1] = t[1];
    v[2] = -t[0] * sin(ry) + t[2] * cos(ry);
    /* about z */
    t[0] = v[0] * cos(rz) - v[1] * sin(rz);
    t[1] = v[0] * sin(rz) + v[1] * cos(rz);
    t[2] = v[2];
    memcpy(v, t, sizeof t);
}

static void cross(const double a[3], const double b[3], double o[3])
{
    o[0] = a[1] * b[2] - a[2] * b[1];
    o[1] = a[2] * b[0] - a[0] * b[2];
    o[2] = a[0] * b[1] - a[1] * b[0];
}

/* "%.*f" with '.' whatever the locale (the bench never calls setlocale, so this is belt and
 * braces for embedding) */
static void fmt_fixed(char *buf, size_t cap, int prec, double v)
{
    snprintf(buf, cap, "%.*f", prec, v);
    for (char *p = buf; *p; p++)
        if (*p == ',')
            *p = '.';
}

int bench_write_tricubic_inputs(const char *dir, char *err, size_t errlen)
{
    char path[4300];
    /* cell 60 70 80 / 88 92 95 degrees, misset 10 20 30 degrees */
    const double D2R = M_PI / 180.0;
    double A = 60, B = 70, C = 80, al = 88 * D2R, be = 92 * D2R, ga = 95 * D2R;
    double a[3] = {A, 0, 0};
    double b[3] = {B * cos(ga), B * sin(ga), 0};
    double cx = C * cos(be);
    double cy = C * (cos(al) - cos(be) * cos(ga)) / sin(ga);
    double c[3] = {cx, cy, sqrt(C * C - cx * cx - cy * cy)};
    rotate_xyz(a, 10 * D2R, 20 * D2R, 30 * D2R);
    rotate_xyz(b, 10 * D2R, 20 * D2R, 30 * D2R);
    rotate_xyz(c, 10 * D2R, 20 * D2R, 30 * D2R);
    double bxc[3], cxa[3], axb[3];
    cross(b, c, bxc);
    cross(c, a, cxa);
    cross(a, b, axb);
    double V = a[0] * bxc[0] + a[1] * bxc[1] + a[2] * bxc[2];
    const double lambda = 6.2;
    double as[3], bs[3], cs[3];
    for (int i = 0; i < 3; i++) {
        as[i] = bxc[i] / V * lambda;
        bs[i] = cxa[i] / V * lambda;
        cs[i] = axb[i] / V * lambda;
    }
    snprintf(path, sizeof path, "%s/tricubic_A.mat", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create", path);
        return 0;
    }
    char x[3][64];
    for (int r = 0; r < 3; r++) {
        fmt_fixed(x[0], sizeof x[0], 10, as[r]);
        fmt_fixed(x[1], sizeof x[1], 10, bs[r]);
        fmt_fixed(x[2], sizeof x[2], 10, cs[r]);
        fprintf(f, " %14s %14s %14s\n", x[0], x[1], x[2]);
    }
    /* MOSFLM files carry a U matrix and cell after A; the readers use the first 9 numbers */
    fprintf(f, "       0.000       0.000       0.000\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "%s: write error", path);
        return 0;
    }

    snprintf(path, sizeof path, "%s/tricubic_P1.hkl", dir);
    f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create", path);
        return 0;
    }
    for (int h = -12; h <= 12; h++)
        for (int k = -12; k <= 12; k++)
            for (int l = -12; l <= 12; l++) {
                uint64_t r = hkl_hash(h, k, l);
                /* Wilson-like falloff with resolution, deterministic scatter */
                double s2 = (double)(h * h) / 3600.0 + (double)(k * k) / 4900.0 +
                            (double)(l * l) / 6400.0;
                double F = (5.0 + 95.0 * (double)(r >> 11) / 9007199254740992.0) *
                           exp(-2.0 * s2 * 10.0);
                char fs[64];
                fmt_fixed(fs, sizeof fs, 2, F);
                fprintf(f, "%d %d %d %s\n", h, k, l, fs);
            }
    bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "%s: write error", path);
        return 0;
    }
    return 1;
}
