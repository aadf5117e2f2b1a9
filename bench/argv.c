/* nbcl-bench: argument vectors of cases and their shell-quoted command lines. */
#include "bench.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void bench_argv_free(bench_argv *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    a->argc = 0;
}

int bench_argv_push(bench_argv *a, const char *s)
{
    if (a->argc >= BENCH_MAX_ARGS - 1)
        return 0;
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (!c)
        return 0;
    memcpy(c, s, n);
    a->argv[a->argc++] = c;
    a->argv[a->argc] = NULL;
    return 1;
}

static void append_quoted(char **buf, size_t *len, size_t *cap, const char *s)
{
    int plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("-_./:=+,@%", *p)))
            plain = 0;
    size_t need = strlen(s) * 4 + 4;
    if (*len + need + 1 > *cap) {
        size_t nc = (*cap + need + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return;
        *buf = nb;
        *cap = nc;
    }
    char *o = *buf + *len;
    if (plain) {
        o += sprintf(o, "%s", s);
    } else {
        *o++ = '\'';
        for (const char *p = s; *p; p++) {
            if (*p == '\'') {
                memcpy(o, "'\\''", 4);
                o += 4;
            } else {
                *o++ = *p;
            }
        }
        *o++ = '\'';
        *o = '\0';
    }
    *len = (size_t)(o - *buf);
}

char *bench_argv_cmdline(const char *prog, const bench_argv *a, const char *extra)
{
    size_t len = 0, cap = 256;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    append_quoted(&buf, &len, &cap, prog);
    for (int i = 1; i < a->argc; i++) {
        if (len + 2 < cap) {
            buf[len++] = ' ';
            buf[len] = '\0';
        }
        append_quoted(&buf, &len, &cap, a->argv[i]);
    }
    if (extra && *extra) {
        size_t el = strlen(extra);
        char *nb = realloc(buf, len + el + 2);
        if (nb) {
            buf = nb;
            buf[len++] = ' ';
            memcpy(buf + len, extra, el + 1);
            len += el;
        }
    }
    return buf;
}
