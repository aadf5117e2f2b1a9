/* nanoBragg-CL public API (umbrella header).
 *
 * The library never prints and never exits: every call returns an nbcl_status and, where an
 * engine exists, keeps a message retrievable with nbcl_engine_last_error(). Functions that have
 * no engine take a caller buffer `err`/`errlen` for the message.
 */
#ifndef NBCL_H
#define NBCL_H

#include <stddef.h>
#include <stdint.h>

#include "nbcl/nbcl_export.h"
#include "nbcl/nbcl_version.h" /* generated from project(VERSION) */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status codes */
#define NBCL_STATUS_MAP(X)                                              \
    X(OK, 0, "success")                                                 \
    X(INVALID_ARGUMENT, -1, "invalid argument")                         \
    X(OUT_OF_MEMORY, -2, "out of host memory")                          \
    X(NO_DEVICE, -3, "no matching OpenCL device")                       \
    X(NO_FP64, -4, "device lacks double precision")                     \
    X(BUILD_FAILED, -5, "kernel build failed")                          \
    X(CL_ERROR, -6, "OpenCL error")                                     \
    X(CLBLAST_ERROR, -7, "CLBlast error")                               \
    X(IO, -8, "I/O error")                                              \
    X(PARSE, -9, "malformed input")                                     \
    X(DEVICE_MEMORY, -10, "device memory exhausted")                    \
    X(INTERRUPTED, -11, "interrupted")                                  \
    X(NONFINITE, -12, "non-finite image")

typedef enum nbcl_status {
#define NBCL_X_(name, code, msg) NBCL_##name = code,
    NBCL_STATUS_MAP(NBCL_X_)
#undef NBCL_X_
} nbcl_status;

/* Static string, never NULL. */
NBCL_API const char *nbcl_status_str(nbcl_status s);
/* "NBCL_OK", "NBCL_IO", ... */
NBCL_API const char *nbcl_status_name(nbcl_status s);

/* Check the NBCL_* environment variables (README "Environment variables") against their allowed
 * values: NBCL_INVALID_ARGUMENT and a message naming the variable and the values when one is
 * set to anything else. nbcl_engine_create() runs it too. */
NBCL_API nbcl_status nbcl_env_check(char *err, size_t errlen);
/* NBCL_* environment variables through one table (env.c): the value (NULL when unset or
 * empty); the index of a word-valued variable's value in its list ("scalar simd": 0, 1; -1 when
 * unset or not in the list); a count >= 1 (0 when unset or invalid). */
NBCL_API const char *nbcl_env_text(const char *name);
NBCL_API int nbcl_env_word(const char *name);
NBCL_API long nbcl_env_count(const char *name);

/* Library version "x.y.z" and git SHA it was built from. */
NBCL_API const char *nbcl_version(void);
NBCL_API const char *nbcl_git_sha(void);

/* Facts about the machine and this library as built, for a run's record (nbcl-bench env.json).
 * Every probe is best effort: a fact that cannot be had is an empty string or 0. */
typedef struct nbcl_host_info {
    char os_name[256];          /* PRETTY_NAME from /etc/os-release */
    char kernel[512];           /* uname: sysname release version machine */
    char hostname[256];
    char cpu_model[256];        /* /proc/cpuinfo "model name" */
    unsigned logical_cpus;      /* online */
    unsigned physical_cores;    /* distinct (physical id, core id); 0 when unknown */
    uint64_t mem_total_bytes;
    uint64_t mem_available_bytes;
    char icd_loader_name[256];  /* clGetICDLoaderInfoOCLICD when the loader offers it */
    char icd_loader_vendor[256];
    char icd_loader_version[128];
    char icd_loader_ocl_version[128];
    char icd_loader_path[1024]; /* the libOpenCL file mapped into this process */
    char clblast_version[32];   /* the CLBlast this library was built against */
    char engine_version[32];    /* nbcl_version() */
    char engine_git_sha[64];    /* nbcl_git_sha() */
    char engine_compiler[128];  /* the compiler that built this library */
    char engine_build_type[64]; /* its CMake build type */
} nbcl_host_info;
NBCL_API void nbcl_host_info_query(nbcl_host_info *h);

/* ---------------------------------------------------------------- logging */
typedef enum nbcl_log_level {
    NBCL_LOG_DEBUG = 0,
    NBCL_LOG_INFO = 1,
    NBCL_LOG_WARN = 2,
    NBCL_LOG_ERROR = 3
} nbcl_log_level;
typedef void (*nbcl_log_fn)(void *user, nbcl_log_level level, const char *msg);

