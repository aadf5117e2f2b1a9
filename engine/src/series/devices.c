/* Several devices for one series: "-device all" or a comma list of device specs. */
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
