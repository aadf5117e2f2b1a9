/* On-disk program-binary cache: <dir>/<sha256 key>.bin, atomic writes, self-healing loads. */
#include "nbcl_kcache.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int nbcl_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static int nbcl_icontains(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (; hay && *hay; hay++) {
        size_t i = 0;
        while (i < nl && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl)
            return 1;
    }
    return 0;
}

int nbcl__kcache_mode_on(nbcl_cache_mode mode, const char *env_value, const char *platform_name,
                         const char *platform_vendor)
{
    if (mode == NBCL_CACHE_ON)
        return 1;
    if (mode == NBCL_CACHE_OFF)
        return 0;
    if (env_value && *env_value) {
        if (nbcl_ieq(env_value, "on") || nbcl_ieq(env_value, "1") ||
            nbcl_ieq(env_value, "yes") || nbcl_ieq(env_value, "true"))
            return 1;
        if (nbcl_ieq(env_value, "off") || nbcl_ieq(env_value, "0") ||
            nbcl_ieq(env_value, "no") || nbcl_ieq(env_value, "false"))
            return 0;
    }
    /* auto: NVIDIA caches source builds itself. PoCL does too, but its source path still runs
     * the clang preprocessor to find its cache entry (0.3-0.4 s per process here) while loading
     * our binary takes a few ms, so our cache is on for PoCL (docs/architecture.md). */
    const char *pn = platform_name ? platform_name : "";
    const char *pv = platform_vendor ? platform_vendor : "";
    if (nbcl_icontains(pn, "NVIDIA") || nbcl_icontains(pv, "NVIDIA"))
        return 0;
    return 1;
}

int nbcl__kcache_dir(const char *opt_dir, const char *env_dir, const char *xdg, const char *home,
                     char *out, size_t outlen)
{
    int n;
    if (opt_dir && *opt_dir)
        n = snprintf(out, outlen, "%s", opt_dir);
    else if (env_dir && *env_dir)
        n = snprintf(out, outlen, "%s", env_dir);
    else if (xdg && *xdg)
        n = snprintf(out, outlen, "%s/nbcl", xdg);
    else if (home && *home)
        n = snprintf(out, outlen, "%s/.cache/nbcl", home);
    else
        n = -1;
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen)
            out[0] = '\0';
        return 0;
    }
    return 1;
}

void nbcl__kcache_key(const char *engine_version, const char *source, const char *options,
                      const nbcl_device_info *info, char out[65])
{
    const char *fields[] = {
        engine_version ? engine_version : "", source ? source : "", options ? options : "",
        info->platform_name, info->platform_vendor, info->platform_version,
        info->device_name, info->device_vendor, info->device_version,
        info->driver_version, info->opencl_c_version,
    };
    size_t nf = sizeof fields / sizeof fields[0];
    size_t total = 0;
    for (size_t i = 0; i < nf; i++)
        total += strlen(fields[i]) + 1;
    char *buf = malloc(total);
    if (!buf) {
        out[0] = '\0';
        return;
    }
    size_t pos = 0;
    for (size_t i = 0; i < nf; i++) {
        size_t l = strlen(fields[i]);
        memcpy(buf + pos, fields[i], l);
        pos += l;
        buf[pos++] = '\0';
    }
    nbcl__sha256_hex(buf, total, out);
    free(buf);
}

/* mkdir -p; returns 0 on success (the directory exists afterwards) */
static int nbcl_mkdir_p(const char *dir)
{
    char tmp[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, dir, len + 1);
    while (len > 1 && tmp[len - 1] == '/')
        tmp[--len] = '\0';
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    struct stat sb;
    if (stat(tmp, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return -1;
    return 0;
}

void nbcl__kcache_open(const nbcl_engine *e, const char *source, const char *options,
                       nbcl_kcache *kc)
{
    memset(kc, 0, sizeof *kc);
    if (!nbcl__kcache_mode_on(e->opts.cache, getenv("NBCL_CACHE"), e->info.platform_name,
                              e->info.platform_vendor)) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: off for platform \"%s\"",
                  e->info.platform_name);
        return;
    }
    if (!nbcl__kcache_dir(e->opts.cache_dir, getenv("NBCL_CACHE_DIR"), getenv("XDG_CACHE_HOME"),
                          getenv("HOME"), kc->dir, sizeof kc->dir)) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: disabled (no cache directory: set "
                                     "NBCL_CACHE_DIR, XDG_CACHE_HOME or HOME)");
        return;
    }
    if (nbcl_mkdir_p(kc->dir) != 0 || access(kc->dir, W_OK | X_OK) != 0) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: disabled (directory %s unusable: %s)",
                  kc->dir, strerror(errno));
        return;
    }
    nbcl__kcache_key(nbcl_version(), source, options, &e->info, kc->key);
    if (!kc->key[0]) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: disabled (cannot hash key)");
        return;
    }
    int n = snprintf(kc->path, sizeof kc->path, "%s/%s.bin", kc->dir, kc->key);
    if (n < 0 || (size_t)n >= sizeof kc->path) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: disabled (path too long)");
        return;
    }
    kc->enabled = 1;
}

