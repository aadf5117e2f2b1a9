/* SIGINT / SIGTERM during a render (issue 5): nbcl stops, exits 130 (documented in
 * docs/exit_codes.md), prints one "nbcl: ..." line saying it was interrupted, leaves no partial or
 * temporary file and keeps the previous outputs byte-identical.
 *
 * The scene is deliberately far too heavy to finish (4096^2 pixels x 64 sub-pixels x 50 mosaic
 * domains); the signal is sent after NBCL_SIGNAL_DELAY_MS (default 1500 ms), once the render is
 * under way, and nbcl must exit within NBCL_SIGNAL_WAIT_S (default 120 s: on PoCL one tile is
 * about 2^28 sub-path evaluations, a few seconds on 2 cores). The device is NBCL_TEST_DEVICE when
 * set, else nbcl's default. Skipped (77) without an OpenCL device. */
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

static void interrupt_render(int sig)
{
    if (!nbcl_test_have_device()) {
        fprintf(stderr, "no OpenCL device: skipped\n");
        skip();
    }
    char dir[4200], outp[4400], errp[4400], cmd[16384];
    snprintf(dir, sizeof dir, "%s/sig%d", nbcl_test_tmpdir(), sig);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(nbcl_test_run(cmd), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    put(dir, "float.bin", SENTINEL_FLOAT, sizeof SENTINEL_FLOAT);
    put(dir, "int.img", SENTINEL_INT, sizeof SENTINEL_INT - 1);
    char before[4096], after[4096];
    listing(dir, before, sizeof before);
    snprintf(outp, sizeof outp, "%s.stdout", dir);
    snprintf(errp, sizeof errp, "%s.stderr", dir);

    const char *dev = getenv("NBCL_TEST_DEVICE");
    char *argv[64];
    int argc = 0;
    const char *fixed[] = {"-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100",
                           "-N", "5", "-detpixels", "4096", "-oversample", "8", "-mosaic",
                           "0.5", "-mosaic_dom", "50", "-floatfile", "float.bin", "-intfile",
                           "int.img", "-pgmfile", "image.pgm", "-noisefile", "noise.img",
                           "-seed", "1", "-noprogress"};
    argv[argc++] = (char *)nbcl_test_bin("nbcl");
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[argc++] = (char *)fixed[i];
    if (dev && *dev) {
        argv[argc++] = "-device";
        argv[argc++] = (char *)dev;
    }
    argv[argc] = NULL;

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
    long delay_ms = env_long("NBCL_SIGNAL_DELAY_MS", 1500);
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
    long wait_s = env_long("NBCL_SIGNAL_WAIT_S", 120);
    for (;;) {
        w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        assert_int_equal(w, 0);
        if (now_s() - t0 > (double)wait_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("nbcl did not stop within %ld s of signal %d", wait_s, sig);
        }
        struct timespec tick = {0, 20000000L};
        nanosleep(&tick, NULL);
    }
    double stop_s = now_s() - t0;
    fprintf(stderr, "signal %d: nbcl stopped %.2f s after the signal\n", sig, stop_s);

    char *err = nbcl_test_read_file(errp, NULL);
    assert_non_null(err);
    if (!WIFEXITED(status))
        fail_msg("nbcl was killed by signal %d instead of exiting; stderr: %s",
                 WIFSIGNALED(status) ? WTERMSIG(status) : -1, err);
    if (WEXITSTATUS(status) != EXIT_INTERRUPTED)
        fail_msg("exit %d after signal %d, expected %d; stderr: %s", WEXITSTATUS(status), sig,
                 EXIT_INTERRUPTED, err);
    if (strncmp(err, "nbcl: ", 6) != 0 || !strstr(err, "interrupt"))
        fail_msg("stderr does not say 'nbcl: ... interrupted': %s", err);
    listing(dir, after, sizeof after);
    if (strcmp(before, after) != 0)
        fail_msg("directory changed: before [%s] after [%s]", before, after);
    check_file(dir, "float.bin", SENTINEL_FLOAT, sizeof SENTINEL_FLOAT);
    check_file(dir, "int.img", SENTINEL_INT, sizeof SENTINEL_INT - 1);
    free(err);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", dir, outp, errp);
    nbcl_test_run(cmd);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigint),
        cmocka_unit_test(test_sigterm),
    };
    return cmocka_run_group_tests_name("signals", tests, NULL, NULL);
}
