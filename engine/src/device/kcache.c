/* On-disk program-binary cache: <dir>/<sha256 key>.bin, each entry a checked header (size,
 * SHA-256) and the binary; atomic writes; a damaged entry is dropped and rebuilt. */
#define _GNU_SOURCE /* mkostemp */
#include "nbcl_kcache.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int nbcl__kcache_mode_on(nbcl_cache_mode mode, nbcl_cache_mode env_mode,
                         const char *platform_name, const char *platform_vendor)
{
    if (mode == NBCL_CACHE_AUTO) /* NBCL_CACHE (parsed by env.c) decides what the option leaves */
        mode = env_mode;
    if (mode == NBCL_CACHE_ON)
        return 1;
    if (mode == NBCL_CACHE_OFF)
        return 0;
    /* auto: NVIDIA caches source builds itself. PoCL does too, but its source path still runs
     * the clang preprocessor to find its cache entry (0.3-0.4 s per process here) while loading
     * our binary takes a few ms, so our cache is on for PoCL (docs/architecture.md). */
    const char *pn = platform_name ? platform_name : "";
    const char *pv = platform_vendor ? platform_vendor : "";
    if (nbcl__icontains(pn, "NVIDIA") || nbcl__icontains(pv, "NVIDIA"))
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

void nbcl__kcache_key(const char *engine_version, const char *source_sha256, const char *options,
                      const nbcl_device_info *info, char out[65])
{
    const char *fields[] = {
        NBCL_KCACHE_FORMAT_TAG,
        engine_version ? engine_version : "", source_sha256 ? source_sha256 : "",
        options ? options : "",
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

/* Temporary files of a store that never finished (a process killed mid-write) are never read,
 * but would pile up: those older than an hour (no store takes that long) are removed. */
#define NBCL_KCACHE_STALE_S 3600

static int kc_is_temp_name(const char *n)
{
    /* ".<64 hex digits>.XXXXXX" as nbcl__kcache_store makes them */
    if (n[0] != '.' || strlen(n) != 1 + 64 + 1 + 6 || n[65] != '.')
        return 0;
    for (int i = 1; i <= 64; i++)
        if (!isxdigit((unsigned char)n[i]))
            return 0;
    return 1;
}

static void kc_remove_stale_temps(const nbcl_engine *e, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!kc_is_temp_name(de->d_name))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode) || now - sb.st_mtime < NBCL_KCACHE_STALE_S)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: removed stale temporary %s/%s", dir,
                      de->d_name);
    }
    closedir(d);
}

void nbcl__kcache_open(const nbcl_engine *e, const char *options, nbcl_kcache *kc)
{
    memset(kc, 0, sizeof *kc);
    if (!nbcl__kcache_mode_on(e->opts.cache, (nbcl_cache_mode)e->env.cache, e->info.platform_name,
                              e->info.platform_vendor)) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: off for platform \"%s\"",
                  e->info.platform_name);
        return;
    }
    if (!nbcl__kcache_dir(e->opts.cache_dir, e->env.cache_dir, e->env.xdg_cache_home,
                          e->env.home, kc->dir, sizeof kc->dir)) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: disabled (no cache directory: set "
                                     "NBCL_CACHE_DIR, XDG_CACHE_HOME or HOME)");
        return;
    }
    if (nbcl_mkdir_p(kc->dir) != 0 || access(kc->dir, W_OK | X_OK) != 0) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: disabled (directory %s unusable: %s)",
                  kc->dir, strerror(errno));
        return;
    }
    kc_remove_stale_temps(e, kc->dir);
    /* the source through its SHA-256, made with the source on the helper thread while the
     * platform loaded (program.c): hashing the ~50 KB text again here cost ~0.15 ms */
    if (strlen(e->facts.source_sha256) != 64) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: disabled (no SHA-256 of the source)");
        return;
    }
    nbcl__kcache_key(nbcl_version(), e->facts.source_sha256, options, &e->info, kc->key);
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

/* ---- entry format: a fixed header, then the driver's binary
 *   0  8  magic "NBCLKCB\n"
 *   8  4  format version (NBCL_KCACHE_VERSION), little-endian
 *  12  4  header size (NBCL_KCACHE_HEADER), little-endian
 *  16  8  payload size in bytes, little-endian
 *  24 32  SHA-256 of the payload
 *  56 32  the entry's key (SHA-256 of the key fields), raw
 * Every header byte is checked: a damaged, truncated, extended or misplaced entry never reaches
 * clCreateProgramWithBinary (drivers crash on damaged binaries instead of failing). */
