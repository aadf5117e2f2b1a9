/* nbcl-bench charts, drawn with cairo in a sans-serif font (fontconfig's choice, DejaVu Sans on
 * Debian) like a paper's figures; each chart is written twice from one drawing function: as
 * SVG (for documents) and as PNG at twice the nominal size (for Markdown viewers).
 *   throughput.png/.svg   warm pixels/s per case x size, one bar per device x precision, log y
 *   scaling_*.png/.svg    line charts of the --scaling sweeps (bench_write_line_chart) */
#include "bench.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FONT "sans-serif"
#define PNG_SCALE 2.0
#define CHART_PI 3.14159265358979323846

typedef struct rgb {
    double r, g, b;
} rgb;

/* Tableau 10, as matplotlib draws series; the reference is grey */
static const rgb PALETTE[] = {{0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173},
                              {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294},
                              {0.890, 0.467, 0.761}, {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812}};
static const rgb GREY = {0.50, 0.50, 0.50};
static const rgb INK = {0.10, 0.10, 0.10};
static const rgb SOFT = {0.35, 0.35, 0.35};
static const rgb GRID = {0.88, 0.88, 0.88};

static rgb series_colour(size_t s)
{
    return PALETTE[s % (sizeof PALETTE / sizeof PALETTE[0])];
}

static void set_rgb(cairo_t *cr, rgb c)
{
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

static void font(cairo_t *cr, double size, int bold, int italic)
{
    cairo_select_font_face(cr, FONT, italic ? CAIRO_FONT_SLANT_ITALIC : CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_w(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* text with its anchor at (x, y): halign 0 left, 0.5 centre, 1 right; valign likewise from the
 * top (0) through the middle of capitals (0.5) to the baseline (1) */
static void text_at(cairo_t *cr, double x, double y, double halign, double valign, const char *s)
{
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double cap = fe.ascent * 0.72; /* height of a capital in most sans fonts */
    cairo_move_to(cr, x - halign * text_w(cr, s), y + (1 - valign) * cap);
    cairo_show_text(cr, s);
}

/* s cut with an ellipsis to at most width (in the current font) */
static void fit_text(cairo_t *cr, const char *s, double width, char *out, size_t cap)
{
    snprintf(out, cap, "%s", s);
    size_t n = strlen(out);
    if (text_w(cr, out) <= width)
        return;
    while (n > 1) {
        n--;
        /* back up to a UTF-8 lead byte */
        while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
            n--;
        snprintf(out + n, cap - n, "\xE2\x80\xA6");
        if (text_w(cr, out) <= width)
            return;
    }
}

/* "10" with the exponent raised, centred or right-aligned at (x, y) */
static void power_of_ten(cairo_t *cr, double x, double y, double halign, int exponent, double size)
{
    char e[16];
    snprintf(e, sizeof e, "%d", exponent);
    font(cr, size, 0, 0);
    double wb = text_w(cr, "10");
    font(cr, size * 0.72, 0, 0);
    double we = text_w(cr, e);
    double x0 = x - halign * (wb + we + 1);
    font(cr, size, 0, 0);
    text_at(cr, x0, y, 0, 0.5, "10");
    font(cr, size * 0.72, 0, 0);
    text_at(cr, x0 + wb + 1, y - size * 0.42, 0, 0.5, e);
    font(cr, size, 0, 0);
}

/* 45.3 M style: three significant digits and an SI prefix */
static void fmt_rate(char *buf, size_t cap, double v)
{
    static const char *pre[] = {"", " k", " M", " G", " T"};
    int k = 0;
    while (fabs(v) >= 1000 && k < 4) {
        v /= 1000;
        k++;
    }
    snprintf(buf, cap, "%.3g%s", v, pre[k]);
}

/* Draw fn onto an SVG surface at <stem>.svg and an image surface written as <stem>.png, where
 * png_path is "<stem>.png". */
typedef void (*draw_fn)(cairo_t *cr, const void *data);
static int emit(const char *png_path, double w, double h, draw_fn draw, const void *data,
                char *err, size_t errlen)
{
    size_t n = strlen(png_path);
    if (n < 4 || strcmp(png_path + n - 4, ".png") != 0 || n + 1 > 4400) {
        snprintf(err, errlen, "%s: chart path must end in .png", png_path);
        return 0;
    }
    char svg_path[4400];
    snprintf(svg_path, sizeof svg_path, "%.*s.svg", (int)(n - 4), png_path);

    cairo_surface_t *svg = cairo_svg_surface_create(svg_path, w, h);
    cairo_t *cr = cairo_create(svg);
    draw(cr, data);
    cairo_destroy(cr);
    cairo_surface_finish(svg);
    cairo_status_t st = cairo_surface_status(svg);
    cairo_surface_destroy(svg);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "%s: %s", svg_path, cairo_status_to_string(st));
        return 0;
    }

    cairo_surface_t *img = cairo_image_surface_create(
        CAIRO_FORMAT_RGB24, (int)ceil(w * PNG_SCALE), (int)ceil(h * PNG_SCALE));
    cr = cairo_create(img);
    cairo_scale(cr, PNG_SCALE, PNG_SCALE);
    draw(cr, data);
    st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png(img, png_path);
    cairo_surface_destroy(img);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "%s: %s", png_path, cairo_status_to_string(st));
        return 0;
    }
    return 1;
}

