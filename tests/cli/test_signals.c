/* SIGINT / SIGTERM during a render (issue 5) and while waiting on a FIFO input or in a heavy
 * launch (issue 14, class 6): nbcl stops, exits 130 (documented in
 * docs/exit_codes.md), prints one "nbcl: ..." line saying it was interrupted, leaves no partial or
 * temporary file and keeps the previous outputs byte-identical.
 *
 * The scene is deliberately far too heavy to finish (4096^2 pixels x 64 sub-pixels x 50 mosaic
 * domains); the signal is sent after NBCL_SIGNAL_DELAY_MS (default 1500 ms), once the render is
 * under way, and nbcl must exit within NBCL_SIGNAL_WAIT_S (default 120 s, generous: launches are
 * sized to about 0.25 s of work). The FIFO and heavy-launch cases have their own bounds (below).
 * The device is NBCL_TEST_DEVICE when set, else nbcl's default. Skipped (77) without an OpenCL
 * device (the FIFO cases need none). */
#include "nbcl_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_INTERRUPTED 130

static const unsigned char SENTINEL_FLOAT[12] = {'o', 'l', 'd', ' ', 'f', 'l', 'o', 'a', 't',
                                                 0,   0xff, 1};
static const char SENTINEL_INT[] = "old int.img, must survive the interrupted run\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return (v && *v) ? strtol(v, NULL, 10) : dflt;
}

static void put(const char *dir, const char *name, const void *data, size_t len)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* names in dir, "." and ".." excluded, sorted into one string "a b c " */
static void listing(const char *dir, char *out, size_t cap)
{
    char names[64][256];
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[256];
            memcpy(t, names[j], sizeof t);
            memcpy(names[j], names[j - 1], sizeof t);
            memcpy(names[j - 1], t, sizeof t);
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strncat(out, names[i], cap - strlen(out) - 2);
        strncat(out, " ", cap - strlen(out) - 1);
    }
}

static void check_file(const char *dir, const char *name, const void *want, size_t len)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t got_len = 0;
    char *got = nbcl_test_read_file(p, &got_len);
    if (!got)
        fail_msg("previous output %s is gone", name);
    if (got_len != len || memcmp(got, want, len) != 0)
        fail_msg("previous output %s was changed (%zu bytes, was %zu)", name, got_len, len);
    free(got);
}

typedef struct sig_run {
    int status;    /* waitpid status */
    double stop_s; /* seconds from the signal to the exit */
    char *err;     /* nbcl's stderr (free it) */
} sig_run;

/* Run nbcl (argv[0] set here, argv NULL-terminated from argv[1]) in dir, send sig after delay_ms
 * (failing if it ended before), and wait at most wait_s for it to exit. */
static void run_and_signal(const char *dir, char **argv, long delay_ms, int sig, long wait_s,
                           sig_run *r)
{
    char outp[4400], errp[4400];
    snprintf(outp, sizeof outp, "%s.stdout", dir);
    snprintf(errp, sizeof errp, "%s.stderr", dir);
    argv[0] = (char *)nbcl_test_bin("nbcl");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0 || chdir(dir) != 0)
            _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(argv[0], argv);
        _exit(127);
    }
    struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    int status = 0;
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) {
        char *err = nbcl_test_read_file(errp, NULL);
        fail_msg("nbcl ended before the signal (status 0x%x): %s", status, err ? err : "");
    }
    double t0 = now_s();
    assert_int_equal(kill(pid, sig), 0);
    for (;;) {
        w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        assert_int_equal(w, 0);
        if (now_s() - t0 > (double)wait_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            char *err = nbcl_test_read_file(errp, NULL);
            fail_msg("nbcl did not stop within %ld s of signal %d; stderr: %s", wait_s, sig,
                     err ? err : "");
        }
        struct timespec tick = {0, 20000000L};
        nanosleep(&tick, NULL);
    }
    r->stop_s = now_s() - t0;
    r->status = status;
    r->err = nbcl_test_read_file(errp, NULL);
    assert_non_null(r->err);
    fprintf(stderr, "signal %d: nbcl stopped %.2f s after the signal\n", sig, r->stop_s);
    if (!WIFEXITED(status))
        fail_msg("nbcl was killed by signal %d instead of exiting; stderr: %s",
                 WIFSIGNALED(status) ? WTERMSIG(status) : -1, r->err);
    if (WEXITSTATUS(status) != EXIT_INTERRUPTED)
        fail_msg("exit %d after signal %d, expected %d; stderr: %s", WEXITSTATUS(status), sig,
                 EXIT_INTERRUPTED, r->err);
    if (strncmp(r->err, "nbcl: ", 6) != 0 || !strstr(r->err, "interrupt"))
        fail_msg("stderr does not say 'nbcl: ... interrupted': %s", r->err);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -f '%s' '%s'", outp, errp);
    nbcl_test_run(cmd);
}

