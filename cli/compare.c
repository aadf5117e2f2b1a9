/* nbcl-compare — compare two detector images (raw float32 or SMV) on an OpenCL device.
 *
 *   nbcl-compare A B [--fpixels N] [--spixels N] [--roi xmin xmax ymin ymax]
 *                [--threshold CORR] [--diff-png FILE] [--device SPEC | --host]
 *                [--allow-nonfinite] [--json] [-q]
 *
 * Pearson correlation, MSE, RMSE, max absolute and relative difference (relative to B), sums and
 * their ratio A/B, worst pixel; computed by nbcl_compare_device() (CLBlast, double accumulation),
 * or on the host with --host or when no device can be opened. NaN and infinite pixels are
 * counted in each image and never compared: the metrics cover the pixels finite in both, and any
 * non-finite pixel is an error (exit 6) unless --allow-nonfinite, which still requires both
 * images to hold the same non-finite value at the same pixels. Exit codes: docs/exit_codes.md. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"
#include "nbcl/nbcl.h"
#include "nbcl_json.h"

enum {
    CMP_OK = 0,
    CMP_BELOW_THRESHOLD = 1,
    CMP_USAGE = 2,
    CMP_IO = 3,
    CMP_SIZE = 4,
    CMP_DEVICE = 5,
    CMP_NONFINITE = 6
};

typedef struct cmp_image {
    const char *path;
    const char *format; /* "float32" or "smv" */
    int width, height;  /* 0 when unknown (raw float without --fpixels) */
    size_t n;
    float *data;
} cmp_image;

/* the NBCL_* settings, read once (main) and given to the engine */
static nbcl_env_options g_env;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nbcl-compare A B [options]\n"
            "  A, B               raw float32 images (nanoBragg -floatfile), SMV images\n"
            "                     (-intfile/-noisefile), miniCBF (-cbffile) or NeXus/NXmx\n"
            "                     (-nexusfile), told apart by their first bytes; all but raw\n"
            "                     float images carry their size\n"
            "  --frame N          frame of NXmx files to compare (1-based, default 1); the\n"
            "                     other formats hold one frame and ignore it (series.nxs\n"
            "                     frame_0003.cbf --frame 3 compares frame 3 with the CBF)\n"
            "  --fpixels N        pixels along the fast axis of raw float images\n"
            "  --spixels N        pixels along the slow axis (default: pixel count / fpixels)\n"
            "  --roi x0 x1 y0 y1  compare only this inclusive pixel window (fast x, slow y)\n"
            "  --threshold C      exit 1 when the Pearson correlation is below C (or NaN)\n"
            "  --diff-png FILE    write A-B as a PNG (red A>B, blue A<B, white equal)\n"
            "  --device SPEC      OpenCL device (see nbcl --list-devices); failure is an error\n"
            "  --host             compute on the host instead of the device\n"
            "  --allow-nonfinite  accept NaN/inf pixels when both images have the same ones at\n"
            "                     the same pixels (the metrics cover the finite pixels)\n"
            "  --json             print the result as JSON on stdout\n"
            "  -q, --quiet        print nothing unless there is an error\n"
            "  -h, --help         this text\n"
            "NaN and infinite pixels are counted and left out of every metric; any of them is\n"
            "an error (exit 6) unless --allow-nonfinite and both images agree on them.\n"
            "exit codes: 0 ok, 1 below --threshold, 2 usage, 3 I/O or format error,\n"
            "            4 size mismatch (or ROI outside the image), 5 device error,\n"
            "            6 non-finite pixels\n");
}

static int parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || isnan(v))
        return 0;
    *out = v;
    return 1;
}

static int is_smv(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char head[16] = {0};
    size_t got = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    return got >= 15 && memcmp(head, "{\nHEADER_BYTES=", 15) == 0;
}

