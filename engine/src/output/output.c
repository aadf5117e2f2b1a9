/* The output stage of one frame: scale rules, the SMV header of a scene, the integer and noise
 * images, the writers of each output kind, completeness checks for -resume, file-name templates
 * and per-frame seeds. Pure host code; nothing prints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nbcl_internal.h"
#include "io/io_util.h"

#define RTD (180.0 / M_PI)

/* ---------------------------------------------------------------- the kinds */
typedef struct kind_def {
    const char *flag;
} kind_def;

static const kind_def KINDS[NBCL_OUT_KINDS] = {
    [NBCL_OUT_FLOAT] = {"-floatfile"},
    [NBCL_OUT_SMV] = {"-intfile"},
    [NBCL_OUT_PGM] = {"-pgmfile"},
    [NBCL_OUT_NOISE] = {"-noisefile"},
    [NBCL_OUT_PNG] = {"-pngfile"},
    [NBCL_OUT_CBF] = {"-cbffile"},
};

const char *nbcl_output_kind_flag(nbcl_output_kind k)
{
    return (unsigned)k < NBCL_OUT_KINDS ? KINDS[k].flag : "?";
}

/* ---------------------------------------------------------------- scale rules and header */
double nbcl_output_intfile_scale(const nbcl_scene *s, const nbcl_stats *st)
{
    double iscale = s->intfile_scale;
    if (iscale <= 0.0) {
        iscale = 1.0;
        if (st->max_I > 0.0)
            iscale = 55000.0 / st->max_I;
    }
    return iscale;
}

double nbcl_output_pgm_scale(const nbcl_scene *s, const nbcl_stats *st, double intfile_scale)
{
    double ps = s->pgm_scale;
    if (ps <= 0.0) {
        ps = intfile_scale;
        if (st->rmsd > 0.0)
            ps = 250.0 / (5.0 * st->rmsd);
    }
    return ps;
}

void nbcl_output_max_position(const nbcl_scene *s, const nbcl_stats *st, double *x, double *y)
{
    *x = s->subpixel_size * (st->max_fpixel * s->oversample + s->oversample - 1) +
         s->subpixel_size / 2.0;
    *y = s->subpixel_size * (st->max_spixel * s->oversample + s->oversample - 1) +
         s->subpixel_size / 2.0;
}

void nbcl_output_smv_header(const nbcl_scene *s, nbcl_smv_header_info *h)
{
    memset(h, 0, sizeof *h);
    h->fpixels = s->fpixels;
    h->spixels = s->spixels;
    h->pixel_size_mm = s->pixel_size * 1000.0;
    h->distance_mm = s->distance * 1000.0;
    h->wavelength_A = s->lambda0 * 1e10;
    h->beam_center_x_mm = s->Xbeam * 1000.0;
    h->beam_center_y_mm = s->Ybeam * 1000.0;
    h->adxv_x_mm = s->Fbeam * 1000.0;
    h->adxv_y_mm = (s->detsize_s - s->Sbeam) * 1000.0;
    h->mosflm_x_mm = (s->Sbeam - 0.5 * s->pixel_size) * 1000.0;
    h->mosflm_y_mm = (s->Fbeam - 0.5 * s->pixel_size) * 1000.0;
    h->denzo_x_mm = s->Sbeam * 1000.0;
    h->denzo_y_mm = s->Fbeam * 1000.0;
    for (int i = 0; i < 3; i++)
        h->dials_origin_mm[i] = s->dials_origin[i];
    h->orgx = s->ORGX;
    h->orgy = s->ORGY;
    h->close_distance_mm = s->close_distance * 1000.0;
    h->phi_deg = s->phi0 * RTD;
    h->osc_start_deg = s->phi0 * RTD;
    h->osc_range_deg = s->osc * RTD;
    h->twotheta_deg = s->twotheta * RTD;
}

/* ---------------------------------------------------------------- products */
nbcl_status nbcl_frame_products_make(const nbcl_scene *s, const nbcl_image *img,
                                     const nbcl_stats *stats, const int want[NBCL_OUT_KINDS],
                                     nbcl_frame_products *p, char *err, size_t errlen)
{
    return nbcl__frame_products_make_into(s, img, stats, want, NULL, p, err, errlen);
}

