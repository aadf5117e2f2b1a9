/* Datasets (issue 11, docs/datasets.md): nbcl -nframes / -frames / -resume, stills seeds,
 * several devices in one process and MPI ranks, each checked BYTE FOR BYTE against single runs
 * of the same frames. Small frames (64^2) so the whole file runs in seconds on PoCL.
 * Skipped without an OpenCL device; the two-device case needs PoCL (POCL_DEVICES), the MPI case
 * mpirun and an nbcl built with MPI (each says so and skips its part otherwise). */
#include "nbcl_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BASE "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 100 " \
             "-pixel 0.1 -detpixels 64 -noprogress -nopgm -seed 7"
#define PHI0 1.0
#define OSC 0.3
#define NF 6

static const char *workdir(const char *name)
{
    const char *d = nbcl_test_workdir(name);
    assert_non_null(d);
    return d;
}

/* nbcl in dir with args; env: extra "VAR=value ..." words before the command (or "") */
static int nbcl_env(const char *dir, const char *env, const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' %s > .stdout 2> .stderr", dir, env,
             nbcl_test_bin("nbcl"), args);
    return nbcl_test_run(cmd);
}

static int nbcl(const char *dir, const char *args)
{
    return nbcl_env(dir, "", args);
}

static void nbcl_ok(const char *dir, const char *args)
{
    int rc = nbcl(dir, args);
    if (rc != 0) {
        char p[4200];
        snprintf(p, sizeof p, "%s/.stderr", dir);
        char *e = nbcl_test_read_file(p, NULL);
        fail_msg("nbcl %s: exit %d: %s", args, rc, e ? e : "");
    }
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return nbcl_test_read_file(p, len);
}

/* the two files hold the same bytes (and exist) */
static void assert_same_file(const char *dir_a, const char *a, const char *dir_b, const char *b)
{
    size_t la = 0, lb = 0;
    char *x = slurp(dir_a, a, &la), *y = slurp(dir_b, b, &lb);
    if (!x || !y)
        fail_msg("missing: %s/%s (%p) or %s/%s (%p)", dir_a, a, (void *)x, dir_b, b, (void *)y);
    if (la != lb || memcmp(x, y, la) != 0)
        fail_msg("%s/%s and %s/%s differ (%zu and %zu bytes)", dir_a, a, dir_b, b, la, lb);
    free(x);
    free(y);
}

static int exists(const char *dir, const char *name)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* entries of dir other than ., .., .stdout and .stderr */
static int count_entries(const char *dir, int *temporaries)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    if (temporaries)
        *temporaries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".stdout") ||
            !strcmp(e->d_name, ".stderr"))
            continue;
        n++;
        if (temporaries && strstr(e->d_name, ".tmp."))
            (*temporaries)++;
    }
    closedir(d);
    return n;
}

static double frame_phi(int k)
{
    return PHI0 + (double)(k - 1) * OSC; /* in double, as documented */
}

/* the series of NF frames, float + SMV + noise, in dir */
static void render_series(const char *dir, const char *extra)
{
    char args[2048];
    snprintf(args, sizeof args,
             BASE " -phi %g -osc %g -nframes %d -floatfile f_###.bin -intfile i_###.img "
                  "-noisefile n_###.img %s",
             PHI0, OSC, NF, extra);
    nbcl_ok(dir, args);
}

static void assert_same_series(const char *a, const char *b, int first, int last)
{
    for (int k = first; k <= last; k++) {
        char n[64];
        snprintf(n, sizeof n, "f_%03d.bin", k);
        assert_same_file(a, n, b, n);
        snprintf(n, sizeof n, "i_%03d.img", k);
        assert_same_file(a, n, b, n);
        snprintf(n, sizeof n, "n_%03d.img", k);
        assert_same_file(a, n, b, n);
    }
}

/* ------------------------------------------------------------------ acceptance */

/* frame k of a series is the single run with -phi phi0 + (k-1) osc (printed with %.17g), and
 * its noise image the single run with -seed nbcl_frame_seed(seed, k); in both precisions */
