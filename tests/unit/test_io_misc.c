/* Float images, PGM, MOSFLM matrices, source files and the atomic output layer. */
#include "nbcl_test.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_err[1024];

static const char *tmp_path(const char *name)
{
    static char buf[8][4096];
    static int slot;
    char *p = buf[slot++ & 7];
    snprintf(p, 4096, "%s/%s", nbcl_test_tmpdir(), name);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* A fresh empty directory under the test tmpdir. */
static const char *fresh_dir(const char *name)
{
    const char *d = tmp_path(name);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(nbcl_test_run(cmd), 0);
    assert_int_equal(mkdir(d, 0755), 0);
    return d;
}

/* Number of entries in dir whose name contains `part` (all entries when NULL), "." and ".."
 * excluded. */
static int count_entries(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!part || strstr(e->d_name, part))
            n++;
    }
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- float */
static void test_float_roundtrip(void **state)
{
    (void)state;
    const float v[5] = {1.0f, -2.5f, 0.0f, 3.4028235e38f, 1.17549435e-38f};
    const char *p = tmp_path("img.bin");
    assert_int_equal(nbcl_write_float(p, v, 5, g_err, sizeof g_err), NBCL_OK);
    size_t len = 0;
    unsigned char *d = nbcl_test_read_file(p, &len);
    assert_non_null(d);
    assert_int_equal(len, 20);
    const unsigned char one_le[4] = {0x00, 0x00, 0x80, 0x3f}; /* 1.0f little-endian */
    assert_memory_equal(d, one_le, 4);
    free(d);

    float *r = NULL;
    size_t n = 0;
    assert_int_equal(nbcl_read_float(p, &r, &n, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(r, v, sizeof v);
    free(r);

    /* empty image */
    p = tmp_path("empty.bin");
    assert_int_equal(nbcl_write_float(p, NULL, 0, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(nbcl_read_float(p, &r, &n, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(n, 0);
    free(r);

    /* size not a multiple of 4 */
    p = write_text("odd.bin", "12345");
    g_err[0] = 0;
    assert_int_equal(nbcl_read_float(p, &r, &n, g_err, sizeof g_err), NBCL_PARSE);
    assert_null(r);
    assert_non_null(strstr(g_err, "odd.bin"));
    /* missing */
    assert_int_equal(nbcl_read_float(tmp_path("nope.bin"), &r, &n, g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "nope.bin"));
}

static void test_golden_float(void **state)
{
    (void)state;
    const char *gd = nbcl_test_golden_dir();
    if (!gd)
        skip();
    char path[4200];
    snprintf(path, sizeof path, "%s/p01_cubic_defaultF/float.bin", gd);
    float *r = NULL;
    size_t n = 0;
    assert_int_equal(nbcl_read_float(path, &r, &n, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(n, 256 * 256);
    /* stdout.txt: max_I = 154.652 */
    float mx = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i] > mx)
            mx = r[i];
    assert_close(mx, 154.652, 0, 1e-5);
    /* writing it back reproduces the file */
    const char *p = tmp_path("p01_float.bin");
    assert_int_equal(nbcl_write_float(p, r, n, g_err, sizeof g_err), NBCL_OK);
    size_t la, lb;
    char *a = nbcl_test_read_file(p, &la), *b = nbcl_test_read_file(path, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    free(r);
}

/* ---------------------------------------------------------------- PGM */
static void test_pgm(void **state)
{
    (void)state;
    const uint8_t pix[6] = {0, 1, 2, 128, 254, 255};
    const char *p = tmp_path("img.pgm");
    assert_int_equal(nbcl_write_pgm(p, 3, 2, pix, 2.5, g_err, sizeof g_err), NBCL_OK);
    size_t len = 0;
    char *d = nbcl_test_read_file(p, &len);
    const char *head = "P5\n3 2\n# pixels scaled by 2.5\n255\n";
    size_t hl = strlen(head);
    assert_int_equal(len, hl + 6);
    assert_memory_equal(d, head, hl);
    assert_memory_equal(d + hl, pix, 6);
    free(d);

    assert_int_equal(nbcl_write_pgm(p, 1, 1, pix, 1.23456789e-5, g_err, sizeof g_err), NBCL_OK);
    d = nbcl_test_read_file(p, &len);
    assert_non_null(strstr(d, "# pixels scaled by 1.23457e-05\n255\n"));
    free(d);
    assert_int_equal(nbcl_write_pgm(p, 0, 1, pix, 1, g_err, sizeof g_err), NBCL_INVALID_ARGUMENT);
}

/* ---------------------------------------------------------------- matrix */
static void test_matrix(void **state)
{
    (void)state;
    double a[3], b[3], c[3];
    const char *p = write_text("A.mat", " 1 2 3\n4 5 6\n 7 8 9\nextra line that is ignored\n");
    assert_int_equal(nbcl_read_matrix(p, a, b, c, g_err, sizeof g_err), NBCL_OK);
    /* rows a*x b*x c*x / a*y ... : columns are the vectors */
    assert_close(a[0], 1, 0, 0);
    assert_close(a[1], 4, 0, 0);
    assert_close(a[2], 7, 0, 0);
    assert_close(b[0], 2, 0, 0);
    assert_close(b[1], 5, 0, 0);
    assert_close(b[2], 8, 0, 0);
    assert_close(c[0], 3, 0, 0);
    assert_close(c[1], 6, 0, 0);
    assert_close(c[2], 9, 0, 0);

    /* any whitespace layout */
    p = write_text("A1.mat", "1e-2\t2\n3 4\r\n5 6 7 8 9");
    assert_int_equal(nbcl_read_matrix(p, a, b, c, g_err, sizeof g_err), NBCL_OK);
    assert_close(a[0], 0.01, 0, 0);
    assert_close(c[2], 9, 0, 0);

    p = write_text("short.mat", "1 2 3\n4 5 6\n7 8\n\n");
    g_err[0] = 0;
    assert_int_equal(nbcl_read_matrix(p, a, b, c, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "short.mat:3: expected 9 numbers"));

    p = write_text("word.mat", "1 2 3\n4 x 6\n7 8 9\n");
    g_err[0] = 0;
    assert_int_equal(nbcl_read_matrix(p, a, b, c, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "word.mat:2:"));
    assert_non_null(strstr(g_err, "'x'"));

    p = write_text("zero.mat", "1 0 3\n4 0 6\n7 0 9\n");
    g_err[0] = 0;
    assert_int_equal(nbcl_read_matrix(p, a, b, c, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "b*"));

    p = write_text("nan.mat", "1 2 3\n4 nan 6\n7 8 9\n");
    assert_int_equal(nbcl_read_matrix(p, a, b, c, g_err, sizeof g_err), NBCL_PARSE);
    p = write_text("empty.mat", "");
    assert_int_equal(nbcl_read_matrix(p, a, b, c, g_err, sizeof g_err), NBCL_PARSE);
    g_err[0] = 0;
    assert_int_equal(nbcl_read_matrix(tmp_path("none.mat"), a, b, c, g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "none.mat"));
}

static void test_golden_matrix(void **state)
{
    (void)state;
    const char *gd = nbcl_test_golden_dir();
    if (!gd)
        skip();
    char path[4200];
    snprintf(path, sizeof path, "%s/inputs/A.mat", gd);
    double a[3], b[3], c[3];
    assert_int_equal(nbcl_read_matrix(path, a, b, c, g_err, sizeof g_err), NBCL_OK);
    assert_close(a[0], 0.01214963, 0, 0);
    assert_close(b[0], 0.02546154, 0, 0);
    assert_close(c[0], -0.00087968, 0, 0);
    assert_close(a[1], -0.01451536, 0, 0);
    assert_close(b[1], 0.00000807, 0, 0);
    assert_close(c[1], 0.02825911, 0, 0);
    assert_close(a[2], 0.01705250, 0, 0);
    assert_close(b[2], 0.00089825, 0, 0);
    assert_close(c[2], 0.02468136, 0, 0);
}

/* ---------------------------------------------------------------- sources */
static void test_sources(void **state)
{
    (void)state;
    nbcl_source_list s;
    const char *p = write_text("src.txt", "-10 0 0 1.0 1e-10\n"
                                          "\n"
                                          "  \t \n"
                                          "# a comment\n"
                                          "-10,0.05;0:0.5!2e-10\n"
                                          "1 2\n"
                                          "1 2 3 4 5 6 7\r\n"
                                          "0 0 1 nan 1e-10");
    assert_int_equal(nbcl_read_sources(p, &s, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(s.n, 5);
    assert_close(s.x[0], -10, 0, 0);
    assert_close(s.y[0], 0, 0, 0);
    assert_close(s.w[0], 1, 0, 0);
    assert_close(s.lambda[0], 1e-10, 0, 0);
    assert_close(s.y[1], 0.05, 0, 0);
    assert_close(s.w[1], 0.5, 0, 0);
    assert_close(s.lambda[1], 2e-10, 0, 0);
    assert_close(s.x[2], 1, 0, 0);
    assert_close(s.y[2], 2, 0, 0);
    assert_true(isnan(s.z[2]));
    assert_true(isnan(s.w[2]));
    assert_true(isnan(s.lambda[2]));
    assert_close(s.lambda[3], 5, 0, 0); /* columns past the fifth are ignored */
    assert_true(isnan(s.w[4]));
    assert_close(s.z[4], 1, 0, 0);
    nbcl_sources_free(&s);
    assert_int_equal(s.n, 0);
    assert_null(s.x);
    nbcl_sources_free(NULL);

    p = write_text("badsrc.txt", "-10 0 0\n\n-10 zero 0\n");
    g_err[0] = 0;
    assert_int_equal(nbcl_read_sources(p, &s, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "badsrc.txt:3:"));
    assert_non_null(strstr(g_err, "'zero'"));
    assert_null(s.x);

    p = write_text("nosrc.txt", "\n\n  \n");
    g_err[0] = 0;
    assert_int_equal(nbcl_read_sources(p, &s, g_err, sizeof g_err), NBCL_PARSE);
    assert_non_null(strstr(g_err, "no sources"));
    assert_int_equal(nbcl_read_sources(tmp_path("nofile.txt"), &s, g_err, sizeof g_err), NBCL_IO);
}

static void test_golden_sources(void **state)
{
    (void)state;
    const char *gd = nbcl_test_golden_dir();
    if (!gd)
        skip();
    char path[4200];
    snprintf(path, sizeof path, "%s/inputs/sources2.txt", gd);
    nbcl_source_list s;
    assert_int_equal(nbcl_read_sources(path, &s, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(s.n, 2);
    assert_close(s.x[0], -10, 0, 0);
    assert_close(s.y[0], 0, 0, 0);
    assert_close(s.z[0], 0, 0, 0);
    assert_close(s.w[0], 1.0, 0, 0);
    assert_close(s.lambda[0], 1e-10, 0, 0);
    assert_close(s.x[1], -10, 0, 0);
    assert_close(s.y[1], 0.05, 0, 0);
    assert_close(s.z[1], 0, 0, 0);
    assert_close(s.w[1], 0.5, 0, 0);
    assert_close(s.lambda[1], 1e-10, 0, 0);
    nbcl_sources_free(&s);
}

/* ---------------------------------------------------------------- atomic output */
static void test_outfile_commit_and_abort(void **state)
{
    (void)state;
    const char *dir = fresh_dir("atomic");
    char target[4200];
    snprintf(target, sizeof target, "%s/out.bin", dir);

    nbcl_outfile *f = NULL;
    assert_int_equal(nbcl_outfile_open(target, &f, g_err, sizeof g_err), NBCL_OK);
    assert_non_null(f);
    assert_int_equal(count_entries(dir, ".out.bin.tmp."), 1); /* temp in the same directory */
    assert_int_equal(access(target, F_OK), -1);              /* target not there yet */
    assert_int_equal(nbcl_outfile_write(f, "first", 5, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(nbcl_outfile_commit(f, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(count_entries(dir, NULL), 1);
    size_t len = 0;
    char *d = nbcl_test_read_file(target, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(d, "first", 5);
    free(d);
    /* mode 0644 & ~umask */
    mode_t um = umask(022);
    umask(um);
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644 & ~um);

    /* abort: previous content intact, no temporary left */
    assert_int_equal(nbcl_outfile_open(target, &f, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(nbcl_outfile_write(f, "second, longer", 14, g_err, sizeof g_err), NBCL_OK);
    nbcl_outfile_abort(f);
    nbcl_outfile_abort(NULL);
    d = nbcl_test_read_file(target, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(d, "first", 5);
    free(d);
    assert_int_equal(count_entries(dir, NULL), 1);

    /* replace */
    assert_int_equal(nbcl_write_float(target, (const float[]){2.0f}, 1, g_err, sizeof g_err),
                     NBCL_OK);
    d = nbcl_test_read_file(target, &len);
    assert_int_equal(len, 4);
    free(d);

    /* several open at once, relative path */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    nbcl_outfile *g[3];
    assert_int_equal(nbcl_outfile_open("a.txt", &g[0], g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(nbcl_outfile_open("b.txt", &g[1], g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(nbcl_outfile_open("./c.txt", &g[2], g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(count_entries(".", ".tmp."), 3);
    assert_int_equal(nbcl_outfile_commit(g[1], g_err, sizeof g_err), NBCL_OK);
    nbcl_outfile_abort(g[0]);
    assert_int_equal(nbcl_outfile_commit(g[2], g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(access("b.txt", F_OK), 0);
    assert_int_equal(access("c.txt", F_OK), 0);
    assert_int_equal(access("a.txt", F_OK), -1);
    assert_int_equal(count_entries(".", ".tmp."), 0);
    assert_int_equal(chdir(cwd), 0);
}

static void test_outfile_errors(void **state)
{
    (void)state;
    const char *dir = fresh_dir("atomic_err");
    char target[8400], missing_dir[4200];
    snprintf(missing_dir, sizeof missing_dir, "%s/no_such_dir", dir);
    snprintf(target, sizeof target, "%s/out.img", missing_dir);

    nbcl_outfile *f = (nbcl_outfile *)1;
    g_err[0] = 0;
    assert_int_equal(nbcl_outfile_open(target, &f, g_err, sizeof g_err), NBCL_IO);
    assert_null(f);
    assert_non_null(strstr(g_err, "out.img"));
    assert_non_null(strstr(g_err, "No such file"));
    g_err[0] = 0;
    const float one = 1;
    assert_int_equal(nbcl_write_float(target, &one, 1, g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "no_such_dir/out.img"));
    uint8_t px = 0;
    assert_int_equal(nbcl_write_pgm(target, 1, 1, &px, 1, g_err, sizeof g_err), NBCL_IO);
    assert_int_equal(access(missing_dir, F_OK), -1); /* nothing created */
    assert_int_equal(count_entries(dir, NULL), 0);

    /* target is an existing directory: rename fails, temp removed */
    snprintf(target, sizeof target, "%s/adir", dir);
    assert_int_equal(mkdir(target, 0755), 0);
    g_err[0] = 0;
    assert_int_equal(nbcl_write_float(target, &one, 1, g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "adir"));
    assert_int_equal(count_entries(dir, NULL), 1);

    /* bad arguments */
    assert_int_equal(nbcl_outfile_open("", &f, g_err, sizeof g_err), NBCL_INVALID_ARGUMENT);
    snprintf(target, sizeof target, "%s/", dir);
    assert_int_equal(nbcl_outfile_open(target, &f, g_err, sizeof g_err), NBCL_INVALID_ARGUMENT);
    assert_int_equal(nbcl_outfile_commit(NULL, g_err, sizeof g_err), NBCL_INVALID_ARGUMENT);

    /* abort_all (as from a signal handler) removes open temporaries; commit then fails and
     * the target is untouched */
    snprintf(target, sizeof target, "%s/sig.bin", dir);
    assert_int_equal(nbcl_outfile_open(target, &f, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(nbcl_outfile_write(f, "xx", 2, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(count_entries(dir, ".sig.bin.tmp."), 1);
    nbcl_outfile_abort_all_signal_safe();
    assert_int_equal(count_entries(dir, ".sig.bin.tmp."), 0);
    assert_int_not_equal(nbcl_outfile_commit(f, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(access(target, F_OK), -1);
}

static void on_term(int sig)
{
    (void)sig;
    nbcl_outfile_abort_all_signal_safe();
    _exit(3);
}

static void test_outfile_signal(void **state)
{
    (void)state;
    const char *dir = fresh_dir("atomic_sig");
    char target[4200];
    snprintf(target, sizeof target, "%s/img.bin", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGTERM, on_term);
        nbcl_outfile *f = NULL;
        char err[256];
        if (nbcl_outfile_open(target, &f, err, sizeof err) != NBCL_OK)
            _exit(1);
        if (nbcl_outfile_write(f, "partial", 7, err, sizeof err) != NBCL_OK)
            _exit(1);
        raise(SIGTERM);
        _exit(2);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_int_equal(count_entries(dir, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_roundtrip),
        cmocka_unit_test(test_golden_float),
        cmocka_unit_test(test_pgm),
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_golden_matrix),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_golden_sources),
        cmocka_unit_test(test_outfile_commit_and_abort),
        cmocka_unit_test(test_outfile_errors),
        cmocka_unit_test(test_outfile_signal),
    };
    return cmocka_run_group_tests_name("io_misc", tests, NULL, NULL);
}
