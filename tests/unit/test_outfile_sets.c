/* Outputs, round two (issue 14 classes 1-3; docs/reliability.md "Round two"):
 *   - what an output path names: links followed (the link kept), devices and FIFOs written in
 *     place (never replaced), directories refused;
 *   - two names for one file found by identity, not spelling (nbcl_files_check_distinct);
 *   - commit sets: all renamed or none, including a failure in the middle of the renames.
 * Everything happens inside this test's scratch folder; the null device is made there with
 * mknod (root only: those parts are skipped, with a message, otherwise). */
#define _DEFAULT_SOURCE /* symlink */
#include "nbcl_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* engine/src/output/outfile.c: fault injection, per set (io_util.h) */
void nbcl__commit_set_fail_rename_in(nbcl_commit_set *set, int n);

static char g_err[4096];
static char g_dir[4096];

static const char *fresh_dir(const char *name)
{
    snprintf(g_dir, sizeof g_dir, "%s/%s", nbcl_test_tmpdir(), name);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    assert_int_equal(nbcl_test_run(cmd), 0);
    assert_int_equal(mkdir(g_dir, 0755), 0);
    assert_int_equal(chdir(g_dir), 0); /* the tests use short relative names */
    return g_dir;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void assert_content(const char *path, const char *text)
{
    size_t len = 0;
    char *d = nbcl_test_read_file(path, &len);
    if (!d)
        fail_msg("%s: cannot read", path);
    if (len != strlen(text) || memcmp(d, text, len) != 0)
        fail_msg("%s: holds '%.*s', expected '%s'", path, (int)len, d, text);
    free(d);
}

/* entries of "." whose name contains part */
static int count_entries(const char *part)
{
    DIR *d = opendir(".");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, part))
            n++;
    closedir(d);
    return n;
}

static mode_t type_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & S_IFMT;
}

static nbcl_status write_text(const char *path, const char *text)
{
    nbcl_outfile *f = NULL;
    nbcl_status st = nbcl_outfile_open(path, &f, g_err, sizeof g_err);
    if (st != NBCL_OK)
        return st;
    st = nbcl_outfile_write(f, text, strlen(text), g_err, sizeof g_err);
    if (st != NBCL_OK) {
        nbcl_outfile_abort(f);
        return st;
    }
    return nbcl_outfile_commit(f, g_err, sizeof g_err);
}

/* ---------------------------------------------------------------- class 1: special targets */
static void test_links(void **state)
{
    (void)state;
    fresh_dir("links");
    assert_int_equal(mkdir("sub", 0755), 0);
    put("sub/target", "old");
    assert_int_equal(symlink("sub/target", "lnk"), 0);
    assert_int_equal(symlink("target", "sub/rel"), 0); /* relative to the link's directory */
    assert_int_equal(symlink("nowhere", "dangling"), 0);
    assert_int_equal(symlink("lnk", "chain"), 0);
    assert_int_equal(symlink("loop2", "loop1"), 0);
    assert_int_equal(symlink("loop1", "loop2"), 0);
    assert_int_equal(symlink("sub", "dirlink"), 0);

    assert_int_equal(write_text("lnk", "via link"), NBCL_OK);
    assert_int_equal(type_of("lnk"), S_IFLNK);
    assert_content("sub/target", "via link");
    assert_int_equal(write_text("sub/rel", "relative"), NBCL_OK);
    assert_int_equal(type_of("sub/rel"), S_IFLNK);
    assert_content("sub/target", "relative");
    assert_int_equal(write_text("chain", "chain"), NBCL_OK);
    assert_int_equal(type_of("chain"), S_IFLNK);
    assert_int_equal(type_of("lnk"), S_IFLNK);
    assert_content("sub/target", "chain");
    /* a dangling link creates its target */
    assert_int_equal(write_text("dangling", "created"), NBCL_OK);
    assert_int_equal(type_of("dangling"), S_IFLNK);
    assert_content("nowhere", "created");
    /* refused: a loop, a link to a directory */
    assert_int_equal(write_text("loop1", "x"), NBCL_IO);
    assert_non_null(strstr(g_err, "loop1"));
    assert_int_equal(nbcl_outfile_check("dirlink", g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "directory"));
    assert_int_equal(write_text("dirlink", "x"), NBCL_IO);
    assert_int_equal(type_of("dirlink"), S_IFLNK);
    assert_int_equal(count_entries(".tmp."), 0);
    assert_int_equal(chdir("sub"), 0);
    assert_int_equal(count_entries(".tmp."), 0); /* temporaries went beside the target */
}