/* CBF or NXmx photon counts (frame: 0-based, NXmx only), by their signature */
static int load_counts(cmp_image *im, long frame, char *err, size_t errlen)
{
    nbcl_image_format fmt = nbcl_detect_format(im->path);
    nbcl_counts_image ci;
    if (fmt == NBCL_FORMAT_CBF) {
        if (nbcl_read_cbf(im->path, &ci, err, errlen) != NBCL_OK)
            return CMP_IO;
        im->format = "cbf";
    } else {
        if (nbcl_read_nexus(im->path, (int)frame, &ci, err, errlen) != NBCL_OK)
            return CMP_IO;
        im->format = "nxmx";
    }
    im->width = ci.fpixels;
    im->height = ci.spixels;
    im->n = (size_t)ci.fpixels * ci.spixels;
    im->data = malloc(im->n * sizeof(float));
    if (!im->data) {
        free(ci.counts);
        snprintf(err, errlen, "%s: out of memory", im->path);
        return CMP_IO;
    }
    for (size_t i = 0; i < im->n; i++)
        im->data[i] = (float)ci.counts[i];
    free(ci.counts);
    return CMP_OK;
}

static int load(cmp_image *im, long frame, char *err, size_t errlen)
{
    nbcl_image_format fmt = nbcl_detect_format(im->path);
    if (fmt == NBCL_FORMAT_CBF || fmt == NBCL_FORMAT_HDF5)
        return load_counts(im, frame, err, errlen);
    if (is_smv(im->path)) {
        nbcl_smv smv;
        if (nbcl_read_smv(im->path, &smv, err, errlen) != NBCL_OK)
            return CMP_IO;
        im->format = "smv";
        im->width = smv.width;
        im->height = smv.height;
        im->n = (size_t)smv.width * smv.height;
        im->data = malloc((im->n ? im->n : 1) * sizeof(float));
        if (!im->data) {
            nbcl_smv_free(&smv);
            snprintf(err, errlen, "%s: out of memory", im->path);
            return CMP_IO;
        }
        for (size_t i = 0; i < im->n; i++)
            im->data[i] = (float)smv.pixels[i];
        nbcl_smv_free(&smv);
        return CMP_OK;
    }
    im->format = "float32";
    if (nbcl_read_float(im->path, &im->data, &im->n, err, errlen) != NBCL_OK)
        return CMP_IO;
    if (im->n == 0) {
        snprintf(err, errlen, "%s: empty image", im->path);
        return CMP_IO;
    }
    return CMP_OK;
}

/* Give raw images their shape: from --fpixels/--spixels, from the other (SMV) image, or a square. */
static int shape(cmp_image *im, const cmp_image *other, long fpix, long spix, char *err,
                 size_t errlen)
{
    if (im->width > 0) {
        if ((fpix && fpix != im->width) || (spix && spix != im->height)) {
            snprintf(err, errlen, "%s: %s image is %dx%d, not the --fpixels/--spixels given",
                     im->path, im->format, im->width, im->height);
            return CMP_SIZE;
        }
        return CMP_OK;
    }
    long w = fpix, h = spix;
    if (!w && h)
        w = (long)(im->n / (size_t)h);
    if (!w && other->width > 0)
        w = other->width;
    if (!w) {
        long r = (long)floor(sqrt((double)im->n) + 0.5);
        if ((size_t)r * (size_t)r != im->n) {
            snprintf(err, errlen,
                     "%s: %zu pixels is not a square: give --fpixels (raw float images carry "
                     "no size)",
                     im->path, im->n);
            return CMP_USAGE;
        }
        w = r;
    }
    if (!h)
        h = (long)(im->n / (size_t)w);
    if ((size_t)w * (size_t)h != im->n) {
        snprintf(err, errlen, "%s: %zu pixels do not form a %ld x %ld image", im->path, im->n, w,
                 h ? h : (long)(im->n / (size_t)w));
        return CMP_SIZE;
    }
    im->width = (int)w;
    im->height = (int)h;
    return CMP_OK;
}

static int write_diff_png(const char *path, const float *a, const float *b, int w, int h,
                          double scale, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return CMP_IO;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *row = malloc((size_t)w * 3);
    if (!png || !info || !row) {
        if (png)
            png_destroy_write_struct(&png, info ? &info : NULL);
        free(row);
        fclose(f);
        snprintf(err, errlen, "%s: cannot set up libpng", path);
        return CMP_IO;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(row);
        fclose(f);
        snprintf(err, errlen, "%s: libpng write error", path);
        return CMP_IO;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_text txt[1];
    char key[] = "Comment";
    char val[160];
    snprintf(val, sizeof val, "nbcl-compare A-B, full colour at |A-B| = %.6g", scale);
    txt[0].compression = PNG_TEXT_COMPRESSION_NONE;
    txt[0].key = key;
    txt[0].text = val;
    png_set_text(png, info, txt, 1);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double d = (double)a[i] - (double)b[i];
            double t = scale > 0 ? fabs(d) / scale : 0;
            if (!(t <= 1))
                t = 1; /* NaN too */
            unsigned char fade = (unsigned char)lround(255.0 * (1.0 - t));
            unsigned char *p = row + 3 * (size_t)x;
            if (d > 0) {
                p[0] = 255; p[1] = fade; p[2] = fade;
            } else if (d < 0) {
                p[0] = fade; p[1] = fade; p[2] = 255;
            } else {
                p[0] = p[1] = p[2] = (d == d) ? 255 : 0;
            }
        }
        png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return CMP_IO;
    }
    return CMP_OK;
}

