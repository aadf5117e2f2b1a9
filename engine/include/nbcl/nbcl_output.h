/* The output stage: what a rendered image becomes on disk, for one run or a series of frames.
 *
 * An output KIND is one entry of a table (engine/src/output/output.c): its flag name, what it
 * needs from the image (an integer conversion, the noise image), how to write it and how to tell
 * a complete file from a partial one (-resume). A per-frame kind is written once per frame, to a
 * name that is a template when the series has several frames. Container formats that hold a
 * whole series in one file plug in as an nbcl_series_sink (opened once, a frame at a time).
 *
 * Nothing here prints or exits; messages go to the caller's `err` buffer. */
#ifndef NBCL_OUTPUT_H
#define NBCL_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include "nbcl/nbcl_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nbcl_output_kind {
    NBCL_OUT_FLOAT = 0, /* raw float32 image (-floatfile) */
    NBCL_OUT_SMV,       /* scaled 16-bit SMV image (-intfile) */
    NBCL_OUT_PGM,       /* 8-bit PGM (-pgmfile) */
    NBCL_OUT_NOISE,     /* Poisson-noise 16-bit SMV image (-noisefile) */
    NBCL_OUT_PNG,       /* 8-bit PNG preview of the PGM's pixels (-pngfile) */
    NBCL_OUT_CBF,       /* int32 photon counts, miniCBF (-cbffile; nbcl_frame_counts) */
    NBCL_OUT_KINDS
} nbcl_output_kind;

/* "-floatfile", "-intfile", ... (the flag that names the kind's file) */
NBCL_API const char *nbcl_output_kind_flag(nbcl_output_kind k);

/* ---------------------------------------------------------------- scale rules and header */
/* -scale, else 55000 / max_I (1 when the image is all zero) */
NBCL_API double nbcl_output_intfile_scale(const nbcl_scene *s, const nbcl_stats *st);
/* -pgmscale, else 250 / (5 rmsd) (the intfile scale when rmsd is 0) */
NBCL_API double nbcl_output_pgm_scale(const nbcl_scene *s, const nbcl_stats *st, double intfile_scale);
/* position (m) of the maximum pixel as the reference reports it ("max_I = .. at x y") */
NBCL_API void nbcl_output_max_position(const nbcl_scene *s, const nbcl_stats *st, double *x, double *y);
/* the SMV header keys of a scene (beam centres in every convention, PHI/OSC_START/OSC_RANGE) */
NBCL_API void nbcl_output_smv_header(const nbcl_scene *s, nbcl_smv_header_info *h);

/* ---------------------------------------------------------------- one frame's products */
typedef struct nbcl_frame_products {
    nbcl_stats stats;
    double max_x, max_y;          /* nbcl_output_max_position */
    double intfile_scale, pgm_scale;
    double photons;               /* on the noise image */
    int overloads;                /* noise pixels clipped at 65535 */
    nbcl_smv_header_info header;
    uint16_t *smv;                /* NULL unless wanted */
    uint8_t *pgm;
    uint16_t *noise;
    float *poisson;               /* the noise image's deviates (with noise; for photon counts) */
    int32_t *counts;              /* photon counts (CBF wanted, or nbcl_frame_products_counts) */
    nbcl_counts_info counts_info;
    nbcl_frame_meta meta;         /* the frame's description (borrows from the scene) */
} nbcl_frame_products;

/* Everything the wanted kinds need, in memory (no file is touched): scales, the integer images
 * and the noise image (seeded with the scene's seed). `stats` are the image's statistics; NULL:
 * computed here on the host (nbcl_image_stats_host's values, p->stats), with the SMV image made
 * in the same sweep over the image as their RMSD pass. */
NBCL_API nbcl_status nbcl_frame_products_make(const nbcl_scene *s, const nbcl_image *img,
                                              const nbcl_stats *stats, const int want[NBCL_OUT_KINDS],
                                              nbcl_frame_products *p, char *err, size_t errlen);
NBCL_API void nbcl_frame_products_free(nbcl_frame_products *p);
/* The photon counts of p (nbcl_frame_counts: from p->poisson when the noise image was made,
 * else the float image rounded) into p->counts, when not made yet; p->meta describes the frame. */
NBCL_API nbcl_status nbcl_frame_products_counts(const nbcl_scene *s, const nbcl_image *img,
                                                nbcl_frame_products *p, char *err, size_t errlen);
/* Write one kind to `path` through an atomic output file (see nbcl_outfile_*). */
NBCL_API nbcl_status nbcl_frame_products_write(const nbcl_frame_products *p, const nbcl_image *img,
                                               nbcl_output_kind k, const char *path, char *err,
                                               size_t errlen);