nbcl_status nbcl__frame_products_make_into(const nbcl_scene *s, const nbcl_image *img,
                                           const nbcl_stats *stats,
                                           const int want[NBCL_OUT_KINDS], uint16_t *smv,
                                           nbcl_frame_products *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    size_t npix = (size_t)img->fpixels * img->spixels;
    if (want[NBCL_OUT_SMV]) {
        p->smv = smv ? smv : nbcl_alloc_large((npix ? npix : 1) * sizeof *p->smv);
        if (!p->smv)
            goto oom;
    }
    if (stats) {
        p->stats = *stats;
        if (p->smv)
            nbcl_image_to_u16(img, s->roi, nbcl_output_intfile_scale(s, stats), s->adc_offset,
                              p->smv);
    } else if (p->smv) { /* host statistics, the SMV image made in their second sweep */
        nbcl__image_stats_u16(s, img, &p->stats, p->smv, nbcl_output_intfile_scale);
    } else {
        nbcl_image_stats_host(s, img, &p->stats);
    }
    stats = &p->stats;
    nbcl_output_max_position(s, stats, &p->max_x, &p->max_y);
    p->intfile_scale = nbcl_output_intfile_scale(s, stats);
    p->pgm_scale = nbcl_output_pgm_scale(s, stats, p->intfile_scale);
    nbcl_output_smv_header(s, &p->header);
    if (want[NBCL_OUT_PGM] || want[NBCL_OUT_PNG]) {
        p->pgm = nbcl_alloc_large(npix ? npix : 1);
        if (!p->pgm)
            goto oom;
        nbcl_image_to_u8(img, s->roi, p->pgm_scale, p->pgm);
    }
    if (want[NBCL_OUT_NOISE]) {
        /* the deviates once, for the noise image and any photon counts made from them */
        p->noise = calloc(npix ? npix : 1, sizeof *p->noise);
        p->poisson = nbcl_alloc_large((npix ? npix : 1) * sizeof *p->poisson);
        if (!p->noise || !p->poisson)
            goto oom;
        p->photons = nbcl_noise_poisson(img->data, img->fpixels, img->spixels, s->roi, s->seed,
                                        p->poisson);
        nbcl_noise_from_poisson(p->poisson, img->fpixels, img->spixels, s->roi, s->adc_offset,
                                p->noise, &p->overloads);
    }
    if (want[NBCL_OUT_CBF])
        return nbcl_frame_products_counts(s, img, p, err, errlen);
    return NBCL_OK;
oom:
    if (smv && p->smv == smv)
        p->smv = NULL; /* the caller's */
    nbcl_frame_products_free(p);
    nbcl__errf(err, errlen, "out of memory for the output images of a %dx%d frame", img->fpixels,
               img->spixels);
    return NBCL_OUT_OF_MEMORY;
}

void nbcl_frame_products_free(nbcl_frame_products *p)
{
    if (!p)
        return;
    free(p->smv);
    free(p->pgm);
    free(p->noise);
    free(p->poisson);
    free(p->counts);
    p->poisson = NULL;
    p->counts = NULL;
    p->smv = NULL;
    p->pgm = NULL;
    p->noise = NULL;
}

nbcl_status nbcl_frame_products_counts(const nbcl_scene *s, const nbcl_image *img,
                                       nbcl_frame_products *p, char *err, size_t errlen)
{
    if (p->counts)
        return NBCL_OK;
    if (nbcl_frame_meta_from_scene(s, &p->meta) != NBCL_OK || img->fpixels != p->meta.fpixels ||
        img->spixels != p->meta.spixels) {
        nbcl__errf(err, errlen, "photon counts: the image does not belong to the scene");
        return NBCL_INVALID_ARGUMENT;
    }
    size_t npix = (size_t)img->fpixels * img->spixels;
    p->counts = nbcl_alloc_large((npix ? npix : 1) * sizeof *p->counts);
    if (!p->counts) {
        nbcl__errf(err, errlen, "out of memory for %zu photon counts", npix);
        return NBCL_OUT_OF_MEMORY;
    }
    nbcl_status st = nbcl_frame_counts(&p->meta, img->data, p->poisson, p->counts, &p->counts_info);
    if (st != NBCL_OK) {
        nbcl__errf(err, errlen, "photon counts: %s", nbcl_status_str(st));
        free(p->counts);
        p->counts = NULL;
    }
    return st;
}