static void background(cairo_t *cr)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
}

static void segment(cairo_t *cr, double x0, double y0, double x1, double y1, double width, rgb c)
{
    set_rgb(cr, c);
    cairo_set_line_width(cr, width);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
}

static void hline(cairo_t *cr, double x0, double x1, double y, double width, rgb c)
{
    segment(cr, x0, y, x1, y, width, c);
}

static void vline(cairo_t *cr, double x, double y0, double y1, double width, rgb c)
{
    segment(cr, x, y0, x, y1, width, c);
}

/* a "not measured" mark: a small x */
static void cross(cairo_t *cr, double x, double y, double r, rgb c)
{
    set_rgb(cr, c);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, x - r, y - r);
    cairo_line_to(cr, x + r, y + r);
    cairo_move_to(cr, x - r, y + r);
    cairo_line_to(cr, x + r, y - r);
    cairo_stroke(cr);
}

/* Vertical log axis from 10^lo (at y_base) to 10^hi (at y_top): decade labels, minor ticks and
 * light grid lines across [x0, x1]. */
static void log_y_axis(cairo_t *cr, double x0, double x1, double y_base, double y_top, int lo,
                       int hi)
{
    double span = y_base - y_top;
    for (int d = lo; d <= hi; d++) {
        double y = y_base - span * (d - lo) / (hi - lo);
        hline(cr, x0, x1, y, 0.8, GRID);
        hline(cr, x0 - 5, x0, y, 1, INK);
        set_rgb(cr, INK);
        power_of_ten(cr, x0 - 8, y, 1, d, 11);
        for (int m = 2; m <= 9 && d < hi; m++) {
            double ym = y - span * log10(m) / (hi - lo);
            hline(cr, x0 - 3, x0, ym, 0.8, INK);
        }
    }
}

static void title_block(cairo_t *cr, double x, double y, const char *title, const char *subtitle)
{
    set_rgb(cr, INK);
    font(cr, 14, 1, 0);
    text_at(cr, x, y, 0, 0, title);
    if (subtitle) {
        set_rgb(cr, SOFT);
        font(cr, 11, 0, 0);
        text_at(cr, x, y + 20, 0, 0, subtitle);
    }
}

/* ------------------------------------------------------------------ throughput bar chart */
enum { MAXG = 64, MAXS = 16 };
typedef struct bar_chart {
    const bench_run *run;
    int gidx[MAXG];           /* first row of each (case, size) group */
    size_t ng;
    int sdev[MAXS], sprec[MAXS]; /* series: (device, precision); device -1 = the reference */
    size_t ns;
    int lo, hi;               /* log10 range of the y axis */
    double group_w;           /* width of one group's slot */
    double w, h;
} bar_chart;

enum { BAR_W = 26, BAR_GAP = 36, LEFT = 78, RIGHT = 24, TOP = 64, PLOT_H = 300, LEG_ROW = 18 };