/* Non-finite pixels of the two images: counts, NaN counts, first index, the pixels where the two
 * differ in finiteness or kind (NaN, +inf, -inf), and, when there are any, compacted copies of
 * the pixels finite in both with their original indices (*fa, *fb, *idx; NULL otherwise). */
typedef struct nonfinite_census {
    size_t count[2], nan[2], first[2], mismatch, finite_both;
} nonfinite_census;

static int kind(float v)
{
    return isnan(v) ? 1 : isinf(v) ? (v > 0 ? 2 : 3) : 0;
}

static int census(const float *a, const float *b, size_t n, nonfinite_census *c, float **fa,
                  float **fb, size_t **idx)
{
    memset(c, 0, sizeof *c);
    const float *im[2] = {a, b};
    for (size_t i = 0; i < n; i++) {
        int ka = kind(a[i]), kb = kind(b[i]);
        if (!ka && !kb)
            continue;
        const int kk[2] = {ka, kb};
        for (int k = 0; k < 2; k++) {
            if (!kk[k])
                continue;
            if (!c->count[k])
                c->first[k] = i;
            c->count[k]++;
            c->nan[k] += isnan(im[k][i]) != 0;
        }
        c->mismatch += ka != kb;
    }
    c->finite_both = n;
    if (!c->count[0] && !c->count[1])
        return 1;
    size_t m = 1 + n; /* at least one element: malloc(0) may return NULL */
    *fa = malloc(m * sizeof **fa);
    *fb = malloc(m * sizeof **fb);
    *idx = malloc(m * sizeof **idx);
    if (!*fa || !*fb || !*idx)
        return 0;
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(a[i]) && isfinite(b[i])) {
            (*fa)[j] = a[i];
            (*fb)[j] = b[i];
            (*idx)[j++] = i;
        }
    c->finite_both = j;
    return 1;
}

/* ------------------------------------------------------------------ the command line */
typedef struct cmp_opts {
    const char *paths[2];
    long fpix, spix, roi[4], frame;
    int have_roi, have_threshold, json, quiet, host, allow_nonfinite;
    double threshold;
    const char *diff_png, *device;
} cmp_opts;

/* the values of option a (argv[*i]) taking k of them; 0 when they are missing (message given) */
static int need_values(const char *a, int argc, int i, int k)
{
    if (argc - i - 1 >= k)
        return 1;
    fprintf(stderr, "nbcl-compare: %s needs %d value%s\n", a, k, k > 1 ? "s" : "");
    return 0;
}

/* --fpixels, --spixels, --frame, --roi: -1 when parsed, else an exit code */
static int parse_counts(cmp_opts *o, const char *a, int argc, char **argv, int *i)
{
    if (!strcmp(a, "--fpixels") || !strcmp(a, "--spixels")) {
        long v;
        if (!need_values(a, argc, *i, 1))
            return CMP_USAGE;
        if (!nbcl_parse_long_range(argv[++*i], 1, 1 << 20, &v)) {
            fprintf(stderr, "nbcl-compare: %s: not a pixel count from 1 to %d: %s\n", a, 1 << 20,
                    argv[*i]);
            return CMP_USAGE;
        }
        *(a[2] == 'f' ? &o->fpix : &o->spix) = v;
    } else if (!strcmp(a, "--frame")) {
        if (!need_values(a, argc, *i, 1))
            return CMP_USAGE;
        if (!nbcl_parse_long_range(argv[++*i], 1, 1L << 30, &o->frame)) {
            fprintf(stderr, "nbcl-compare: --frame: not a frame number (1, 2, ...): %s\n",
                    argv[*i]);
            return CMP_USAGE;
        }
    } else { /* --roi */
        if (!need_values(a, argc, *i, 4))
            return CMP_USAGE;
        for (int k = 0; k < 4; k++)
            if (!nbcl_parse_long_range(argv[++*i], 0, 1 << 20, &o->roi[k])) {
                fprintf(stderr, "nbcl-compare: --roi: not a pixel index from 0 to %d: %s\n",
                        1 << 20, argv[*i]);
                return CMP_USAGE;
            }
        if (o->roi[0] > o->roi[1] || o->roi[2] > o->roi[3]) {
            fprintf(stderr, "nbcl-compare: --roi wants xmin xmax ymin ymax with min <= max\n");
            return CMP_USAGE;
        }
        o->have_roi = 1;
    }
    return -1;
}