static void series_equals_single_runs(void **state)
{
    (void)state;
    nbcl_test_need_device();
    static const char *const prec[] = {"single", "double"};
    for (int p = 0; p < 2; p++) {
        const char *s = workdir(p ? "series_d" : "series_s");
        const char *one = workdir(p ? "single_d" : "single_s");
        char extra[64];
        snprintf(extra, sizeof extra, "-precision %s", prec[p]);
        render_series(s, extra);
        assert_int_equal(count_entries(s, NULL), 3 * NF);
        for (int k = 1; k <= NF; k++) {
            char args[2048];
            snprintf(args, sizeof args,
                     BASE " -precision %s -phi %.17g -osc %g -seed %ld -floatfile f.bin "
                          "-intfile i.img -noisefile n.img",
                     prec[p], frame_phi(k), OSC, nbcl_frame_seed(7, k));
            nbcl_ok(one, args);
            char n[64];
            snprintf(n, sizeof n, "f_%03d.bin", k);
            assert_same_file(s, n, one, "f.bin");
            snprintf(n, sizeof n, "i_%03d.img", k);
            assert_same_file(s, n, one, "i.img");
            snprintf(n, sizeof n, "n_%03d.img", k);
            assert_same_file(s, n, one, "n.img");
        }
    }
}

/* each frame's SMV header carries its own PHI / OSC_START and the OSC_RANGE */
static void series_headers(void **state)
{
    (void)state;
    nbcl_test_need_device();
    const char *s = workdir("headers");
    render_series(s, "");
    for (int k = 1; k <= NF; k++) {
        char p[4400], err[1024];
        snprintf(p, sizeof p, "%s/i_%03d.img", s, k);
        nbcl_smv m;
        if (nbcl_read_smv(p, &m, err, sizeof err) != NBCL_OK)
            fail_msg("%s", err);
        assert_close(nbcl_smv_value_exact(&m, "PHI"), frame_phi(k), 1e-6, 0);
        assert_close(nbcl_smv_value_exact(&m, "OSC_START"), frame_phi(k), 1e-6, 0);
        assert_close(nbcl_smv_value_exact(&m, "OSC_RANGE"), OSC, 1e-9, 0);
        nbcl_smv_free(&m);
    }
}

/* -frames FIRST LAST writes only those frames, byte-identical to the whole run's */
static void frames_slice(void **state)
{
    (void)state;
    nbcl_test_need_device();
    const char *whole = workdir("whole");
    const char *part = workdir("part");
    render_series(whole, "");
    render_series(part, "-frames 2 4");
    assert_int_equal(count_entries(part, NULL), 9);
    assert_false(exists(part, "f_001.bin"));
    assert_false(exists(part, "f_005.bin"));
    assert_same_series(whole, part, 2, 4);
}

/* frames per launch (NBCL_BATCH) change no byte: every frame alone, in batches of 4 (6 frames:
 * 3 + 3) and the default give the same files; 0 is refused like any bad NBCL_* value */
static void batch_sizes_same_bytes(void **state)
{
    (void)state;
    nbcl_test_need_device();
    static const char *const env[] = {"NBCL_BATCH=1", "NBCL_BATCH=4", ""};
    const char *dir[3];
    char name[32], args[2048];
    snprintf(args, sizeof args,
             BASE " -phi %g -osc %g -nframes %d -floatfile f_###.bin -intfile i_###.img "
                  "-noisefile n_###.img -precision single",
             PHI0, OSC, NF);
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "batch_%d", i);
        dir[i] = workdir(name);
        assert_int_equal(nbcl_env(dir[i], env[i], args), 0);
        assert_int_equal(count_entries(dir[i], NULL), 3 * NF);
    }
    assert_same_series(dir[0], dir[1], 1, NF);
    assert_same_series(dir[0], dir[2], 1, NF);
    const char *bad = workdir("batch_bad");
    assert_int_equal(nbcl_env(bad, "NBCL_BATCH=0", args), 2);
    assert_int_equal(count_entries(bad, NULL), 0);
}

/* stills: frame k's orientation comes from nbcl_frame_seed(misset_seed, k); frame 1 is the
 * single run with the base seed; frames differ from each other */
static void stills_seeds(void **state)
{
    (void)state;
    nbcl_test_need_device();
    const char *s = workdir("stills");
    const char *one = workdir("stills1");
    nbcl_ok(s, BASE " -misset random -misset_seed 11 -nframes 3 -floatfile f_#.bin -nonoise "
                    "-intfile i_#.img");
    for (int k = 1; k <= 3; k++) {
        char args[1024], n[32];
        snprintf(args, sizeof args,
                 BASE " -misset random -misset_seed %ld -seed %ld -floatfile f.bin -nonoise "
                      "-intfile i.img",
                 nbcl_frame_seed(11, k), nbcl_frame_seed(7, k));
        nbcl_ok(one, args);
        snprintf(n, sizeof n, "f_%d.bin", k);
        assert_same_file(s, n, one, "f.bin");
    }
    size_t l1, l2;
    char *a = slurp(s, "f_1.bin", &l1), *b = slurp(s, "f_2.bin", &l2);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(l1, l2);
    assert_true(memcmp(a, b, l1) != 0); /* a new orientation per frame */
    free(a);
    free(b);
    assert_int_equal(nbcl_frame_seed(11, 1), 11);
}

