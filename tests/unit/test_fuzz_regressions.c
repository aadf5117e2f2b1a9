/* Regression inputs for the file readers: every file under tests/data/fuzz_regressions/<reader>/
 * is fed to its reader (hkl: nbcl_read_hkl, fdump: nbcl_read_fdump, matrix: nbcl_read_matrix,
 * sources: nbcl_read_sources, smv: nbcl_read_smv). Crashes found by the fuzzers (fuzz/,
 * tools/run_fuzz.sh) land here with the reproducer as the file, plus hand-made edge cases.
 *
 * The file name says what the reader must answer:
 *   ok-*      NBCL_OK
 *   parse-*   NBCL_PARSE, with a one-line message naming the file
 *   any-*     any status (only: no crash, no sanitizer report, one-line message on failure)
 *
 * Some inputs make a reader ask for huge amounts of memory (a typo like "1000000" in an HKL index
 * makes a grid of 10^12 cells). So that such a regression fails cleanly instead of swapping the
 * machine, the process runs with at most 2 GiB of address space (RLIMIT_AS) in ordinary builds,
 * and with ASan's allocator returning NULL above 2 GiB in sanitizer builds. */
#include "nbcl_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#if defined(__SANITIZE_ADDRESS__)
#define NBCL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NBCL_ASAN 1
#endif
#endif

#ifdef NBCL_ASAN
/* read by the ASan runtime at start-up; ASAN_OPTIONS from the environment still wins */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=2048";
}
#endif

#define MAX_FILES 256

typedef struct reg_file {
    char reader[16];
    char name[256];
    char path[4400];
} reg_file;
/* dir (< 4096) + "/" + name (< 256) always fits path */

static reg_file g_files[MAX_FILES];
static size_t g_nfiles;

static const char *READERS[] = {"hkl", "fdump", "matrix", "sources", "smv"};

static void collect(void)
{
    const char *src = getenv("NBCL_SOURCE_DIR");
    char dir[4096];
    for (size_t r = 0; r < sizeof READERS / sizeof READERS[0]; r++) {
        snprintf(dir, sizeof dir, "%s/tests/data/fuzz_regressions/%s", src ? src : "..",
                 READERS[r]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL && g_nfiles < MAX_FILES) {
            if (e->d_name[0] == '.')
                continue;
            reg_file *f = &g_files[g_nfiles++];
            snprintf(f->reader, sizeof f->reader, "%s", READERS[r]);
            snprintf(f->name, sizeof f->name, "%s", e->d_name);
            snprintf(f->path, sizeof f->path, "%.4095s/%.255s", dir, e->d_name);
        }
        closedir(d);
    }
}

static nbcl_status feed(const reg_file *f, char *err, size_t errlen)
{
    nbcl_status st = NBCL_INVALID_ARGUMENT;
    if (strcmp(f->reader, "hkl") == 0 || strcmp(f->reader, "fdump") == 0) {
        nbcl_hkl_grid g;
        st = strcmp(f->reader, "hkl") == 0 ? nbcl_read_hkl(f->path, 0.0, &g, err, errlen)
                                           : nbcl_read_fdump(f->path, &g, err, errlen);
        if (st == NBCL_OK) {
            assert_non_null(g.F);
            assert_int_equal(g.h_range, g.h_max - g.h_min + 1);
            assert_int_equal(g.k_range, g.k_max - g.k_min + 1);
            assert_int_equal(g.l_range, g.l_max - g.l_min + 1);
            nbcl_hkl_free(&g);
        }
    } else if (strcmp(f->reader, "matrix") == 0) {
        double a[3], b[3], c[3];
        st = nbcl_read_matrix(f->path, a, b, c, err, errlen);
        if (st == NBCL_OK)
            for (int i = 0; i < 3; i++)
                assert_true(isfinite(a[i]) && isfinite(b[i]) && isfinite(c[i]));
    } else if (strcmp(f->reader, "sources") == 0) {
        nbcl_source_list s;
        st = nbcl_read_sources(f->path, &s, err, errlen);
        if (st == NBCL_OK) {
            assert_true(s.n > 0);
            nbcl_sources_free(&s);
        }
    } else if (strcmp(f->reader, "smv") == 0) {
        nbcl_smv s;
        st = nbcl_read_smv(f->path, &s, err, errlen);
        if (st == NBCL_OK) {
            assert_true(s.width > 0 && s.height > 0);
            assert_non_null(s.pixels);
            nbcl_smv_free(&s);
        }
    }
    return st;
}

static void run_one(void **state)
{
    const reg_file *f = *state;
    char err[2048] = "";
    nbcl_status st = feed(f, err, sizeof err);
    fprintf(stderr, "%s/%s: %s%s%s\n", f->reader, f->name, nbcl_status_name(st),
            err[0] ? ": " : "", err);
    if (st != NBCL_OK) {
        if (!err[0] || strchr(err, '\n'))
            fail_msg("%s/%s: the message is not one line: '%s'", f->reader, f->name, err);
        if (!strstr(err, f->name))
            fail_msg("%s/%s: the message does not name the file: '%s'", f->reader, f->name, err);
    }
    if (strncmp(f->name, "ok-", 3) == 0 && st != NBCL_OK)
        fail_msg("%s/%s: expected NBCL_OK, got %s", f->reader, f->name, nbcl_status_name(st));
    if (strncmp(f->name, "parse-", 6) == 0 && st != NBCL_PARSE)
        fail_msg("%s/%s: expected NBCL_PARSE (rejected as malformed), got %s", f->reader,
                 f->name, nbcl_status_name(st));
}

static int by_name(const void *a, const void *b)
{
    const reg_file *x = a, *y = b;
    int c = strcmp(x->reader, y->reader);
    return c ? c : strcmp(x->name, y->name);
}

int main(void)
{
#ifndef NBCL_ASAN
    struct rlimit rl = {(rlim_t)2 << 30, (rlim_t)2 << 30};
    setrlimit(RLIMIT_AS, &rl);
#endif
    collect();
    if (g_nfiles == 0) {
        fprintf(stderr, "no regression inputs found (NBCL_SOURCE_DIR unset?)\n");
        return 1;
    }
    qsort(g_files, g_nfiles, sizeof g_files[0], by_name);
    static struct CMUnitTest tests[MAX_FILES];
    static char names[MAX_FILES][300];
    /* reader (< 16) + "/" + name (< 256) */
    for (size_t i = 0; i < g_nfiles; i++) {
        snprintf(names[i], sizeof names[i], "%.15s/%.255s", g_files[i].reader, g_files[i].name);
        tests[i].name = names[i];
        tests[i].test_func = run_one;
        tests[i].setup_func = NULL;
        tests[i].teardown_func = NULL;
        tests[i].initial_state = &g_files[i];
    }
    return _cmocka_run_group_tests("fuzz_regressions", tests, g_nfiles, NULL, NULL);
}
