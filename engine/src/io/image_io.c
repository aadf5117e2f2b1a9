/* Raw float32 images (little-endian, fast-major, no header) and 8-bit PGM (P5) in the
 * reference's layout. All writers go through nbcl_outfile (temporary file + rename). */
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"

static void bswap32_copy(unsigned char *dst, const void *src, size_t n)
{
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) {
        dst[4 * i + 0] = s[4 * i + 3];
        dst[4 * i + 1] = s[4 * i + 2];
        dst[4 * i + 2] = s[4 * i + 1];
        dst[4 * i + 3] = s[4 * i + 0];
    }
}

nbcl_status nbcl_write_float(const char *path, const float *data, size_t n, char *err,
                             size_t errlen)
{
    if (!data && n > 0) {
        nbcl__errf(err, errlen, "%s: no pixel data", path ? path : "(null)");
        return NBCL_INVALID_ARGUMENT;
    }
    if (n > SIZE_MAX / 4) {
        nbcl__errf(err, errlen, "%s: image too large", path ? path : "(null)");
        return NBCL_INVALID_ARGUMENT;
    }
    nbcl_outfile *f = NULL;
    nbcl_status st = nbcl_outfile_open(path, &f, err, errlen);
    if (st != NBCL_OK)
        return st;
    if (nbcl__host_little_endian()) {
        st = nbcl_outfile_write(f, data, n * sizeof(float), err, errlen);
    } else {
        enum { CHUNK = 16384 };
        unsigned char buf[4 * CHUNK];
        for (size_t i = 0; i < n && st == NBCL_OK; i += CHUNK) {
            size_t k = (n - i < CHUNK) ? n - i : CHUNK;
            bswap32_copy(buf, data + i, k);
            st = nbcl_outfile_write(f, buf, 4 * k, err, errlen);
        }
    }
    if (st != NBCL_OK) {
        nbcl_outfile_abort(f);
        return st;
    }
    return nbcl_outfile_commit(f, err, errlen);
}

nbcl_status nbcl_read_float(const char *path, float **data, size_t *n, char *err, size_t errlen)
{
    if (!path || !data || !n) {
        nbcl__errf(err, errlen, "nbcl_read_float: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    *data = NULL;
    *n = 0;
    char *buf = NULL;
    size_t len = 0;
    nbcl_status st = nbcl__read_file(path, &buf, &len, err, errlen);
    if (st != NBCL_OK)
        return st;
    if (len % 4 != 0) {
        nbcl__errf(err, errlen, "%s: size %zu bytes is not a multiple of 4 (float32 pixels)", path,
                   len);
        free(buf);
        return NBCL_PARSE;
    }
    size_t count = len / 4;
    float *out = malloc(count ? count * sizeof(float) : sizeof(float));
    if (!out) {
        nbcl__errf(err, errlen, "%s: out of memory for %zu pixels", path, count);
        free(buf);
        return NBCL_OUT_OF_MEMORY;
    }
    if (nbcl__host_little_endian())
        memcpy(out, buf, len);
    else
        bswap32_copy((unsigned char *)out, buf, count);
    free(buf);
    *data = out;
    *n = count;
    return NBCL_OK;
}

nbcl_status nbcl_write_pgm(const char *path, int fpixels, int spixels, const uint8_t *pix,
                           double scale, char *err, size_t errlen)
{
    if (fpixels <= 0 || spixels <= 0 || !pix) {
        nbcl__errf(err, errlen, "%s: invalid PGM image (%d x %d)", path ? path : "(null)", fpixels,
                   spixels);
        return NBCL_INVALID_ARGUMENT;
    }
    char head[256];
    int hl = nbcl__snprintf_c(head, sizeof head, "P5\n%d %d\n# pixels scaled by %lg\n255\n",
                              fpixels, spixels, scale);
    if (hl < 0 || (size_t)hl >= sizeof head) {
        nbcl__errf(err, errlen, "%s: PGM header formatting failed", path ? path : "(null)");
        return NBCL_INVALID_ARGUMENT;
    }
    nbcl_outfile *f = NULL;
    nbcl_status st = nbcl_outfile_open(path, &f, err, errlen);
    if (st != NBCL_OK)
        return st;
    st = nbcl_outfile_write(f, head, (size_t)hl, err, errlen);
    if (st == NBCL_OK)
        st = nbcl_outfile_write(f, pix, (size_t)fpixels * (size_t)spixels, err, errlen);
    if (st != NBCL_OK) {
        nbcl_outfile_abort(f);
        return st;
    }
    return nbcl_outfile_commit(f, err, errlen);
}
