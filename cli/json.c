/* Streaming JSON writer (see nbcl_json.h). Hand-written rather than built on json-c so that the
 * number text is under our control: json-c 0.16 formats doubles with "%.17g" through the current
 * locale and only patches a ',' afterwards, and it cannot stream. */
#include "nbcl_json.h"

#include <locale.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct json_level {
    char type;     /* '{' or '[' */
    int have_key;  /* object: a key was written and awaits its value */
    size_t count;  /* members or elements so far */
} json_level;

struct nbcl_json {
    char *buf;
    size_t len, cap;
    int pretty;
    int failed;
    int depth;
    size_t top_count;
    json_level lv[JSON_MAX_DEPTH];
};

/* ------------------------------------------------------------------ buffer */
static void put(nbcl_json *w, const char *s, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;
        while (w->len + n + 1 > cap)
            cap *= 2;
        char *nb = realloc(w->buf, cap);
        if (!nb) {
            w->failed = 1;
            return;
        }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(nbcl_json *w, const char *s)
{
    put(w, s, strlen(s));
}

static void newline_indent(nbcl_json *w, int depth)
{
    if (!w->pretty)
        return;
    put(w, "\n", 1);
    for (int i = 0; i < depth; i++)
        put(w, "  ", 2);
}

nbcl_json *nbcl_json_new(int pretty)
{
    nbcl_json *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->pretty = pretty;
    put(w, "", 0);
    return w;
}

void nbcl_json_free(nbcl_json *w)
{
    if (!w)
        return;
    free(w->buf);
    free(w);
}

int nbcl_json_ok(const nbcl_json *w)
{
    return w && !w->failed;
}

int nbcl_json_complete(const nbcl_json *w)
{
    return w && !w->failed && w->depth == 0 && w->top_count == 1;
}

const char *nbcl_json_text(const nbcl_json *w, size_t *len)
{
    if (len)
        *len = w && w->buf ? w->len : 0;
    return w && w->buf ? w->buf : "";
}

/* ------------------------------------------------------------------ structure */
static int before_value(nbcl_json *w)
{
    if (!w || w->failed)
        return 0;
    if (w->depth == 0) {
        if (w->top_count > 0) {
            w->failed = 1;
            return 0;
        }
        w->top_count++;
        return 1;
    }
    json_level *l = &w->lv[w->depth - 1];
    if (l->type == '{') {
        if (!l->have_key) {
            w->failed = 1;
            return 0;
        }
        l->have_key = 0;
        return 1;
    }
    if (l->count > 0)
        put(w, ",", 1);
    newline_indent(w, w->depth);
    l->count++;
    return 1;
}

static void open_(nbcl_json *w, char type)
{
    if (!before_value(w))
        return;
    if (w->depth >= JSON_MAX_DEPTH) {
        w->failed = 1;
        return;
    }
    json_level *l = &w->lv[w->depth++];
    l->type = type;
    l->have_key = 0;
    l->count = 0;
    put(w, &type, 1);
}

static void close_(nbcl_json *w, char type)
{
    if (!w || w->failed)
        return;
    if (w->depth == 0 || w->lv[w->depth - 1].type != type || w->lv[w->depth - 1].have_key) {
        w->failed = 1;
        return;
    }
    json_level *l = &w->lv[--w->depth];
    if (l->count > 0)
        newline_indent(w, w->depth);
    char c = type == '{' ? '}' : ']';
    put(w, &c, 1);
}

void nbcl_json_obj_begin(nbcl_json *w) { open_(w, '{'); }
void nbcl_json_obj_end(nbcl_json *w) { close_(w, '{'); }
void nbcl_json_arr_begin(nbcl_json *w) { open_(w, '['); }
void nbcl_json_arr_end(nbcl_json *w) { close_(w, '['); }

/* ------------------------------------------------------------------ strings */
/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    unsigned cp = c & (0xFF >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

size_t nbcl_json_escape(const char *s, size_t n, char *out, size_t cap)
{
    size_t need = 0, used = 0;
    int full = 0;
#define EMIT(str, k)                                                                      \
    do {                                                                                  \
        size_t k_ = (k);                                                                  \
        if (!full && out && used + k_ + 1 <= cap) {                                       \
            memcpy(out + used, (str), k_);                                                \
            used += k_;                                                                   \
        } else {                                                                          \
            full = 1;                                                                     \
        }                                                                                 \
        need += k_;                                                                       \
    } while (0)
    EMIT("\"", 1);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        char esc[8];
        if (c == '"') {
            EMIT("\\\"", 2);
            i++;
        } else if (c == '\\') {
            EMIT("\\\\", 2);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\b': EMIT("\\b", 2); break;
            case '\f': EMIT("\\f", 2); break;
            case '\n': EMIT("\\n", 2); break;
            case '\r': EMIT("\\r", 2); break;
            case '\t': EMIT("\\t", 2); break;
            default:
                snprintf(esc, sizeof esc, "\\u%04x", c);
                EMIT(esc, 6);
            }
            i++;
        } else if (c < 0x80) {
            esc[0] = (char)c;
            EMIT(esc, 1);
            i++;
        } else {
            size_t k = utf8_seq(p + i, n - i);
            if (k == 0) {
                EMIT("\\ufffd", 6);
                i++;
            } else {
                EMIT((const char *)p + i, k);
                i += k;
            }
        }
    }
    /* the closing quote always fits when the rest did: reserve it by checking once more */
    if (!full && out && used + 2 <= cap) {
        out[used++] = '"';
    } else if (out && cap > 0) {
        full = 1;
    }
    need += 1;
    if (out && cap > 0)
        out[used < cap ? used : cap - 1] = '\0';
#undef EMIT
    return need;
}

