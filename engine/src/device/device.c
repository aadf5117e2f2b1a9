/* Device enumeration, facts and spec resolution. */
#include "nbcl_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

/* one enumerated device */
typedef struct nbcl_dev_ref {
    cl_platform_id platform;
    cl_device_id device;
    unsigned pi, di;
} nbcl_dev_ref;

/* Copy a string info value into dst (always NUL-terminated, truncated, surrounding blanks
 * trimmed: some drivers pad device names). */
static void nbcl_copy_trimmed(char *dst, size_t cap, const char *src)
{
    while (*src && isspace((unsigned char)*src))
        src++;
    size_t n = strlen(src);
    while (n > 0 && isspace((unsigned char)src[n - 1]))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void nbcl_dev_str(cl_device_id d, cl_device_info param, char *dst, size_t cap)
{
    size_t n = 0;
    dst[0] = '\0';
    if (clGetDeviceInfo(d, param, 0, NULL, &n) != CL_SUCCESS || n == 0)
        return;
    char *tmp = malloc(n + 1);
    if (!tmp)
        return;
    if (clGetDeviceInfo(d, param, n, tmp, NULL) == CL_SUCCESS) {
        tmp[n] = '\0';
        nbcl_copy_trimmed(dst, cap, tmp);
    }
    free(tmp);
}

static void nbcl_plat_str(cl_platform_id p, cl_platform_info param, char *dst, size_t cap)
{
    size_t n = 0;
    dst[0] = '\0';
    if (clGetPlatformInfo(p, param, 0, NULL, &n) != CL_SUCCESS || n == 0)
        return;
    char *tmp = malloc(n + 1);
    if (!tmp)
        return;
    if (clGetPlatformInfo(p, param, n, tmp, NULL) == CL_SUCCESS) {
        tmp[n] = '\0';
        nbcl_copy_trimmed(dst, cap, tmp);
    }
    free(tmp);
}

static cl_ulong nbcl_dev_ulong(cl_device_id d, cl_device_info param)
{
    cl_ulong v = 0;
    if (clGetDeviceInfo(d, param, sizeof v, &v, NULL) != CL_SUCCESS)
        v = 0;
    return v;
}

static cl_uint nbcl_dev_uint(cl_device_id d, cl_device_info param)
{
    cl_uint v = 0;
    if (clGetDeviceInfo(d, param, sizeof v, &v, NULL) != CL_SUCCESS)
        v = 0;
    return v;
}

void nbcl__device_query(cl_platform_id p, cl_device_id d, unsigned pi, unsigned di,
                        nbcl_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->platform_index = pi;
    info->device_index = di;
    nbcl_plat_str(p, CL_PLATFORM_NAME, info->platform_name, sizeof info->platform_name);
    nbcl_plat_str(p, CL_PLATFORM_VENDOR, info->platform_vendor, sizeof info->platform_vendor);
    nbcl_plat_str(p, CL_PLATFORM_VERSION, info->platform_version, sizeof info->platform_version);
    nbcl_dev_str(d, CL_DEVICE_NAME, info->device_name, sizeof info->device_name);
    {
        const char *n = info->device_name;
        if (strncmp(n, "pthread-", 8) == 0)
            n += 8;
        snprintf(info->device_name_normalised, sizeof info->device_name_normalised, "%s", n);
    }
    nbcl_dev_str(d, CL_DEVICE_VENDOR, info->device_vendor, sizeof info->device_vendor);
    info->device_vendor_id = nbcl_dev_uint(d, CL_DEVICE_VENDOR_ID);

    cl_device_type type = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
        type = 0;
    const char *tname = (type & CL_DEVICE_TYPE_GPU)           ? "GPU"
                        : (type & CL_DEVICE_TYPE_CPU)         ? "CPU"
                        : (type & CL_DEVICE_TYPE_ACCELERATOR) ? "ACCELERATOR"
                                                              : "OTHER";
    snprintf(info->device_type, sizeof info->device_type, "%s", tname);

    nbcl_dev_str(d, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version);
    nbcl_dev_str(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    nbcl_dev_str(d, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version,
                 sizeof info->opencl_c_version);
    info->compute_units = nbcl_dev_uint(d, CL_DEVICE_MAX_COMPUTE_UNITS);
    info->clock_mhz = nbcl_dev_uint(d, CL_DEVICE_MAX_CLOCK_FREQUENCY);
    info->global_mem_bytes = (uint64_t)nbcl_dev_ulong(d, CL_DEVICE_GLOBAL_MEM_SIZE);
    info->local_mem_bytes = (uint64_t)nbcl_dev_ulong(d, CL_DEVICE_LOCAL_MEM_SIZE);
    info->max_alloc_bytes = (uint64_t)nbcl_dev_ulong(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    size_t wg = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL) != CL_SUCCESS)
        wg = 0;
    info->max_work_group_size = wg;
    cl_device_fp_config fp64 = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL) != CL_SUCCESS)
        fp64 = 0;
    info->has_fp64 = fp64 != 0;
    nbcl_dev_str(d, CL_DEVICE_EXTENSIONS, info->extensions, sizeof info->extensions);
}

