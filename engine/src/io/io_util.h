/* Helpers shared by the file-format units in engine/src/io (never installed). */
#ifndef NBCL_IO_UTIL_H
#define NBCL_IO_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "nbcl/nbcl.h"

/* 1 when the host stores multi-byte numbers little-endian first. */
int nbcl__host_little_endian(void);
void nbcl__bswap16_n(uint16_t *p, size_t n);

/* strtod / snprintf in the "C" locale whatever the process or thread locale is. */
double nbcl__strtod_c(const char *s, char **end);
int nbcl__snprintf_c(char *buf, size_t n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Whole file into memory, NUL-terminated (the NUL is not counted in *len). NBCL_IO with
 * "path: strerror" when it cannot be opened or read. Caller frees *data. The one way every input
 * file is read: never blocks in open(); a FIFO or device is waited on in slices that return
 * NBCL_INTERRUPTED ("path: interrupted while waiting for input") once the token the calling thread
 * installed with nbcl_cancel_use() is triggered (a signal). */
nbcl_status nbcl__read_file(const char *path, char **data, size_t *len, char *err, size_t errlen);

/* Line cursor over a buffer: returns the next line (without '\n' / "\r\n") as [*start, *start+*n),
 * its 1-based number in *lineno; 0 at the end. */
typedef struct nbcl__lines {
    const char *p, *end;
    long lineno;
} nbcl__lines;
void nbcl__lines_init(nbcl__lines *it, const char *data, size_t len);
int nbcl__lines_next(nbcl__lines *it, const char **start, size_t *n);

/* The temporary file an open output is written to (for libraries that write by path: HDF5);
 * valid until the file is committed or aborted; NULL when the output is written in place. */
const char *nbcl__outfile_temp_path(const nbcl_outfile *f);
/* Tests only (fault injection, per set): when n >= 0, the set's rename n renames from now fails
 * with EIO (-1, the default: never). */
void nbcl__commit_set_fail_rename_in(nbcl_commit_set *set, int n);

/* The sensor thickness a format states: dxtbx needs one > 0 (NBCL_DEFAULT_SENSOR_THICKNESS_M
 * when the description has none). */
double nbcl__sensor_thickness(const nbcl_frame_meta *m);
/* The first n bytes of s as a new string (malloc'ed; NULL when out of memory). */
char *nbcl__strndup(const char *s, size_t n);
/* Output targets (target.c). The directory part of a path ("." when it has none), malloc'ed. */
char *nbcl__path_dir(const char *path);
/* Follow the symbolic links of the last component of path (relative targets against the link's
 * own directory, at most 40): *real is where the bytes would go (malloc'ed), *exists whether it is
 * there, *st its lstat. NBCL_IO with "path: reason" on a loop or an unreadable component. */
struct stat;
nbcl_status nbcl__resolve_target(const char *path, char **real, struct stat *st, int *exists,
                                 char *err, size_t errlen);

/* Copy at most 40 characters of a token for an error message (adds "..." when cut). */
void nbcl__token_excerpt(char *dst, size_t dstlen, const char *tok, size_t toklen);

#endif