/* 1 when `path` holds a complete file of kind k for an fpixels x spixels image (size and header
 * checked, no pixel read); 0 otherwise (absent, truncated, another size, not that format). */
NBCL_API int nbcl_output_file_complete(nbcl_output_kind k, const char *path, int fpixels, int spixels);

/* ---------------------------------------------------------------- templates */
/* A per-frame name for a series: the LAST run of '#' in the template is replaced by the frame
 * number, zero-padded to the run's length ("img_###.img", 7 -> "img_007.img"). */
/* Checks that `tmpl` holds a run of '#' long enough for `nframes`; message names `flag`. */
NBCL_API nbcl_status nbcl_template_check(const char *flag, const char *tmpl, int nframes, char *err,
                                         size_t errlen);
/* Expands into out (cap bytes); NBCL_INVALID_ARGUMENT when there is no '#' run, the number does
 * not fit the run, or out is too small. frame < 0 (a single run): the name is copied as is. */
NBCL_API nbcl_status nbcl_template_expand(const char *tmpl, int frame, char *out, size_t cap);

/* ---------------------------------------------------------------- seeds */
/* Seed of frame k (1-based) of a series from a base seed: k == 1 gives the base itself (frame 1
 * equals a single run); k > 1 gives 1 + (splitmix64(base * 0x9E3779B97F4A7C15 + k) mod
 * 2147483646), a positive value a single run accepts as -seed / -misset_seed (docs/datasets.md) */
NBCL_API long nbcl_frame_seed(long base, int k);

/* ---------------------------------------------------------------- series */
/* What the per-frame callback sees (called on a writer thread - the series' own, or the calling
 * thread once its renders are done - frames in the order they were rendered, never two at
 * once, BEFORE the frame's files are written: an announced frame may still fail to be written
 * or, with two writers, be left uncommitted because an earlier frame's files failed; the
 * series' result says which frames were committed). */
typedef struct nbcl_series_frame {
    int frame, nframes;           /* 1-based frame number, frames in the whole series */
    double phi_deg;               /* spindle start of this frame */
    long seed, misset_seed;       /* this frame's seeds (as a single run takes them) */
    const nbcl_scene *scene;
    const nbcl_image *image;
    const nbcl_render_timing *timing;
    const nbcl_frame_products *products;
    const char *path[NBCL_OUT_KINDS]; /* this frame's file names; NULL: kind not written */
    size_t engine;                /* index of the engine that rendered it */
} nbcl_series_frame;
typedef void (*nbcl_series_frame_fn)(void *user, const nbcl_series_frame *f);

typedef struct nbcl_series_progress {
    int done, total;              /* frames complete (written) of this process's share */
    int skipped;                  /* complete files found with resume */
    double elapsed_s, rate_fps, eta_s; /* eta < 0: unknown */
} nbcl_series_progress;
typedef void (*nbcl_series_progress_fn)(void *user, const nbcl_series_progress *p);

/* A container writer that holds the whole series (NXmx, ...): open before the first frame,
 * write_frame for each of this process's frames (in completion order), close at the end with ok
 * = 0 when the run failed or was interrupted (the sink then removes what it made). */
typedef struct nbcl_series_sink {
    void *user;
    nbcl_status (*write_frame)(void *user, const nbcl_series_frame *f, char *err, size_t errlen);
    nbcl_status (*close)(void *user, int ok, char *err, size_t errlen);
} nbcl_series_sink;

typedef enum nbcl_stats_where {
    NBCL_STATS_AUTO = 0,          /* on the device for GPUs, on the host for CPU devices */
    NBCL_STATS_DEVICE,
    NBCL_STATS_HOST
} nbcl_stats_where;

