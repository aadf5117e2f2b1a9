/* nbcl_host_info_query (nbcl.h): host (OS, kernel, CPU, memory), the OpenCL ICD loader, CLBlast,
 * the engine build. Every probe is best effort: a missing fact is an empty string or 0. The JSON
 * printers of these facts belong to the programs (cli/envjson.c). */
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS 1 /* clGetExtensionFunctionAddress, see icd_loader() */
#include "nbcl_internal.h"

#include <clblast_c.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef NBCL_C_COMPILER
#define NBCL_C_COMPILER "unknown"
#endif
#ifndef NBCL_BUILD_TYPE
#define NBCL_BUILD_TYPE ""
#endif

/* ocl-icd's loader query (ocl_icd.h is not installed by Debian's ocl-icd-opencl-dev) */
typedef enum { NBCL_ICDL_OCL_VERSION = 1, NBCL_ICDL_VERSION = 2, NBCL_ICDL_NAME = 3,
               NBCL_ICDL_VENDOR = 4 } nbcl_icdl_info;
typedef cl_int (*nbcl_icdl_fn)(nbcl_icdl_info, size_t, void *, size_t *);

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

/* truncating copy (cap >= 1), blanks trimmed */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    trim(dst);
}

/* value of `key=` in /etc/os-release, unquoted */
static void os_release(char *dst, size_t cap)
{
    dst[0] = '\0';
    FILE *f = fopen("/etc/os-release", "r");
    if (!f)
        f = fopen("/usr/lib/os-release", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *v = line + 12;
        trim(v);
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            v++;
        }
        copy_str(dst, cap, v);
        break;
    }
    fclose(f);
}

static void cpuinfo(nbcl_host_info *h)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[1024];
    /* distinct (physical id, core id) pairs, bounded table */
    enum { MAXC = 4096 };
    int pairs[MAXC][2];
    size_t npairs = 0;
    int phys = -1, core = -1;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) {
            /* blank line ends one processor block */
            if (phys >= 0 && core >= 0) {
                size_t i;
                for (i = 0; i < npairs; i++)
                    if (pairs[i][0] == phys && pairs[i][1] == core)
                        break;
                if (i == npairs && npairs < MAXC) {
                    pairs[npairs][0] = phys;
                    pairs[npairs][1] = core;
                    npairs++;
                }
            }
            phys = core = -1;
            continue;
        }
        *colon = '\0';
        char *key = line, *val = colon + 1;
        trim(key);
        trim(val);
        if (!h->cpu_model[0] && (strcmp(key, "model name") == 0 || strcmp(key, "Model") == 0 ||
                                 strcmp(key, "cpu model") == 0))
            copy_str(h->cpu_model, sizeof h->cpu_model, val);
        else if (strcmp(key, "physical id") == 0)
            phys = atoi(val);
        else if (strcmp(key, "core id") == 0)
            core = atoi(val);
    }
    if (phys >= 0 && core >= 0 && npairs < MAXC) {
        size_t i;
        for (i = 0; i < npairs; i++)
            if (pairs[i][0] == phys && pairs[i][1] == core)
                break;
        if (i == npairs)
            npairs++;
    }
    fclose(f);
    h->physical_cores = (unsigned)npairs;
}

static void meminfo(nbcl_host_info *h)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            unsigned long long kb = 0;
            if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
                h->mem_total_bytes = (uint64_t)kb * 1024u;
            else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                h->mem_available_bytes = (uint64_t)kb * 1024u;
        }
        fclose(f);
    }
    if (!h->mem_total_bytes) {
        struct sysinfo si;
        if (sysinfo(&si) == 0) {
            h->mem_total_bytes = (uint64_t)si.totalram * si.mem_unit;
            h->mem_available_bytes = (uint64_t)si.freeram * si.mem_unit;
        }
    }
}

static void icd_loader(nbcl_host_info *h)
{
    /* ocl-icd answers clGetExtensionFunctionAddress for its own query function; the Khronos
     * loader has no equivalent, so the fields stay empty there */
    nbcl_icdl_fn fn = (nbcl_icdl_fn)(void (*)(void))clGetExtensionFunctionAddress(
        "clGetICDLoaderInfoOCLICD");
    if (fn) {
        struct { nbcl_icdl_info what; char *dst; size_t cap; } q[] = {
            {NBCL_ICDL_NAME, h->icd_loader_name, sizeof h->icd_loader_name},
            {NBCL_ICDL_VENDOR, h->icd_loader_vendor, sizeof h->icd_loader_vendor},
            {NBCL_ICDL_VERSION, h->icd_loader_version, sizeof h->icd_loader_version},
            {NBCL_ICDL_OCL_VERSION, h->icd_loader_ocl_version, sizeof h->icd_loader_ocl_version},
        };
        for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
            char tmp[512] = "";
            size_t got = 0;
            if (fn(q[i].what, sizeof tmp - 1, tmp, &got) == CL_SUCCESS) {
                tmp[sizeof tmp - 1] = '\0';
                copy_str(q[i].dst, q[i].cap, tmp);
            }
        }
    }
    /* which libOpenCL file is mapped */
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "/libOpenCL");
        if (!p)
            continue;
        char *start = strchr(line, '/');
        if (start) {
            copy_str(h->icd_loader_path, sizeof h->icd_loader_path, start);
            break;
        }
    }
    fclose(f);
}

void nbcl_host_info_query(nbcl_host_info *h)
{
    if (!h)
        return;
    memset(h, 0, sizeof *h);
    os_release(h->os_name, sizeof h->os_name);
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(h->kernel, sizeof h->kernel, "%s %s %s %s", u.sysname, u.release, u.version,
                 u.machine);
        copy_str(h->hostname, sizeof h->hostname, u.nodename);
    }
    cpuinfo(h);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    h->logical_cpus = n > 0 ? (unsigned)n : 0;
    meminfo(h);
    icd_loader(h);
    snprintf(h->clblast_version, sizeof h->clblast_version, "%d.%d.%d", CLBLAST_VERSION_MAJOR,
             CLBLAST_VERSION_MINOR, CLBLAST_VERSION_PATCH);
    copy_str(h->engine_version, sizeof h->engine_version, nbcl_version());
    copy_str(h->engine_git_sha, sizeof h->engine_git_sha, nbcl_git_sha());
    copy_str(h->engine_compiler, sizeof h->engine_compiler, NBCL_C_COMPILER);
    copy_str(h->engine_build_type, sizeof h->engine_build_type, NBCL_BUILD_TYPE);
}
