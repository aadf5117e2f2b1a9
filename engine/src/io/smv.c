/* SMV (ADSC) images: the reference's 512-byte header followed by unsigned 16-bit pixels, and the
 * header reader used for -img / -mask ingestion. Numbers are formatted and parsed in the C locale
 * whatever the process locale is. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"

#define SMV_BLOCK 512
#define SMV_MAX_DIM (1 << 20)

static const char SMV_MAGIC[] = "{\nHEADER_BYTES=";

/* Formats the whole header text (without padding) into buf; returns its length or -1. */
static int smv_format(char *buf, size_t cap, int header_bytes, const nbcl_smv_header_info *h)
{
    const char *order = nbcl__host_little_endian() ? "little_endian" : "big_endian";
    return nbcl__snprintf_c(
        buf, cap,
        "{\nHEADER_BYTES=%d;\nDIM=2;\nBYTE_ORDER=%s;\nTYPE=unsigned_short;\n"
        "SIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=%g;\nDISTANCE=%g;\n"
        "WAVELENGTH=%g;\n"
        "BEAM_CENTER_X=%g;\nBEAM_CENTER_Y=%g;\n"
        "ADXV_CENTER_X=%g;\nADXV_CENTER_Y=%g;\n"
        "MOSFLM_CENTER_X=%g;\nMOSFLM_CENTER_Y=%g;\n"
        "DENZO_X_BEAM=%g;\nDENZO_Y_BEAM=%g;\n"
        "DIALS_ORIGIN=%g,%g,%g\n" /* no ';' here in the reference either */
        "XDS_ORGX=%g;\nXDS_ORGY=%g;\n"
        "CLOSE_DISTANCE=%g;\n"
        "PHI=%g;\nOSC_START=%g;\nOSC_RANGE=%g;\n"
        "TWOTHETA=%g;\n"
        "DETECTOR_SN=000;\n"
        "BEAMLINE=fake;\n"
        "}\f",
        header_bytes, order, h->fpixels, h->spixels, h->pixel_size_mm, h->distance_mm,
        h->wavelength_A, h->beam_center_x_mm, h->beam_center_y_mm, h->adxv_x_mm, h->adxv_y_mm,
        h->mosflm_x_mm, h->mosflm_y_mm, h->denzo_x_mm, h->denzo_y_mm, h->dials_origin_mm[0],
        h->dials_origin_mm[1], h->dials_origin_mm[2], h->orgx, h->orgy, h->close_distance_mm,
        h->phi_deg, h->osc_start_deg, h->osc_range_deg, h->twotheta_deg);
}

nbcl_status nbcl_write_smv(const char *path, const nbcl_smv_header_info *h, const uint16_t *pix,
                           char *err, size_t errlen)
{
    const char *name = path ? path : "(null)";
    if (!h || !pix || h->fpixels <= 0 || h->spixels <= 0) {
        nbcl__errf(err, errlen, "%s: invalid SMV image (no header, no pixels or empty size)",
                   name);
        return NBCL_INVALID_ARGUMENT;
    }
    /* The reference always writes HEADER_BYTES=512. Its header fits with ordinary values; with
     * unusually long numbers it would overflow 512 bytes and corrupt the file, so we grow the
     * header to the next multiple of 512 (and say so in HEADER_BYTES) instead. */
    char text[4096];
    int header_bytes = SMV_BLOCK;
    int len = -1;
    for (int iter = 0; iter < 4; iter++) {
        len = smv_format(text, sizeof text, header_bytes, h);
        if (len < 0 || (size_t)len >= sizeof text) {
            nbcl__errf(err, errlen, "%s: SMV header formatting failed", name);
            return NBCL_INVALID_ARGUMENT;
        }
        if (len <= header_bytes)
            break;
        header_bytes = (len + SMV_BLOCK - 1) / SMV_BLOCK * SMV_BLOCK;
    }
    if (len > header_bytes) {
        nbcl__errf(err, errlen, "%s: SMV header does not fit in %d bytes", name, header_bytes);
        return NBCL_INVALID_ARGUMENT;
    }
    memset(text + len, ' ', (size_t)(header_bytes - len));

    nbcl_outfile *f = NULL;
    nbcl_status st = nbcl_outfile_open(path, &f, err, errlen);
    if (st != NBCL_OK)
        return st;
    st = nbcl_outfile_write(f, text, (size_t)header_bytes, err, errlen);
    if (st == NBCL_OK)
        st = nbcl_outfile_write(f, pix, (size_t)h->fpixels * (size_t)h->spixels * sizeof(uint16_t),
                                err, errlen);
    if (st != NBCL_OK) {
        nbcl_outfile_abort(f);
        return st;
    }
    return nbcl_outfile_commit(f, err, errlen);
}

