/* Shared helpers for the libFuzzer harnesses: the readers take a path, so each input is written
 * to one per-process scratch file (rewritten in place for every execution, removed at exit). */
#ifndef NBCL_FUZZ_COMMON_H
#define NBCL_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char nbcl_fuzz_path[4096];
static int nbcl_fuzz_fd = -1;

static inline void nbcl_fuzz_cleanup(void)
{
    if (nbcl_fuzz_fd >= 0) {
        close(nbcl_fuzz_fd);
        unlink(nbcl_fuzz_path);
        nbcl_fuzz_fd = -1;
    }
}

/* Writes data to the scratch file and returns its path (aborts if it cannot: that is a harness
 * failure, not a finding). */
static inline const char *nbcl_fuzz_file(const uint8_t *data, size_t size)
{
    if (nbcl_fuzz_fd < 0) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
        if (!base)
            base = getenv("TMPDIR");
        if (!base || !*base)
            base = "/tmp";
        snprintf(nbcl_fuzz_path, sizeof nbcl_fuzz_path, "%s/nbcl_fuzz_XXXXXX", base);
        nbcl_fuzz_fd = mkstemp(nbcl_fuzz_path);
        if (nbcl_fuzz_fd < 0) {
            perror("nbcl fuzz: mkstemp");
            abort();
        }
        atexit(nbcl_fuzz_cleanup);
    }
    if (ftruncate(nbcl_fuzz_fd, 0) != 0) {
        perror("nbcl fuzz: ftruncate");
        abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(nbcl_fuzz_fd, data + done, size - done, (off_t)done);
        if (w <= 0) {
            perror("nbcl fuzz: pwrite");
            abort();
        }
        done += (size_t)w;
    }
    return nbcl_fuzz_path;
}

/* The error message must be a NUL-terminated single line: readers report "file:line: ...". */
static inline void nbcl_fuzz_check_message(const char *err, size_t errlen)
{
    if (memchr(err, '\0', errlen) == NULL)
        abort();
    if (strchr(err, '\n') != NULL)
        abort();
}

#endif
