/* The environment, read in one place. nbcl_env_options_read() is the library's one reader of
 * NBCL_* (and of XDG_CACHE_HOME and HOME, for the cache directory): one table gives each variable
 * its kind, its allowed values and its field of nbcl_env_options; an unknown value is refused
 * naming the variable and its values (a typo such as NBCL_KERNEL=vector used to be ignored
 * silently). Everything else in the library takes the filled options (an engine keeps a copy),
 * never the environment; tests/CMakeLists.txt's lib_getenv_one_reader fails when getenv appears
 * anywhere else in engine/src. An empty value means unset. */
#include <stddef.h>
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
    const int *map;    /* ENV_WORDS: the field's value for each word (NULL: the word's index) */
    size_t off;        /* the field of nbcl_env_options */
} env_def;

static const int CACHE_MAP[] = {NBCL_CACHE_AUTO, NBCL_CACHE_ON, NBCL_CACHE_OFF,
                                NBCL_CACHE_ON,   NBCL_CACHE_OFF, NBCL_CACHE_ON,
                                NBCL_CACHE_OFF,  NBCL_CACHE_ON,  NBCL_CACHE_OFF};

#define F(field) offsetof(nbcl_env_options, field)
static const env_def ENV[] = {
    {"NBCL_DEVICE", ENV_TEXT, NULL, NULL, F(device)},
    {"NBCL_CACHE", ENV_WORDS, "auto on off 1 0 yes no true false", CACHE_MAP, F(cache)},
    {"NBCL_CACHE_DIR", ENV_TEXT, NULL, NULL, F(cache_dir)},
    {"XDG_CACHE_HOME", ENV_TEXT, NULL, NULL, F(xdg_cache_home)},
    {"HOME", ENV_TEXT, NULL, NULL, F(home)},
    {"NBCL_KERNEL_DIR", ENV_TEXT, NULL, NULL, F(kernel_dir)},
    {"NBCL_BUILD_OPTIONS", ENV_TEXT, NULL, NULL, F(build_options)},
    {"NBCL_KERNEL", ENV_WORDS, "scalar simd", NULL, F(kernel)},
    {"NBCL_STATS", ENV_WORDS, "device host", NULL, F(stats)},
    {"NBCL_HOST_THREADS", ENV_COUNT, NULL, NULL, F(host_threads)},
    {"NBCL_ZERO_COPY", ENV_WORDS, "0 1", NULL, F(zero_copy)},
    {"NBCL_TIMING", ENV_WORDS, "0 1", NULL, F(timing)},
    {"NBCL_VERBOSE", ENV_WORDS, "0 1", NULL, F(verbose)},
    {"NBCL_LAUNCH_SECONDS", ENV_SECONDS, NULL, NULL, F(launch_seconds)},
    {"NBCL_BATCH", ENV_COUNT, NULL, NULL, F(batch)},
};
#undef F
#define NENV (sizeof ENV / sizeof ENV[0])

void nbcl_env_options_init(nbcl_env_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->cache = NBCL_CACHE_AUTO;
    o->kernel = -1;
    o->stats = -1;
    o->zero_copy = -1;
    o->launch_seconds = -1.0;
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

/* a number of seconds from 0 to one day */
static int parse_seconds(const char *v, double *out)
{
    char *end = NULL;
    double t = strtod(v, &end);
    if (end == v || *end || !(t >= 0.0 && t <= 86400.0))
        return 0;
    *out = t;
    return 1;
}

/* one variable into its field: 0 and the message when its value is not one of the allowed */
static int read_one(const env_def *d, nbcl_env_options *o, char *err, size_t errlen)
{
    const char *v = getenv(d->name);
    if (!v || !*v)
        return 1;
    char *field = (char *)o + d->off;
    long n;
    double t;
    int idx;
    switch (d->kind) {
    case ENV_TEXT:
        memcpy(field, &v, sizeof v);
        return 1;
    case ENV_SECONDS:
        if (parse_seconds(v, &t)) {
            memcpy(field, &t, sizeof t);
            return 1;
        }
        nbcl__errf(err, errlen, "%s='%.200s': expected a number of seconds from 0 to 86400 "
                                "(or unset)", d->name, v);
        return 0;
    case ENV_COUNT:
        if (parse_count(v, &n)) {
            memcpy(field, &n, sizeof n);
            return 1;
        }
        nbcl__errf(err, errlen, "%s='%.200s': expected an integer >= 1 (or unset)", d->name, v);
        return 0;
    case ENV_WORDS:
        idx = word_index(d->words, v);
        if (idx >= 0) {
            int val = d->map ? d->map[idx] : idx;
            memcpy(field, &val, sizeof val);
            return 1;
        }
        break;
    }
    char list[128];
    snprintf(list, sizeof list, "%s", d->words);
    for (char *p = list; *p; p++)
        if (*p == ' ')
            *p = '|';
    nbcl__errf(err, errlen, "%s='%.200s': expected %s (or unset)", d->name, v, list);
    return 0;
}

nbcl_status nbcl_env_options_read(nbcl_env_options *o, char *err, size_t errlen)
{
    nbcl_env_options tmp;
    if (!o)
        o = &tmp;
    nbcl_env_options_init(o);
    nbcl_status st = NBCL_OK;
    for (size_t i = 0; i < NENV; i++)
        if (!read_one(&ENV[i], o, st == NBCL_OK ? err : NULL, errlen) && st == NBCL_OK)
            st = NBCL_INVALID_ARGUMENT; /* the first bad one is reported */
    return st;
}

nbcl_status nbcl_env_check(char *err, size_t errlen)
{
    return nbcl_env_options_read(NULL, err, errlen);
}

/* NBCL_MODULE_DIR, the folder the module loader tries first (core/module.c): read at the first
 * load of each module, as modules are process-wide and take no options; NULL when unset or
 * empty */
const char *nbcl__env_module_dir(void)
{
    const char *v = getenv("NBCL_MODULE_DIR");
    return v && *v ? v : NULL;
}