/* one argument (and its values): -1 to go on, else the exit code */
static int parse_one(cmp_opts *o, int argc, char **argv, int *i, int *npaths)
{
    const char *a = argv[*i];
    static const char *const switches[] = {"--host", "--allow-nonfinite", "--json", "-q",
                                            "--quiet"};
    int *const flag[] = {&o->host, &o->allow_nonfinite, &o->json, &o->quiet, &o->quiet};
    for (size_t k = 0; k < sizeof switches / sizeof switches[0]; k++)
        if (!strcmp(a, switches[k])) {
            *flag[k] = 1;
            return -1;
        }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
        usage(stdout);
        return CMP_OK;
    }
    if (!strcmp(a, "--fpixels") || !strcmp(a, "--spixels") || !strcmp(a, "--frame") ||
        !strcmp(a, "--roi"))
        return parse_counts(o, a, argc, argv, i);
    if (!strcmp(a, "--threshold")) {
        if (!need_values(a, argc, *i, 1))
            return CMP_USAGE;
        if (!parse_double(argv[++*i], &o->threshold)) {
            fprintf(stderr, "nbcl-compare: --threshold: not a finite number in double "
                            "range: %s\n", argv[*i]);
            return CMP_USAGE;
        }
        o->have_threshold = 1;
    } else if (!strcmp(a, "--diff-png") || !strcmp(a, "--device")) {
        if (!need_values(a, argc, *i, 1))
            return CMP_USAGE;
        *(strcmp(a, "--diff-png") == 0 ? &o->diff_png : &o->device) = argv[++*i];
    } else if (a[0] == '-' && a[1] != '\0') {
        fprintf(stderr, "nbcl-compare: unknown option %s (try --help)\n", a);
        return CMP_USAGE;
    } else {
        if (*npaths >= 2) {
            fprintf(stderr, "nbcl-compare: more than two images given (%s)\n", a);
            return CMP_USAGE;
        }
        o->paths[(*npaths)++] = a;
    }
    return -1;
}

/* -1 to go on, else the exit code */
static int parse_args(cmp_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    for (int k = 0; k < 4; k++)
        o->roi[k] = -1;
    o->frame = 1;
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(o, argc, argv, &i, &npaths);
        if (rc >= 0)
            return rc;
    }
    if (npaths != 2) {
        usage(stderr);
        return CMP_USAGE;
    }
    if (o->host && o->device) {
        fprintf(stderr, "nbcl-compare: --host and --device exclude each other\n");
        return CMP_USAGE;
    }
    return -1;
}

/* ------------------------------------------------------------------ the comparison */
/* both images read and shaped alike, the ROI inside them */
static int load_pair(const cmp_opts *o, cmp_image im[2], char *err, size_t errlen)
{
    memset(im, 0, 2 * sizeof *im);
    im[0].path = o->paths[0];
    im[1].path = o->paths[1];
    int rc = CMP_OK;
    for (int k = 0; k < 2 && rc == CMP_OK; k++)
        rc = load(&im[k], o->frame - 1, err, errlen);
    for (int k = 0; k < 2 && rc == CMP_OK; k++)
        rc = shape(&im[k], &im[1 - k], o->fpix, o->spix, err, errlen);
    if (rc == CMP_OK && (im[0].width != im[1].width || im[0].height != im[1].height)) {
        snprintf(err, errlen, "size mismatch: %s is %dx%d, %s is %dx%d", im[0].path,
                 im[0].width, im[0].height, im[1].path, im[1].width, im[1].height);
        rc = CMP_SIZE;
    }
    const long *roi = o->roi;
    if (rc == CMP_OK && o->have_roi && (roi[1] >= im[0].width || roi[3] >= im[0].height)) {
        snprintf(err, errlen, "ROI %ld..%ld x %ld..%ld lies outside the %dx%d image", roi[0],
                 roi[1], roi[2], roi[3], im[0].width, im[0].height);
        rc = CMP_SIZE;
    }
    return rc;
}