/* the value of series s in group g (0 when not measured) */
static double bar_value(const bar_chart *c, size_t g, size_t s)
{
    const bench_row *r0 = &c->run->rows[c->gidx[g]];
    double value = 0;
    for (size_t i = 0; i < c->run->nrows; i++) {
        const bench_row *r = &c->run->rows[i];
        if (strcmp(r->case_name, r0->case_name) || r->size != r0->size)
            continue;
        if (c->sdev[s] < 0) {
            if (r->ref && !strcmp(r->ref->run.status, "ok") && r->ref->run.warm.n &&
                r->ref->run.warm.median > 0 && r->work.pixels)
                value = (double)r->work.pixels / r->ref->run.warm.median;
        } else if (r->device_index == c->sdev[s] && r->precision == c->sprec[s]) {
            value = strcmp(r->status, "ok") ? 0 : r->warm.pix_per_s_wall;
        }
    }
    return value;
}

static void series_label(const bench_run *run, int dev, int prec, char *buf, size_t cap)
{
    if (dev < 0) {
        snprintf(buf, cap, "reference nanoBragg (whole process)");
        return;
    }
    const nbcl_device_info *d = &run->devices[dev];
    snprintf(buf, cap, "%s, device %u:%u %s", prec == 64 ? "double" : "single",
             d->platform_index, d->device_index, d->device_name_normalised);
}

static void group_label(const bench_row *r0, char *buf, size_t cap)
{
    if (r0->size)
        snprintf(buf, cap, "%s %d\xC2\xB2", r0->case_name, r0->size);
    else
        snprintf(buf, cap, "%s", r0->case_name);
}