/* Enumerate every device of every platform (platform order, then device order). *refs is
 * malloc'ed (NULL when none). A missing ICD is zero devices, not an error. */
static nbcl_status nbcl_enumerate(nbcl_dev_ref **refs, size_t *count, char *err, size_t errlen)
{
    *refs = NULL;
    *count = 0;
    cl_uint np = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &np);
    if (rc == CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && np == 0))
        return NBCL_OK;
    if (rc != CL_SUCCESS) {
        nbcl__errf(err, errlen, "clGetPlatformIDs: %s", nbcl__cl_error_name(rc));
        return NBCL_CL_ERROR;
    }
    cl_platform_id *plats = calloc(np, sizeof *plats);
    if (!plats) {
        nbcl__errf(err, errlen, "out of host memory enumerating OpenCL platforms");
        return NBCL_OUT_OF_MEMORY;
    }
    rc = clGetPlatformIDs(np, plats, NULL);
    if (rc != CL_SUCCESS) {
        free(plats);
        if (rc == CL_PLATFORM_NOT_FOUND_KHR)
            return NBCL_OK;
        nbcl__errf(err, errlen, "clGetPlatformIDs: %s", nbcl__cl_error_name(rc));
        return NBCL_CL_ERROR;
    }
    nbcl_status st = NBCL_OK;
    nbcl_dev_ref *out = NULL;
    size_t n = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        rc = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
        if (rc != CL_SUCCESS || nd == 0)
            continue; /* CL_DEVICE_NOT_FOUND: an empty platform */
        cl_device_id *devs = calloc(nd, sizeof *devs);
        nbcl_dev_ref *grown = realloc(out, (n + nd) * sizeof *out);
        if (!devs || !grown) {
            free(devs);
            if (grown)
                out = grown;
            nbcl__errf(err, errlen, "out of host memory enumerating OpenCL devices");
            st = NBCL_OUT_OF_MEMORY;
            break;
        }
        out = grown;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL) == CL_SUCCESS) {
            for (cl_uint d = 0; d < nd; d++) {
                out[n].platform = plats[p];
                out[n].device = devs[d];
                out[n].pi = p;
                out[n].di = d;
                n++;
            }
        }
        free(devs);
    }
    free(plats);
    if (st != NBCL_OK) {
        free(out);
        return st;
    }
    *refs = out;
    *count = n;
    return NBCL_OK;
}

nbcl_status nbcl_device_list(nbcl_device_info *out, size_t cap, size_t *count)
{
    if (!count || (cap > 0 && !out))
        return NBCL_INVALID_ARGUMENT;
    *count = 0;
    nbcl_dev_ref *refs = NULL;
    size_t n = 0;
    nbcl_status st = nbcl_enumerate(&refs, &n, NULL, 0);
    if (st != NBCL_OK)
        return st;
    for (size_t i = 0; i < n && i < cap; i++)
        nbcl__device_query(refs[i].platform, refs[i].device, refs[i].pi, refs[i].di, &out[i]);
    *count = n;
    free(refs);
    return NBCL_OK;
}

/* case-insensitive substring test (strcasestr is a GNU extension); a NULL haystack holds
 * nothing, an empty needle is in every other */
int nbcl__icontains(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    if (!hay)
        return 0;
    if (nl == 0)
        return 1;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < nl && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl)
            return 1;
    }
    return 0;
}

static int nbcl_iequal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static cl_device_type nbcl_ref_type(const nbcl_dev_ref *r)
{
    cl_device_type t = 0;
    if (clGetDeviceInfo(r->device, CL_DEVICE_TYPE, sizeof t, &t, NULL) != CL_SUCCESS)
        t = 0;
    return t;
}

/* "P:D" with decimal indices; returns 1 on a well-formed spec */
static int nbcl_parse_pd(const char *s, unsigned *p, unsigned *d)
{
    const char *c = strchr(s, ':');
    if (!c || c == s || !c[1])
        return 0;
    for (const char *q = s; *q; q++)
        if (q != c && !isdigit((unsigned char)*q))
            return 0;
    char *end = NULL;
    unsigned long pv = strtoul(s, &end, 10);
    if (end != c)
        return 0;
    unsigned long dv = strtoul(c + 1, &end, 10);
    if (*end || pv > 0xffffu || dv > 0xffffu)
        return 0;
    *p = (unsigned)pv;
    *d = (unsigned)dv;
    return 1;
}