/* the compared window (the ROI copied out, so the device sees one contiguous vector) */
typedef struct cmp_window {
    float *a, *b;   /* the images' data, or copies of the ROI (owned) */
    int owned;
    int W, H, x0, y0;
    size_t n;
} cmp_window;

static int cut_window(const cmp_opts *o, const cmp_image im[2], cmp_window *w)
{
    memset(w, 0, sizeof *w);
    w->W = im[0].width;
    w->H = im[0].height;
    if (o->have_roi) {
        w->x0 = (int)o->roi[0];
        w->y0 = (int)o->roi[2];
        w->W = (int)(o->roi[1] - o->roi[0] + 1);
        w->H = (int)(o->roi[3] - o->roi[2] + 1);
    }
    w->n = (size_t)w->W * w->H;
    w->a = im[0].data;
    w->b = im[1].data;
    if (!o->have_roi)
        return 1;
    w->owned = 1;
    w->a = malloc(w->n * sizeof *w->a);
    w->b = malloc(w->n * sizeof *w->b);
    if (!w->a || !w->b)
        return 0;
    for (int y = 0; y < w->H; y++) {
        memcpy(w->a + (size_t)y * w->W, im[0].data + (size_t)(y + w->y0) * im[0].width + w->x0,
               (size_t)w->W * sizeof *w->a);
        memcpy(w->b + (size_t)y * w->W, im[1].data + (size_t)(y + w->y0) * im[1].width + w->x0,
               (size_t)w->W * sizeof *w->b);
    }
    return 1;
}

typedef struct cmp_outcome {
    nonfinite_census nf;
    nbcl_compare_result r;
    char where[600];
    int wx, wy;        /* the worst pixel, in image coordinates */
    double wa, wb;
    int below, nonfinite_bad;
} cmp_outcome;

/* the engine (unless --host), or NULL to compute on the host; CMP_OK or CMP_DEVICE */
static int open_engine(const cmp_opts *o, nbcl_engine **eng)
{
    *eng = NULL;
    if (o->host)
        return CMP_OK;
    nbcl_engine_opts eo;
    nbcl_engine_opts_init(&eo);
    eo.device = o->device;
    eo.env = &g_env;
    char eerr[16384];
    if (nbcl_engine_create(&eo, eng, eerr, sizeof eerr) == NBCL_OK)
        return CMP_OK;
    *eng = NULL;
    if (o->device) {
        fprintf(stderr, "nbcl-compare: device %s: %s\n", o->device, eerr);
        return CMP_DEVICE;
    }
    if (!o->quiet)
        fprintf(stderr, "nbcl-compare: no OpenCL device (%s); computing on the host\n", eerr);
    return CMP_OK;
}

/* NaN and infinities: counted per image, left out of every metric (a NaN would otherwise vanish
 * from the maximum and poison the sums); the metrics on the device or the host */
static int compare(const cmp_opts *o, const cmp_window *w, cmp_outcome *res)
{
    memset(res, 0, sizeof *res);
    nbcl_engine *eng = NULL;
    float *fa = NULL, *fb = NULL;
    size_t *fidx = NULL;
    int rc = CMP_OK;
    if (!census(w->a, w->b, w->n, &res->nf, &fa, &fb, &fidx)) {
        fprintf(stderr, "nbcl-compare: out of memory\n");
        rc = CMP_IO;
        goto out;
    }
    const float *ca = fidx ? fa : w->a, *cb = fidx ? fb : w->b;
    size_t cn = fidx ? res->nf.finite_both : w->n;
    snprintf(res->where, sizeof res->where, "host");
    if ((rc = open_engine(o, &eng)) != CMP_OK)
        goto out;
    if (nbcl_compare_device(eng, ca, cb, cn, &res->r) != NBCL_OK) {
        fprintf(stderr, "nbcl-compare: comparison failed\n");
        rc = CMP_IO;
        goto out;
    }
    nbcl_stats_profile prof;
    nbcl_engine_stats_profile(eng, &prof);
    if (eng && prof.on_device) {
        snprintf(res->where, sizeof res->where, "%s (CLBlast)",
                 nbcl_engine_device(eng)->device_name);
    } else if (eng) {
        snprintf(res->where, sizeof res->where, "host (device path unavailable: %s)",
                 prof.reason);
        if (o->device) {
            fprintf(stderr, "nbcl-compare: device %s could not compare: %s\n", o->device,
                    prof.reason);
            rc = CMP_DEVICE;
            goto out;
        }
    }
    size_t worst = fidx ? (cn ? fidx[res->r.worst_index] : 0) : res->r.worst_index;
    res->wx = (int)(worst % (size_t)w->W) + w->x0;
    res->wy = (int)(worst / (size_t)w->W) + w->y0;
    res->wa = w->n ? w->a[worst] : 0;
    res->wb = w->n ? w->b[worst] : 0;
    res->below = o->have_threshold && !(res->r.corr >= o->threshold);
    /* any non-finite pixel refuses agreement, unless allowed and the same in both images */
    res->nonfinite_bad = (res->nf.count[0] || res->nf.count[1]) &&
                         (!o->allow_nonfinite || res->nf.mismatch);
out:
    free(fa);
    free(fb);
    free(fidx);
    nbcl_engine_destroy(eng);
    return rc;
}