/* a fresh directory under the test's scratch folder */
static void fresh_dir(char *dir, size_t cap, const char *name)
{
    char cmd[9000];
    snprintf(dir, cap, "%s/%s", nbcl_test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(nbcl_test_run(cmd), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
}

static void remove_dir(const char *dir)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    nbcl_test_run(cmd);
}

/* argv from a fixed list, plus -device when NBCL_TEST_DEVICE is set; argv[0] left for
 * run_and_signal */
static void build_argv(char **argv, size_t cap, const char *const *fixed, size_t n)
{
    size_t argc = 1;
    for (size_t i = 0; i < n && argc + 3 < cap; i++)
        argv[argc++] = (char *)fixed[i];
    const char *dev = getenv("NBCL_TEST_DEVICE");
    if (dev && *dev) {
        argv[argc++] = "-device";
        argv[argc++] = (char *)dev;
    }
    argv[argc] = NULL;
}

static void interrupt_render(int sig)
{
    nbcl_test_need_device();
    char dir[4200];
    char name[32];
    snprintf(name, sizeof name, "sig%d", sig);
    fresh_dir(dir, sizeof dir, name);
    put(dir, "float.bin", SENTINEL_FLOAT, sizeof SENTINEL_FLOAT);
    put(dir, "int.img", SENTINEL_INT, sizeof SENTINEL_INT - 1);
    char before[4096], after[4096];
    listing(dir, before, sizeof before);

    const char *fixed[] = {"-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100",
                           "-N", "5", "-detpixels", "4096", "-oversample", "8", "-mosaic",
                           "0.5", "-mosaic_dom", "50", "-floatfile", "float.bin", "-intfile",
                           "int.img", "-pgmfile", "image.pgm", "-noisefile", "noise.img",
                           "-seed", "1", "-noprogress"};
    char *argv[64];
    build_argv(argv, 64, fixed, sizeof fixed / sizeof fixed[0]);
    sig_run r;
    run_and_signal(dir, argv, env_long("NBCL_SIGNAL_DELAY_MS", 1500), sig,
                   env_long("NBCL_SIGNAL_WAIT_S", 120), &r);
    listing(dir, after, sizeof after);
    if (strcmp(before, after) != 0)
        fail_msg("directory changed: before [%s] after [%s]", before, after);
    check_file(dir, "float.bin", SENTINEL_FLOAT, sizeof SENTINEL_FLOAT);
    check_file(dir, "int.img", SENTINEL_INT, sizeof SENTINEL_INT - 1);
    free(r.err);
    remove_dir(dir);
}

static void test_sigint(void **state)
{
    (void)state;
    interrupt_render(SIGINT);
}

static void test_sigterm(void **state)
{
    (void)state;
    interrupt_render(SIGTERM);
}

/* ---- issue 14, class 6: one signal is enough */

/* A FIFO given as an input file, with no writer: nbcl waits (reading a FIFO is legitimate), and
 * one SIGTERM ends the wait within a bounded time with exit 130, naming the file; nothing is
 * written. Every input flag goes through the same reader. */
static void test_fifo_inputs(void **state)
{
    (void)state;
    static const struct {
        const char *flag;
        int with_cell; /* -mat replaces -cell */
    } inputs[] = {{"-hkl", 1}, {"-mat", 0}, {"-img", 1}, {"-mask", 1}, {"-sourcefile", 1}};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char dir[4200], fifo[4400], before[4096], after[4096];
        fresh_dir(dir, sizeof dir, "fifo");
        snprintf(fifo, sizeof fifo, "%s/in.fifo", dir);
        assert_int_equal(mkfifo(fifo, 0644), 0);
        listing(dir, before, sizeof before);
        const char *cell[] = {"-cell", "100", "100", "100", "90", "90", "90"};
        const char *rest[] = {inputs[i].flag, "in.fifo", "-default_F", "100", "-N", "5",
                              "-detpixels", "64", "-floatfile", "float.bin", "-intfile",
                              "int.img", "-nopgm", "-nonoise", "-noprogress"};
        const char *fixed[32];
        size_t n = 0;
        if (inputs[i].with_cell)
            for (size_t k = 0; k < 7; k++)
                fixed[n++] = cell[k];
        for (size_t k = 0; k < sizeof rest / sizeof rest[0]; k++)
            fixed[n++] = rest[k];
        char *argv[64];
        build_argv(argv, 64, fixed, n);
        sig_run r;
        run_and_signal(dir, argv, 700, SIGTERM, env_long("NBCL_FIFO_WAIT_S", 5), &r);
        if (!strstr(r.err, "in.fifo: interrupted while waiting for input"))
            fail_msg("%s: stderr does not name the FIFO: %s", inputs[i].flag, r.err);
        listing(dir, after, sizeof after);
        if (strcmp(before, after) != 0)
            fail_msg("%s: directory changed: before [%s] after [%s]", inputs[i].flag, before,
                     after);
        free(r.err);
        remove_dir(dir);
    }
}