/* -resume renders only the frames whose files are missing or incomplete */
static void resume_missing_frames(void **state)
{
    (void)state;
    nbcl_test_need_device();
    const char *whole = workdir("resume_ref");
    const char *r = workdir("resume");
    render_series(whole, "");
    render_series(r, "");
    char cmd[9000];
    /* frame 2 lost a file, frame 5's SMV is truncated, frame 3's float replaced by a marker of
     * the right size must stay (complete files are not rendered again) */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && rm f_002.bin && truncate -s 600 i_005.img && "
             "head -c 16384 /dev/zero > f_003.bin",
             r);
    assert_int_equal(nbcl_test_run(cmd), 0);
    render_series(r, "-resume");
    char *out = slurp(r, ".stdout", NULL);
    assert_non_null(out);
    assert_non_null(strstr(out, "frame 2 of 6"));
    assert_non_null(strstr(out, "frame 5 of 6"));
    assert_null(strstr(out, "frame 1 of 6"));
    assert_null(strstr(out, "frame 3 of 6"));
    assert_non_null(strstr(out, "wrote 2 frames (4 already complete)"));
    free(out);
    assert_same_file(whole, "f_002.bin", r, "f_002.bin");
    assert_same_file(whole, "i_005.img", r, "i_005.img");
    size_t len;
    char *marker = slurp(r, "f_003.bin", &len);
    assert_int_equal(len, 16384);
    assert_int_equal(marker[100], 0);
    free(marker);
}

/* two PoCL devices in one process give the same bytes as one */
static void two_devices(void **state)
{
    (void)state;
    nbcl_test_need_device();
    const char *one = workdir("dev1");
    const char *two = workdir("dev2");
    render_series(one, "");
    const char *env = "POCL_DEVICES='pthread pthread' POCL_MAX_PTHREAD_COUNT=1";
    char args[2048];
    snprintf(args, sizeof args,
             BASE " -phi %g -osc %g -nframes %d -floatfile f_###.bin -intfile i_###.img "
                  "-noisefile n_###.img -device all",
             PHI0, OSC, NF);
    if (nbcl_env(two, "POCL_DEVICES='pthread pthread'", "-list_devices") != 0) {
        printf("no PoCL pthread devices: skipping the two-device case\n");
        return;
    }
    char *list = slurp(two, ".stdout", NULL);
    int devices = 0; /* one line per device */
    for (char *p = list; p && (p = strchr(p, '\n')) != NULL; p++)
        devices++;
    free(list);
    if (devices < 2) {
        printf("PoCL shows one device: skipping the two-device case\n");
        return;
    }
    int rc = nbcl_env(two, env, args);
    assert_int_equal(rc, 0);
    char *out = slurp(two, ".stdout", NULL);
    assert_non_null(out);
    int lines = 0;
    for (char *p = out; (p = strstr(p, "  device: ")) != NULL; p++)
        lines++;
    free(out);
    assert_int_equal(lines, 2);
    assert_same_series(one, two, 1, NF);
    /* a repeated device is refused (usage), an unknown one is a device error; nothing written */
    static const struct {
        const char *list;
        int rc;
    } bad[] = {{"0:0,0:0", 2}, {"0:0,", 2}, {"0:0,9:9", 5}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *rep = workdir("dev_bad");
        snprintf(args, sizeof args, BASE " -nframes 2 -floatfile f_#.bin -intfile i_#.img "
                                         "-nonoise -device %s", bad[i].list);
        assert_int_equal(nbcl_env(rep, env, args), bad[i].rc);
        assert_int_equal(count_entries(rep, NULL), 0);
        char *err = slurp(rep, ".stderr", NULL);
        assert_non_null(strstr(err, bad[i].list));
        free(err);
    }
}