static unsigned char *nbcl_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        sz = ftell(f);
    if (sz > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)sz);
        if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (buf)
        *len = (size_t)sz;
    return buf;
}

void nbcl__kcache_drop(const nbcl_engine *e, const nbcl_kcache *kc, const char *why)
{
    if (!kc->enabled)
        return;
    nbcl__log(e, NBCL_LOG_WARN, "kernel cache: discarding %s (%s); rebuilding from source",
              kc->path, why);
    if (unlink(kc->path) != 0 && errno != ENOENT)
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: cannot delete %s: %s", kc->path,
                  strerror(errno));
}

cl_program nbcl__kcache_load(const nbcl_engine *e, const nbcl_kcache *kc, const char *options)
{
    if (!kc->enabled)
        return NULL;
    size_t len = 0;
    unsigned char *bin = nbcl_read_all(kc->path, &len);
    if (!bin) {
        if (access(kc->path, F_OK) == 0)
            nbcl__kcache_drop(e, kc, "empty or unreadable");
        else
            nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: miss %s", kc->path);
        return NULL;
    }
    const unsigned char *bins[1] = {bin};
    cl_int bstatus = CL_SUCCESS, rc = CL_SUCCESS;
    cl_program prog =
        clCreateProgramWithBinary(e->ctx, 1, &e->device, &len, bins, &bstatus, &rc);
    free(bin);
    if (rc != CL_SUCCESS || bstatus != CL_SUCCESS || !prog) {
        char why[128];
        snprintf(why, sizeof why, "clCreateProgramWithBinary: %s",
                 nbcl__cl_error_name(rc != CL_SUCCESS ? rc : bstatus));
        if (prog)
            clReleaseProgram(prog);
        nbcl__kcache_drop(e, kc, why);
        return NULL;
    }
    rc = clBuildProgram(prog, 1, &e->device, options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        char why[128];
        snprintf(why, sizeof why, "clBuildProgram: %s", nbcl__cl_error_name(rc));
        clReleaseProgram(prog);
        nbcl__kcache_drop(e, kc, why);
        return NULL;
    }
    nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: hit %s", kc->path);
    return prog;
}

void nbcl__kcache_store(const nbcl_engine *e, const nbcl_kcache *kc, cl_program prog)
{
    if (!kc->enabled)
        return;
    cl_uint ndev = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL) != CL_SUCCESS ||
        ndev != 1) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: not storing (program has %u devices)",
                  (unsigned)ndev);
        return;
    }
    size_t size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS ||
        size == 0) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: not storing (no program binary)");
        return;
    }
    unsigned char *bin = malloc(size);
    if (!bin)
        return;
    unsigned char *bins[1] = {bin};
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: not storing (CL_PROGRAM_BINARIES failed)");
        free(bin);
        return;
    }
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", kc->dir, kc->key);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: cannot create temp file in %s: %s", kc->dir,
                  strerror(errno));
        free(bin);
        return;
    }
    size_t off = 0;
    int ok = 1;
    while (off < size) {
        ssize_t w = write(fd, bin + off, size - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            ok = 0;
            break;
        }
        off += (size_t)w;
    }
    free(bin);
    if (close(fd) != 0)
        ok = 0;
    if (ok)
        (void)chmod(tmp, 0644);
    if (!ok || rename(tmp, kc->path) != 0) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: cannot write %s: %s", kc->path,
                  strerror(errno));
        unlink(tmp);
        return;
    }
    nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: stored %s (%zu bytes)", kc->path, size);
}