/* reading an HKL file through a FIFO works: a writer comes after nbcl has started */
static void test_fifo_hkl_with_writer(void **state)
{
    (void)state;
    nbcl_test_need_device();
    char dir[4200], fifo[4400], cmd[16384];
    fresh_dir(dir, sizeof dir, "fifo_ok");
    snprintf(fifo, sizeof fifo, "%s/h.fifo", dir);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    pid_t writer = fork();
    assert_true(writer >= 0);
    if (writer == 0) {
        struct timespec ts = {0, 300000000L};
        nanosleep(&ts, NULL);
        int fd = open(fifo, O_WRONLY);
        if (fd < 0)
            _exit(1);
        static const char hkl[] = "0 0 1 100\n1 0 0 200\n0 1 0 150\n1 1 1 80\n";
        _exit(write(fd, hkl, sizeof hkl - 1) == (ssize_t)(sizeof hkl - 1) ? 0 : 2);
    }
    const char *dev = getenv("NBCL_TEST_DEVICE");
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' -hkl h.fifo -cell 100 100 100 90 90 90 -N 5 -detpixels 32 "
             "-floatfile float.bin -nopgm -nonoise -nointerpolate -intfile int.img "
             "-noprogress %s%s > out.txt 2> err.txt",
             dir, nbcl_test_bin("nbcl"), dev && *dev ? "-device " : "", dev && *dev ? dev : "");
    int rc = nbcl_test_run(cmd);
    int wstatus = 0;
    waitpid(writer, &wstatus, 0);
    assert_true(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    if (rc != 0) {
        char errp[4400];
        snprintf(errp, sizeof errp, "%s/err.txt", dir);
        char *err = nbcl_test_read_file(errp, NULL);
        fail_msg("nbcl with a FIFO as -hkl: exit %d: %s", rc, err ? err : "");
    }
    char fp[4400];
    snprintf(fp, sizeof fp, "%s/float.bin", dir);
    size_t len = 0;
    char *img = nbcl_test_read_file(fp, &len);
    assert_non_null(img);
    assert_int_equal(len, 32 * 32 * sizeof(float));
    free(img);
    remove_dir(dir);
}

/* render -detpixels `pixels` at -oversample `oversample`, send sig after 1 s: nbcl exits 130
 * within NBCL_HEAVY_WAIT_S (default 10 s), writes nothing, says "render interrupted", and on CPU
 * devices (where a work-item is 8 or 16 pixels) stderr also holds `cpu_expect` when given */
static void heavy_render(const char *name, const char *pixels, const char *oversample, int sig,
                         const char *cpu_expect)
{
    nbcl_test_need_device();
    char dir[4200], before[4096], after[4096];
    fresh_dir(dir, sizeof dir, name);
    listing(dir, before, sizeof before);
    const char *fixed[] = {"-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100",
                           "-N", "5", "-detpixels", pixels, "-oversample", oversample,
                           "-floatfile", "float.bin", "-intfile", "int.img", "-nopgm",
                           "-nonoise", "-noprogress"};
    char *argv[64];
    build_argv(argv, 64, fixed, sizeof fixed / sizeof fixed[0]);
    sig_run r;
    run_and_signal(dir, argv, 1000, sig, env_long("NBCL_HEAVY_WAIT_S", 10), &r);
    if (!strstr(r.err, "render interrupted"))
        fail_msg("stderr lacks \"render interrupted\": %s", r.err);
    nbcl_device_info d;
    if (cpu_expect && nbcl_device_find(getenv("NBCL_TEST_DEVICE"), &d, NULL, 0) == NBCL_OK &&
        strcmp(d.device_type, "CPU") == 0 && !strstr(r.err, cpu_expect))
        fail_msg("stderr lacks \"%s\": %s", cpu_expect, r.err);
    listing(dir, after, sizeof after);
    assert_string_equal(before, after);
    free(r.err);
    remove_dir(dir);
}

/* A heavy render (millions of sub-pixels per pixel) stops soon after one SIGINT: launches are
 * sized by work, not by pixels (before, its one launch took minutes). */
static void test_heavy_render_sigint(void **state)
{
    (void)state;
    heavy_render("heavy", "256", "2000", SIGINT, NULL);
}

/* One work-item alone is minutes of work (30000^2 sub-pixels per pixel, what -samplesize 1
 * picks by itself): a launch cannot be cut short, so nbcl warns up front (CPUs: 8 or 16 pixels
 * per work-item) and, after a signal, stops without waiting for the launch (3 s timer). */
static void test_long_item_sigterm(void **state)
{
    (void)state;
    heavy_render("long_item", "32", "30000", SIGTERM, "one work-item");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigint),
        cmocka_unit_test(test_sigterm),
        cmocka_unit_test(test_fifo_inputs),
        cmocka_unit_test(test_fifo_hkl_with_writer),
        cmocka_unit_test(test_heavy_render_sigint),
        cmocka_unit_test(test_long_item_sigterm),
    };
    return cmocka_run_group_tests_name("signals", tests, NULL, NULL);
}