/* The slot of a group fits its bars and its label; the figure fits the slots and the legend. */
static void bar_layout(bar_chart *c)
{
    cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(scratch);
    font(cr, 11, 0, 0);
    double slot = (double)c->ns * BAR_W + BAR_GAP, legend = 0;
    for (size_t g = 0; g < c->ng; g++) {
        char lab[96];
        group_label(&c->run->rows[c->gidx[g]], lab, sizeof lab);
        slot = fmax(slot, text_w(cr, lab) + 16);
    }
    for (size_t s = 0; s < c->ns; s++) {
        char lab[320];
        series_label(c->run, c->sdev[s], c->sprec[s], lab, sizeof lab);
        legend = fmax(legend, text_w(cr, lab) + 20);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(scratch);
    double plot_w = fmax(460, slot * (double)c->ng);
    plot_w = fmin(fmax(plot_w, legend), 1400); /* a legend longer than that is cut */
    c->group_w = plot_w / (double)c->ng;
    c->w = LEFT + plot_w + RIGHT;
    c->h = TOP + PLOT_H + 40 + LEG_ROW * (double)c->ns + 24;
}

static void draw_bars(cairo_t *cr, const void *data)
{
    const bar_chart *c = data;
    background(cr);
    title_block(cr, LEFT, 16, "Warm throughput",
                 "pixels per second, host wall time, median of the warm renders");
    double group_w = c->group_w;
    double x0 = LEFT, x1 = c->w - RIGHT, y_base = TOP + PLOT_H;
    log_y_axis(cr, x0, x1, y_base, TOP, c->lo, c->hi);
    set_rgb(cr, INK);
    font(cr, 11, 0, 0);
    cairo_save(cr);
    cairo_translate(cr, 18, TOP + PLOT_H / 2.0);
    cairo_rotate(cr, -CHART_PI / 2);
    text_at(cr, 0, 0, 0.5, 0.5, "pixels / s");
    cairo_restore(cr);

    for (size_t g = 0; g < c->ng; g++) {
        const bench_row *r0 = &c->run->rows[c->gidx[g]];
        double gx = x0 + (double)g * group_w + (group_w - (double)c->ns * BAR_W) / 2;
        for (size_t s = 0; s < c->ns; s++) {
            double v = bar_value(c, g, s);
            double bx = gx + (double)s * BAR_W;
            rgb col = c->sdev[s] < 0 ? GREY : series_colour(s);
            if (v <= 0) {
                cross(cr, bx + BAR_W / 2.0, y_base - 8, 4, col);
                continue;
            }
            double yb = y_base - PLOT_H * (log10(v) - c->lo) / (c->hi - c->lo);
            set_rgb(cr, col);
            cairo_rectangle(cr, bx + 2, yb, BAR_W - 4, y_base - yb);
            cairo_fill(cr);
            char val[32];
            fmt_rate(val, sizeof val, v);
            set_rgb(cr, INK);
            font(cr, 9, 0, 0);
            text_at(cr, bx + BAR_W / 2.0, yb - 4, 0.5, 1, val);
        }
        char lab[96], fit[128];
        group_label(r0, lab, sizeof lab);
        set_rgb(cr, INK);
        font(cr, 11, 0, 0);
        fit_text(cr, lab, group_w - 4, fit, sizeof fit);
        text_at(cr, gx + (double)c->ns * BAR_W / 2.0, y_base + 10, 0.5, 0, fit);
    }
    /* axes over the bars */
    vline(cr, x0, TOP, y_base, 1, INK);
    hline(cr, x0, x1, y_base, 1, INK);

    /* legend under the plot */
    font(cr, 11, 0, 0);
    double ly = y_base + 40;
    for (size_t s = 0; s < c->ns; s++, ly += LEG_ROW) {
        set_rgb(cr, c->sdev[s] < 0 ? GREY : series_colour(s));
        cairo_rectangle(cr, x0, ly - 5, 12, 10);
        cairo_fill(cr);
        char lab[320], fit[400];
        series_label(c->run, c->sdev[s], c->sprec[s], lab, sizeof lab);
        fit_text(cr, lab, c->w - x0 - 20 - RIGHT, fit, sizeof fit);
        set_rgb(cr, INK);
        text_at(cr, x0 + 20, ly, 0, 0.5, fit);
    }
    set_rgb(cr, SOFT);
    font(cr, 10, 0, 1);
    text_at(cr, x0, ly + 4, 0, 0.5, "log scale; \xC3\x97: not measured");
}

int bench_write_chart(bench_run *run, const char *path, char *err, size_t errlen)
{
    bar_chart *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory for the chart");
        return 0;
    }
    c->run = run;
    double vmin = INFINITY, vmax = 0;
    int have_ref = 0;
    for (size_t i = 0; i < run->nrows; i++) {
        const bench_row *r = &run->rows[i];
        size_t g;
        for (g = 0; g < c->ng; g++)
            if (!strcmp(run->rows[c->gidx[g]].case_name, r->case_name) &&
                run->rows[c->gidx[g]].size == r->size)
                break;
        if (g == c->ng && c->ng < MAXG)
            c->gidx[c->ng++] = (int)i;
        size_t s;
        for (s = 0; s < c->ns; s++)
            if (c->sdev[s] == r->device_index && c->sprec[s] == r->precision)
                break;
        if (s == c->ns && c->ns < MAXS - 1) {
            c->sdev[c->ns] = r->device_index;
            c->sprec[c->ns++] = r->precision;
        }
        if (r->ref && !strcmp(r->ref->run.status, "ok") && r->ref->run.warm.n &&
            r->ref->run.warm.median > 0 && r->work.pixels) {
            double rv = (double)r->work.pixels / r->ref->run.warm.median;
            have_ref = 1;
            vmin = fmin(vmin, rv);
            vmax = fmax(vmax, rv);
        }
        if (!strcmp(r->status, "ok") && r->warm.pix_per_s_wall > 0) {
            vmin = fmin(vmin, r->warm.pix_per_s_wall);
            vmax = fmax(vmax, r->warm.pix_per_s_wall);
        }
    }
    if (have_ref) { /* the reference as one more series */
        c->sdev[c->ns] = -1;
        c->sprec[c->ns++] = 64;
    }
    if (c->ng == 0 || vmax <= 0) {
        free(c);
        snprintf(err, errlen, "no successful rows to chart");
        return 0;
    }
    c->lo = (int)floor(log10(vmin));
    c->hi = (int)ceil(log10(vmax));
    if (c->hi <= c->lo)
        c->hi = c->lo + 1;
    bar_layout(c);
    int ok = emit(path, c->w, c->h, draw_bars, c, err, errlen);
    free(c);
    return ok;
}

/* ------------------------------------------------------------------ line chart (scaling) */
typedef struct line_chart {
    const bench_line_chart *c;
    double xmin, xmax, vmin, vmax;
    int xlog, ylog;
    int lo, hi;               /* ylog: decades */
    double ystep, ytop;       /* linear y: tick step and top */
    double w, h;
} line_chart;

enum { L_LEFT = 78, L_RIGHT = 28, L_TOP = 64, L_PLOT_W = 560, L_PLOT_H = 300 };

