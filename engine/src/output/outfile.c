/* Atomic output files.
 *
 * nbcl_outfile_open("dir/name") creates "dir/.name.tmp.XXXXXX" with mkstemp in the target's own
 * directory (so the final rename never crosses a file system), writes go there, commit fsyncs,
 * sets the mode to 0644 & ~umask and renames over the target; abort unlinks. A symbolic link is
 * followed first (the temporary file goes beside its final target, the link stays); a character
 * device or FIFO is opened and written in place, never replaced; anything else that is not a
 * regular file is refused (target.c has the checks, docs/reliability.md the decisions).
 *
 * Commit sets (nbcl_commit_set_*; the older defer_* calls use a default set): a completed file
 * only starts its write-back (sync_file_range, Linux) and stays open; the set's commit then waits
 * for all of them (fdatasync, concurrently), checks every target again, and only then renames
 * them, keeping a hard link to each previous target until the last rename succeeded so a failed
 * rename can put the earlier ones back. The disk writes of one output thus overlap the
 * computation of the next, and a run pays one wait, not one per file. A failed or interrupted run
 * therefore never leaves a partial file and never clobbers the previous one.
 *
 * Every open temporary path is also kept in a fixed table of static buffers so that
 * nbcl_outfile_abort_all_signal_safe() can unlink them from a SIGINT/SIGTERM handler: the handler
 * only reads lock-free atomics and static memory and calls unlink(), all async-signal-safe.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sync_file_range */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nbcl_internal.h"
#include "io/io_util.h"

#define OUTFILE_SLOTS 256 /* temporary files open at once, over all live sets */
#define OUTFILE_PATHMAX 4096
#define OUTFILE_BASEMAX 200 /* longest part of the target name copied into the temp name */
#define PRESYNC_THREADS 16  /* most concurrent fdatasync calls of one prepare */

enum { SLOT_FREE = 0, SLOT_CLAIMED = 1, SLOT_ACTIVE = 2, SLOT_REMOVED = 3 };

static char g_slot_path[OUTFILE_SLOTS][OUTFILE_PATHMAX];
static atomic_int g_slot_state[OUTFILE_SLOTS];

struct nbcl_outfile {
    int fd;
    int failed;  /* a write failed: commit refuses */
    int slot;    /* registry slot, -1 if none */
    int special; /* a character device or FIFO, written in place: no temporary, no rename */
    int fifo;    /* kept O_NONBLOCK: a write waiting for the reader polls the cancel token */
    int synced;  /* on disk and closed, target checked (step 1 of a set's commit) */
    int datasynced; /* fdatasync done (presync): its result is in sync_errno (0: on disk) */
    int sync_errno;
    int renamed; /* in place (step 2), but its set is not committed yet */
    int had_old; /* a previous target existed when it was renamed */
    char *path;  /* as the caller named it (messages) */
    char *real;  /* where the bytes go: path with the symbolic links of its last part followed */
    char *tmp;   /* temporary file, as created (NULL when special) */
    char *dir;   /* directory holding real and tmp (for the post-rename fsync) */
    char *bak;   /* while its set commits: hard link to the previous target, NULL if none */
};

struct nbcl_commit_set {
    nbcl_outfile **f;
    size_t n, cap;
    int fail_rename_in; /* tests only: when >= 0, this set's rename that many from now fails */
};

/* the set nbcl_outfile_commit adds to: the thread's own (nbcl_commit_set_use), else none */
static _Thread_local nbcl_commit_set *t_current;

/* ---------------------------------------------------------------- registry */
static int slot_claim(void)
{
    for (int i = 0; i < OUTFILE_SLOTS; i++) {
        int expected = SLOT_FREE;
        if (atomic_compare_exchange_strong(&g_slot_state[i], &expected, SLOT_CLAIMED))
            return i;
    }
    return -1;
}

static void slot_release(int slot)
{
    if (slot >= 0)
        atomic_store(&g_slot_state[slot], SLOT_FREE);
}

void nbcl_outfile_abort_all_signal_safe(void)
{
    for (int i = 0; i < OUTFILE_SLOTS; i++) {
        int expected = SLOT_ACTIVE;
        if (atomic_compare_exchange_strong(&g_slot_state[i], &expected, SLOT_REMOVED))
            unlink(g_slot_path[i]);
    }
}