typedef struct nbcl_series_opts {
    int nframes;                  /* frames in the series (>= 1) */
    int first, last;              /* render only frames first..last (1-based); 0: all */
    double phi0_deg, osc_deg;     /* frame k starts at phi0 + (k-1) osc (degrees, in double) */
    int stills;                   /* per-frame random orientation (-misset random) */
    long seed, misset_seed;       /* base seeds, as given (the caller resolves "from the clock") */
    const char *path[NBCL_OUT_KINDS]; /* names (nframes == 1) or templates; NULL: not written */
    int resume;                   /* skip frames whose files are all complete */
    int sync_frames;              /* frames per durability batch (0: as many as 48 files allow) */
    double sync_interval_s;       /* commit a batch at least this often (0: 2 s) */
    int rank, nranks;             /* this process renders frames k with (k-1) % nranks == rank */
    int keep_finished_on_cancel;  /* on cancel: commit frames already rendered (series), or none */
    nbcl_stats_where stats;
    nbcl_series_frame_fn on_frame;
    void *on_frame_user;
    nbcl_series_progress_fn progress;
    void *progress_user;
    double progress_interval_s;   /* at most one progress call per interval (0: every frame) */
    nbcl_series_sink *sinks;
    size_t nsinks;
    /* a check of each frame before any of its files is begun (a frame that fails it fails the
     * run, result.check_failed): e.g. nbcl_image_check_finite */
    nbcl_status (*check_frame)(void *user, const nbcl_series_frame *f, char *err, size_t errlen);
    void *check_frame_user;
    /* photon counts (nbcl_frame_products_counts: from the noise deviates when the noise image
     * is written): cbf_path, a miniCBF of a single frame (nframes == 1; in a series use the
     * NBCL_OUT_CBF kind, a template); nexus_path, one NXmx file of frames first..last written
     * on the writer thread as frames complete and committed when all are in (none is left by a
     * failed or interrupted series). An NXmx series refuses nranks > 1 and resume. */
    const char *cbf_path, *nexus_path;
    int nexus_compression;        /* an nbcl_nexus_compression */
    nbcl_progress_fn render_progress; /* per-tile progress of each render (single engine only) */
    void *render_progress_user;
    nbcl_cancel *cancel;          /* triggered: no new frame, the render in flight stops at its
                                     next tile (an engine's own token, nbcl_engine_opts.cancel,
                                     stops the series too); NULL: only the engines' tokens */
    int max_batch;                /* the most frames rendered by the same kernel launches
                                     (nbcl_render_frames; results do not depend on it): 0 lets
                                     nbcl_render_batch_max() decide per engine, 1 renders every
                                     frame alone; at most 16 are used */
} nbcl_series_opts;

NBCL_API void nbcl_series_opts_init(nbcl_series_opts *o);

typedef struct nbcl_series_result {
    int rendered, skipped, written; /* frames of this process */
    double wall_s;
    /* seconds summed over frames (threads overlap, so they may add up to more than wall_s);
     * stats_s: statistics on the device; the host's are made with the SMV image, in convert_s */
    double render_s, upload_s, kernel_s, readback_s, stats_s, convert_s, commit_s;
    double write_s[NBCL_OUT_KINDS];
    size_t tiles;
    int output_failed;            /* the error came from writing a file (not the render) */
    int check_failed;             /* a frame failed opts.check_frame */
    int counts_written;           /* the photon-count files were written; counts: their facts */
    size_t counts_overloads, counts_masked;
} nbcl_series_result;

/* Frame k's configuration: cfg with phi0 = (phi0_deg + (k-1) osc_deg) / (180/pi) and, for
 * stills, misset_seed = nbcl_frame_seed(misset_seed, k); seed = nbcl_frame_seed(seed, k). */
NBCL_API void nbcl_series_frame_config(const nbcl_config *cfg, const nbcl_series_opts *o, int k,
                                       nbcl_config *out);

/* Render this process's frames of the series on the engines (one thread per engine when there
 * are several; frames handed out dynamically; with one engine every OpenCL call stays on the
 * calling thread), writing every kind in o->path for each frame. `base` is a scene built from
 * frame `first`'s configuration: its structure factors and mask are shared by all frames.
 * Statistics, conversions and writing run on a writer thread, overlapping the next render;
 * once its renders are done the calling thread writes queued frames too (per-frame outputs,
 * more than one CPU and NBCL_HOST_THREADS not 1; not with nexus_path, cbf_path, sinks, or
 * outputs that are FIFOs or devices).
 * Each frame's files appear all together or not at all (temporary files renamed after one
 * fdatasync pass per batch: sync_frames frames, or sync_interval_s); a failed or interrupted
 * run leaves no partial file. NBCL_INTERRUPTED when cancelled (opts.cancel or
 * an engine's token). */
NBCL_API nbcl_status nbcl_series_run(nbcl_engine *const *engines, size_t nengines, const nbcl_config *cfg,
                                     const nbcl_scene *base, const nbcl_series_opts *o,
                                     nbcl_series_result *res, char *err, size_t errlen);

/* ---------------------------------------------------------------- device lists */
/* Resolve "-device" for several devices: "all" (every device), or a comma list of specs as
 * nbcl_device_find takes them ("0:0,0:1", "cpu,gpu"). Unknown or repeated entries (the same
 * device twice) are errors. Writes up to cap entries; *count is the number resolved. */
NBCL_API nbcl_status nbcl_device_find_list(const char *spec, nbcl_device_info *out, size_t cap,
                                           size_t *count, char *err, size_t errlen);
/* The device pool of a series: one engine per device of opts->device ("all", a comma list, or
 * one spec as nbcl_engine_create takes it), each created with the rest of opts. All or none:
 * on failure no engine is left and *count is 0. */
NBCL_API nbcl_status nbcl_engine_create_list(const nbcl_engine_opts *opts, nbcl_engine **out, size_t cap,
                                             size_t *count, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