static int valid(double v)
{
    return isfinite(v) && v > 0;
}

static double xpos(const line_chart *l, double v)
{
    const double pad = 0.05; /* 5 % of the width free on each side */
    double f = 0.5;
    if (l->xmax > l->xmin)
        f = l->xlog ? log(v / l->xmin) / log(l->xmax / l->xmin)
                    : (v - l->xmin) / (l->xmax - l->xmin);
    return L_LEFT + L_PLOT_W * (pad + (1 - 2 * pad) * f);
}

static double ypos(const line_chart *l, double v)
{
    double f = l->ylog ? (log10(v) - l->lo) / (l->hi - l->lo) : v / l->ytop;
    return L_TOP + L_PLOT_H - L_PLOT_H * f;
}

static void marker(cairo_t *cr, double x, double y, int hollow, rgb col)
{
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, hollow ? 3.6 : 3.8, 0, 2 * CHART_PI);
    if (hollow) {
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_fill_preserve(cr);
        set_rgb(cr, col);
        cairo_set_line_width(cr, 1.4);
        cairo_stroke(cr);
    } else {
        set_rgb(cr, col);
        cairo_fill(cr);
    }
}

static void line_style(cairo_t *cr, int dashed)
{
    static const double dash[] = {6, 4};
    cairo_set_line_width(cr, 1.8);
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
}

static void draw_series(cairo_t *cr, const line_chart *l, const double *y, int dashed, rgb col)
{
    const bench_line_chart *c = l->c;
    line_style(cr, dashed);
    set_rgb(cr, col);
    int have = 0;
    for (size_t i = 0; i < c->nx; i++) {
        if (!valid(y[i])) {
            have = 0;
            continue;
        }
        if (have)
            cairo_line_to(cr, xpos(l, c->x[i]), ypos(l, y[i]));
        else
            cairo_move_to(cr, xpos(l, c->x[i]), ypos(l, y[i]));
        have = 1;
    }
    cairo_stroke(cr);
    line_style(cr, 0);
    for (size_t i = 0; i < c->nx; i++) {
        if (valid(y[i]))
            marker(cr, xpos(l, c->x[i]), ypos(l, y[i]), dashed, col);
        else if (!dashed)
            cross(cr, xpos(l, c->x[i]), L_TOP + L_PLOT_H - 8, 4, col);
    }
}

