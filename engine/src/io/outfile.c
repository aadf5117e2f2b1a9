/* Atomic output files.
 *
 * nbcl_outfile_open("dir/name") creates "dir/.name.tmp.XXXXXX" with mkstemp in the target's own
 * directory (so the final rename never crosses a file system), writes go there, commit fsyncs,
 * sets the mode to 0644 & ~umask and renames over the target; abort unlinks.
 *
 * Deferred commits (nbcl_outfile_defer_begin/commit): a completed file only starts its write-back
 * (sync_file_range, Linux) and stays open; nbcl_outfile_defer_commit then waits for all of them
 * (fdatasync), renames them and syncs each directory once. The disk writes of one output thus
 * overlap the computation of the next, and a run pays one wait, not one per file. A failed or
 * interrupted run therefore never leaves a partial file and never clobbers the previous one.
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbcl_internal.h"
#include "io_util.h"

#define OUTFILE_SLOTS 64
#define OUTFILE_PATHMAX 4096
#define OUTFILE_BASEMAX 200 /* longest part of the target name copied into the temp name */

enum { SLOT_FREE = 0, SLOT_CLAIMED = 1, SLOT_ACTIVE = 2, SLOT_REMOVED = 3 };

static char g_slot_path[OUTFILE_SLOTS][OUTFILE_PATHMAX];
static atomic_int g_slot_state[OUTFILE_SLOTS];

/* deferred commits (nbcl_outfile_defer_*): completed files wait here, still open, for one
 * sync-and-rename pass; only the thread that writes outputs uses this list */
static int g_defer;
static nbcl_outfile *g_pending[OUTFILE_SLOTS];
static int g_npending;

struct nbcl_outfile {
    int fd;
    int failed;  /* a write failed: commit refuses */
    int slot;    /* registry slot, -1 if none */
    char *path;  /* target */
    char *tmp;   /* temporary file, as created */
    char *dir;   /* directory holding both (for the post-rename fsync) */
};

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