/* ---------------------------------------------------------------- reading */

/* Text just after the '=' of the last occurrence of `key` that is followed (after optional
 * blanks) by '='. whole_word: the key must not continue a longer name ("ORGX" then does not
 * match "XDS_ORGX"). NULL when absent. */
static const char *smv_find(const char *header, const char *key, int whole_word)
{
    size_t kl = strlen(key);
    if (!header || kl == 0)
        return NULL;
    const char *found = NULL;
    for (const char *p = strstr(header, key); p; p = strstr(p + 1, key)) {
        if (whole_word && p > header) {
            unsigned char c = (unsigned char)p[-1];
            if (isalnum(c) || c == '_')
                continue;
        }
        const char *q = p + kl;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == '=')
            found = q + 1;
    }
    return found;
}

static double smv_number(const char *v)
{
    if (!v)
        return NAN;
    while (*v == ' ' || *v == '\t')
        v++;
    char *end = NULL;
    double x = nbcl__strtod_c(v, &end);
    if (end == v)
        return NAN;
    return x;
}

double nbcl_smv_value(const nbcl_smv *s, const char *key)
{
    if (!s || !key)
        return NAN;
    return smv_number(smv_find(s->header, key, 0));
}

double nbcl_smv_value_exact(const nbcl_smv *s, const char *key)
{
    if (!s || !key)
        return NAN;
    return smv_number(smv_find(s->header, key, 1));
}

void nbcl_smv_free(nbcl_smv *s)
{
    if (!s)
        return;
    free(s->header);
    free(s->pixels);
    memset(s, 0, sizeof *s);
}

/* A header dimension: a positive integer no larger than SMV_MAX_DIM, else 0. */
static int smv_dim(double v)
{
    if (!isfinite(v) || v < 1 || v > SMV_MAX_DIM || v != floor(v))
        return 0;
    return (int)v;
}

static void value_excerpt(char *dst, size_t dstlen, const char *v)
{
    size_t n = strcspn(v, ";\n\f}");
    nbcl__token_excerpt(dst, dstlen, v, n);
}

/* The header length from "{\nHEADER_BYTES=N": at least the magic, at most the file. */
static nbcl_status smv_header_bytes(const char *path, const char *data, size_t len,
                                    size_t *out, char *err, size_t errlen)
{
    const size_t ml = sizeof SMV_MAGIC - 1;
    if (len < ml || memcmp(data, SMV_MAGIC, ml) != 0) {
        nbcl__errf(err, errlen, "%s: does not look like an SMV/ADSC image (no \"{ HEADER_BYTES=\")",
                   path);
        return NBCL_PARSE;
    }
    const char *p = data + ml;
    while (p < data + len && (*p == ' ' || *p == '\t'))
        p++;
    long hb = 0;
    int digits = 0;
    while (p < data + len && *p >= '0' && *p <= '9' && hb < 100000000L) {
        hb = hb * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || hb < (long)ml) {
        nbcl__errf(err, errlen, "%s: invalid HEADER_BYTES in SMV header", path);
        return NBCL_PARSE;
    }
    if ((size_t)hb > len) {
        nbcl__errf(err, errlen, "%s: truncated SMV file: %zu bytes, header alone is %ld", path,
                   len, hb);
        return NBCL_PARSE;
    }
    *out = (size_t)hb;
    return NBCL_OK;
}

