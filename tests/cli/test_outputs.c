/* nbcl's outputs, round two (issue 14 classes 1-3, docs/reliability.md "Round two"):
 *   1. special files and links as outputs: a null device (made with mknod in the test folder,
 *      never the system's), a FIFO with and without a reader, a link to a file, a dangling link,
 *      a link to the device, a directory;
 *   2. two names for one file: outputs spelled differently, hard and symbolic links, an output
 *      over an input of the same run (-hkl, -mat, -img, -mask, -sourcefile, the Fdump.bin cache);
 *   3. all or nothing: one output that cannot be written means none is; the Fdump.bin cache is
 *      written after the outputs, best effort.
 * Each case runs nbcl in a fresh folder under the test tmpdir. A refused run must exit with the
 * documented code, print one line naming the flags or file, and leave the folder exactly as it
 * was (names, types and contents). Runs that render skip without an OpenCL device; the refusals
 * before any work do not need one. */
#define _DEFAULT_SOURCE /* usleep */
#include "nbcl_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define X_USAGE 2
#define X_OUTPUT 6

#define XTAL "-cell 100 100 100 90 90 90 "
#define BASE "-default_F 10 -detpixels 16 -noprogress -seed 1 "
#define ALL4 "-floatfile float.bin -intfile int.img -pgmfile image.pgm -noisefile noise.img "

static char g_dir[4096];
static char *g_ref[4]; /* reference outputs: float.bin, int.img, image.pgm, noise.img */
static size_t g_reflen[4];