/* ---------------------------------------------------------------- helpers */
static mode_t current_umask(void)
{
    /* Linux >= 4.7 reports it without changing it (umask() itself is a set+restore race). */
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "Umask:", 6) == 0) {
                char *end = NULL;
                unsigned long m = strtoul(line + 6, &end, 8);
                fclose(f);
                if (end != line + 6)
                    return (mode_t)(m & 0777);
                goto fallback;
            }
        }
        fclose(f);
    }
fallback:;
    mode_t m = umask(022);
    umask(m);
    return m & 0777;
}

static void outfile_free(nbcl_outfile *f)
{
    if (!f)
        return;
    slot_release(f->slot);
    free(f->path);
    free(f->real);
    free(f->tmp);
    free(f->dir);
    free(f->bak);
    free(f);
}

static void fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: some file systems refuse directory fsync */
        close(dfd);
    }
}

/* write all of len, or fail; for a FIFO without O_NONBLOCK cleared, wait for the reader in
 * short polls so that the thread's cancel token (nbcl_cancel_use) ends the wait, and never take SIGPIPE (a reader that
 * went away is an error of this output, not the end of the process) */
static ssize_t write_nosigpipe(int fd, const void *p, size_t n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    int was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = write(fd, p, n);
    int e = errno;
    if (w < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return w;
}

static nbcl_status open_special(const char *path, char *real, const struct stat *st,
                                nbcl_outfile **out, char *err, size_t errlen)
{
    int fifo = S_ISFIFO(st->st_mode);
    /* no O_CREAT, no O_TRUNC: the device or FIFO receives the bytes as it is; O_NONBLOCK so an
     * open of a FIFO without a reader fails (ENXIO) instead of waiting for one */
    int fd = open(real, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (fifo && e == ENXIO)
            nbcl__errf(err, errlen, "%s: the FIFO has no reader: start the reader first", path);
        else
            nbcl__errf(err, errlen, "%s: cannot open for writing: %s", path, strerror(e));
        free(real);
        return NBCL_IO;
    }
    struct stat now;
    if (fstat(fd, &now) != 0 || (!S_ISCHR(now.st_mode) && !S_ISFIFO(now.st_mode))) {
        nbcl__errf(err, errlen, "%s: changed while it was opened: not written", path);
        close(fd);
        free(real);
        return NBCL_IO;
    }
    if (!fifo) { /* a device: ordinary blocking writes */
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    nbcl_outfile *f = calloc(1, sizeof *f);
    char *p = f ? nbcl__strndup(path, strlen(path)) : NULL;
    if (!p) {
        free(f);
        close(fd);
        free(real);
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    f->fd = fd;
    f->slot = -1;
    f->special = 1;
    f->fifo = fifo;
    f->path = p;
    f->real = real;
    *out = f;
    return NBCL_OK;
}

/* ---------------------------------------------------------------- API */
nbcl_status nbcl_outfile_open(const char *path, nbcl_outfile **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!path || !*path || !out) {
        nbcl__errf(err, errlen, "nbcl_outfile_open: empty output path");
        return NBCL_INVALID_ARGUMENT;
    }
    {
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
            nbcl__errf(err, errlen, "%s: output path names a directory", path);
            return NBCL_INVALID_ARGUMENT;
        }
    }
    char *real = NULL;
    struct stat st;
    int exists = 0;
    nbcl_status rs = nbcl__resolve_target(path, &real, &st, &exists, err, errlen);
    if (rs != NBCL_OK)
        return rs;
    if (exists && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
        return open_special(path, real, &st, out, err, errlen);
    if (exists && !S_ISREG(st.st_mode)) {
        free(real);
        if (nbcl_outfile_check(path, err, errlen) == NBCL_OK) /* changed meanwhile */
            nbcl__errf(err, errlen, "%s: not a regular file", path);
        return NBCL_IO;
    }

    const char *slash = strrchr(real, '/');
    const char *base = slash ? slash + 1 : real;
    size_t dirlen = slash ? (size_t)(slash - real) + 1 : 0; /* including the '/' */
    size_t baselen = strlen(base);
    nbcl_outfile *f = calloc(1, sizeof *f);
    if (!f) {
        free(real);
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    f->fd = -1;
    f->slot = -1;
    f->real = real;
    size_t blen = baselen > OUTFILE_BASEMAX ? OUTFILE_BASEMAX : baselen;
    size_t tmplen = dirlen + 1 + blen + strlen(".tmp.XXXXXX");
    f->path = nbcl__strndup(path, strlen(path));
    f->tmp = malloc(tmplen + 1);
    f->dir = nbcl__path_dir(real);
    if (!f->path || !f->tmp || !f->dir) {
        outfile_free(f);
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    memcpy(f->tmp, real, dirlen);
    f->tmp[dirlen] = '.';
    memcpy(f->tmp + dirlen + 1, base, blen);
    strcpy(f->tmp + dirlen + 1 + blen, ".tmp.XXXXXX");

    /* Registry entry: absolute path, so a chdir() before the signal does not matter. */
    char cwd[OUTFILE_PATHMAX];
    int absolute = (real[0] == '/');
    if (!absolute && !getcwd(cwd, sizeof cwd)) {
        nbcl__errf(err, errlen, "%s: cannot determine the working directory: %s", path,
                   strerror(errno));
        outfile_free(f);
        return NBCL_IO;
    }
    size_t reglen = absolute ? tmplen : strlen(cwd) + 1 + tmplen;
    if (reglen >= OUTFILE_PATHMAX) {
        nbcl__errf(err, errlen, "%s: path too long", path);
        outfile_free(f);
        return NBCL_INVALID_ARGUMENT;
    }
    f->slot = slot_claim();
    if (f->slot < 0) {
        nbcl__errf(err, errlen, "%s: more than %d output files open at once", path,
                   OUTFILE_SLOTS);
        outfile_free(f);
        return NBCL_IO;
    }

    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int e = errno;
        nbcl__errf(err, errlen, "%s: cannot create a temporary file in '%s': %s", path, f->dir,
                   strerror(e));
        outfile_free(f);
        return NBCL_IO;
    }
    char *reg = g_slot_path[f->slot]; /* reglen < OUTFILE_PATHMAX was checked above */
    size_t at = 0;
    if (!absolute) {
        size_t cl = strlen(cwd);
        memcpy(reg, cwd, cl);
        reg[cl] = '/';
        at = cl + 1;
    }
    memcpy(reg + at, f->tmp, tmplen + 1);
    atomic_store(&g_slot_state[f->slot], SLOT_ACTIVE);

    if (fchmod(f->fd, (mode_t)(0644 & ~current_umask())) != 0) {
        int e = errno;
        nbcl__errf(err, errlen, "%s: cannot set permissions on '%s': %s", path, f->tmp,
                   strerror(e));
        nbcl_outfile_abort(f);
        return NBCL_IO;
    }
    *out = f;
    return NBCL_OK;
}

const char *nbcl__outfile_temp_path(const nbcl_outfile *f)
{
    return f ? f->tmp : NULL;
}

nbcl_status nbcl_outfile_write(nbcl_outfile *f, const void *data, size_t len, char *err,
                               size_t errlen)
{
    if (!f || (!data && len > 0) || f->fd < 0) {
        nbcl__errf(err, errlen, "nbcl_outfile_write: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    if (f->failed) {
        nbcl__errf(err, errlen, "%s: an earlier write failed", f->path);
        return NBCL_IO;
    }
    const unsigned char *p = data;
    while (len > 0) {
        size_t chunk = len > ((size_t)1 << 30) ? ((size_t)1 << 30) : len;
        ssize_t w = f->special ? write_nosigpipe(f->fd, p, chunk) : write(f->fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (f->fifo && errno == EAGAIN) { /* the reader is behind: wait, but not forever */
                if (nbcl__io_cancelled()) { /* the thread's token (nbcl_cancel_use) */
                    f->failed = 1;
                    nbcl__errf(err, errlen, "%s: interrupted while waiting for the reader",
                               f->path);
                    return NBCL_INTERRUPTED;
                }
                struct pollfd pfd = {f->fd, POLLOUT, 0};
                (void)poll(&pfd, 1, 200);
                continue;
            }
            int e = errno;
            f->failed = 1;
            if (e == EPIPE)
                nbcl__errf(err, errlen, "%s: write failed: the reader closed the FIFO", f->path);
            else
                nbcl__errf(err, errlen, "%s: write failed: %s", f->path, strerror(e));
            return NBCL_IO;
        }
        if (w == 0) {
            f->failed = 1;
            nbcl__errf(err, errlen, "%s: write failed: no progress", f->path);
            return NBCL_IO;
        }
        p += w;
        len -= (size_t)w;
    }
    return NBCL_OK;
}

nbcl_status nbcl_outfile_commit(nbcl_outfile *f, char *err, size_t errlen)
{
    if (!f) {
        nbcl__errf(err, errlen, "nbcl_outfile_commit: NULL file");
        return NBCL_INVALID_ARGUMENT;
    }
    nbcl_commit_set *set = t_current;
    if (set)
        return nbcl_commit_set_add(set, f, err, errlen);
    if (f->failed) {
        nbcl__errf(err, errlen, "%s: not written (an earlier write failed)", f->path);
        nbcl_outfile_abort(f);
        return NBCL_IO;
    }
    nbcl_outfile *one[1] = {f}; /* a set of one */
    nbcl_commit_set local = {one, 1, 1, -1};
    return nbcl_commit_set_commit(&local, err, errlen);
}

void nbcl_outfile_abort(nbcl_outfile *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp && !f->special) { /* a device or FIFO is never removed */
        if (f->slot >= 0) {
            int expected = SLOT_ACTIVE;
            /* Skip the unlink when a signal handler already removed it. */
            if (atomic_compare_exchange_strong(&g_slot_state[f->slot], &expected, SLOT_CLAIMED))
                unlink(f->tmp);
        } else {
            unlink(f->tmp);
        }
    }
    outfile_free(f);
}

/* ---------------------------------------------------------------- commit sets */
nbcl_status nbcl_commit_set_create(nbcl_commit_set **out, char *err, size_t errlen)
{
    if (!out) {
        nbcl__errf(err, errlen, "nbcl_commit_set_create: NULL result pointer");
        return NBCL_INVALID_ARGUMENT;
    }
    *out = calloc(1, sizeof **out);
    if (!*out) {
        nbcl__errf(err, errlen, "out of memory");
        return NBCL_OUT_OF_MEMORY;
    }
    (*out)->fail_rename_in = -1;
    return NBCL_OK;
}

void nbcl__commit_set_fail_rename_in(nbcl_commit_set *set, int n)
{
    if (set)
        set->fail_rename_in = n;
}

nbcl_commit_set *nbcl_commit_set_use(nbcl_commit_set *set)
{
    nbcl_commit_set *prev = t_current;
    t_current = set;
    return prev;
}

size_t nbcl_commit_set_size(const nbcl_commit_set *set)
{
    return set ? set->n : 0;
}

nbcl_status nbcl_commit_set_add(nbcl_commit_set *set, nbcl_outfile *f, char *err, size_t errlen)
{
    if (!set || !f) {
        nbcl_outfile_abort(f);
        nbcl__errf(err, errlen, "nbcl_commit_set_add: NULL argument");
        return NBCL_INVALID_ARGUMENT;
    }
    if (f->failed) {
        nbcl__errf(err, errlen, "%s: not written (an earlier write failed)", f->path);
        nbcl_outfile_abort(f);
        return NBCL_IO;
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 8;
        nbcl_outfile **v = realloc(set->f, cap * sizeof *v);
        if (!v) {
            nbcl__errf(err, errlen, "%s: out of memory", f->path);
            nbcl_outfile_abort(f);
            return NBCL_OUT_OF_MEMORY;
        }
        set->f = v;
        set->cap = cap;
    }
#ifdef SYNC_FILE_RANGE_WRITE
    /* start the write-back now; the set's commit waits for it */
    if (!f->special)
        (void)sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
    set->f[set->n++] = f;
    return NBCL_OK;
}

void nbcl_commit_set_abort(nbcl_commit_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        nbcl_outfile_abort(set->f[i]);
    set->n = 0;
}

void nbcl_commit_set_destroy(nbcl_commit_set *set)
{
    if (!set)
        return;
    if (t_current == set)
        t_current = NULL;
    nbcl_commit_set_abort(set);
    free(set->f);
    free(set);
}

/* fdatasync of many files on a few threads: the file system then batches the waits of all
 * outputs into few journal commits instead of one after another */
typedef struct presync_job {
    nbcl_outfile **v;
    size_t n;
    atomic_size_t next;
} presync_job;

static void *presync_worker(void *arg)
{
    presync_job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            return NULL;
        nbcl_outfile *f = j->v[i];
        /* the result is kept for settle(): after a failed fsync another one may report
         * success while the data is lost, and a good one need not be repeated */
        f->sync_errno = fdatasync(f->fd) == 0 ? 0 : errno;
        f->datasynced = 1;
    }
}

static void presync(nbcl_commit_set *const *sets, size_t nsets)
{
    size_t total = 0;
    for (size_t s = 0; s < nsets; s++)
        total += sets[s] ? sets[s]->n : 0;
    if (total < 2)
        return;
    presync_job j = {malloc(total * sizeof *j.v), 0, 0};
    if (!j.v)
        return; /* settle() syncs them one by one */
    for (size_t s = 0; s < nsets; s++)
        for (size_t i = 0; sets[s] && i < sets[s]->n; i++) {
            nbcl_outfile *f = sets[s]->f[i];
            if (!f->special && !f->synced && !f->datasynced && f->fd >= 0)
                j.v[j.n++] = f;
        }
    pthread_t tid[PRESYNC_THREADS];
    int started = 0;
    while (started < PRESYNC_THREADS - 1 && (size_t)started + 1 < j.n &&
           pthread_create(&tid[started], NULL, presync_worker, &j) == 0)
        started++;
    presync_worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    free(j.v);
}

/* step 1 for one file: on disk, closed, not removed by a signal, target still replaceable */
static nbcl_status settle(nbcl_outfile *f, char *err, size_t errlen)
{
    if (f->synced)
        return NBCL_OK;
    if (!f->special && !f->datasynced) {
        f->sync_errno = fdatasync(f->fd) == 0 ? 0 : errno;
        f->datasynced = 1;
    }
    if (!f->special && f->sync_errno != 0) {
        nbcl__errf(err, errlen, "%s: fsync failed: %s", f->path, strerror(f->sync_errno));
        return NBCL_IO;
    }
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0 && errno != EINTR) {
        nbcl__errf(err, errlen, "%s: close failed: %s", f->path, strerror(errno));
        return NBCL_IO;
    }
    f->synced = 1;
    if (f->special)
        return NBCL_OK;
    if (atomic_load(&g_slot_state[f->slot]) == SLOT_REMOVED) {
        nbcl__errf(err, errlen, "%s: interrupted before it was complete", f->path);
        return NBCL_INTERRUPTED;
    }
    struct stat st; /* a directory or device put there since the open must not be replaced */
    if (lstat(f->real, &st) == 0 && !S_ISREG(st.st_mode)) {
        const char *now = S_ISDIR(st.st_mode) ? "a directory"
                          : S_ISLNK(st.st_mode) ? "a link"
                                                : "a special file";
        nbcl__errf(err, errlen, "%s: became %s while it was written: not replaced", f->path, now);
        return NBCL_IO;
    }
    return NBCL_OK;
}

nbcl_status nbcl_commit_sets_prepare(nbcl_commit_set *const *sets, size_t n, char *err,
                                     size_t errlen)
{
    if (n > 0 && !sets) {
        nbcl__errf(err, errlen, "nbcl_commit_sets_prepare: NULL list");
        return NBCL_INVALID_ARGUMENT;
    }
    presync(sets, n);
    for (size_t s = 0; s < n; s++) {
        for (size_t i = 0; sets[s] && i < sets[s]->n; i++) {
            nbcl_status st = settle(sets[s]->f[i], err, errlen);
            if (st != NBCL_OK) {
                nbcl_commit_set_abort(sets[s]);
                return st;
            }
        }
    }
    return NBCL_OK;
}

/* fsync each directory holding a renamed file of the sets, once (a batch of frames in one
 * directory pays one directory sync, not one per frame) */
static void fsync_dirs(nbcl_commit_set *const *sets, size_t nsets)
{
    for (size_t s = 0; s < nsets; s++)
        for (size_t i = 0; sets[s] && i < sets[s]->n; i++) {
            const nbcl_outfile *f = sets[s]->f[i];
            if (f->special)
                continue;
            int seen = 0;
            for (size_t t = 0; t <= s && !seen; t++)
                for (size_t j = 0; sets[t] && j < (t == s ? i : sets[t]->n) && !seen; j++)
                    seen = !sets[t]->f[j]->special && strcmp(sets[t]->f[j]->dir, f->dir) == 0;
            if (!seen)
                fsync_dir(f->dir);
        }
}

/* a hard link to the target that f is about to replace, so the rename can be undone */
static void keep_previous(nbcl_outfile *f)
{
    struct stat st;
    f->had_old = lstat(f->real, &st) == 0;
    if (!f->had_old)
        return;
    size_t tl = strlen(f->tmp);
    f->bak = malloc(tl + 5);
    if (!f->bak)
        return;
    memcpy(f->bak, f->tmp, tl);
    memcpy(f->bak + tl, ".old", 5);
    if (link(f->real, f->bak) != 0 && !(errno == EEXIST && unlink(f->bak) == 0 &&
                                        link(f->real, f->bak) == 0)) {
        free(f->bak); /* no hard links here: this one cannot be restored */
        f->bak = NULL;
    }
}

/* put back what the renames of set->f[0..upto) replaced; 0 if all of them could be */
static int undo_renames(nbcl_commit_set *set, size_t upto, char *lost, size_t lostlen)
{
    int ok = 1;
    for (size_t k = upto; k-- > 0;) {
        nbcl_outfile *f = set->f[k];
        if (!f->renamed)
            continue;
        int back = f->bak ? rename(f->bak, f->real) == 0 : !f->had_old && unlink(f->real) == 0;
        if (!back) {
            if (ok)
                snprintf(lost, lostlen, "%s", f->path);
            ok = 0;
        }
        f->renamed = 0;
    }
    return ok;
}

/* step (2) for a synced set: rename file by file, undoing them all if one fails */
static nbcl_status rename_set(nbcl_commit_set *set, char *err, size_t errlen)
{
    nbcl_status st = NBCL_OK;
    size_t i = 0;
    for (; i < set->n && st == NBCL_OK; i++) {
        nbcl_outfile *f = set->f[i];
        if (f->special)
            continue;
        int expected = SLOT_ACTIVE; /* from here on a signal leaves this temporary alone */
        if (!atomic_compare_exchange_strong(&g_slot_state[f->slot], &expected, SLOT_CLAIMED)) {
            nbcl__errf(err, errlen, "%s: interrupted before it was renamed into place", f->path);
            st = NBCL_INTERRUPTED;
            break;
        }
        keep_previous(f);
        int rc;
        if (set->fail_rename_in >= 0 && set->fail_rename_in-- == 0) {
            rc = -1;
            errno = EIO;
        } else {
            rc = rename(f->tmp, f->real);
        }
        if (rc != 0) {
            nbcl__errf(err, errlen, "%s: cannot rename the temporary file into place: %s",
                       f->path, strerror(errno));
            unlink(f->tmp);
            st = NBCL_IO;
            break;
        }
        f->renamed = 1;
    }
    if (st != NBCL_OK) {
        char lost[OUTFILE_PATHMAX] = "";
        if (!undo_renames(set, i, lost, sizeof lost)) {
            size_t l = err ? strlen(err) : 0;
            if (err && l < errlen)
                nbcl__errf(err + l, errlen - l, "; '%s' could not be restored", lost);
        }
    }
    for (size_t k = 0; k < set->n; k++)
        if (set->f[k]->bak)
            unlink(set->f[k]->bak);
    return st;
}

/* after the directory sync: nothing is left to remove but what was not renamed */
static void finish_set(nbcl_commit_set *set)
{
    for (size_t k = 0; k < set->n; k++)
        nbcl_outfile_abort(set->f[k]);
    set->n = 0;
}

nbcl_status nbcl_commit_sets_commit(nbcl_commit_set *const *sets, size_t n, char *err,
                                    size_t errlen)
{
    if (n > 0 && !sets) {
        nbcl__errf(err, errlen, "nbcl_commit_sets_commit: NULL list");
        return NBCL_INVALID_ARGUMENT;
    }
    /* one wait for every file; a set that failed it is aborted (empty), the others go on */
    nbcl_status st = nbcl_commit_sets_prepare(sets, n, err, errlen);
    for (size_t s = 0; s < n; s++) {
        if (!sets[s])
            continue;
        char e2[1024];
        nbcl_commit_set *one = sets[s]; /* files the first failure left unsynced */
        nbcl_status s2 = nbcl_commit_sets_prepare(&one, 1, e2, sizeof e2);
        if (s2 == NBCL_OK)
            s2 = rename_set(sets[s], e2, sizeof e2);
        if (s2 != NBCL_OK && st == NBCL_OK) {
            st = s2;
            nbcl__errf(err, errlen, "%s", e2);
        }
    }
    fsync_dirs(sets, n);
    for (size_t s = 0; s < n; s++)
        if (sets[s])
            finish_set(sets[s]);
    return st;
}

nbcl_status nbcl_commit_set_commit(nbcl_commit_set *set, char *err, size_t errlen)
{
    if (!set) {
        nbcl__errf(err, errlen, "nbcl_commit_set_commit: NULL set");
        return NBCL_INVALID_ARGUMENT;
    }
    nbcl_commit_set *one = set;
    nbcl_status st = nbcl_commit_sets_prepare(&one, 1, err, errlen); /* aborts it on failure */
    if (st != NBCL_OK)
        return st;
    st = rename_set(set, err, errlen);
    fsync_dirs(&one, 1);
    finish_set(set);
    return st;
}