/* Append "  P:D name (platform) [TYPE]" lines for every device to err. */
static void nbcl_list_into(char *err, size_t errlen, const nbcl_dev_ref *refs, size_t n)
{
    if (!err || errlen == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(err);
        if (used + 1 >= errlen)
            return;
        nbcl_device_info info;
        nbcl__device_query(refs[i].platform, refs[i].device, refs[i].pi, refs[i].di, &info);
        /* one line: callers print the message as a single error line */
        snprintf(err + used, errlen - used, "%s %u:%u %s (%s) [%s]", i ? ";" : "",
                 info.platform_index, info.device_index, info.device_name, info.platform_name,
                 info.device_type);
    }
}

nbcl_status nbcl__device_resolve(const char *spec, const char *env_device, cl_platform_id *platform,
                                 cl_device_id *device, nbcl_device_info *info, char *err,
                                 size_t errlen)
{
    const char *from = "";
    if (!spec || !*spec) {
        if (env_device && *env_device) {
            spec = env_device;
            from = " (from NBCL_DEVICE)";
        } else {
            spec = NULL;
        }
    }
    nbcl_dev_ref *refs = NULL;
    size_t n = 0;
    nbcl_status st = nbcl_enumerate(&refs, &n, err, errlen);
    if (st != NBCL_OK)
        return st;
    if (n == 0) {
        nbcl__errf(err, errlen,
                   "no OpenCL device found: no platform is installed or none has a device "
                   "(check the ICD files in /etc/OpenCL/vendors or OCL_ICD_VENDORS)");
        return NBCL_NO_DEVICE;
    }

    long pick = -1;
    if (!spec) {
        static const cl_device_type order[] = {CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_CPU};
        for (size_t k = 0; k < 2 && pick < 0; k++)
            for (size_t i = 0; i < n && pick < 0; i++)
                if (nbcl_ref_type(&refs[i]) & order[k])
                    pick = (long)i;
        if (pick < 0)
            pick = 0;
    } else if (nbcl_iequal(spec, "cpu") || nbcl_iequal(spec, "gpu")) {
        cl_device_type want = nbcl_iequal(spec, "cpu") ? CL_DEVICE_TYPE_CPU : CL_DEVICE_TYPE_GPU;
        for (size_t i = 0; i < n && pick < 0; i++)
            if (nbcl_ref_type(&refs[i]) & want)
                pick = (long)i;
    } else {
        unsigned p = 0, d = 0;
        if (nbcl_parse_pd(spec, &p, &d)) {
            for (size_t i = 0; i < n && pick < 0; i++)
                if (refs[i].pi == p && refs[i].di == d)
                    pick = (long)i;
        } else {
            for (size_t i = 0; i < n && pick < 0; i++) {
                nbcl_device_info tmp;
                nbcl__device_query(refs[i].platform, refs[i].device, refs[i].pi, refs[i].di,
                                   &tmp);
                if (nbcl__icontains(tmp.device_name, spec) ||
                    nbcl__icontains(tmp.platform_name, spec))
                    pick = (long)i;
            }
        }
    }

    if (pick < 0) {
        nbcl__errf(err, errlen, "no OpenCL device matches \"%s\"%s; available devices:", spec,
                   from);
        nbcl_list_into(err, errlen, refs, n);
        free(refs);
        return NBCL_NO_DEVICE;
    }
    if (platform)
        *platform = refs[pick].platform;
    if (device)
        *device = refs[pick].device;
    if (info)
        nbcl__device_query(refs[pick].platform, refs[pick].device, refs[pick].pi, refs[pick].di,
                           info);
    free(refs);
    return NBCL_OK;
}

nbcl_status nbcl_device_find(const char *spec, nbcl_device_info *out, char *err, size_t errlen)
{
    if (!out) {
        nbcl__errf(err, errlen, "nbcl_device_find: out is NULL");
        return NBCL_INVALID_ARGUMENT;
    }
    nbcl__errf(err, errlen, "%s", "");
    nbcl_env_options env; /* no options to carry NBCL_DEVICE here: read it (only it is used) */
    (void)nbcl_env_options_read(&env, NULL, 0);
    return nbcl__device_resolve(spec, env.device, NULL, NULL, out, err, errlen);
}
