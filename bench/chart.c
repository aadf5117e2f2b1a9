/* nbcl-bench chart: warm throughput (pixels/s, host wall) per case x size, one bar per device x
 * precision, log10 axis; drawn into an RGB buffer with a 5x7 bitmap font and written with libpng. */
#include "bench.h"

#include <ctype.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

typedef struct canvas {
    int w, h;
    unsigned char *px; /* RGB */
} canvas;

/* 5x7 glyphs, one byte per row, bit 4 = leftmost column */
typedef struct glyph {
    char c;
    unsigned char rows[7];
} glyph;

static const glyph FONT[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}}, {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}}, {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
    {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}}, {'[', {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E}},
    {']', {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E}}, {'^', {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00}},
    {'*', {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00}}, {'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}},
    {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}}, {'<', {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}},
    {'>', {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}}, {'|', {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'!', {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04}}, {'@', {0x0E, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0E}},
};

static const unsigned char *glyph_rows(char c)
{
    c = (char)toupper((unsigned char)c);
    for (size_t i = 0; i < sizeof FONT / sizeof FONT[0]; i++)
        if (FONT[i].c == c)
            return FONT[i].rows;
    return NULL; /* space and anything unknown: blank */
}

static void put_px(canvas *cv, int x, int y, const unsigned char rgb[3])
{
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h)
        return;
    memcpy(cv->px + 3 * ((size_t)y * cv->w + x), rgb, 3);
}

static void fill_rect(canvas *cv, int x0, int y0, int x1, int y1, const unsigned char rgb[3])
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            put_px(cv, x, y, rgb);
}

static int text_width(const char *s, int scale)
{
    int n = (int)strlen(s);
    return n ? n * 6 * scale - scale : 0;
}

static void draw_text(canvas *cv, int x, int y, const char *s, int scale, const unsigned char rgb[3])
{
    for (; *s; s++, x += 6 * scale) {
        const unsigned char *g = glyph_rows(*s);
        if (!g)
            continue;
        for (int r = 0; r < 7; r++)
            for (int c = 0; c < 5; c++)
                if (g[r] & (0x10 >> c))
                    fill_rect(cv, x + c * scale, y + r * scale, x + (c + 1) * scale,
                              y + (r + 1) * scale, rgb);
    }
}

/* text fitted into a width at the given scale (falling back to 1), else cut */
static void draw_fit(canvas *cv, int cx, int y, int width, int scale, const char *s,
                     const unsigned char rgb[3])
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    if (scale > 1 && text_width(buf, scale) > width)
        scale = 1;
    while (scale == 1 && strlen(buf) > 1 && text_width(buf, 1) > width)
        buf[strlen(buf) - 1] = '\0';
    draw_text(cv, cx - text_width(buf, scale) / 2, y, buf, scale, rgb);
}

static void fmt_rate(char *buf, size_t cap, double v)
{
    if (v >= 1e9)
        snprintf(buf, cap, "%.3gG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, cap, "%.3gM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, cap, "%.3gK", v / 1e3);
    else
        snprintf(buf, cap, "%.3g", v);
}

static int write_png(const canvas *cv, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create", path);
        return 0;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png)
            png_destroy_write_struct(&png, NULL);
        fclose(f);
        snprintf(err, errlen, "%s: libpng set-up failed", path);
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        snprintf(err, errlen, "%s: libpng write error", path);
        return 0;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)cv->w, (png_uint_32)cv->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < cv->h; y++)
        png_write_row(png, cv->px + 3 * (size_t)y * cv->w);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write error", path);
        return 0;
    }
    return 1;
}

