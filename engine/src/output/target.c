/* What a file name refers to, judged by identity rather than spelling (docs/reliability.md,
 * "Round two"): the target behind symbolic links, the checks an output path must pass before any
 * work, and the test that no two names of one run (outputs, or an output and an input) are the
 * same file. */
#if !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* realpath, readlink, lstat */
#endif
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbcl_internal.h"
#include "io/io_util.h"

#define MAX_LINKS 40 /* as the kernel's own limit for one lookup */

char *nbcl__strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *nbcl__path_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return nbcl__strndup(".", 1);
    if (slash == path)
        return nbcl__strndup("/", 1);
    return nbcl__strndup(path, (size_t)(slash - path));
}

nbcl_status nbcl__resolve_target(const char *path, char **real, struct stat *st, int *exists,
                                 char *err, size_t errlen)
{
    *real = NULL;
    *exists = 0;
    char *cur = nbcl__strndup(path, strlen(path));
    if (!cur) {
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    for (int hop = 0;; hop++) {
        if (lstat(cur, st) != 0) {
            int e = errno;
            if (e == ENOENT) { /* not there (yet): the name itself is the target */
                *real = cur;
                return NBCL_OK;
            }
            nbcl__errf(err, errlen, "%s: %s", path, strerror(e));
            free(cur);
            return NBCL_IO;
        }
        if (!S_ISLNK(st->st_mode)) {
            *exists = 1;
            *real = cur;
            return NBCL_OK;
        }
        if (hop >= MAX_LINKS) {
            nbcl__errf(err, errlen, "%s: more than %d symbolic links in a row", path, MAX_LINKS);
            free(cur);
            return NBCL_IO;
        }
        char link[PATH_MAX];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n <= 0) {
            int e = n < 0 ? errno : ENOENT;
            nbcl__errf(err, errlen, "%s: cannot read the symbolic link '%s': %s", path, cur,
                       strerror(e));
            free(cur);
            return NBCL_IO;
        }
        link[n] = '\0';
        char *next;
        if (link[0] == '/' || !strchr(cur, '/')) {
            next = nbcl__strndup(link, (size_t)n);
        } else { /* relative to the directory holding the link */
            size_t dl = (size_t)(strrchr(cur, '/') - cur) + 1;
            next = malloc(dl + (size_t)n + 1);
            if (next) {
                memcpy(next, cur, dl);
                memcpy(next + dl, link, (size_t)n + 1);
            }
        }
        free(cur);
        if (!next) {
            nbcl__errf(err, errlen, "%s: out of memory", path);
            return NBCL_OUT_OF_MEMORY;
        }
        cur = next;
    }
}

/* "path" or "path (a link to 'real')" for messages */
static void describe(char *buf, size_t len, const char *path, const char *real)
{
    if (strcmp(path, real) == 0)
        snprintf(buf, len, "%s", path);
    else
        snprintf(buf, len, "%s (a link to '%s')", path, real);
}

nbcl_status nbcl_outfile_check(const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        nbcl__errf(err, errlen, "empty output path");
        return NBCL_INVALID_ARGUMENT;
    }
    char *real = NULL;
    struct stat st;
    int exists = 0;
    nbcl_status s = nbcl__resolve_target(path, &real, &st, &exists, err, errlen);
    if (s != NBCL_OK)
        return s;
    char what[2 * PATH_MAX + 32];
    describe(what, sizeof what, path, real);
    s = NBCL_IO;
    if (exists && S_ISDIR(st.st_mode))
        nbcl__errf(err, errlen, "%s: is a directory, not a file", what);
    else if (exists && S_ISBLK(st.st_mode))
        nbcl__errf(err, errlen, "%s: is a block device: refusing to write an image onto it", what);
    else if (exists && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
        nbcl__errf(err, errlen, "%s: is not a regular file, character device or FIFO", what);
    else if (exists && !S_ISREG(st.st_mode)) { /* a device or FIFO receives the bytes itself */
        if (access(real, W_OK) != 0)
            nbcl__errf(err, errlen, "%s: not writable: %s", what, strerror(errno));
        else
            s = NBCL_OK;
    } else { /* a regular file or a new one: replaced through a temporary file beside it */
        char *dir = nbcl__path_dir(real);
        if (!dir) {
            nbcl__errf(err, errlen, "%s: out of memory", path);
            s = NBCL_OUT_OF_MEMORY;
        } else if (access(dir, W_OK | X_OK) != 0) {
            int e = errno;
            nbcl__errf(err, errlen, "%s: cannot write: directory '%s' %s", what, dir,
                       e == ENOENT || e == ENOTDIR ? "does not exist" : strerror(e));
        } else {
            s = NBCL_OK;
        }
        free(dir);
    }
    free(real);
    return s;
}