/* ---------------------------------------------------------------- devices */
typedef enum nbcl_precision {
    NBCL_PRECISION_AUTO = 0, /* double when the device has fp64, else single */
    NBCL_PRECISION_F32 = 32,
    NBCL_PRECISION_F64 = 64
} nbcl_precision;

typedef struct nbcl_device_info {
    unsigned platform_index;
    unsigned device_index;
    char platform_name[256];
    char platform_vendor[256];
    char platform_version[256];
    char device_name[256];
    char device_name_normalised[256]; /* "pthread-" prefix stripped (as CLBlast does) */
    char device_vendor[256];
    unsigned device_vendor_id;
    char device_type[32];             /* "CPU", "GPU", "ACCELERATOR", "OTHER" */
    char device_version[256];
    char driver_version[256];
    char opencl_c_version[256];
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    size_t max_work_group_size;
    int has_fp64;
    char extensions[4096];
} nbcl_device_info;

/* Enumerate every device on every platform. Writes up to `cap` entries, sets *count to the
 * total. Zero devices (or no ICD) is NBCL_OK with *count == 0. */
NBCL_API nbcl_status nbcl_device_list(nbcl_device_info *out, size_t cap, size_t *count);

/* Resolve a device spec: NULL/"" (env NBCL_DEVICE, else first GPU, else first CPU), "cpu",
 * "gpu", "P:D" indices, or a case-insensitive substring of the device or platform name. */
NBCL_API nbcl_status nbcl_device_find(const char *spec, nbcl_device_info *out, char *err, size_t errlen);

/* ---------------------------------------------------------------- engine */
typedef enum nbcl_cache_mode {
    NBCL_CACHE_AUTO = 0, /* env NBCL_CACHE, else: off on PoCL and NVIDIA (they cache), on elsewhere */
    NBCL_CACHE_ON = 1,
    NBCL_CACHE_OFF = 2
} nbcl_cache_mode;

typedef struct nbcl_engine_opts {
    const char *device;        /* device spec, see nbcl_device_find */
    nbcl_precision precision;
    const char *kernel_dir;    /* NULL: env NBCL_KERNEL_DIR, else the embedded sources */
    const char *cache_dir;     /* NULL: env NBCL_CACHE_DIR, else $XDG_CACHE_HOME/nbcl, ~/.cache/nbcl */
    nbcl_cache_mode cache;
    const char *build_options; /* appended after ours (env NBCL_BUILD_OPTIONS is appended too) */
    int fast_math;             /* adds -cl-fast-relaxed-math; never in tested paths */
    nbcl_log_fn log;
    void *log_user;
} nbcl_engine_opts;

typedef struct nbcl_engine nbcl_engine;

NBCL_API void nbcl_engine_opts_init(nbcl_engine_opts *opts);
/* *out is NULL on failure; the message (build log included) goes to `err`. */
NBCL_API nbcl_status nbcl_engine_create(const nbcl_engine_opts *opts, nbcl_engine **out, char *err,
                                        size_t errlen);
NBCL_API void nbcl_engine_destroy(nbcl_engine *e);
NBCL_API const char *nbcl_engine_last_error(const nbcl_engine *e);
NBCL_API const nbcl_device_info *nbcl_engine_device(const nbcl_engine *e);
NBCL_API nbcl_precision nbcl_engine_precision(const nbcl_engine *e);
/* Facts about how the program was obtained, for env.json. */
typedef struct nbcl_build_facts {
    char source_origin[512];   /* "embedded" or the kernel directory */
    char source_sha256[65];    /* of the assembled source text */
    char options[1024];        /* full build option string */
    char cache_state[16];      /* "hit", "miss", "off" */
    double build_seconds;      /* program build (or cache load) wall time */
} nbcl_build_facts;
NBCL_API const nbcl_build_facts *nbcl_engine_build_facts(const nbcl_engine *e);

/* Cooperative cancel: set from a signal handler; the render stops at the next tile. */
NBCL_API void nbcl_request_cancel(void);
NBCL_API void nbcl_clear_cancel(void);
NBCL_API int nbcl_cancel_requested(void);

#ifdef __cplusplus
}
#endif

#include "nbcl/nbcl_config.h"
#include "nbcl/nbcl_scene.h"
#include "nbcl/nbcl_render.h"
#include "nbcl/nbcl_io.h"
#include "nbcl/nbcl_formats.h"
#include "nbcl/nbcl_output.h" /* after formats: products hold counts and meta */

#endif