nbcl_status nbcl_frame_products_write(const nbcl_frame_products *p, const nbcl_image *img,
                                      nbcl_output_kind k, const char *path, char *err,
                                      size_t errlen)
{
    size_t npix = (size_t)img->fpixels * img->spixels;
    const uint16_t *u16 = k == NBCL_OUT_SMV ? p->smv : p->noise;
    switch (k) {
    case NBCL_OUT_FLOAT:
        return nbcl_write_float(path, img->data, npix, err, errlen);
    case NBCL_OUT_SMV:
    case NBCL_OUT_NOISE:
        if (!u16)
            break;
        return nbcl_write_smv(path, &p->header, u16, err, errlen);
    case NBCL_OUT_PGM:
        if (!p->pgm)
            break;
        return nbcl_write_pgm(path, img->fpixels, img->spixels, p->pgm, p->pgm_scale, err,
                              errlen);
    case NBCL_OUT_PNG:
        if (!p->pgm)
            break;
        return nbcl_write_png(path, img->fpixels, img->spixels, p->pgm, p->pgm_scale, err,
                              errlen);
    case NBCL_OUT_CBF:
        if (!p->counts)
            break;
        return nbcl_write_cbf(path, &p->meta, p->counts, err, errlen);
    default:
        break;
    }
    nbcl__errf(err, errlen, "%s: output %s was not prepared", path, nbcl_output_kind_flag(k));
    return NBCL_INVALID_ARGUMENT;
}

/* ---------------------------------------------------------------- completeness (-resume) */
static int file_size(const char *path, long long *size)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    *size = (long long)st.st_size;
    return 1;
}

/* first bytes of a file, NUL-terminated; length read or -1 */
static long head_of(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return (long)n;
}

static int smv_complete(const char *path, long long size, long long npix, int fp, int sp)
{
    char h[4096];
    if (head_of(path, h, sizeof h) < 16 || strncmp(h, "{\nHEADER_BYTES=", 15) != 0)
        return 0;
    long hb = strtol(h + 15, NULL, 10);
    const char *s1 = strstr(h, "\nSIZE1="), *s2 = strstr(h, "\nSIZE2=");
    if (hb < 512 || !s1 || !s2 || atoi(s1 + 7) != fp || atoi(s2 + 7) != sp)
        return 0;
    return size == hb + 2 * npix;
}

static int pgm_complete(const char *path, long long size, long long npix, int fp, int sp)
{
    char h[512];
    if (head_of(path, h, sizeof h) < 8 || strncmp(h, "P5\n", 3) != 0)
        return 0;
    int w = 0, ht = 0;
    if (sscanf(h + 3, "%d %d", &w, &ht) != 2 || w != fp || ht != sp)
        return 0;
    const char *end = strstr(h, "\n255\n");
    return end && size == (long long)(end + 5 - h) + npix;
}

/* a miniCBF of this size whose binary section is closed (the writer's last line) */
static int cbf_complete(const char *path, long long size, int fp, int sp)
{
    char h[8192], key[64], tail[128];
    if (head_of(path, h, sizeof h) < 15 || strncmp(h, "###CBF: VERSION", 15) != 0)
        return 0;
    snprintf(key, sizeof key, "X-Binary-Size-Fastest-Dimension: %d\r", fp);
    if (!strstr(h, key))
        return 0;
    snprintf(key, sizeof key, "X-Binary-Size-Second-Dimension: %d\r", sp);
    if (!strstr(h, key))
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    long back = size < (long long)sizeof tail - 1 ? (long)size : (long)sizeof tail - 1;
    size_t n = fseek(f, -back, SEEK_END) == 0 ? fread(tail, 1, (size_t)back, f) : 0;
    fclose(f);
    static const char end[] = "--CIF-BINARY-FORMAT-SECTION----"; /* after binary bytes */
    for (size_t i = 0; i + sizeof end - 1 <= n; i++)
        if (memcmp(tail + i, end, sizeof end - 1) == 0)
            return 1;
    return 0;
}

