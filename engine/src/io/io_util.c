/* Helpers shared by the file-format units: byte order, C-locale number conversion, whole-file
 * reads and a line cursor. */
#include "io_util.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbcl_internal.h"

int nbcl__host_little_endian(void)
{
    const uint16_t probe = 1;
    unsigned char b;
    memcpy(&b, &probe, 1);
    return b == 1;
}

void nbcl__bswap16_n(uint16_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint16_t)((p[i] >> 8) | (p[i] << 8));
}

/* ---------------------------------------------------------------- C locale */
static pthread_once_t g_c_locale_once = PTHREAD_ONCE_INIT;
static locale_t g_c_locale = (locale_t)0;

static void c_locale_init(void)
{
    g_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Switch this thread to the C locale; returns the previous one (or 0 when unavailable). */
static locale_t c_locale_enter(void)
{
    pthread_once(&g_c_locale_once, c_locale_init);
    if (g_c_locale == (locale_t)0)
        return (locale_t)0;
    return uselocale(g_c_locale);
}

static void c_locale_leave(locale_t old)
{
    if (old != (locale_t)0)
        uselocale(old);
}

double nbcl__strtod_c(const char *s, char **end)
{
    locale_t old = c_locale_enter();
    double v = strtod(s, end);
    c_locale_leave(old);
    return v;
}

int nbcl__snprintf_c(char *buf, size_t n, const char *fmt, ...)
{
    locale_t old = c_locale_enter();
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    c_locale_leave(old);
    return r;
}

/* ---------------------------------------------------------------- whole file */
/* Every input file of a run is read here. It is opened without blocking: open() of a FIFO with no
 * writer yet would wait in the kernel, restarted after every signal, so a run given a FIFO could
 * not be stopped. Regular files are then read as usual; anything else (FIFO, character device,
 * terminal) is read as data arrives, waiting in poll() slices that check the cancel token the
 * calling thread installed (nbcl_cancel_use), so one SIGINT/SIGTERM ends the wait. Reading from a FIFO stays legitimate (a piped HKL file). */
#define NBCL_READ_LIMIT ((size_t)1 << 30) /* text inputs larger than 1 GiB are not plausible */
#define NBCL_POLL_SLICE_MS 100

/* wait until fd has data or end of file; NBCL_INTERRUPTED once the thread's token is triggered */
static nbcl_status wait_readable(int fd)
{
    for (;;) {
        if (nbcl__io_cancelled()) /* the thread's token (nbcl_cancel_use) */
            return NBCL_INTERRUPTED;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, NBCL_POLL_SLICE_MS);
        if (r > 0 || (r < 0 && errno != EINTR))
            return NBCL_OK; /* ready, hung up or failed: read() says which */
    }
}

nbcl_status nbcl__read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        nbcl__errf(err, errlen, "%s: %s", path, strerror(errno));
        return NBCL_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        nbcl__errf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return NBCL_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        nbcl__errf(err, errlen, "%s: is a directory", path);
        close(fd);
        return NBCL_IO;
    }
    const int regular = S_ISREG(st.st_mode);
    /* Regular files: read the stated size. Others (pipes, devices): grow as needed. */
    if (regular && (uintmax_t)st.st_size > NBCL_READ_LIMIT) {
        nbcl__errf(err, errlen, "%s: larger than 1 GiB: not an input file", path);
        close(fd);
        return NBCL_PARSE;
    }
    size_t cap = (regular && st.st_size > 0) ? (size_t)st.st_size + 1 : 65536;
    char *buf = malloc(cap);
    nbcl_status rc = NBCL_OK;
    size_t n = 0;
    if (!buf) {
        nbcl__errf(err, errlen, "%s: out of memory for %zu bytes", path, cap);
        rc = NBCL_OUT_OF_MEMORY;
    }
    while (rc == NBCL_OK) {
        if (n + 1 >= cap) {
            if (cap > NBCL_READ_LIMIT) { /* /dev/zero never ends */
                nbcl__errf(err, errlen, "%s: larger than 1 GiB: not an input file", path);
                rc = NBCL_PARSE;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                nbcl__errf(err, errlen, "%s: out of memory for %zu bytes", path, cap * 2);
                rc = NBCL_OUT_OF_MEMORY;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        /* a FIFO reads as empty until its first writer comes: wait for data or its hang-up */
        if (!regular && wait_readable(fd) != NBCL_OK) {
            nbcl__errf(err, errlen, "%s: interrupted while waiting for input", path);
            rc = NBCL_INTERRUPTED;
            break;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got > 0) {
            n += (size_t)got;
        } else if (got == 0) {
            break;
        } else if (errno != EINTR && errno != EAGAIN) {
            nbcl__errf(err, errlen, "%s: read error: %s", path, strerror(errno));
            rc = NBCL_IO;
        }
    }
    close(fd);
    if (rc != NBCL_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return NBCL_OK;
}

/* ---------------------------------------------------------------- lines */
void nbcl__lines_init(nbcl__lines *it, const char *data, size_t len)
{
    it->p = data;
    it->end = data + len;
    it->lineno = 0;
}

int nbcl__lines_next(nbcl__lines *it, const char **start, size_t *n)
{
    if (it->p >= it->end)
        return 0;
    const char *s = it->p;
    const char *nl = memchr(s, '\n', (size_t)(it->end - s));
    const char *e = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    if (e > s && e[-1] == '\r')
        e--;
    it->lineno++;
    *start = s;
    *n = (size_t)(e - s);
    return 1;
}

void nbcl__token_excerpt(char *dst, size_t dstlen, const char *tok, size_t toklen)
{
    if (dstlen == 0)
        return;
    size_t max = 40;
    size_t k = toklen < max ? toklen : max;
    if (k + 4 > dstlen)
        k = dstlen > 4 ? dstlen - 4 : 0;
    size_t j = 0;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)tok[i];
        dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (k < toklen && j + 3 < dstlen) {
        memcpy(dst + j, "...", 3);
        j += 3;
    }
    dst[j] = '\0';
}
