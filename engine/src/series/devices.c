/* Several devices for one series: "-device all" or a comma list of device specs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nbcl_internal.h"

nbcl_status nbcl_device_find_list(const char *spec, nbcl_device_info *out, size_t cap,
                                  size_t *count, char *err, size_t errlen)
{
    *count = 0;
    if (spec && strcasecmp(spec, "all") == 0) {
        size_t n = 0;
        nbcl_status st = nbcl_device_list(out, cap, &n);
        if (st != NBCL_OK || n == 0) {
            nbcl__errf(err, errlen, "-device all: no OpenCL devices found");
            return NBCL_NO_DEVICE;
        }
        *count = n < cap ? n : cap;
        return NBCL_OK;
    }
    if (!spec || !*spec) {
        nbcl__errf(err, errlen, "-device: empty device list");
        return NBCL_INVALID_ARGUMENT;
    }
    const char *p = spec;
    while (1) {
        size_t len = strcspn(p, ",");
        char one[256];
        if (len == 0 || len >= sizeof one) {
            nbcl__errf(err, errlen, "-device '%s': %s entry in the list", spec,
                       len == 0 ? "empty" : "too long an");
            return NBCL_INVALID_ARGUMENT;
        }
        memcpy(one, p, len);
        one[len] = 0;
        if (*count >= cap) {
            nbcl__errf(err, errlen, "-device '%s': more than %zu devices", spec, cap);
            return NBCL_INVALID_ARGUMENT;
        }
        nbcl_device_info *d = &out[*count];
        char e2[1024];
        nbcl_status st = nbcl_device_find(one, d, e2, sizeof e2);
        if (st != NBCL_OK) {
            nbcl__errf(err, errlen, "-device '%s': entry '%s': %s", spec, one, e2);
            return st;
        }
        for (size_t i = 0; i < *count; i++)
            if (out[i].platform_index == d->platform_index &&
                out[i].device_index == d->device_index) {
                nbcl__errf(err, errlen, "-device '%s': entry '%s' repeats device %u:%u (%s)", spec,
                           one, d->platform_index, d->device_index, d->device_name);
                return NBCL_INVALID_ARGUMENT;
            }
        (*count)++;
        if (!p[len])
            break;
        p += len + 1;
    }
    return NBCL_OK;
}

nbcl_status nbcl_engine_create_list(const nbcl_engine_opts *opts, nbcl_engine **out, size_t cap,
                                    size_t *count, char *err, size_t errlen)
{
    *count = 0;
    if (!opts || !out || cap == 0) {
        nbcl__errf(err, errlen, "nbcl_engine_create_list: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    const char *spec = opts->device;
    if (!spec || (!strchr(spec, ',') && strcasecmp(spec, "all") != 0)) {
        nbcl_status st = nbcl_engine_create(opts, &out[0], err, errlen);
        *count = st == NBCL_OK;
        return st;
    }
    nbcl_device_info *d = calloc(cap, sizeof *d);
    if (!d) {
        nbcl__errf(err, errlen, "out of memory");
        return NBCL_OUT_OF_MEMORY;
    }
    size_t n = 0;
    nbcl_status st = nbcl_device_find_list(spec, d, cap, &n, err, errlen);
    nbcl_engine_opts one = *opts;
    for (size_t i = 0; st == NBCL_OK && i < n; i++) {
        char pd[32];
        snprintf(pd, sizeof pd, "%u:%u", d[i].platform_index, d[i].device_index);
        one.device = pd;
        st = nbcl_engine_create(&one, &out[i], err, errlen);
        if (st == NBCL_OK)
            (*count)++;
    }
    free(d);
    if (st != NBCL_OK) { /* all or none */
        for (size_t i = 0; i < *count; i++)
            nbcl_engine_destroy(out[i]);
        *count = 0;
    }
    return st;
}