/* two MPI ranks give the same bytes as one process */
static void mpi_two_ranks(void **state)
{
    (void)state;
    nbcl_test_need_device();
    if (nbcl_test_run("command -v mpirun > /dev/null 2>&1") != 0) {
        printf("no mpirun: skipping\n");
        return;
    }
    const char *one = workdir("mpi1");
    const char *two = workdir("mpi2");
    render_series(one, "");
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mpirun --allow-run-as-root --oversubscribe -n 2 -x "
             "POCL_MAX_PTHREAD_COUNT=1 '%s' " BASE " -phi %g -osc %g -nframes %d "
             "-floatfile f_###.bin -intfile i_###.img -noisefile n_###.img > .stdout 2> .stderr",
             two, nbcl_test_bin("nbcl"), PHI0, OSC, NF);
    int rc = nbcl_test_run(cmd);
    char *err = slurp(two, ".stderr", NULL);
    if (rc != 0 && err && strstr(err, "built without MPI")) {
        printf("nbcl built without MPI: it refused, as it must: %s\n", err);
        assert_int_equal(count_entries(two, NULL), 0);
        free(err);
        return;
    }
    if (rc != 0)
        fail_msg("mpirun -n 2 nbcl: exit %d: %s", rc, err ? err : "");
    free(err);
    assert_same_series(one, two, 1, NF);
    char *out = slurp(two, ".stdout", NULL);
    assert_non_null(out);
    /* rank 0 alone prints the summary */
    char *first = strstr(out, "Unit Cell:");
    assert_non_null(first);
    assert_null(strstr(first + 1, "Unit Cell:"));
    assert_non_null(strstr(out, "wrote 6 frames"));
    free(out);
    /* more ranks than frames: the idle rank is noted, the frames are still right */
    const char *three = workdir("mpi3");
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mpirun --allow-run-as-root --oversubscribe -n 3 -x "
             "POCL_MAX_PTHREAD_COUNT=1 '%s' " BASE " -phi %g -osc %g -nframes 2 "
             "-floatfile f_###.bin -intfile i_###.img -noisefile n_###.img > .stdout 2> .stderr",
             three, nbcl_test_bin("nbcl"), PHI0, OSC);
    assert_int_equal(nbcl_test_run(cmd), 0);
    err = slurp(three, ".stderr", NULL);
    assert_non_null(strstr(err, "3 ranks for 2 frames"));
    free(err);
    assert_int_equal(count_entries(three, NULL), 6);
    assert_same_series(one, three, 1, 2);
}

/* SIGINT during a series: the frames finished before it are kept complete, no partial or
 * temporary file, exit 130 */
static void sigint_keeps_finished_frames(void **state)
{
    (void)state;
    nbcl_test_need_device();
    const char *d = workdir("sigint");
    const char *heavy = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 100 "
                        "-pixel 0.1 -detpixels 128 -oversample 4 -mosaic 0.5 -mosaic_dom 20 "
                        "-osc 0.3 -seed 7 -nopgm -noprogress -nframes 99 -floatfile f_##.bin "
                        "-intfile i_##.img -noisefile n_##.img";
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(d) != 0)
            _exit(127);
        if (!freopen(".stdout", "w", stdout) || !freopen(".stderr", "w", stderr))
            _exit(127);
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "exec '%s' %s", nbcl_test_bin("nbcl"), heavy);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* wait for the first frame's files, then interrupt */
    double t0 = (double)time(NULL);
    while (!exists(d, "n_01.img") && (double)time(NULL) - t0 < 120) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGINT);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    int tmp = 0;
    int n = count_entries(d, &tmp);
    assert_int_equal(tmp, 0);
    assert_true(n >= 3 && n % 3 == 0); /* whole frames only */
    assert_true(n < 99 * 3);
    char *err = slurp(d, ".stderr", NULL);
    assert_non_null(strstr(err, "interrupted"));
    free(err);
    /* the kept frames are the real ones, and -resume finishes the interrupted part */
    const char *ref = workdir("sigint_ref");
    char args[2048];
    snprintf(args, sizeof args, "%s -frames 1 4", heavy);
    nbcl_ok(ref, args);
    assert_same_file(d, "f_01.bin", ref, "f_01.bin");
    assert_same_file(d, "n_01.img", ref, "n_01.img");
    snprintf(args, sizeof args, "%s -frames 1 4 -resume", heavy);
    nbcl_ok(d, args);
    for (int k = 1; k <= 4; k++) {
        char f[32], i[32], nz[32];
        snprintf(f, sizeof f, "f_%02d.bin", k);
        snprintf(i, sizeof i, "i_%02d.img", k);
        snprintf(nz, sizeof nz, "n_%02d.img", k);
        assert_same_file(d, f, ref, f);
        assert_same_file(d, i, ref, i);
        assert_same_file(d, nz, ref, nz);
    }
}

/* a frame whose file cannot be written (its name is a directory) fails the run with exit 6;
 * the frames before it are committed whole, nothing partial or temporary is left */