int bench_write_chart(bench_run *run, const char *path, char *err, size_t errlen)
{
    /* groups: distinct (case, size); series: distinct (device, precision) */
    enum { MAXG = 64, MAXS = 16 };
    int gidx[MAXG];
    size_t ng = 0;
    int sdev[MAXS], sprec[MAXS];
    size_t ns = 0;
    double vmin = INFINITY, vmax = 0;
    int have_ref = 0;
    for (size_t i = 0; i < run->nrows; i++) {
        const bench_row *r = &run->rows[i];
        size_t g;
        for (g = 0; g < ng; g++)
            if (!strcmp(run->rows[gidx[g]].case_name, r->case_name) &&
                run->rows[gidx[g]].size == r->size)
                break;
        if (g == ng && ng < MAXG)
            gidx[ng++] = (int)i;
        size_t s;
        for (s = 0; s < ns; s++)
            if (sdev[s] == r->device_index && sprec[s] == r->precision)
                break;
        if (s == ns && ns < MAXS) {
            sdev[ns] = r->device_index;
            sprec[ns] = r->precision;
            ns++;
        }
        if (r->ref && !strcmp(r->ref->run.status, "ok") && r->ref->run.warm.n && r->ref->run.warm.median > 0 &&
            r->pixels) {
            double rv = (double)r->pixels / r->ref->run.warm.median;
            have_ref = 1;
            if (rv < vmin)
                vmin = rv;
            if (rv > vmax)
                vmax = rv;
        }
        if (!strcmp(r->status, "ok") && r->pix_per_s_wall > 0) {
            if (r->pix_per_s_wall < vmin)
                vmin = r->pix_per_s_wall;
            if (r->pix_per_s_wall > vmax)
                vmax = r->pix_per_s_wall;
        }
    }
    /* the reference as one more series (device index -1) */
    if (have_ref && ns < MAXS) {
        sdev[ns] = -1;
        sprec[ns] = 64;
        ns++;
    }
    if (ng == 0 || vmax <= 0) {
        snprintf(err, errlen, "no successful rows to chart");
        return 0;
    }
    int lo = (int)floor(log10(vmin)), hi = (int)ceil(log10(vmax));
    if (hi <= lo)
        hi = lo + 1;

    const int bar_w = 28, gap = 44, left = 90, right = 20, top = 50, plot_h = 300;
    int group_w = (int)ns * bar_w + gap;
    int legend_h = 18 * (int)ns + 10;
    canvas cv;
    cv.w = left + right + (int)ng * group_w;
    if (cv.w < 640)
        cv.w = 640;
    cv.h = top + plot_h + 40 + legend_h + 10;
    cv.px = malloc((size_t)cv.w * cv.h * 3);
    if (!cv.px) {
        snprintf(err, errlen, "out of memory for the chart");
        return 0;
    }
    memset(cv.px, 255, (size_t)cv.w * cv.h * 3);
    static const unsigned char black[3] = {0, 0, 0}, grey[3] = {210, 210, 210},
                               dark[3] = {90, 90, 90};
    static const unsigned char pal[8][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                            {214, 39, 40},  {148, 103, 189}, {140, 86, 75},
                                            {227, 119, 194}, {127, 127, 127}};
    {
        const char *title = "WARM THROUGHPUT: PIXELS/S (HOST WALL, MEDIAN), LOG SCALE";
        int scale = text_width(title, 2) <= cv.w - left - right ? 2 : 1;
        draw_text(&cv, left, 12, title, scale, black);
    }

    int y_base = top + plot_h;
    /* decades */
    for (int d = lo; d <= hi; d++) {
        int y = y_base - (int)lround((double)(d - lo) / (hi - lo) * plot_h);
        fill_rect(&cv, left, y, cv.w - right, y + 1, grey);
        char lab[16];
        snprintf(lab, sizeof lab, "1E%d", d);
        draw_text(&cv, left - 8 - text_width(lab, 2), y - 7, lab, 2, dark);
    }
    fill_rect(&cv, left, top, left + 1, y_base + 1, black);
    fill_rect(&cv, left, y_base, cv.w - right, y_base + 1, black);

    /* one scale for every group label: 2 when they all fit */
    int label_scale = 2;
    for (size_t g = 0; g < ng; g++) {
        const bench_row *r0 = &run->rows[gidx[g]];
        char lab[64];
        snprintf(lab, sizeof lab, r0->size ? "%s %d" : "%s", r0->case_name, r0->size);
        if (text_width(lab, 2) > group_w - 4)
            label_scale = 1;
    }
    for (size_t g = 0; g < ng; g++) {
        const bench_row *r0 = &run->rows[gidx[g]];
        int gx = left + gap / 2 + (int)g * group_w;
        for (size_t s = 0; s < ns; s++) {
            const bench_row *hit = NULL;
            double value = 0;
            for (size_t i = 0; i < run->nrows; i++) {
                const bench_row *r = &run->rows[i];
                if (strcmp(r->case_name, r0->case_name) || r->size != r0->size)
                    continue;
                if (sdev[s] < 0) {
                    if (r->ref && !strcmp(r->ref->run.status, "ok") && r->ref->run.warm.n &&
                        r->ref->run.warm.median > 0 && r->pixels) {
                        hit = r;
                        value = (double)r->pixels / r->ref->run.warm.median;
                    }
                } else if (r->device_index == sdev[s] && r->precision == sprec[s]) {
                    hit = r;
                    value = strcmp(r->status, "ok") ? 0 : r->pix_per_s_wall;
                }
            }
            int x0 = gx + (int)s * bar_w;
            if (!hit || value <= 0) {
                draw_text(&cv, x0 + bar_w / 2 - 3, y_base - 10, "X", 1, dark);
                continue;
            }
            double frac = (log10(value) - lo) / (hi - lo);
            int yb = y_base - (int)lround(frac * plot_h);
            fill_rect(&cv, x0 + 2, yb, x0 + bar_w - 2, y_base, (sdev[s] < 0 ? pal[7] : pal[s % 7]));
            char val[16];
            fmt_rate(val, sizeof val, value);
            draw_text(&cv, x0 + bar_w / 2 - text_width(val, 1) / 2, yb - 10, val, 1, black);
        }
        char lab[64];
        if (r0->size)
            snprintf(lab, sizeof lab, "%s %d", r0->case_name, r0->size);
        else
            snprintf(lab, sizeof lab, "%s", r0->case_name);
        draw_fit(&cv, gx + (int)ns * bar_w / 2, y_base + 10, group_w - 4, label_scale, lab, black);
    }
    /* legend */
    for (size_t s = 0; s < ns; s++) {
        int y = y_base + 40 + 18 * (int)s;
        fill_rect(&cv, left, y, left + 14, y + 14, (sdev[s] < 0 ? pal[7] : pal[s % 7]));
        char lab[320];
        if (sdev[s] < 0) {
            snprintf(lab, sizeof lab, "REFERENCE NANOBRAGG (WHOLE PROCESS)");
        } else {
            const nbcl_device_info *d = &run->devices[sdev[s]];
            snprintf(lab, sizeof lab, "%s %u:%u %s", sprec[s] == 64 ? "DOUBLE" : "SINGLE",
                     d->platform_index, d->device_index, d->device_name_normalised);
        }
        /* keep it on the canvas */
        int maxc = (cv.w - left - 30) / 12;
        if (maxc > 0 && (int)strlen(lab) > maxc)
            lab[maxc] = '\0';
        draw_text(&cv, left + 22, y, lab, 2, black);
    }
    int ok = write_png(&cv, path, err, errlen);
    free(cv.px);
    return ok;
}