/* s[0..n) as a quoted, escaped JSON string (nbcl_json_escape), through a stack buffer when it
 * fits */
static void put_escaped(nbcl_json *w, const char *s, size_t n)
{
    size_t need = nbcl_json_escape(s, n, NULL, 0);
    char small[512];
    char *tmp = need + 1 <= sizeof small ? small : malloc(need + 1);
    if (!tmp) {
        w->failed = 1;
        return;
    }
    nbcl_json_escape(s, n, tmp, need + 1);
    put(w, tmp, need);
    if (tmp != small)
        free(tmp);
}

void nbcl_json_strn(nbcl_json *w, const char *s, size_t n)
{
    if (!before_value(w))
        return;
    if (!s) {
        puts_(w, "null");
        return;
    }
    put_escaped(w, s, n);
}

void nbcl_json_str(nbcl_json *w, const char *s)
{
    nbcl_json_strn(w, s, s ? strlen(s) : 0);
}

void nbcl_json_key(nbcl_json *w, const char *key)
{
    if (!w || w->failed)
        return;
    if (w->depth == 0 || w->lv[w->depth - 1].type != '{' || w->lv[w->depth - 1].have_key ||
        !key) {
        w->failed = 1;
        return;
    }
    json_level *l = &w->lv[w->depth - 1];
    if (l->count > 0)
        put(w, ",", 1);
    newline_indent(w, w->depth);
    put_escaped(w, key, strlen(key));
    put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    l->have_key = 1;
    l->count++;
}

/* ------------------------------------------------------------------ numbers */
void nbcl_json_fix_decimal(char *buf, const char *dp)
{
    if (!buf || !dp || !*dp || strcmp(dp, ".") == 0)
        return;
    size_t dl = strlen(dp);
    char *p = strstr(buf, dp);
    if (!p)
        return;
    *p = '.';
    memmove(p + 1, p + dl, strlen(p + dl) + 1);
}

/* A "C" LC_NUMERIC locale object, made once for the process (POSIX 2008 newlocale/uselocale;
 * pthread_once: JSON is written from several threads) and never changed after. */
static pthread_once_t g_numeric_once = PTHREAD_ONCE_INIT;
static locale_t g_numeric = (locale_t)0;

static void c_numeric_init(void)
{
    g_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static locale_t c_numeric_locale(void)
{
    pthread_once(&g_numeric_once, c_numeric_init);
    return g_numeric;
}

size_t nbcl_json_format_double(char *buf, size_t cap, double v)
{
    char tmp[64];
    if (!isfinite(v)) {
        snprintf(tmp, sizeof tmp, "null");
    } else {
        locale_t cl = c_numeric_locale();
        locale_t old = (locale_t)0;
        if (cl)
            old = uselocale(cl);
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
        if (cl)
            uselocale(old);
        else
            nbcl_json_fix_decimal(tmp, localeconv()->decimal_point);
        if (strcmp(tmp, "-0") == 0)
            snprintf(tmp, sizeof tmp, "0");
    }
    size_t n = strlen(tmp);
    if (buf && cap > 0)
        snprintf(buf, cap, "%s", tmp);
    return n;
}

void nbcl_json_num(nbcl_json *w, double v)
{
    if (!before_value(w))
        return;
    char tmp[64];
    nbcl_json_format_double(tmp, sizeof tmp, v);
    puts_(w, tmp);
}

void nbcl_json_int(nbcl_json *w, long long v)
{
    if (!before_value(w))
        return;
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", v);
    puts_(w, tmp);
}

void nbcl_json_uint(nbcl_json *w, uint64_t v)
{
    if (!before_value(w))
        return;
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    puts_(w, tmp);
}

void nbcl_json_bool(nbcl_json *w, int v)
{
    if (!before_value(w))
        return;
    puts_(w, v ? "true" : "false");
}

void nbcl_json_null(nbcl_json *w)
{
    if (!before_value(w))
        return;
    puts_(w, "null");
}

void nbcl_json_kstr(nbcl_json *w, const char *key, const char *s)
{
    nbcl_json_key(w, key);
    nbcl_json_str(w, s);
}

void nbcl_json_knum(nbcl_json *w, const char *key, double v)
{
    nbcl_json_key(w, key);
    nbcl_json_num(w, v);
}

void nbcl_json_kint(nbcl_json *w, const char *key, long long v)
{
    nbcl_json_key(w, key);
    nbcl_json_int(w, v);
}

void nbcl_json_kuint(nbcl_json *w, const char *key, uint64_t v)
{
    nbcl_json_key(w, key);
    nbcl_json_uint(w, v);
}

void nbcl_json_kbool(nbcl_json *w, const char *key, int v)
{
    nbcl_json_key(w, key);
    nbcl_json_bool(w, v);
}

void nbcl_json_knull(nbcl_json *w, const char *key)
{
    nbcl_json_key(w, key);
    nbcl_json_null(w);
}

/* ------------------------------------------------------------------ output */
nbcl_status nbcl_json_write_file(const nbcl_json *w, const char *path, char *err, size_t errlen)
{
    if (!w || w->failed) {
        if (err && errlen)
            snprintf(err, errlen, "%s: JSON writer failed (out of memory or misuse)",
                     path ? path : "(null)");
        return NBCL_INVALID_ARGUMENT;
    }
    nbcl_outfile *f = NULL;
    nbcl_status st = nbcl_outfile_open(path, &f, err, errlen);
    if (st != NBCL_OK)
        return st;
    st = nbcl_outfile_write(f, w->buf, w->len, err, errlen);
    if (st == NBCL_OK)
        st = nbcl_outfile_write(f, "\n", 1, err, errlen);
    if (st != NBCL_OK) {
        nbcl_outfile_abort(f);
        return st;
    }
    return nbcl_outfile_commit(f, err, errlen);
}
