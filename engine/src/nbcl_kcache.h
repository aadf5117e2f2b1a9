/* On-disk program-binary cache (kcache.c) and the small pure decisions of the build path.
 * Internal: never installed. */
#ifndef NBCL_KCACHE_H
#define NBCL_KCACHE_H

#include "nbcl_internal.h"

/* One cache lookup for one (source, options, device) triple. */
typedef struct nbcl_kcache {
    int enabled;        /* 0: caching off (mode off, or no usable directory) */
    char dir[4096];     /* resolved cache directory (exists, writable) */
    char key[65];       /* SHA-256 hex of the key fields */
    char path[4200];    /* <dir>/<key>.bin */
} nbcl_kcache;

/* ---- pure helpers (unit-testable, no OpenCL calls) */

/* Entry layout (kcache.c): an 88-byte header (magic, format version, header size, payload size,
 * SHA-256 of the payload, the raw key) followed by the driver's binary. The format tag is one of
 * the key fields, so a new layout gets new names and never reads an old one. */
#define NBCL_KCACHE_VERSION 1
#define NBCL_KCACHE_HEADER 88
#define NBCL_KCACHE_FORMAT_TAG "nbcl-kcache-2" /* 2: lean PoCL binaries (poclbin.c) */

/* Header for `payload` stored under `key` (64 hex digits). Returns 0 when it cannot be formed. */
int nbcl__kcache_header(const char *key, const void *payload, size_t len,
                        unsigned char hdr[NBCL_KCACHE_HEADER]);

/* Check a whole entry read from disk against `key`: NULL when valid (*payload_len set; the
 * payload starts at entry + NBCL_KCACHE_HEADER), else a short reason ("truncated ...",
 * "checksum mismatch ..."). */
const char *nbcl__kcache_verify(const char *key, const unsigned char *entry, size_t len,
                                size_t *payload_len);

/* n-byte little-endian integers (n <= 8), as the entry header and PoCL's binary store them */
void nbcl__put_le(unsigned char *p, uint64_t v, int n);
uint64_t nbcl__get_le(const unsigned char *p, int n);

/* PoCL's binary (format 9) without its LLVM bitcode, under a build hash made from `key` (64 hex
 * digits): NULL and *out (malloc'ed, *outlen bytes) when `bin` parses exactly as that format
 * and every kernel holds its generic work-group function; else a short reason and *out NULL.
 * (poclbin.c; docs/kernels.md "The program cache") */
const char *nbcl__poclbin_lean(const unsigned char *bin, size_t len, const char *key,
                               unsigned char **out, size_t *outlen);

/* Effective on/off for a mode. AUTO takes env_mode (NBCL_CACHE as env.c parsed it into the
 * engine's nbcl_env_options); auto there too is off on platforms naming NVIDIA (name or vendor),
 * on elsewhere (PoCL included). Returns 1 for on. */
int nbcl__kcache_mode_on(nbcl_cache_mode mode, nbcl_cache_mode env_mode,
                         const char *platform_name, const char *platform_vendor);

/* Cache directory: opt_dir, else env_dir (NBCL_CACHE_DIR), else xdg/nbcl, else home/.cache/nbcl
 * (empty strings count as unset). Returns 0 and "" when none can be formed. */
int nbcl__kcache_dir(const char *opt_dir, const char *env_dir, const char *xdg, const char *home,
                     char *out, size_t outlen);

/* SHA-256 hex over NUL-separated fields: entry format tag, engine version, the SHA-256 (hex) of
 * the assembled source, options, platform name/vendor/version, device name/vendor/version,
 * driver version, OpenCL C version. */
void nbcl__kcache_key(const char *engine_version, const char *source_sha256, const char *options,
                      const nbcl_device_info *info, char out[65]);

/* Precision decision: AUTO -> F64 when has_fp64 else F32; F32 -> F32; F64 -> F64 when has_fp64,
 * else NBCL_NO_FP64; anything else NBCL_INVALID_ARGUMENT. *out is set only on NBCL_OK.
 * (Defined in engine.c.) */
nbcl_status nbcl__precision_resolve(nbcl_precision requested, int has_fp64, nbcl_precision *out);

/* ---- cache operations (need an engine with device/context) */

/* Decide mode, resolve and create (mkdir -p) the directory, compute the key (from
 * e->facts.source_sha256, which must be set). Never fails: an unusable directory disables the
 * cache (logged at DEBUG). */
void nbcl__kcache_open(const nbcl_engine *e, const char *options, nbcl_kcache *kc);

/* Load, verify (size, checksum, key) and build the cached binary. Returns a built program, or
 * NULL on a miss. An entry that is not a regular file, fails verification, or fails
 * clCreateProgramWithBinary/clBuildProgram is deleted (logged at WARN); the driver never sees an
 * unverified binary. */
cl_program nbcl__kcache_load(const nbcl_engine *e, const nbcl_kcache *kc, const char *options);

/* Remove the cached entry (e.g. the loaded program lacks an expected kernel). */
void nbcl__kcache_drop(const nbcl_engine *e, const nbcl_kcache *kc, const char *why);

/* Store the program's binary for the engine's device (header + binary): temp file in the same
 * dir, fsync, rename(). On PoCL the binary stored is the lean one (nbcl__poclbin_lean) once it
 * has loaded here with `options` and all of prog's kernels. Failures are logged at DEBUG and
 * otherwise ignored. */
void nbcl__kcache_store(const nbcl_engine *e, const nbcl_kcache *kc, cl_program prog,
                        const char *options);

#endif