/* BYTE_ORDER (required: sets s->swap) and TYPE (optional, unsigned_short only) */
static nbcl_status smv_pixel_format(const char *path, nbcl_smv *s, char *err, size_t errlen)
{
    char ex[64];
    const char *bo = smv_find(s->header, "BYTE_ORDER", 0);
    if (!bo) {
        nbcl__errf(err, errlen, "%s: SMV header has no BYTE_ORDER", path);
        return NBCL_PARSE;
    }
    while (*bo == ' ' || *bo == '\t')
        bo++;
    int file_le;
    if (strncmp(bo, "little_endian", 13) == 0)
        file_le = 1;
    else if (strncmp(bo, "big_endian", 10) == 0)
        file_le = 0;
    else {
        value_excerpt(ex, sizeof ex, bo);
        nbcl__errf(err, errlen, "%s: unknown BYTE_ORDER '%s' in SMV header", path, ex);
        return NBCL_PARSE;
    }
    s->swap = (file_le != nbcl__host_little_endian());

    const char *ty = smv_find(s->header, "TYPE", 1);
    if (!ty)
        return NBCL_OK;
    while (*ty == ' ' || *ty == '\t')
        ty++;
    size_t tl = strlen("unsigned_short");
    char after = ty[0] ? ty[strnlen(ty, tl)] : '\0';
    if (strncmp(ty, "unsigned_short", tl) != 0 ||
        !(after == ';' || after == '\0' || isspace((unsigned char)after))) {
        value_excerpt(ex, sizeof ex, ty);
        nbcl__errf(err, errlen, "%s: SMV pixel TYPE '%s' is not supported (only unsigned_short)",
                   path, ex);
        return NBCL_PARSE;
    }
    return NBCL_OK;
}

/* SIZE1 x SIZE2 (or DETECTOR_DIMENSIONS), then the pixels after the header, in host order */
static nbcl_status smv_pixels(const char *path, const char *data, size_t len, nbcl_smv *s,
                              char *err, size_t errlen)
{
    double w = nbcl_smv_value(s, "SIZE1");
    double h = nbcl_smv_value(s, "SIZE2");
    if (isnan(w) || w == 0) {
        w = h = nbcl_smv_value(s, "DETECTOR_DIMENSIONS");
    }
    s->width = smv_dim(w);
    s->height = smv_dim(h);
    if (s->width == 0 || s->height == 0) {
        nbcl__errf(err, errlen, "%s: SMV header has no valid SIZE1/SIZE2 (got %g x %g)", path, w,
                   h);
        return NBCL_PARSE;
    }
    size_t npix = (size_t)s->width * (size_t)s->height;
    size_t need = s->header_bytes + npix * sizeof(uint16_t);
    if (len < need) {
        nbcl__errf(err, errlen,
                   "%s: truncated SMV file: %zu bytes, need %zu (%zu header + %d x %d x 2)",
                   path, len, need, s->header_bytes, s->width, s->height);
        return NBCL_PARSE;
    }
    s->pixels = malloc(npix * sizeof(uint16_t));
    if (!s->pixels) {
        nbcl__errf(err, errlen, "%s: out of memory for %zu pixels", path, npix);
        return NBCL_OUT_OF_MEMORY;
    }
    memcpy(s->pixels, data + s->header_bytes, npix * sizeof(uint16_t));
    if (s->swap)
        nbcl__bswap16_n(s->pixels, npix);
    return NBCL_OK;
}

nbcl_status nbcl_read_smv(const char *path, nbcl_smv *out, char *err, size_t errlen)
{
    if (!path || !out) {
        nbcl__errf(err, errlen, "nbcl_read_smv: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    char *data = NULL;
    size_t len = 0;
    nbcl_status st = nbcl__read_file(path, &data, &len, err, errlen);
    if (st != NBCL_OK)
        return st;

    nbcl_smv s;
    memset(&s, 0, sizeof s);
    st = smv_header_bytes(path, data, len, &s.header_bytes, err, errlen);
    if (st != NBCL_OK)
        goto fail;
    s.header = malloc(s.header_bytes + 1);
    if (!s.header) {
        nbcl__errf(err, errlen, "%s: out of memory", path);
        st = NBCL_OUT_OF_MEMORY;
        goto fail;
    }
    memcpy(s.header, data, s.header_bytes);
    s.header[s.header_bytes] = '\0';
    if ((st = smv_pixel_format(path, &s, err, errlen)) != NBCL_OK ||
        (st = smv_pixels(path, data, len, &s, err, errlen)) != NBCL_OK)
        goto fail;
    free(data);
    *out = s;
    return NBCL_OK;

fail:
    free(data);
    nbcl_smv_free(&s);
    return st;
}