/* ---------------------------------------------------------------- identity */
typedef struct file_id {
    int known; /* identified (the name is used and could be looked up) */
    int exists;
    dev_t dev;
    ino_t ino;
    mode_t mode;
    char *canon; /* for a file not there yet: realpath(directory) + "/" + name */
} file_id;

static nbcl_status identify(const char *path, file_id *id, char *err, size_t errlen)
{
    memset(id, 0, sizeof *id);
    char *real = NULL;
    struct stat st;
    nbcl_status s = nbcl__resolve_target(path, &real, &st, &id->exists, err, errlen);
    if (s != NBCL_OK)
        return s;
    if (id->exists) {
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        id->mode = st.st_mode;
        id->known = 1;
        free(real);
        return NBCL_OK;
    }
    char *dir = nbcl__path_dir(real);
    char *rdir = dir ? realpath(dir, NULL) : NULL;
    const char *slash = strrchr(real, '/');
    const char *base = slash ? slash + 1 : real;
    if (rdir) {
        size_t dl = strlen(rdir), bl = strlen(base);
        id->canon = malloc(dl + 1 + bl + 1);
        if (id->canon) {
            memcpy(id->canon, rdir, dl);
            id->canon[dl] = '/';
            memcpy(id->canon + dl + 1, base, bl + 1);
        }
        free(real);
    } else { /* the directory is missing too: the spelling is all there is */
        id->canon = real;
    }
    free(dir);
    free(rdir);
    if (!id->canon) {
        nbcl__errf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    id->known = 1;
    return NBCL_OK;
}

static int same_id(const file_id *a, const file_id *b)
{
    if (a->exists != b->exists)
        return 0;
    if (a->exists)
        return a->dev == b->dev && a->ino == b->ino;
    return strcmp(a->canon, b->canon) == 0;
}

nbcl_status nbcl_files_check_distinct(const nbcl_file_ref *files, size_t n, char *err,
                                      size_t errlen)
{
    if (n == 0)
        return NBCL_OK;
    if (!files) {
        nbcl__errf(err, errlen, "nbcl_files_check_distinct: NULL list");
        return NBCL_INVALID_ARGUMENT;
    }
    file_id *id = calloc(n, sizeof *id);
    if (!id) {
        nbcl__errf(err, errlen, "out of memory");
        return NBCL_OUT_OF_MEMORY;
    }
    nbcl_status s = NBCL_OK;
    size_t done = 0;
    for (; done < n && s == NBCL_OK; done++) {
        if (!files[done].path || !*files[done].path)
            continue; /* not used in this run */
        char e2[1024];
        s = identify(files[done].path, &id[done], e2, sizeof e2);
        if (s == NBCL_IO) /* unreadable name (a loop of links, ...): the reader or writer says so */
            s = NBCL_OK;
        else if (s == NBCL_OK && !files[done].is_output && !id[done].exists)
            id[done].known = 0; /* a missing input is refused by its reader, or never read (the
                                 * Fdump.bin cache is read only when it exists) */
        else if (s != NBCL_OK)
            nbcl__errf(err, errlen, "%s", e2);
    }
    for (size_t i = 0; i < done && s == NBCL_OK; i++) {
        for (size_t j = i + 1; j < done && s == NBCL_OK; j++) {
            const nbcl_file_ref *a = &files[i], *b = &files[j];
            if ((!a->is_output && !b->is_output) || !id[i].known || !id[j].known ||
                !same_id(&id[i], &id[j]))
                continue;
            /* a character device is a stream, not content to lose: several outputs may discard
             * into one null device */
            if (id[i].exists && S_ISCHR(id[i].mode))
                continue;
            if (!a->is_output || !b->is_output) {
                const nbcl_file_ref *o = a->is_output ? a : b, *in = a->is_output ? b : a;
                nbcl__errf(err, errlen,
                           "output %s '%s' is the input %s '%s': it would be overwritten; "
                           "choose another output name",
                           o->role, o->path, in->role, in->path);
            } else if (strcmp(a->path, b->path) == 0) {
                nbcl__errf(err, errlen, "%s and %s both name '%s': give each output its own file",
                           a->role, b->role, a->path);
            } else {
                nbcl__errf(err, errlen,
                           "%s '%s' and %s '%s' are the same file: give each output its own file",
                           a->role, a->path, b->role, b->path);
            }
            s = NBCL_INVALID_ARGUMENT;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(id[i].canon);
    free(id);
    return s;
}
