/* The NBCL_* environment variables in one table: each variable's kind and allowed values, one
 * parser for the readers (kcache.c parses NBCL_CACHE's same words itself), and
 * nbcl_env_check(), which refuses an unknown value naming
 * the variable and its values (a typo such as NBCL_KERNEL=vector used to be ignored silently).
 * Values are read when used, not cached, so a program (or a test) may change them between
 * calls; an empty value means unset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nbcl_internal.h"

typedef enum { ENV_TEXT, ENV_WORDS, ENV_COUNT, ENV_SECONDS } env_kind;

typedef struct env_def {
    const char *name;
    env_kind kind;
    const char *words; /* ENV_WORDS: the allowed values, space-separated, case-insensitive */
} env_def;

static const env_def ENV[] = {
    {"NBCL_DEVICE", ENV_TEXT, NULL},
    {"NBCL_CACHE", ENV_WORDS, "auto on off 1 0 yes no true false"},
    {"NBCL_CACHE_DIR", ENV_TEXT, NULL},
    {"NBCL_KERNEL_DIR", ENV_TEXT, NULL},
    {"NBCL_BUILD_OPTIONS", ENV_TEXT, NULL},
    {"NBCL_KERNEL", ENV_WORDS, "scalar simd"},
    {"NBCL_STATS", ENV_WORDS, "device host"},
    {"NBCL_HOST_THREADS", ENV_COUNT, NULL},
    {"NBCL_ZERO_COPY", ENV_WORDS, "0 1"},
    {"NBCL_TIMING", ENV_WORDS, "0 1"},
    {"NBCL_VERBOSE", ENV_WORDS, "0 1"},
    {"NBCL_LAUNCH_SECONDS", ENV_SECONDS, NULL}, /* read by render.c */
    {"NBCL_BATCH", ENV_COUNT, NULL},            /* frames per launch, read by render.c */
};
#define NENV (sizeof ENV / sizeof ENV[0])

static const env_def *find(const char *name)
{
    for (size_t i = 0; i < NENV; i++)
        if (strcmp(ENV[i].name, name) == 0)
            return &ENV[i];
    return NULL;
}

/* index of value in the space-separated list words, -1 when absent */
static int word_index(const char *words, const char *value)
{
    size_t n = strlen(value);
    int idx = 0;
    for (const char *p = words; *p; idx++) {
        size_t len = strcspn(p, " ");
        if (len == n && strncasecmp(p, value, n) == 0)
            return idx;
        p += len;
        while (*p == ' ')
            p++;
    }
    return -1;
}

static int parse_count(const char *v, long *out)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < 1)
        return 0;
    *out = n;
    return 1;
}

/* a number of seconds from 0 to one day (NBCL_LAUNCH_SECONDS, read by render.c through
 * nbcl__env_seconds) */
static int parse_seconds(const char *v)
{
    char *end = NULL;
    double t = strtod(v, &end);
    return end != v && !*end && t >= 0.0 && t <= 86400.0;
}

int nbcl__env_seconds(const char *name, double *out)
{
    const char *v = nbcl_env_text(name);
    if (!v)
        return 0;
    if (!parse_seconds(v))
        return -1;
    *out = strtod(v, NULL);
    return 1;
}

const char *nbcl_env_text(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int nbcl_env_word(const char *name)
{
    const env_def *d = find(name);
    const char *v = nbcl_env_text(name);
    if (!d || d->kind != ENV_WORDS || !v)
        return -1;
    return word_index(d->words, v);
}

long nbcl_env_count(const char *name)
{
    long n = 0;
    const char *v = nbcl_env_text(name);
    return v && parse_count(v, &n) ? n : 0;
}

nbcl_status nbcl_env_check(char *err, size_t errlen)
{
    for (size_t i = 0; i < NENV; i++) {
        const env_def *d = &ENV[i];
        const char *v = nbcl_env_text(d->name);
        long n;
        if (!v || d->kind == ENV_TEXT)
            continue;
        if (d->kind == ENV_SECONDS && !parse_seconds(v)) {
            if (err && errlen)
                snprintf(err, errlen, "%s='%.200s': expected a number of seconds from 0 to 86400 "
                                      "(or unset)", d->name, v);
            return NBCL_INVALID_ARGUMENT;
        }
        if (d->kind == ENV_COUNT && !parse_count(v, &n)) {
            if (err && errlen)
                snprintf(err, errlen, "%s='%.200s': expected an integer >= 1 (or unset)", d->name,
                         v);
            return NBCL_INVALID_ARGUMENT;
        }
        if (d->kind == ENV_WORDS && word_index(d->words, v) < 0) {
            char list[128];
            snprintf(list, sizeof list, "%s", d->words);
            for (char *p = list; *p; p++)
                if (*p == ' ')
                    *p = '|';
            if (err && errlen)
                snprintf(err, errlen, "%s='%.200s': expected %s (or unset)", d->name, v, list);
            return NBCL_INVALID_ARGUMENT;
        }
    }
    return NBCL_OK;
}