static void failed_frame_keeps_earlier(void **state)
{
    (void)state;
    nbcl_test_need_device();
    const char *d = workdir("failed_frame");
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "mkdir '%s/i_003.img'", d);
    assert_int_equal(nbcl_test_run(cmd), 0);
    assert_int_equal(nbcl(d, BASE " -osc 0.3 -nonoise -nframes 5 -floatfile f_###.bin "
                               "-intfile i_###.img"),
                     6);
    char *err = slurp(d, ".stderr", NULL);
    assert_non_null(strstr(err, "i_003.img"));
    free(err);
    int tmp = 0;
    assert_int_equal(count_entries(d, &tmp), 5); /* frames 1, 2 and the directory */
    assert_int_equal(tmp, 0);
    assert_true(exists(d, "f_002.bin") && exists(d, "i_002.img"));
    assert_false(exists(d, "f_003.bin"));
}

/* bad input: a message, the documented code, no file */
static void bad_series_input(void **state)
{
    (void)state;
    static const struct {
        const char *args;
        int rc;
        const char *says;
    } cases[] = {
        {"-nframes 0 -floatfile f_#.bin -intfile i_#.img", 3, "-nframes"},
        {"-nframes -4 -floatfile f_#.bin -intfile i_#.img", 3, "-nframes"},
        {"-nframes 2.5 -floatfile f_#.bin -intfile i_#.img", 2, "-nframes"},
        {"-nframes abc", 2, "-nframes"},
        {"-nframes 3 -intfile i_#.img", 2, "-floatfile"},
        {"-nframes 3 -floatfile f.bin -intfile i_#.img", 2, "'#'"},
        {"-nframes 12 -floatfile f_#.bin -intfile i_##.img", 2, "cannot hold"},
        {"-nframes 3 -frames 2 5 -floatfile f_#.bin -intfile i_#.img", 3, "-frames"},
        {"-nframes 3 -frames 3 2 -floatfile f_#.bin -intfile i_#.img", 3, "-frames"},
        {"-nframes 3 -frames 0 1 -floatfile f_#.bin -intfile i_#.img", 3, "-frames"},
        {"-frames 1 x", 2, "-frames"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *d = workdir("bad");
        char args[2048];
        snprintf(args, sizeof args, BASE " -nonoise %s", cases[i].args);
        int rc = nbcl(d, args);
        char *err = slurp(d, ".stderr", NULL);
        if (rc != cases[i].rc || !err || !strstr(err, cases[i].says))
            fail_msg("%s: exit %d (want %d), stderr: %s", cases[i].args, rc, cases[i].rc,
                     err ? err : "");
        assert_int_equal(count_entries(d, NULL), 0);
        free(err);
    }
}

/* templates and seeds, no device */
static void templates_and_seeds(void **state)
{
    (void)state;
    char out[64], err[256];
    assert_int_equal(nbcl_template_expand("a/img_###.img", 7, out, sizeof out), NBCL_OK);
    assert_string_equal(out, "a/img_007.img");
    assert_int_equal(nbcl_template_expand("x#_##.bin", 12, out, sizeof out), NBCL_OK);
    assert_string_equal(out, "x#_12.bin"); /* the last run holds the number */
    assert_int_equal(nbcl_template_expand("x_##.bin", 123, out, sizeof out), NBCL_INVALID_ARGUMENT);
    assert_int_equal(nbcl_template_expand("plain.bin", 3, out, sizeof out), NBCL_INVALID_ARGUMENT);
    assert_int_equal(nbcl_template_expand("plain#.bin", -1, out, sizeof out), NBCL_OK);
    assert_string_equal(out, "plain#.bin");
    assert_int_equal(nbcl_template_check("-intfile", "i_##.img", 99, err, sizeof err), NBCL_OK);
    assert_int_equal(nbcl_template_check("-intfile", "i_##.img", 100, err, sizeof err),
                     NBCL_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "-intfile"));
    assert_int_equal(nbcl_frame_seed(7, 1), 7);
    long s2 = nbcl_frame_seed(7, 2), s3 = nbcl_frame_seed(7, 3);
    assert_true(s2 >= 1 && s2 <= 2147483646 && s3 >= 1 && s3 <= 2147483646 && s2 != s3);
    assert_int_equal(nbcl_frame_seed(7, 2), s2); /* a function of (base, k) only */
    assert_true(nbcl_frame_seed(8, 2) != s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(templates_and_seeds),
        cmocka_unit_test(bad_series_input),
        cmocka_unit_test(series_equals_single_runs),
        cmocka_unit_test(series_headers),
        cmocka_unit_test(frames_slice),
        cmocka_unit_test(batch_sizes_same_bytes),
        cmocka_unit_test(stills_seeds),
        cmocka_unit_test(resume_missing_frames),
        cmocka_unit_test(two_devices),
        cmocka_unit_test(mpi_two_ranks),
        cmocka_unit_test(sigint_keeps_finished_frames),
        cmocka_unit_test(failed_frame_keeps_earlier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