int nbcl_output_file_complete(nbcl_output_kind k, const char *path, int fpixels, int spixels)
{
    long long size = 0, npix = (long long)fpixels * spixels;
    if (!path || !file_size(path, &size))
        return 0;
    switch (k) {
    case NBCL_OUT_FLOAT:
        return size == 4 * npix;
    case NBCL_OUT_SMV:
    case NBCL_OUT_NOISE:
        return smv_complete(path, size, npix, fpixels, spixels);
    case NBCL_OUT_PGM:
        return pgm_complete(path, size, npix, fpixels, spixels);
    case NBCL_OUT_PNG: { /* a PNG signature and an IHDR of this size */
        unsigned char h[32];
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(h, 1, sizeof h, f) : 0;
        if (f)
            fclose(f);
        if (n < 24 || memcmp(h, "\x89PNG\r\n\x1a\n", 8) != 0)
            return 0;
        long w = ((long)h[16] << 24) | (h[17] << 16) | (h[18] << 8) | h[19];
        long ht = ((long)h[20] << 24) | (h[21] << 16) | (h[22] << 8) | h[23];
        return w == fpixels && ht == spixels;
    }
    case NBCL_OUT_CBF:
        return cbf_complete(path, size, fpixels, spixels);
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------- templates */
/* the last run of '#': start and length (0 when none) */
static size_t hash_run(const char *t, size_t *start)
{
    size_t best = 0, at = 0;
    for (size_t i = 0; t[i];) {
        if (t[i] != '#') {
            i++;
            continue;
        }
        size_t j = i;
        while (t[j] == '#')
            j++;
        best = j - i;
        at = i;
        i = j;
    }
    *start = at;
    return best;
}

static int digits(int n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

nbcl_status nbcl_template_check(const char *flag, const char *tmpl, int nframes, char *err,
                                size_t errlen)
{
    size_t at;
    size_t run = hash_run(tmpl ? tmpl : "", &at);
    if (run == 0) {
        nbcl__errf(err, errlen,
                   "%s '%s': a series of %d frames needs a file-name template with a run of '#' "
                   "for the frame number (e.g. img_%.*s.img)",
                   flag, tmpl ? tmpl : "", nframes, digits(nframes) < 3 ? 3 : digits(nframes),
                   "##########");
        return NBCL_INVALID_ARGUMENT;
    }
    if ((int)run < digits(nframes)) {
        nbcl__errf(err, errlen, "%s '%s': %zu '#' cannot hold frame numbers up to %d (need %d)",
                   flag, tmpl, run, nframes, digits(nframes));
        return NBCL_INVALID_ARGUMENT;
    }
    return NBCL_OK;
}

nbcl_status nbcl_template_expand(const char *tmpl, int frame, char *out, size_t cap)
{
    size_t at;
    size_t run = hash_run(tmpl, &at);
    if (frame < 0) { /* a single run: the name as given, '#' and all */
        if (strlen(tmpl) >= cap)
            return NBCL_INVALID_ARGUMENT;
        memcpy(out, tmpl, strlen(tmpl) + 1);
        return NBCL_OK;
    }
    if (run == 0 || digits(frame) > (int)run || run > 18)
        return NBCL_INVALID_ARGUMENT;
    int n = snprintf(out, cap, "%.*s%0*d%s", (int)at, tmpl, (int)run, frame, tmpl + at + run);
    return (n < 0 || (size_t)n >= cap) ? NBCL_INVALID_ARGUMENT : NBCL_OK;
}

/* ---------------------------------------------------------------- seeds */
long nbcl_frame_seed(long base, int k)
{
    if (k <= 1)
        return base;
    uint64_t z = (uint64_t)base * 0x9E3779B97F4A7C15ull + (uint64_t)k;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return 1 + (long)(z % 2147483646ull);
}