/* ------------------------------------------------------------------ the report */
static void print_json(const cmp_opts *o, const cmp_image im[2], const cmp_outcome *res)
{
    const nbcl_compare_result *r = &res->r;
    const nonfinite_census *nf = &res->nf;
    nbcl_json *w = nbcl_json_new(1);
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "a", im[0].path);
    nbcl_json_kstr(w, "b", im[1].path);
    nbcl_json_kstr(w, "format_a", im[0].format);
    nbcl_json_kstr(w, "format_b", im[1].format);
    nbcl_json_kint(w, "fpixels", im[0].width);
    nbcl_json_kint(w, "spixels", im[0].height);
    if (o->have_roi) {
        nbcl_json_key(w, "roi");
        nbcl_json_arr_begin(w);
        for (int k = 0; k < 4; k++)
            nbcl_json_int(w, o->roi[k]);
        nbcl_json_arr_end(w);
    } else {
        nbcl_json_knull(w, "roi");
    }
    nbcl_json_kuint(w, "n", r->n);
    nbcl_json_knum(w, "sum_a", r->sum_a);
    nbcl_json_knum(w, "sum_b", r->sum_b);
    nbcl_json_knum(w, "sum_ratio", r->ratio);
    nbcl_json_knum(w, "correlation", r->corr);
    nbcl_json_knum(w, "mse", r->mse);
    nbcl_json_knum(w, "rmse", r->rmse);
    nbcl_json_knum(w, "max_abs_diff", r->max_abs);
    nbcl_json_knum(w, "max_rel_diff", r->max_rel);
    nbcl_json_key(w, "worst_pixel");
    nbcl_json_obj_begin(w);
    nbcl_json_kint(w, "fast", res->wx);
    nbcl_json_kint(w, "slow", res->wy);
    nbcl_json_knum(w, "a", res->wa);
    nbcl_json_knum(w, "b", res->wb);
    nbcl_json_obj_end(w);
    nbcl_json_kstr(w, "computed_on", res->where);
    nbcl_json_kuint(w, "nonfinite_a", nf->count[0]);
    nbcl_json_kuint(w, "nonfinite_b", nf->count[1]);
    nbcl_json_kuint(w, "nan_a", nf->nan[0]);
    nbcl_json_kuint(w, "nan_b", nf->nan[1]);
    nbcl_json_kuint(w, "nonfinite_mismatch", nf->mismatch);
    if (o->have_threshold)
        nbcl_json_knum(w, "threshold", o->threshold);
    if (o->have_threshold || nf->count[0] || nf->count[1])
        nbcl_json_kbool(w, "pass", !res->below && !res->nonfinite_bad);
    nbcl_json_obj_end(w);
    if (nbcl_json_ok(w))
        printf("%s\n", nbcl_json_text(w, NULL));
    nbcl_json_free(w);
}