static void sh(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (nbcl_test_run(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

static void fresh(const char *name)
{
    snprintf(g_dir, sizeof g_dir, "%s/out_%s", nbcl_test_tmpdir(), name);
    sh("rm -rf '%s' && mkdir -p '%s' && cd '%s' && mkdir sub adir && "
       "printf 'previous float' > float.bin && printf 'previous int' > int.img && "
       "printf '0 0 0 10\\n1 0 0 20\\n' > h.hkl && printf '0.01 0 0\\n0 0.01 0\\n0 0 0.01\\n' "
       "> a.mat && printf -- '-10 0 0 1 1e-10\\n' > s.src",
       g_dir, g_dir, g_dir);
}

/* names, types, link targets and contents of every entry (recursively): what must not change */
static char *digest(void)
{
    char out[4400];
    snprintf(out, sizeof out, "%s.digest", g_dir);
    sh("cd '%s' && { find . -mindepth 1 -printf '%%y %%p %%l\\n'; "
       "find . -type f -exec sha256sum {} +; } | LC_ALL=C sort > '%s'",
       g_dir, out);
    char *d = nbcl_test_read_file(out, NULL);
    assert_non_null(d);
    return d;
}

static int g_rc;
static char *g_stderr;

static void run(const char *args)
{
    char errf[4400], cmd[16384];
    snprintf(errf, sizeof errf, "%s.stderr", g_dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' %s >/dev/null 2>'%s'", g_dir,
             nbcl_test_bin("nbcl"), args, errf);
    g_rc = nbcl_test_run(cmd);
    free(g_stderr);
    g_stderr = nbcl_test_read_file(errf, NULL);
    assert_non_null(g_stderr);
}

/* run a command line that must be refused: code, one line naming needle (and needle2), the
 * folder exactly as before */
static void refused(const char *args, int code, const char *needle, const char *needle2)
{
    char *before = digest();
    run(args);
    if (g_rc != code)
        fail_msg("%s: exit %d, expected %d; stderr: %s", args, g_rc, code, g_stderr);
    if (strncmp(g_stderr, "nbcl: ", 6) != 0 || strchr(g_stderr, '\n') != strrchr(g_stderr, '\n'))
        fail_msg("%s: stderr is not one 'nbcl: ' line: %s", args, g_stderr);
    if (!strstr(g_stderr, needle) || (needle2 && !strstr(g_stderr, needle2)))
        fail_msg("%s: the message does not name '%s'%s%s: %s", args, needle,
                 needle2 ? " and " : "", needle2 ? needle2 : "", g_stderr);
    char *after = digest();
    if (strcmp(before, after) != 0)
        fail_msg("%s: the folder changed.\nbefore:\n%s\nafter:\n%s", args, before, after);
    free(before);
    free(after);
}

static void succeeded(const char *args)
{
    run(args);
    if (g_rc != 0)
        fail_msg("%s: exit %d; stderr: %s", args, g_rc, g_stderr);
}

static char g_path[4400];
static const char *at(const char *name)
{
    snprintf(g_path, sizeof g_path, "%s/%s", g_dir, name);
    return g_path;
}

static mode_t type_of(const char *name)
{
    struct stat st;
    if (lstat(at(name), &st) != 0)
        fail_msg("%s: missing after the run", name);
    return st.st_mode & S_IFMT;
}

/* the file holds reference output k (0 float, 1 int, 2 pgm, 3 noise) */
static void assert_ref(const char *name, int k)
{
    size_t len = 0;
    char *d = nbcl_test_read_file(at(name), &len);
    if (!d)
        fail_msg("%s: cannot read", name);
    if (len != g_reflen[k] || memcmp(d, g_ref[k], len) != 0)
        fail_msg("%s: %zu bytes, not the image (%zu bytes)", name, len, g_reflen[k]);
    free(d);
}

static void no_temporaries(void)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "cd '%s' && ! find . -name '.*.tmp.*' | grep -q .", g_dir);
    if (nbcl_test_run(cmd) != 0)
        fail_msg("temporary files left in %s", g_dir);
}

static int setup_reference(void **state)
{
    (void)state;
    if (!nbcl_test_have_device())
        return 0;
    fresh("reference");
    run(XTAL BASE ALL4);
    if (g_rc != 0) {
        fprintf(stderr, "reference run failed: %s", g_stderr);
        return -1;
    }
    static const char *names[4] = {"float.bin", "int.img", "image.pgm", "noise.img"};
    for (int k = 0; k < 4; k++) {
        g_ref[k] = nbcl_test_read_file(at(names[k]), &g_reflen[k]);
        if (!g_ref[k] || g_reflen[k] < 256)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- 1. special files, links */
static void test_null_device(void **state)
{
    (void)state;
    nbcl_test_need_device();
    fresh("nulldev");
    if (!nbcl_test_make_null_device(at("nulldev"))) {
        fprintf(stderr, "cannot make a null device here (needs root, no nodev mount): skipped\n");
        skip();
    }
    sh("cd '%s' && ln -s nulldev devlink", g_dir);
    /* one device for several outputs: discarded, never replaced */
    succeeded(XTAL BASE "-floatfile nulldev -intfile ./nulldev -pgmfile devlink "
                        "-noisefile noise.img");
    assert_int_equal(type_of("nulldev"), S_IFCHR);
    assert_int_equal(type_of("devlink"), S_IFLNK);
    assert_ref("noise.img", 3);
    no_temporaries();
}

static void test_links(void **state)
{
    (void)state;
    nbcl_test_need_device();
    fresh("links");
    sh("cd '%s' && printf old > sub/target && ln -s sub/target flink && ln -s sub/new dang && "
       "ln -s flink chain",
       g_dir);
    succeeded(XTAL BASE "-floatfile flink -intfile dang -pgmfile p.pgm -noisefile n.img");
    assert_int_equal(type_of("flink"), S_IFLNK);
    assert_int_equal(type_of("dang"), S_IFLNK);
    assert_int_equal(type_of("sub/target"), S_IFREG);
    assert_ref("sub/target", 0);
    assert_ref("sub/new", 1); /* a dangling link's target is created */
    succeeded(XTAL BASE "-floatfile f.bin -intfile chain -pgmfile p.pgm -noisefile n.img");
    assert_int_equal(type_of("chain"), S_IFLNK);
    assert_int_equal(type_of("flink"), S_IFLNK);
    assert_ref("sub/target", 1);
    no_temporaries();
}

static void test_fifo_with_reader(void **state)
{
    (void)state;
    nbcl_test_need_device();
    fresh("fifo");
    sh("cd '%s' && mkfifo ff", g_dir);
    /* this process is the reader: the 1 KiB image fits in the pipe's buffer, read after the run
     * (tests/unit/test_outfile_sets.c covers a reader that must keep up with a large output) */
    int in = open(at("ff"), O_RDONLY | O_NONBLOCK);
    assert_true(in >= 0);
    succeeded(XTAL BASE "-floatfile ff -intfile i.img -pgmfile p.pgm -noisefile n.img");
    char *got = malloc(g_reflen[0] + 1);
    assert_non_null(got);
    ssize_t n = read(in, got, g_reflen[0] + 1);
    close(in);
    if (n != (ssize_t)g_reflen[0] || memcmp(got, g_ref[0], g_reflen[0]) != 0)
        fail_msg("the FIFO's reader got %zd bytes, not the %zu of the float image", n,
                 g_reflen[0]);
    free(got);
    assert_ref("i.img", 1);
    assert_int_equal(type_of("ff"), S_IFIFO);
    no_temporaries();
}

static void test_fifo_without_reader(void **state)
{
    (void)state;
    nbcl_test_need_device();
    fresh("fifo_noreader");
    sh("cd '%s' && mkfifo ff", g_dir);
    /* found at open, after the render: nothing else of the run may be left (the other outputs
     * are in the same commit set, aborted) */
    refused(XTAL BASE "-intfile int.img -floatfile ff -pgmfile p.pgm -noisefile n.img",
            X_OUTPUT, "ff", "no reader");
    assert_int_equal(type_of("ff"), S_IFIFO);
}

/* a reader that never reads: nbcl waits for it, but one SIGINT ends the run (exit 130) and
 * leaves nothing else behind */
static void test_fifo_reader_stalls(void **state)
{
    (void)state;
    nbcl_test_need_device();
    fresh("fifo_stall");
    sh("cd '%s' && mkfifo ff", g_dir);
    int in = open(at("ff"), O_RDONLY | O_NONBLOCK); /* a reader, which never reads */
    assert_true(in >= 0);
    char errf[4400];
    snprintf(errf, sizeof errf, "%s.stderr", g_dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* 256 x 256 floats: 256 KiB, four times what the pipe holds */
        if (chdir(g_dir) != 0 || !freopen("/dev/null", "w", stdout) || !freopen(errf, "w", stderr))
            _exit(99);
        execl(nbcl_test_bin("nbcl"), "nbcl", "-cell", "100", "100", "100", "90", "90", "90",
              "-default_F", "10", "-detpixels", "256", "-noprogress", "-intfile", "i.img",
              "-floatfile", "ff", "-nopgm", "-nonoise", (char *)NULL);
        _exit(98);
    }
    /* wait until the pipe is full (the run is blocked on it), at most 60 s */
    int full = 0;
    for (int i = 0; i < 600 && !full; i++) {
        int queued = 0;
        if (ioctl(in, FIONREAD, &queued) == 0 && queued >= 65536)
            full = 1;
        else
            usleep(100000);
    }
    assert_true(full);
    usleep(300000); /* still blocked: it would wait for ever without the signal */
    int status = 0;
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
    assert_int_equal(kill(pid, SIGINT), 0);
    pid_t done = 0;
    for (int i = 0; i < 600 && done == 0; i++) { /* one signal must be enough */
        done = waitpid(pid, &status, WNOHANG);
        if (done == 0)
            usleep(100000);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("nbcl still waiting for the FIFO's reader 60 s after SIGINT");
    }
    close(in);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    char *err = nbcl_test_read_file(errf, NULL);
    assert_non_null(err);
    if (!strstr(err, "interrupted"))
        fail_msg("stderr does not say interrupted: %s", err);
    free(err);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "test ! -e '%s/i.img'", g_dir);
    assert_int_equal(nbcl_test_run(cmd), 0); /* the other output is not left behind */
    assert_int_equal(type_of("ff"), S_IFIFO);
    no_temporaries();
}

static void test_directory(void **state)
{
    (void)state;
    fresh("directory");
    sh("cd '%s' && printf keep > adir/keep && ln -s adir dirlink", g_dir);
    refused(XTAL BASE ALL4 "-pgmfile adir", X_OUTPUT, "-pgmfile", "adir: is a directory");
    refused(XTAL BASE ALL4 "-floatfile dirlink", X_OUTPUT, "-floatfile", "dirlink");
    refused(XTAL BASE ALL4 "-noisefile nodir/n.img", X_OUTPUT, "-noisefile", "nodir");
}

/* ---------------------------------------------------------------- 2. two names, one file */
typedef struct clash_case {
    const char *args; /* appended to the base (without the crystal when it names -mat) */
    const char *role1, *role2;
} clash_case;

static const clash_case CLASHES[] = {
    {"-floatfile x.bin -intfile ./x.bin", "-floatfile", "-intfile"},
    {"-floatfile x.bin -intfile sub/../x.bin", "-floatfile", "-intfile"},
    {"-floatfile float.bin -pgmfile hard.bin", "-floatfile", "-pgmfile"},
    {"-floatfile float.bin -noisefile soft.bin", "-floatfile", "-noisefile"},
    {"-intfile int.img -noisefile int.img", "-intfile", "-noisefile"},
    {"-hkl h.hkl -floatfile h.hkl", "-floatfile", "-hkl"},
    {"-hkl h.hkl -pgmfile ./sub/../h.hkl", "-pgmfile", "-hkl"},
    {"-mat a.mat -intfile a.mat", "-intfile", "-mat"},
    {"-img i.img -pgmfile i.img", "-pgmfile", "-img"},
    {"-mask i.img -noisefile ./i.img", "-noisefile", "-mask"},
    {"-sourcefile s.src -floatfile s.src", "-floatfile", "-sourcefile"},
    {"-hkl h.hkl -dump h.hkl", "-dumpfile", "-hkl"},
    {"-hkl h.hkl -floatfile Fdump.bin", "-floatfile", "-dumpfile"},
    {"-hkl h.hkl -dumpfile float.bin", "-floatfile", "-dumpfile"},
};

static void test_two_names_one_file(void **state)
{
    (void)state;
    fresh("clash");
    /* i.img: a 16 x 16 SMV image for -img and -mask */
    sh("cd '%s' && ln float.bin hard.bin && ln -s float.bin soft.bin && "
       "{ printf '{\\nHEADER_BYTES=512;\\nDIM=2;\\nBYTE_ORDER=little_endian;\\n"
       "TYPE=unsigned_short;\\nSIZE1=16;\\nSIZE2=16;\\n}\\f'; } > head && "
       "head -c 512 /dev/zero >> head && head -c 512 head > i.img && "
       "head -c 512 /dev/zero | tr '\\0' '\\1' >> i.img && rm head",
       g_dir);
    for (size_t i = 0; i < sizeof CLASHES / sizeof *CLASHES; i++) {
        const clash_case *c = &CLASHES[i];
        char args[1024];
        snprintf(args, sizeof args, "%s" BASE ALL4 "%s", strstr(c->args, "-mat") ? "" : XTAL,
                 c->args);
        refused(args, X_USAGE, c->role1, c->role2);
    }
    /* the Fdump.bin cache read as an input (no -hkl), then named as an output */
    sh("cd '%s' && printf '0 0 0 0 0 0\\n\\f' > Fdump.bin && head -c 8 /dev/zero >> Fdump.bin",
       g_dir);
    refused(XTAL BASE ALL4 "-floatfile ./Fdump.bin", X_USAGE, "-floatfile", "-dumpfile");
}

/* ---------------------------------------------------------------- 3. all or nothing */
static void test_all_or_nothing(void **state)
{
    (void)state;
    fresh("all_or_nothing");
    /* the last output cannot be written: none is, the previous ones are untouched */
    refused(XTAL BASE ALL4 "-pgmfile adir", X_OUTPUT, "-pgmfile", "adir");
    refused("-hkl h.hkl " XTAL BASE ALL4 "-noisefile adir", X_OUTPUT, "-noisefile", "adir");
    nbcl_test_need_device();
    /* the Fdump.bin cache: written after the outputs, on its own; a failure is a warning */
    succeeded("-hkl h.hkl " XTAL BASE ALL4 "-dumpfile adir");
    assert_non_null(strstr(g_stderr, "warning"));
    assert_non_null(strstr(g_stderr, "adir"));
    assert_int_equal(type_of("adir"), S_IFDIR);
    assert_int_equal(type_of("float.bin"), S_IFREG);
    assert_int_equal(type_of("noise.img"), S_IFREG);
    succeeded("-hkl h.hkl " XTAL BASE ALL4);
    assert_int_equal(type_of("Fdump.bin"), S_IFREG);
    no_temporaries();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_device),
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_fifo_with_reader),
        cmocka_unit_test(test_fifo_without_reader),
        cmocka_unit_test(test_fifo_reader_stalls),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_two_names_one_file),
        cmocka_unit_test(test_all_or_nothing),
    };
    int rc = cmocka_run_group_tests(tests, setup_reference, NULL);
    for (int k = 0; k < 4; k++)
        free(g_ref[k]);
    free(g_stderr);
    return rc;
}
