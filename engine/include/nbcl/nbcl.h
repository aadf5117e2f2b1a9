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

/* ---------------------------------------------------------------- environment */
/* The NBCL_* environment variables (README "Environment variables"), read in ONE place:
 * nbcl_env_options_read() fills this struct from the environment, refusing an unknown value;
 * an engine uses the fields it was created with and never reads the environment again. Two
 * calls without an engine call the same reader themselves: nbcl_device_find() with no spec (for
 * NBCL_DEVICE) and the host passes over an image (statistics, conversions: NBCL_HOST_THREADS).
 * A program may also fill it without the environment: nbcl_env_options_init() (everything
 * unset), then set fields (docs/api.md). Strings point into the environment (valid until that
 * variable is changed); an engine copies what it keeps. */
typedef struct nbcl_env_options {
    const char *device;        /* NBCL_DEVICE: the device when the options name none */
    int cache;                 /* NBCL_CACHE: an nbcl_cache_mode (NBCL_CACHE_AUTO when unset) */
    const char *cache_dir;     /* NBCL_CACHE_DIR */
    const char *xdg_cache_home; /* XDG_CACHE_HOME, HOME: where the default cache directory is */
    const char *home;
    const char *kernel_dir;    /* NBCL_KERNEL_DIR */
    const char *build_options; /* NBCL_BUILD_OPTIONS: appended to every program build */
    int kernel;                /* NBCL_KERNEL: -1 unset (the device decides), 0 scalar, 1 simd */
    int stats;                 /* NBCL_STATS: -1 unset, 0 device, 1 host (read by programs) */
    long host_threads;         /* NBCL_HOST_THREADS: >= 1, 0 unset (read by the host passes) */
    int zero_copy;             /* NBCL_ZERO_COPY: -1 unset (the device decides), 0, 1 */
    int timing;                /* NBCL_TIMING: 0 or 1 (read by programs) */
    int verbose;               /* NBCL_VERBOSE: 0 or 1 (read by programs) */
    double launch_seconds;     /* NBCL_LAUNCH_SECONDS: 0..86400, < 0 unset (the default) */
    long batch;                /* NBCL_BATCH: frames of a series per launch, >= 1; 0 unset (by
                                  the work: nbcl_render_batch_max) */
} nbcl_env_options;

/* Everything unset: the library's defaults, as with an empty environment. */
NBCL_API void nbcl_env_options_init(nbcl_env_options *o);
/* The one reader of the environment: *o from the NBCL_* variables (an empty value is unset).
 * NBCL_INVALID_ARGUMENT and a message naming the variable and its allowed values when one is
 * set to anything else ("NBCL_KERNEL='vector': expected scalar|simd (or unset)"); *o is then
 * still filled with the valid ones. */
NBCL_API nbcl_status nbcl_env_options_read(nbcl_env_options *o, char *err, size_t errlen);
/* nbcl_env_options_read's check alone (for programs that only need the refusal). */
NBCL_API nbcl_status nbcl_env_check(char *err, size_t errlen);

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

/* Cancellation token: created by the caller, triggered by it (async-signal-safe: from a signal
 * handler too), polled by the library. An engine stops its render at the next launch, a series
 * stops after the frames in flight; two engines with different tokens stop independently. */
typedef struct nbcl_cancel nbcl_cancel;
NBCL_API nbcl_cancel *nbcl_cancel_create(void); /* NULL when out of memory */
NBCL_API void nbcl_cancel_destroy(nbcl_cancel *c); /* NULL ok; after every user of it is done */
NBCL_API void nbcl_cancel_trigger(nbcl_cancel *c); /* async-signal-safe; NULL ok */
NBCL_API void nbcl_cancel_reset(nbcl_cancel *c);
NBCL_API int nbcl_cancel_triggered(const nbcl_cancel *c); /* 0 for NULL */
/* File waits have no engine: reading an input that is a FIFO or terminal, writing a FIFO whose
 * reader is slow. They stop (NBCL_INTERRUPTED) when the token the calling thread installed here
 * is triggered; returns the thread's previous one. NULL (the default): they wait for data. */
NBCL_API nbcl_cancel *nbcl_cancel_use(nbcl_cancel *c);

typedef struct nbcl_engine_opts {
    const char *device;        /* device spec, see nbcl_device_find; NULL: env->device */
    nbcl_precision precision;
    const char *kernel_dir;    /* NULL: env->kernel_dir, else the embedded sources */
    const char *cache_dir;     /* NULL: env->cache_dir, else $XDG_CACHE_HOME/nbcl, ~/.cache/nbcl */
    nbcl_cache_mode cache;
    const char *build_options; /* appended after ours (env->build_options is appended too) */
    int fast_math;             /* adds -cl-fast-relaxed-math; never in tested paths */
    nbcl_log_fn log;
    void *log_user;
    nbcl_cancel *cancel;       /* stops this engine's renders; NULL: never cancelled. Not owned:
                                  it must outlive the engine */
    const nbcl_env_options *env; /* the NBCL_* settings (copied); NULL: nbcl_engine_create reads
                                    them with nbcl_env_options_read() */
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

/* ---------------------------------------------------------------- modules
 * Code that needs a large library lives in a module that is loaded on first use, so that a
 * process which does not need it never loads the library: CBFlib (nbcl-cbf.so, for the CBF
 * functions of nbcl_formats.h), HDF5 (nbcl-nexus.so, NXmx) and Open MPI (nbcl-mpi.so, nbcl's
 * ranks). A module lies in the folder "nbcl" next to the shared libnbcl (build tree: lib/nbcl;
 * installed: <libdir>/nbcl); docs/architecture.md "Modules". A module exports one function,
 * nbcl_module_NAME, that returns its table of entry points; the table begins with this head: */
#define NBCL_MODULE_ABI 1
typedef struct nbcl_module_head {
    int abi;             /* NBCL_MODULE_ABI of the module's build */
    const char *version; /* NBCL_VERSION_TEXT of the module's build */
} nbcl_module_head;
#define NBCL_MODULE_GLOBAL 1 /* its symbols (and its libraries') in the process' global scope */
/* Loads module NAME ("cbf", "nexus", "mpi": the file nbcl-NAME.so) once per process and returns
 * its table, which stays valid until the process ends; later calls return the same table.
 * NULL when it is missing, fails to load, lacks its entry point or was built for another
 * version, with a message naming the module, the path tried and the loader's reason.
 * Thread-safe. flags: 0 (the module's libraries stay private to it) or NBCL_MODULE_GLOBAL
 * (needed by libraries that load plug-ins of their own which expect them there: Open MPI). */
NBCL_API const void *nbcl_module_load(const char *name, int flags, char *err, size_t errlen);

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