static const unsigned char kc_magic[8] = {'N', 'B', 'C', 'L', 'K', 'C', 'B', '\n'};

void nbcl__put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t nbcl__get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int hex_to_raw(const char *hex, unsigned char raw[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + j];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return 0;
        }
        raw[i] = (unsigned char)v;
    }
    return 1;
}

int nbcl__kcache_header(const char *key, const void *payload, size_t len,
                        unsigned char hdr[NBCL_KCACHE_HEADER])
{
    memset(hdr, 0, NBCL_KCACHE_HEADER);
    memcpy(hdr, kc_magic, sizeof kc_magic);
    nbcl__put_le(hdr + 8, NBCL_KCACHE_VERSION, 4);
    nbcl__put_le(hdr + 12, NBCL_KCACHE_HEADER, 4);
    nbcl__put_le(hdr + 16, (uint64_t)len, 8);
    return nbcl__sha256(payload, len, hdr + 24) && hex_to_raw(key, hdr + 56);
}

const char *nbcl__kcache_verify(const char *key, const unsigned char *entry, size_t len,
                                size_t *payload_len)
{
    unsigned char want[32], sum[32];
    if (len == 0)
        return "empty";
    if (len < NBCL_KCACHE_HEADER)
        return "shorter than its header";
    if (memcmp(entry, kc_magic, sizeof kc_magic) != 0)
        return "not an nbcl cache entry (bad magic)";
    if (nbcl__get_le(entry + 8, 4) != NBCL_KCACHE_VERSION)
        return "unknown entry format version";
    if (nbcl__get_le(entry + 12, 4) != NBCL_KCACHE_HEADER)
        return "bad header size";
    uint64_t plen = nbcl__get_le(entry + 16, 8);
    if (plen == 0 || plen != (uint64_t)(len - NBCL_KCACHE_HEADER))
        return plen < (uint64_t)(len - NBCL_KCACHE_HEADER) ? "longer than its stated size"
                                                           : "truncated (shorter than its stated size)";
    if (!hex_to_raw(key, want) || memcmp(entry + 56, want, 32) != 0)
        return "stored under another key";
    if (!nbcl__sha256(entry + NBCL_KCACHE_HEADER, (size_t)plen, sum) ||
        memcmp(entry + 24, sum, 32) != 0)
        return "checksum mismatch (damaged)";
    *payload_len = (size_t)plen;
    return NULL;
}

/* The whole entry, or NULL with *why set ("" for a plain miss). Opened without blocking and read
 * only when it is a regular file: a FIFO or device under the entry's name is refused, not waited
 * on. */
static unsigned char *kc_read_entry(const char *path, size_t *len, const char **why)
{
    *why = "";
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            *why = "cannot be opened";
        return NULL;
    }
    struct stat sb;
    unsigned char *buf = NULL;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        *why = "not a regular file";
    } else if (sb.st_size > ((off_t)1 << 30)) {
        *why = "larger than 1 GiB";
    } else if (sb.st_size == 0) {
        *why = "empty";
    } else if ((buf = malloc((size_t)sb.st_size)) == NULL) {
        *why = "out of memory";
    } else {
        size_t want = (size_t)sb.st_size, off = 0;
        while (off < want) {
            ssize_t r = read(fd, buf + off, want - off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            off += (size_t)r;
        }
        /* a file that grew or shrank while read is as suspect as a damaged one */
        unsigned char extra;
        if (off != want || read(fd, &extra, 1) != 0) {
            free(buf);
            buf = NULL;
            *why = "changed size while read";
        } else {
            *len = want;
        }
    }
    close(fd);
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
    size_t len = 0, plen = 0;
    const char *why = "";
    unsigned char *entry = kc_read_entry(kc->path, &len, &why);
    if (entry)
        why = nbcl__kcache_verify(kc->key, entry, len, &plen);
    if (!entry || why) {
        free(entry);
        if (why && *why)
            nbcl__kcache_drop(e, kc, why);
        else
            nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: miss %s", kc->path);
        return NULL;
    }
    const unsigned char *bins[1] = {entry + NBCL_KCACHE_HEADER};
    cl_int bstatus = CL_SUCCESS, rc = CL_SUCCESS;
    cl_program prog =
        clCreateProgramWithBinary(e->ctx, 1, &e->device, &plen, bins, &bstatus, &rc);
    free(entry);
    if (rc != CL_SUCCESS || bstatus != CL_SUCCESS || !prog) {
        char msg[128];
        snprintf(msg, sizeof msg, "clCreateProgramWithBinary: %s",
                 nbcl__cl_error_name(rc != CL_SUCCESS ? rc : bstatus));
        if (prog)
            clReleaseProgram(prog);
        nbcl__kcache_drop(e, kc, msg);
        return NULL;
    }
    rc = clBuildProgram(prog, 1, &e->device, options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        char msg[128];
        snprintf(msg, sizeof msg, "clBuildProgram: %s", nbcl__cl_error_name(rc));
        clReleaseProgram(prog);
        nbcl__kcache_drop(e, kc, msg);
        return NULL;
    }
    nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: hit %s", kc->path);
    return prog;
}