/* ------------------------------------------------------------------ line chart (scaling) */
/* a square of side 2*r+1 centred on (x, y) */
static void dot(canvas *cv, int x, int y, int r, const unsigned char rgb[3])
{
    fill_rect(cv, x - r, y - r, x + r + 1, y + r + 1, rgb);
}

/* a 3-pixel-wide line; dashed: 8 pixels on, 6 off along the longer axis */
static void draw_line(canvas *cv, int x0, int y0, int x1, int y1, int dashed,
                      const unsigned char rgb[3])
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (int step = 0;; step++) {
        if (!dashed || step % 14 < 8)
            dot(cv, x0, y0, 1, rgb);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

static void hollow_square(canvas *cv, int x, int y, int r, const unsigned char rgb[3])
{
    static const unsigned char white[3] = {255, 255, 255};
    dot(cv, x, y, r, rgb);
    dot(cv, x, y, r - 2, white);
}

/* "%g" of an axis value without exponent for the integers a sweep uses */
static void fmt_tick(char *buf, size_t cap, double v)
{
    if (v == floor(v) && fabs(v) < 1e9)
        snprintf(buf, cap, "%.0f", v);
    else
        snprintf(buf, cap, "%g", v);
}

static int valid(double v)
{
    return isfinite(v) && v > 0;
}

int bench_write_line_chart(const bench_line_chart *c, const char *path, char *err, size_t errlen)
{
    if (!c->nx || !c->nseries) {
        snprintf(err, errlen, "%s: nothing to chart", path);
        return 0;
    }
    double xmin = INFINITY, xmax = 0, vmin = INFINITY, vmax = 0;
    for (size_t i = 0; i < c->nx; i++) {
        if (!valid(c->x[i])) {
            snprintf(err, errlen, "%s: x values must be positive", path);
            return 0;
        }
        xmin = fmin(xmin, c->x[i]);
        xmax = fmax(xmax, c->x[i]);
    }
    for (size_t s = 0; s < c->nseries; s++)
        for (size_t i = 0; i < c->nx; i++) {
            double v[2] = {c->series[s].y[i], c->series[s].y_dashed ? c->series[s].y_dashed[i] : 0};
            for (int k = 0; k < 2; k++)
                if (valid(v[k])) {
                    vmin = fmin(vmin, v[k]);
                    vmax = fmax(vmax, v[k]);
                }
        }
    if (vmax <= 0) {
        snprintf(err, errlen, "%s: no successful points to chart", path);
        return 0;
    }
    int xlog = xmax / xmin >= 10.0;
    int ylog = vmax / vmin > 10.0;
    /* y axis: log decades, or linear from 0 to a round maximum in steps of 1, 2 or 5 x 10^k */
    int lo = 0, hi = 1;
    double ystep = 1, ytop = 1;
    if (ylog) {
        lo = (int)floor(log10(vmin));
        hi = (int)ceil(log10(vmax));
        if (hi <= lo)
            hi = lo + 1;
    } else {
        double raw = vmax / 5.0, mag = pow(10.0, floor(log10(raw)));
        ystep = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
        ytop = ceil(vmax / ystep) * ystep;
        if (ytop < vmax * 1.05)
            ytop += ystep;
    }

    const int left = 90, right = 30, top = 56, plot_h = 320, plot_w = 620;
    int legend_h = 18 * (int)c->nseries + (c->note ? 22 : 0) + 10;
    canvas cv;
    cv.w = left + plot_w + right;
    cv.h = top + plot_h + 56 + legend_h + 10;
    cv.px = malloc((size_t)cv.w * cv.h * 3);
    if (!cv.px) {
        snprintf(err, errlen, "out of memory for the chart");
        return 0;
    }
    memset(cv.px, 255, (size_t)cv.w * cv.h * 3);
    static const unsigned char black[3] = {0, 0, 0}, grey[3] = {210, 210, 210},
                               light[3] = {235, 235, 235}, dark[3] = {90, 90, 90};
    static const unsigned char pal[8][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                            {214, 39, 40},  {148, 103, 189}, {140, 86, 75},
                                            {227, 119, 194}, {127, 127, 127}};
    {
        int scale = text_width(c->title, 2) <= cv.w - 20 ? 2 : 1;
        draw_text(&cv, 10, 10, c->title, scale, black);
        char yl[160];
        snprintf(yl, sizeof yl, "Y: %s, %s", c->y_label ? c->y_label : "",
                 ylog ? "LOG SCALE" : "LINEAR");
        draw_text(&cv, 10, 34, yl, 1, dark);
    }
    int y_base = top + plot_h, x_left = left, x_right = left + plot_w;
    /* the data area leaves a margin of 5 % of the plot width on each side */
    const double pad = 0.05;
#define XPOS(v)                                                                                  \
    (x_left + (int)lround(plot_w * (pad + (1 - 2 * pad) *                                        \
                                              (xmax > xmin ? (xlog ? log(v / xmin) / log(xmax / xmin) \
                                                                   : (v - xmin) / (xmax - xmin))  \
                                                           : 0.5))))
#define YPOS(v)                                                                                  \
    (y_base - (int)lround(plot_h * (ylog ? (log10(v) - lo) / (hi - lo) : (v) / ytop)))
    /* horizontal grid and y labels */
    if (ylog) {
        for (int d = lo; d <= hi; d++) {
            double base = pow(10.0, d);
            for (int m = 1; m <= 9 && d < hi; m++) {
                if (m == 1)
                    continue;
                int y = YPOS(base * m);
                fill_rect(&cv, x_left, y, x_right, y + 1, light);
                if ((m == 2 || m == 5) && hi - lo <= 2) {
                    char lab[16];
                    fmt_rate(lab, sizeof lab, base * m);
                    draw_text(&cv, x_left - 6 - text_width(lab, 1), y - 3, lab, 1, dark);
                }
            }
            int y = YPOS(base);
            fill_rect(&cv, x_left, y, x_right, y + 1, grey);
            char lab[16];
            fmt_rate(lab, sizeof lab, base);
            draw_text(&cv, x_left - 8 - text_width(lab, 2), y - 7, lab, 2, dark);
        }
    } else {
        for (double v = 0; v <= ytop * (1 + 1e-9); v += ystep) {
            int y = YPOS(v);
            fill_rect(&cv, x_left, y, x_right, y + 1, grey);
            char lab[16];
            fmt_rate(lab, sizeof lab, v);
            draw_text(&cv, x_left - 8 - text_width(lab, 2), y - 7, lab, 2, dark);
        }
    }
    /* vertical grid at every x value, labelled */
    for (size_t i = 0; i < c->nx; i++) {
        int x = XPOS(c->x[i]);
        fill_rect(&cv, x, top, x + 1, y_base, light);
        fill_rect(&cv, x, y_base, x + 1, y_base + 5, black);
        char lab[32];
        fmt_tick(lab, sizeof lab, c->x[i]);
        draw_text(&cv, x - text_width(lab, 2) / 2, y_base + 9, lab, 2, black);
    }
    fill_rect(&cv, x_left, top, x_left + 1, y_base + 1, black);
    fill_rect(&cv, x_left, y_base, x_right, y_base + 1, black);
    {
        char xl[160];
        snprintf(xl, sizeof xl, "X: %s%s", c->x_label ? c->x_label : "",
                 xlog ? ", LOG SCALE" : "");
        draw_text(&cv, x_left + plot_w / 2 - text_width(xl, 1) / 2, y_base + 30, xl, 1, dark);
    }
    /* series: dashed first, so the solid lines stay on top */
    for (int pass = 0; pass < 2; pass++)
        for (size_t s = 0; s < c->nseries; s++) {
            const double *y = pass == 0 ? c->series[s].y_dashed : c->series[s].y;
            if (!y)
                continue;
            const unsigned char *col = pal[s % 8];
            int px = 0, py = 0, have = 0;
            for (size_t i = 0; i < c->nx; i++) {
                if (!valid(y[i])) {
                    have = 0;
                    if (pass == 1)
                        draw_text(&cv, XPOS(c->x[i]) - 2, y_base - 10, "X", 1, col);
                    continue;
                }
                int x1 = XPOS(c->x[i]), y1 = YPOS(y[i]);
                if (have)
                    draw_line(&cv, px, py, x1, y1, pass == 0, col);
                px = x1;
                py = y1;
                have = 1;
            }
            for (size_t i = 0; i < c->nx; i++)
                if (valid(y[i])) {
                    if (pass == 0)
                        hollow_square(&cv, XPOS(c->x[i]), YPOS(y[i]), 4, col);
                    else
                        dot(&cv, XPOS(c->x[i]), YPOS(y[i]), 4, col);
                }
        }
#undef XPOS
#undef YPOS
    /* legend */
    int ly = y_base + 50;
    for (size_t s = 0; s < c->nseries; s++, ly += 18) {
        fill_rect(&cv, x_left, ly + 5, x_left + 30, ly + 8, pal[s % 8]);
        dot(&cv, x_left + 15, ly + 6, 4, pal[s % 8]);
        char lab[200];
        snprintf(lab, sizeof lab, "%s", c->series[s].label ? c->series[s].label : "");
        /* scale 2 when it fits, else scale 1, cut to the canvas */
        int avail = cv.w - x_left - 50, scale = text_width(lab, 2) <= avail ? 2 : 1;
        int maxc = avail / (6 * scale);
        if (maxc > 0 && (int)strlen(lab) > maxc)
            lab[maxc] = '\0';
        draw_text(&cv, x_left + 40, ly + (scale == 1 ? 3 : 0), lab, scale, black);
    }
    if (c->note)
        draw_text(&cv, x_left, ly + 8, c->note, 1, dark);
    int ok = write_png(&cv, path, err, errlen);
    free(cv.px);
    return ok;
}