static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void outfile_free(nbcl_outfile *f)
{
    if (!f)
        return;
    slot_release(f->slot);
    free(f->path);
    free(f->tmp);
    free(f->dir);
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

/* flush a completed file to disk and close it; on failure the file is aborted (freed) */
static nbcl_status sync_close(nbcl_outfile *f, char *err, size_t errlen)
{
    if (fdatasync(f->fd) != 0) {
        int e = errno;
        nbcl__errf(err, errlen, "%s: fsync failed: %s", f->path, strerror(e));
        nbcl_outfile_abort(f);
        return NBCL_IO;
    }
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) {
        int e = errno;
        nbcl__errf(err, errlen, "%s: close failed: %s", f->path, strerror(e));
        nbcl_outfile_abort(f);
        return NBCL_IO;
    }
    if (atomic_load(&g_slot_state[f->slot]) == SLOT_REMOVED) {
        nbcl__errf(err, errlen, "%s: interrupted before it was complete", f->path);
        outfile_free(f);
        return NBCL_INTERRUPTED;
    }
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
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0; /* including the '/' */
    size_t baselen = strlen(base);
    if (baselen == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        nbcl__errf(err, errlen, "%s: output path names a directory", path);
        return NBCL_INVALID_ARGUMENT;
    }

    nbcl_outfile *f = calloc(1, sizeof *f);
    if (!f) {
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    f->fd = -1;
    f->slot = -1;
    size_t blen = baselen > OUTFILE_BASEMAX ? OUTFILE_BASEMAX : baselen;
    size_t tmplen = dirlen + 1 + blen + strlen(".tmp.XXXXXX");
    f->path = xstrndup(path, strlen(path));
    f->tmp = malloc(tmplen + 1);
    if (dirlen == 0)
        f->dir = xstrndup(".", 1);
    else if (dirlen == 1)
        f->dir = xstrndup("/", 1);
    else
        f->dir = xstrndup(path, dirlen - 1);
    if (!f->path || !f->tmp || !f->dir) {
        outfile_free(f);
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    memcpy(f->tmp, path, dirlen);
    f->tmp[dirlen] = '.';
    memcpy(f->tmp + dirlen + 1, base, blen);
    strcpy(f->tmp + dirlen + 1 + blen, ".tmp.XXXXXX");

    /* Registry entry: absolute path, so a chdir() before the signal does not matter. */
    char cwd[OUTFILE_PATHMAX];
    int absolute = (path[0] == '/');
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
    if (!f || (!data && len > 0)) {
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
        ssize_t w = write(f->fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            f->failed = 1;
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
    if (f->failed) {
        nbcl__errf(err, errlen, "%s: not written (an earlier write failed)", f->path);
        nbcl_outfile_abort(f);
        return NBCL_IO;
    }
    if (g_defer && g_npending < OUTFILE_SLOTS) {
#ifdef SYNC_FILE_RANGE_WRITE
        /* start the write-back now; nbcl_outfile_defer_commit waits for it */
        (void)sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
        g_pending[g_npending++] = f;
        return NBCL_OK;
    }
    nbcl_status st = sync_close(f, err, errlen);
    if (st != NBCL_OK)
        return st;
    if (rename(f->tmp, f->path) != 0) {
        int e = errno;
        nbcl__errf(err, errlen, "%s: cannot rename the temporary file into place: %s", f->path,
                   strerror(e));
        nbcl_outfile_abort(f);
        return NBCL_IO;
    }
    fsync_dir(f->dir);
    outfile_free(f);
    return NBCL_OK;
}

void nbcl_outfile_defer_begin(void)
{
    g_defer = 1;
    g_npending = 0;
}

void nbcl_outfile_defer_abort(void)
{
    for (int i = 0; i < g_npending; i++)
        nbcl_outfile_abort(g_pending[i]);
    g_npending = 0;
    g_defer = 0;
}

/* fdatasync of one pending file on its own thread: the file system then batches the waits of
 * all outputs into one journal commit instead of one after another */
static void *presync_thread(void *arg)
{
    (void)fdatasync(((nbcl_outfile *)arg)->fd); /* errors surface in sync_close's own call */
    return NULL;
}

static void presync_all(void)
{
    pthread_t tid[OUTFILE_SLOTS];
    int started[OUTFILE_SLOTS] = {0};
    for (int i = 1; i < g_npending; i++)
        started[i] = pthread_create(&tid[i], NULL, presync_thread, g_pending[i]) == 0;
    if (g_npending > 0)
        presync_thread(g_pending[0]);
    for (int i = 1; i < g_npending; i++)
        if (started[i])
            pthread_join(tid[i], NULL);
}

nbcl_status nbcl_outfile_defer_commit(char *err, size_t errlen)
{
    g_defer = 0;
    if (g_npending > 1)
        presync_all();
    /* every file on disk and closed first: nothing is renamed unless all of them are good */
    for (int i = 0; i < g_npending; i++) {
        nbcl_status st = sync_close(g_pending[i], err, errlen); /* frees it on failure */
        if (st != NBCL_OK) {
            for (int j = i + 1; j < g_npending; j++)
                nbcl_outfile_abort(g_pending[j]);
            for (int j = 0; j < i; j++)
                nbcl_outfile_abort(g_pending[j]);
            g_npending = 0;
            return st;
        }
    }
    for (int i = 0; i < g_npending; i++) {
        nbcl_outfile *f = g_pending[i];
        if (rename(f->tmp, f->path) != 0) {
            int e = errno;
            nbcl__errf(err, errlen, "%s: cannot rename the temporary file into place: %s",
                       f->path, strerror(e));
            for (int j = i; j < g_npending; j++)
                nbcl_outfile_abort(g_pending[j]);
            for (int j = 0; j < i; j++)
                outfile_free(g_pending[j]);
            g_npending = 0;
            return NBCL_IO;
        }
    }
    /* one directory sync per directory, after all renames */
    for (int i = 0; i < g_npending; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(g_pending[j]->dir, g_pending[i]->dir) == 0;
        if (!seen)
            fsync_dir(g_pending[i]->dir);
    }
    for (int i = 0; i < g_npending; i++)
        outfile_free(g_pending[i]);
    g_npending = 0;
    return NBCL_OK;
}

void nbcl_outfile_abort(nbcl_outfile *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->slot >= 0) {
        int expected = SLOT_ACTIVE;
        /* Skip the unlink when a signal handler already removed it. */
        if (atomic_compare_exchange_strong(&g_slot_state[f->slot], &expected, SLOT_CLAIMED))
            unlink(f->tmp);
    } else {
        unlink(f->tmp);
    }
    outfile_free(f);
}