static void draw_lines(cairo_t *cr, const void *data)
{
    const line_chart *l = data;
    const bench_line_chart *c = l->c;
    background(cr);
    title_block(cr, L_LEFT, 16, c->title, NULL);
    double x0 = L_LEFT, x1 = L_LEFT + L_PLOT_W, y_base = L_TOP + L_PLOT_H;
    char lab[64];
    if (l->ylog) {
        log_y_axis(cr, x0, x1, y_base, L_TOP, l->lo, l->hi);
    } else {
        for (double v = 0; v <= l->ytop * (1 + 1e-9); v += l->ystep) {
            double y = ypos(l, v);
            hline(cr, x0, x1, y, 0.8, GRID);
            hline(cr, x0 - 5, x0, y, 1, INK);
            fmt_rate(lab, sizeof lab, v);
            set_rgb(cr, INK);
            font(cr, 11, 0, 0);
            text_at(cr, x0 - 8, y, 1, 0.5, lab);
        }
    }
    for (size_t i = 0; i < c->nx; i++) {
        double x = xpos(l, c->x[i]);
        vline(cr, x, L_TOP, y_base, 0.8, GRID);
        vline(cr, x, y_base, y_base + 5, 1, INK);
        if (c->x[i] == floor(c->x[i]) && fabs(c->x[i]) < 1e9)
            snprintf(lab, sizeof lab, "%.0f", c->x[i]);
        else
            snprintf(lab, sizeof lab, "%g", c->x[i]);
        set_rgb(cr, INK);
        font(cr, 11, 0, 0);
        text_at(cr, x, y_base + 9, 0.5, 0, lab);
    }
    vline(cr, x0, L_TOP, y_base, 1, INK);
    hline(cr, x0, x1, y_base, 1, INK);
    /* axis titles */
    char title[256];
    font(cr, 11, 0, 0);
    set_rgb(cr, INK);
    snprintf(title, sizeof title, "%s%s", c->x_label ? c->x_label : "",
             l->xlog ? ", log scale" : "");
    text_at(cr, x0 + L_PLOT_W / 2.0, y_base + 30, 0.5, 0, title);
    snprintf(title, sizeof title, "%s%s", c->y_label ? c->y_label : "",
             l->ylog ? ", log scale" : "");
    cairo_save(cr);
    cairo_translate(cr, 16, L_TOP + L_PLOT_H / 2.0);
    cairo_rotate(cr, -CHART_PI / 2);
    text_at(cr, 0, 0, 0.5, 0.5, title);
    cairo_restore(cr);

    /* dashed series first, so that the solid lines stay on top */
    for (int pass = 0; pass < 2; pass++)
        for (size_t s = 0; s < c->nseries; s++) {
            const double *y = pass == 0 ? c->series[s].y_dashed : c->series[s].y;
            if (y)
                draw_series(cr, l, y, pass == 0, series_colour(s));
        }

    /* legend under the plot: a line sample with its marker per series, then the note */
    double ly = y_base + 58;
    font(cr, 11, 0, 0);
    for (size_t s = 0; s < c->nseries; s++, ly += LEG_ROW) {
        rgb col = series_colour(s);
        line_style(cr, 0);
        hline(cr, x0, x0 + 28, ly, 1.8, col);
        marker(cr, x0 + 14, ly, 0, col);
        char fit[256];
        fit_text(cr, c->series[s].label ? c->series[s].label : "", l->w - x0 - 40 - L_RIGHT, fit,
                 sizeof fit);
        set_rgb(cr, INK);
        font(cr, 11, 0, 0);
        text_at(cr, x0 + 38, ly, 0, 0.5, fit);
    }
    if (c->note) {
        char fit[512];
        set_rgb(cr, SOFT);
        font(cr, 10, 0, 1);
        fit_text(cr, c->note, l->w - x0 - L_RIGHT, fit, sizeof fit);
        text_at(cr, x0, ly + 4, 0, 0.5, fit);
    }
}

int bench_write_line_chart(const bench_line_chart *c, const char *path, char *err, size_t errlen)
{
    if (!c->nx || !c->nseries) {
        snprintf(err, errlen, "%s: nothing to chart", path);
        return 0;
    }
    line_chart l = {.c = c, .xmin = INFINITY, .vmin = INFINITY};
    for (size_t i = 0; i < c->nx; i++) {
        if (!valid(c->x[i])) {
            snprintf(err, errlen, "%s: x values must be positive", path);
            return 0;
        }
        l.xmin = fmin(l.xmin, c->x[i]);
        l.xmax = fmax(l.xmax, c->x[i]);
    }
    for (size_t s = 0; s < c->nseries; s++)
        for (size_t i = 0; i < c->nx; i++) {
            double v[2] = {c->series[s].y[i], c->series[s].y_dashed ? c->series[s].y_dashed[i] : 0};
            for (int k = 0; k < 2; k++)
                if (valid(v[k])) {
                    l.vmin = fmin(l.vmin, v[k]);
                    l.vmax = fmax(l.vmax, v[k]);
                }
        }
    if (l.vmax <= 0) {
        snprintf(err, errlen, "%s: no successful points to chart", path);
        return 0;
    }
    l.xlog = l.xmax / l.xmin >= 10.0;
    l.ylog = l.vmax / l.vmin > 10.0;
    if (l.ylog) {
        l.lo = (int)floor(log10(l.vmin));
        l.hi = (int)ceil(log10(l.vmax));
        if (l.hi <= l.lo)
            l.hi = l.lo + 1;
    } else { /* linear from 0 to a round top in steps of 1, 2 or 5 x 10^k */
        double raw = l.vmax / 5.0, mag = pow(10.0, floor(log10(raw)));
        l.ystep = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
        l.ytop = ceil(l.vmax / l.ystep) * l.ystep;
        if (l.ytop < l.vmax * 1.05)
            l.ytop += l.ystep;
    }
    l.w = L_LEFT + L_PLOT_W + L_RIGHT;
    l.h = L_TOP + L_PLOT_H + 58 + LEG_ROW * (double)c->nseries + (c->note ? 16 : 0) + 12;
    return emit(path, l.w, l.h, draw_lines, &l, err, errlen);
}