static void test_directory_and_checks(void **state)
{
    (void)state;
    fresh_dir("checks");
    assert_int_equal(mkdir("adir", 0755), 0);
    put("adir/keep", "kept");
    assert_int_equal(nbcl_outfile_check("adir", g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "adir: is a directory"));
    assert_int_equal(write_text("adir", "x"), NBCL_IO);
    assert_content("adir/keep", "kept");
    assert_int_equal(nbcl_outfile_check("nodir/x", g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "'nodir' does not exist"));
    assert_int_equal(nbcl_outfile_check("new.bin", g_err, sizeof g_err), NBCL_OK);
    put("old.bin", "old");
    assert_int_equal(nbcl_outfile_check("old.bin", g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(nbcl_outfile_check("", g_err, sizeof g_err), NBCL_INVALID_ARGUMENT);
    assert_int_equal(count_entries(".tmp."), 0);
}

static void test_null_device(void **state)
{
    (void)state;
    fresh_dir("nulldev");
    if (!nbcl_test_make_null_device("nulldev")) {
        fprintf(stderr, "test_null_device: no null device here (needs root, no nodev): skipped\n");
        skip();
    }
    assert_int_equal(symlink("nulldev", "devlink"), 0);
    assert_int_equal(nbcl_outfile_check("nulldev", g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(write_text("nulldev", "discarded"), NBCL_OK);
    assert_int_equal(type_of("nulldev"), S_IFCHR);
    assert_int_equal(write_text("devlink", "discarded"), NBCL_OK);
    assert_int_equal(type_of("devlink"), S_IFLNK);
    assert_int_equal(type_of("nulldev"), S_IFCHR);
    /* inside a set, twice, next to a regular file */
    nbcl_commit_set *set = NULL;
    assert_int_equal(nbcl_commit_set_create(&set, g_err, sizeof g_err), NBCL_OK);
    assert_null(nbcl_commit_set_use(set));
    assert_int_equal(nbcl_write_float("nulldev", (const float[]){1, 2}, 2, g_err, sizeof g_err),
                     NBCL_OK);
    assert_int_equal(nbcl_write_float("devlink", (const float[]){1, 2}, 2, g_err, sizeof g_err),
                     NBCL_OK);
    assert_int_equal(nbcl_write_float("real.bin", (const float[]){1, 2}, 2, g_err, sizeof g_err),
                     NBCL_OK);
    assert_int_equal(nbcl_commit_set_size(set), 3);
    assert_ptr_equal(nbcl_commit_set_use(NULL), set);
    assert_int_equal(nbcl_commit_set_commit(set, g_err, sizeof g_err), NBCL_OK);
    nbcl_commit_set_destroy(set);
    assert_int_equal(type_of("nulldev"), S_IFCHR);
    assert_int_equal(type_of("real.bin"), S_IFREG);
    assert_int_equal(count_entries(".tmp."), 0);
    /* an abort never removes a device */
    nbcl_outfile *f = NULL;
    assert_int_equal(nbcl_outfile_open("nulldev", &f, g_err, sizeof g_err), NBCL_OK);
    nbcl_outfile_abort(f);
    assert_int_equal(type_of("nulldev"), S_IFCHR);
}

static void test_fifo(void **state)
{
    (void)state;
    fresh_dir("fifo");
    assert_int_equal(mkfifo("ff", 0644), 0);
    /* no reader: refused at once, never blocks, FIFO kept */
    assert_int_equal(write_text("ff", "x"), NBCL_IO);
    assert_non_null(strstr(g_err, "no reader"));
    assert_int_equal(type_of("ff"), S_IFIFO);

    /* with a reader (a child copying everything into got.txt), more than a pipe's buffer */
    size_t big = 1u << 20;
    char *text = malloc(big + 1);
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + i % 26);
    text[big] = '\0';
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open("ff", O_RDONLY);
        int out = open("got.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        char buf[65536];
        ssize_t n;
        while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                _exit(2);
        _exit(in >= 0 && out >= 0 ? 0 : 1);
    }
    /* wait until the child has the FIFO open for reading */
    nbcl_status st = NBCL_IO;
    for (int tries = 0; tries < 500 && st != NBCL_OK; tries++) {
        st = write_text("ff", text);
        if (st != NBCL_OK)
            usleep(10000);
    }
    assert_int_equal(st, NBCL_OK);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_content("got.txt", text);
    assert_int_equal(type_of("ff"), S_IFIFO);
    free(text);

    /* a reader that never reads: the write waits, and the writing thread's cancel token
     * (SIGINT's handler triggers it) ends the wait; the FIFO stays */
    int rd = open("ff", O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    text = calloc(1, big + 1);
    assert_non_null(text);
    memset(text, 'z', big);
    nbcl_outfile *f = NULL;
    assert_int_equal(nbcl_outfile_open("ff", &f, g_err, sizeof g_err), NBCL_OK);
    nbcl_cancel *tok = nbcl_cancel_create();
    assert_non_null(tok);
    nbcl_cancel_trigger(tok);
    nbcl_cancel_use(tok);
    assert_int_equal(nbcl_outfile_write(f, text, big, g_err, sizeof g_err), NBCL_INTERRUPTED);
    nbcl_cancel_use(NULL);
    nbcl_cancel_destroy(tok);
    assert_non_null(strstr(g_err, "waiting for the reader"));
    assert_int_equal(nbcl_outfile_commit(f, g_err, sizeof g_err), NBCL_IO); /* failed: refused */
    close(rd);
    free(text);
    assert_int_equal(type_of("ff"), S_IFIFO);

    /* two outputs naming one FIFO are refused (only a character device may be shared) */
    nbcl_file_ref two[] = {{"-floatfile", "ff", 1}, {"-intfile", "./ff", 1}};
    assert_int_equal(nbcl_files_check_distinct(two, 2, g_err, sizeof g_err),
                     NBCL_INVALID_ARGUMENT);
}

/* ---------------------------------------------------------------- class 2: identity */
static void expect_clash(const nbcl_file_ref *f, size_t n, const char *role_a, const char *role_b)
{
    g_err[0] = 0;
    if (nbcl_files_check_distinct(f, n, g_err, sizeof g_err) != NBCL_INVALID_ARGUMENT)
        fail_msg("%s '%s' and %s '%s': not found to be one file", f[0].role, f[0].path,
                 f[n - 1].role, f[n - 1].path);
    if (!strstr(g_err, role_a) || !strstr(g_err, role_b))
        fail_msg("the message does not name %s and %s: %s", role_a, role_b, g_err);
}

static void expect_distinct(const nbcl_file_ref *f, size_t n)
{
    if (nbcl_files_check_distinct(f, n, g_err, sizeof g_err) != NBCL_OK)
        fail_msg("distinct files refused: %s", g_err);
}

static void test_identity(void **state)
{
    (void)state;
    fresh_dir("identity");
    assert_int_equal(mkdir("sub", 0755), 0);
    put("x", "x");
    put("y", "y");
    assert_int_equal(link("x", "hard"), 0);
    assert_int_equal(symlink("x", "soft"), 0);
    char abs[4200];
    snprintf(abs, sizeof abs, "%s/x", g_dir);

    /* existing files: by device and inode */
    const char *same_x[] = {"./x", "sub/../x", "hard", "soft", abs, "sub/./../x"};
    for (size_t i = 0; i < sizeof same_x / sizeof *same_x; i++) {
        nbcl_file_ref f[] = {{"-floatfile", "x", 1}, {"-intfile", same_x[i], 1}};
        expect_clash(f, 2, "-floatfile", "-intfile");
        assert_non_null(strstr(g_err, same_x[i]));
    }
    /* not there yet: by real directory and name */
    const char *same_n[] = {"./new", "sub/../new", "sub/.././new"};
    for (size_t i = 0; i < sizeof same_n / sizeof *same_n; i++) {
        nbcl_file_ref f[] = {{"-pgmfile", "new", 1}, {"-noisefile", same_n[i], 1}};
        expect_clash(f, 2, "-pgmfile", "-noisefile");
    }
    assert_int_equal(symlink("new2", "to_new2"), 0); /* a dangling link names its target */
    nbcl_file_ref dl[] = {{"-floatfile", "to_new2", 1}, {"-intfile", "new2", 1}};
    expect_clash(dl, 2, "-floatfile", "-intfile");
    /* the same spelling twice */
    nbcl_file_ref twice[] = {{"-floatfile", "x", 1}, {"-intfile", "x", 1}};
    expect_clash(twice, 2, "-floatfile", "-intfile");
    assert_non_null(strstr(g_err, "both name 'x'"));

    /* an output over an input */
    nbcl_file_ref io[] = {{"-floatfile", "a.bin", 1},
                          {"-hkl", "./hard", 0},
                          {"-intfile", "soft", 1}};
    expect_clash(io, 3, "-intfile", "-hkl");
    assert_non_null(strstr(g_err, "input"));
    nbcl_file_ref cache[] = {{"-hkl", "x", 0}, {"-dumpfile", "sub/../x", 1}};
    expect_clash(cache, 2, "-dumpfile", "-hkl");

    /* allowed: different files, inputs sharing a file, unused entries */
    assert_int_equal(symlink("y", "ylink"), 0);
    nbcl_file_ref ok[] = {{"-floatfile", "x", 1},   {"-intfile", "z", 1},
                          {"-pgmfile", "new", 1},   {"-noisefile", "sub/new", 1},
                          {"-img", "y", 0},         {"-mask", "ylink", 0},
                          {"-sourcefile", NULL, 0}, {"-mat", "", 0}};
    expect_distinct(ok, sizeof ok / sizeof *ok);
    expect_distinct(NULL, 0);
    /* a missing input matches nothing: its reader reports it (or, for the Fdump.bin cache,
     * it is not read at all) */
    nbcl_file_ref missing[] = {{"-dumpfile", "Fdump.bin", 0}, {"-floatfile", "./Fdump.bin", 1}};
    expect_distinct(missing, 2);
    put("Fdump.bin", "cache");
    expect_clash(missing, 2, "-floatfile", "-dumpfile");

    /* one null device for several outputs is a way to discard them; not for other files */
    if (nbcl_test_make_null_device("nulldev")) {
        assert_int_equal(symlink("nulldev", "devlink"), 0);
        nbcl_file_ref dev[] = {{"-floatfile", "nulldev", 1}, {"-intfile", "devlink", 1},
                               {"-pgmfile", "./nulldev", 1}};
        expect_distinct(dev, 3);
        assert_int_equal(type_of("nulldev"), S_IFCHR);
    } else {
        fprintf(stderr, "test_identity: mknod needs root: the null-device part skipped\n");
    }
}

/* ---------------------------------------------------------------- class 3: commit sets */
/* three outputs in one set: a.out (exists: "old a"), b.out (new), c.out (exists: "old c") */
static nbcl_commit_set *three_in_a_set(void)
{
    put("a.out", "old a");
    put("c.out", "old c");
    nbcl_commit_set *set = NULL;
    assert_int_equal(nbcl_commit_set_create(&set, g_err, sizeof g_err), NBCL_OK);
    nbcl_commit_set *prev = nbcl_commit_set_use(set);
    assert_null(prev);
    assert_int_equal(write_text("a.out", "new a"), NBCL_OK);
    assert_int_equal(write_text("b.out", "new b"), NBCL_OK);
    assert_int_equal(write_text("c.out", "new c"), NBCL_OK);
    assert_ptr_equal(nbcl_commit_set_use(prev), set);
    assert_int_equal(nbcl_commit_set_size(set), 3);
    /* nothing in place before the commit */
    assert_content("a.out", "old a");
    assert_int_equal(access("b.out", F_OK), -1);
    return set;
}

static void assert_untouched(void)
{
    assert_content("a.out", "old a");
    assert_int_equal(access("b.out", F_OK), -1);
    assert_content("c.out", "old c");
    assert_int_equal(count_entries(".tmp."), 0);
    assert_int_equal(count_entries(".old"), 0);
}

static void test_set_commits_all(void **state)
{
    (void)state;
    fresh_dir("set_ok");
    nbcl_commit_set *set = three_in_a_set();
    assert_int_equal(nbcl_commit_set_commit(set, g_err, sizeof g_err), NBCL_OK);
    assert_content("a.out", "new a");
    assert_content("b.out", "new b");
    assert_content("c.out", "new c");
    assert_int_equal(count_entries(".tmp."), 0);
    assert_int_equal(nbcl_commit_set_size(set), 0);
    /* reusable; an abort removes the pending files */
    nbcl_commit_set_use(set);
    assert_int_equal(write_text("a.out", "newer a"), NBCL_OK);
    nbcl_commit_set_use(NULL);
    nbcl_commit_set_abort(set);
    assert_content("a.out", "new a");
    assert_int_equal(count_entries(".tmp."), 0);
    nbcl_commit_set_destroy(set);
    nbcl_commit_set_destroy(NULL);
    nbcl_commit_set_abort(NULL);
}

static void test_set_target_became_directory(void **state)
{
    (void)state;
    fresh_dir("set_dir");
    nbcl_commit_set *set = three_in_a_set();
    assert_int_equal(mkdir("b.out", 0755), 0); /* the second target is a directory now */
    g_err[0] = 0;
    assert_int_equal(nbcl_commit_set_commit(set, g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "b.out"));
    assert_content("a.out", "old a");
    assert_content("c.out", "old c");
    assert_int_equal(type_of("b.out"), S_IFDIR);
    assert_int_equal(count_entries(".tmp."), 0);
    assert_int_equal(nbcl_commit_set_size(set), 0);
    nbcl_commit_set_destroy(set);
}

static void test_set_rename_fails_midway(void **state)
{
    (void)state;
    /* the k-th rename fails (k = 0, 1, 2): the renames before it are undone */
    for (int k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "set_undo_%d", k);
        fresh_dir(name);
        nbcl_commit_set *set = three_in_a_set();
        nbcl__commit_set_fail_rename_in(set, k);
        g_err[0] = 0;
        assert_int_equal(nbcl_commit_set_commit(set, g_err, sizeof g_err), NBCL_IO);
        assert_non_null(strstr(g_err, "cannot rename"));
        assert_null(strstr(g_err, "could not be restored"));
        assert_untouched();
        nbcl_commit_set_destroy(set);
    }
}

static void test_set_interrupted(void **state)
{
    (void)state;
    fresh_dir("set_sig");
    nbcl_commit_set *set = three_in_a_set();
    nbcl_outfile_abort_all_signal_safe(); /* as the SIGINT handler does */
    assert_int_equal(nbcl_commit_set_commit(set, g_err, sizeof g_err), NBCL_INTERRUPTED);
    assert_untouched();
    nbcl_commit_set_destroy(set);
}

static void *write_on_thread(void *arg)
{
    (void)arg;
    char err[256];
    nbcl_outfile *f = NULL;
    if (nbcl_outfile_open("t.bin", &f, err, sizeof err) == NBCL_OK &&
        nbcl_outfile_write(f, "from a thread", 13, err, sizeof err) == NBCL_OK)
        nbcl_outfile_commit(f, err, sizeof err);
    return NULL;
}

/* a frame's commit set: its two files (names from the formats and k) written into it */
static nbcl_commit_set *frame_set(const char *fmt1, const char *fmt2, int k)
{
    nbcl_commit_set *set = NULL;
    assert_int_equal(nbcl_commit_set_create(&set, g_err, sizeof g_err), NBCL_OK);
    nbcl_commit_set_use(set);
    char n1[32], n2[32];
    snprintf(n1, sizeof n1, fmt1, k);
    snprintf(n2, sizeof n2, fmt2, k);
    assert_int_equal(write_text(n1, n1), NBCL_OK);
    assert_int_equal(write_text(n2, n2), NBCL_OK);
    nbcl_commit_set_use(NULL);
    return set;
}

static void test_sets_per_frame(void **state)
{
    (void)state;
    fresh_dir("set_frames");
    /* two frames, each its own set, synced together, renamed per frame */
    nbcl_commit_set *s[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++)
        s[k] = frame_set("f%d.bin", "f%d.img", k);
    assert_int_equal(nbcl_commit_sets_prepare(s, 2, g_err, sizeof g_err), NBCL_OK);
    assert_int_equal(access("f0.bin", F_OK), -1); /* prepared: synced, not renamed */
    assert_int_equal(nbcl_commit_set_commit(s[0], g_err, sizeof g_err), NBCL_OK);
    assert_content("f0.bin", "f0.bin");
    assert_content("f0.img", "f0.img");
    assert_int_equal(access("f1.bin", F_OK), -1);
    nbcl_commit_set_destroy(s[1]); /* frame 1 given up: its files go */
    assert_int_equal(access("f1.bin", F_OK), -1);
    assert_int_equal(count_entries(".tmp."), 0);
    nbcl_commit_set_destroy(s[0]);

    /* a set is its thread's only (there is no process-wide set): while this thread uses one, a
     * file written on another thread is committed at once, and the set keeps only its own */
    nbcl_commit_set *mine = NULL;
    assert_int_equal(nbcl_commit_set_create(&mine, g_err, sizeof g_err), NBCL_OK);
    nbcl_commit_set_use(mine);
    assert_int_equal(write_text("d.bin", "deferred"), NBCL_OK);
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, write_on_thread, NULL), 0);
    assert_int_equal(pthread_join(tid, NULL), 0);
    assert_content("t.bin", "from a thread");
    assert_int_equal(access("d.bin", F_OK), -1);
    assert_int_equal(nbcl_commit_set_size(mine), 1);
    nbcl_commit_set_use(NULL);
    assert_int_equal(nbcl_commit_set_commit(mine, g_err, sizeof g_err), NBCL_OK);
    assert_content("d.bin", "deferred");
    nbcl_commit_set_destroy(mine);
    assert_int_equal(write_text("f.bin", "direct"), NBCL_OK); /* no set: at once */
    assert_content("f.bin", "direct");
}

/* nbcl_commit_sets_commit: three frames, in two directories; the rename of frame 1's second
 * file fails. Frames 0 and 2 are in place, frame 1 keeps its previous files (the rename done is
 * undone), the first failure is returned, every set is empty and no temporary file is left. */
static void test_sets_commit_together(void **state)
{
    (void)state;
    fresh_dir("sets_together");
    assert_int_equal(mkdir("sub", 0755), 0);
    put("g1.bin", "old g1.bin");
    put("sub/g1.img", "old sub/g1.img");
    nbcl_commit_set *s[4] = {NULL, NULL, NULL, NULL}; /* a NULL entry is skipped */
    for (int k = 0; k < 3; k++)
        s[k] = frame_set("g%d.bin", "sub/g%d.img", k);
    nbcl__commit_set_fail_rename_in(s[1], 1); /* frame 1: its first rename, then its second fails */
    g_err[0] = 0;
    assert_int_equal(nbcl_commit_sets_commit(s, 4, g_err, sizeof g_err), NBCL_IO);
    assert_non_null(strstr(g_err, "sub/g1.img: cannot rename"));
    assert_content("g0.bin", "g0.bin");
    assert_content("sub/g0.img", "sub/g0.img");
    assert_content("g1.bin", "old g1.bin");
    assert_content("sub/g1.img", "old sub/g1.img");
    assert_content("g2.bin", "g2.bin");
    assert_content("sub/g2.img", "sub/g2.img");
    for (int k = 0; k < 3; k++) {
        assert_int_equal(nbcl_commit_set_size(s[k]), 0);
        nbcl_commit_set_destroy(s[k]);
    }
    assert_int_equal(count_entries(".tmp."), 0);
    assert_int_equal(chdir("sub"), 0);
    assert_int_equal(count_entries(".tmp."), 0);
    assert_int_equal(chdir(".."), 0);
    assert_int_equal(nbcl_commit_sets_commit(NULL, 0, g_err, sizeof g_err), NBCL_OK);
}

int main(void)
{
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_directory_and_checks),
        cmocka_unit_test(test_null_device),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_set_commits_all),
        cmocka_unit_test(test_set_target_became_directory),
        cmocka_unit_test(test_set_rename_fails_midway),
        cmocka_unit_test(test_set_interrupted),
        cmocka_unit_test(test_sets_per_frame),
        cmocka_unit_test(test_sets_commit_together),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (chdir(cwd) != 0)
        return 1;
    return rc;
}