static int kc_write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

/* NULL when the binary loads, builds and holds as many kernels as want here; else why not */
static const char *kc_try_binary(const nbcl_engine *e, const unsigned char *bin, size_t len,
                                 const char *options, size_t want)
{
    cl_int bstatus = CL_SUCCESS, rc = CL_SUCCESS;
    cl_program prog = clCreateProgramWithBinary(e->ctx, 1, &e->device, &len, &bin, &bstatus, &rc);
    if (rc != CL_SUCCESS || bstatus != CL_SUCCESS || !prog) {
        if (prog)
            clReleaseProgram(prog);
        return "clCreateProgramWithBinary refuses it";
    }
    const char *why = NULL;
    cl_kernel ks[64];
    cl_uint n = 0;
    if (clBuildProgram(prog, 1, &e->device, options, NULL, NULL) != CL_SUCCESS) {
        why = "clBuildProgram refuses it";
    } else if (want == 0 || want > 64 ||
               clCreateKernelsInProgram(prog, (cl_uint)want, ks, &n) != CL_SUCCESS) {
        why = "its kernels cannot be made";
    } else {
        if (n != want)
            why = "it holds other kernels";
        for (cl_uint i = 0; i < n && i < want; i++)
            clReleaseKernel(ks[i]);
    }
    clReleaseProgram(prog);
    return why;
}

/* On PoCL: its binary without the LLVM bitcode (poclbin.c), once it has loaded here with all
 * of prog's kernels; loading it also unpacks it into PoCL's cache, which the next process would
 * otherwise pay for (~10 ms). Else *bin stays the driver's binary as it came. */
static void kc_make_lean(const nbcl_engine *e, const nbcl_kcache *kc, cl_program prog,
                         const char *options, unsigned char **bin, size_t *size)
{
    unsigned char *lean = NULL;
    size_t len = 0;
    const char *why = nbcl__poclbin_lean(*bin, *size, kc->key, &lean, &len);
    size_t want = 0; /* a size_t (OpenCL 1.2) */
    if (!why && clGetProgramInfo(prog, CL_PROGRAM_NUM_KERNELS, sizeof want, &want, NULL) !=
                    CL_SUCCESS)
        why = "CL_PROGRAM_NUM_KERNELS failed";
    if (!why)
        why = kc_try_binary(e, lean, len, options, want);
    if (why) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: storing the driver's binary as it came (not "
                                     "made lean: %s)", why);
        free(lean);
        return;
    }
    nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: PoCL binary without its bitcode, %zu of %zu bytes",
              len, *size);
    free(*bin);
    *bin = lean;
    *size = len;
}

void nbcl__kcache_store(const nbcl_engine *e, const nbcl_kcache *kc, cl_program prog,
                        const char *options)
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
    kc_make_lean(e, kc, prog, options, &bin, &size);
    unsigned char hdr[NBCL_KCACHE_HEADER];
    if (!nbcl__kcache_header(kc->key, bin, size, hdr)) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: not storing (cannot checksum the binary)");
        free(bin);
        return;
    }
    /* a complete entry under a temporary name, flushed to disk, then renamed over the entry:
     * readers see the old entry or the new one, never a part; a crash mid-write leaves only a
     * dot-file that is never read */
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", kc->dir, kc->key);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: cannot create temp file in %s: %s", kc->dir,
                  strerror(errno));
        free(bin);
        return;
    }
    int ok = kc_write_all(fd, hdr, sizeof hdr) && kc_write_all(fd, bin, size) &&
             fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    free(bin);
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, kc->path) != 0) {
        nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: cannot write %s: %s", kc->path,
                  strerror(errno));
        unlink(tmp);
        return;
    }
    nbcl__log(e, NBCL_LOG_DEBUG, "kernel cache: stored %s (%zu bytes + %d header)", kc->path,
              size, NBCL_KCACHE_HEADER);
}