static void print_text(const cmp_opts *o, const cmp_image im[2], const cmp_window *win,
                       const cmp_outcome *res)
{
    const nbcl_compare_result *r = &res->r;
    const nonfinite_census *nf = &res->nf;
    printf("A: %s (%s)\nB: %s (%s)\n", im[0].path, im[0].format, im[1].path, im[1].format);
    printf("image:          %d x %d", im[0].width, im[0].height);
    if (o->have_roi)
        printf(", ROI x %ld..%ld y %ld..%ld", o->roi[0], o->roi[1], o->roi[2], o->roi[3]);
    printf(" (%zu pixels compared)\n", r->n);
    for (int k = 0; k < 2; k++) {
        printf("non-finite %c:   %zu (%zu NaN, %zu infinite)", "AB"[k], nf->count[k], nf->nan[k],
               nf->count[k] - nf->nan[k]);
        if (nf->count[k])
            printf(", first at pixel (%d, %d)", (int)(nf->first[k] % (size_t)win->W) + win->x0,
                   (int)(nf->first[k] / (size_t)win->W) + win->y0);
        printf("\n");
    }
    if (nf->count[0] || nf->count[1])
        printf("                %zu pixels differ in finiteness or kind; the metrics below "
               "cover only the %zu pixels finite in both\n",
               nf->mismatch, nf->finite_both);
    printf("computed on:    %s\n", res->where);
    printf("correlation:    %.12g\n", r->corr);
    printf("sum A:          %.12g\nsum B:          %.12g\nsum ratio A/B:  %.12g\n", r->sum_a,
           r->sum_b, r->ratio);
    printf("mse:            %.6g\nrmse:           %.6g\n", r->mse, r->rmse);
    printf("max abs diff:   %.6g at pixel (%d, %d): A = %.9g, B = %.9g\n", r->max_abs, res->wx,
           res->wy, res->wa, res->wb);
    printf("max rel diff:   %.6g (relative to B, where B != 0)\n", r->max_rel);
    if (res->nonfinite_bad)
        printf("result:         NOT in agreement: %s\n",
               nf->mismatch ? "the images differ in their non-finite pixels"
                            : "non-finite pixels (--allow-nonfinite accepts matching ones)");
}

/* the report, the difference picture and the verdict's exit code */
static int report(const cmp_opts *o, const cmp_image im[2], const cmp_window *w,
                  const cmp_outcome *res)
{
    if (o->json)
        print_json(o, im, res);
    else if (!o->quiet)
        print_text(o, im, w, res);
    if (o->diff_png) {
        char err[4096];
        int prc = write_diff_png(o->diff_png, w->a, w->b, w->W, w->H, res->r.max_abs, err,
                                 sizeof err);
        if (prc != CMP_OK) {
            fprintf(stderr, "nbcl-compare: %s\n", err);
            return prc;
        }
    }
    const nonfinite_census *nf = &res->nf;
    if (res->nonfinite_bad) {
        fprintf(stderr,
                "nbcl-compare: non-finite pixels: %zu in A, %zu in B, %zu differing between them: "
                "%s\n",
                nf->count[0], nf->count[1], nf->mismatch,
                o->allow_nonfinite ? "the images disagree on them"
                                   : "not comparable (--allow-nonfinite accepts the same ones in both)");
        return CMP_NONFINITE;
    }
    if (res->below) {
        if (!o->quiet || o->json)
            fprintf(stderr, "nbcl-compare: correlation %.12g is below the threshold %.12g\n",
                    res->r.corr, o->threshold);
        return CMP_BELOW_THRESHOLD;
    }
    return CMP_OK;
}

int main(int argc, char **argv)
{
    cmp_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc >= 0)
        return rc;
    char err[4096] = "";
    if (nbcl_env_options_read(&g_env, err, sizeof err) != NBCL_OK) { /* NBCL_* read once */
        fprintf(stderr, "nbcl-compare: %s\n", err);
        return CMP_USAGE;
    }
    cmp_image im[2];
    rc = load_pair(&o, im, err, sizeof err);
    if (rc != CMP_OK) {
        fprintf(stderr, "nbcl-compare: %s\n", err);
        free(im[0].data);
        free(im[1].data);
        return rc;
    }
    cmp_window w;
    if (!cut_window(&o, im, &w)) {
        fprintf(stderr, "nbcl-compare: out of memory\n");
        rc = CMP_IO;
    } else {
        cmp_outcome res;
        rc = compare(&o, &w, &res);
        if (rc == CMP_OK)
            rc = report(&o, im, &w, &res);
    }
    if (w.owned) {
        free(w.a);
        free(w.b);
    }
    free(im[0].data);
    free(im[1].data);
    return rc;
}
