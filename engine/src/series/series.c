/* A series of frames in one process: the frame plan (this process's share, -frames, -resume),
 * render workers (the calling thread with one engine, one thread per engine with several: each
 * engine's OpenCL calls stay on one thread), and one writer thread that computes statistics,
 * conversions and the noise image and writes every output while the next frame renders.
 *
 * Durability: each frame's files are written to temporary files in a commit set of the frame's
 * own; when a batch is full (as many frames as 96 open files allow, or sync_frames), when
 * sync_interval_s (2 s) has passed since the last commit, and at the end, one pass fdatasyncs
 * the whole batch, then each frame's set is renamed into place and the directories are synced
 * once (nbcl_commit_sets_commit). A
 * frame's files therefore appear complete or not at all (a failed rename is undone), and a
 * crash loses at most the frames of the batch in progress. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_internal.h"

#define RTD (180.0 / M_PI)
#define PATHCAP 4096
#define NBCL_SERIES_BATCH 16 /* the most frames rendered in one call (nbcl_render_frames) */

typedef struct item {
    int frame;
    size_t engine;
    nbcl_scene *scene;
    nbcl_image img;
    nbcl_render_timing tm;
    nbcl_stats stats;
    int have_stats;
    long seed, misset_seed;
    double phi_deg;
    struct item *next;
} item;

typedef struct series_ctx {
    const nbcl_config *cfg;
    const nbcl_scene *base;
    const nbcl_series_opts *o;
    nbcl_engine *const *engines;
    size_t nengines;
    int *bmax;             /* per engine: frames per render call (nbcl_render_batch_max) */

    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    int *plan;             /* frames still to render, in order */
    int nplan, next;
    item *head, *tail;
    int queued, cap;
    int producers_done;
    int stop;              /* an error: no more frames */
    nbcl_status st;
    char err[4096];

    int total, skipped, written, rendered;
    int first, last;       /* the frame range (1-based) */
    nbcl_nexus *nexus;     /* the NXmx file of a series (writer thread only: HDF5 is serial) */
    int nexus_frames;      /* frames written into it */
    int render_interrupted; /* a render stopped part-way (cancel) */
    double t0, last_progress;
    nbcl_series_result acc; /* timing sums (under mu for the render side) */
} series_ctx;

void nbcl_series_opts_init(nbcl_series_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nframes = 1;
    o->nranks = 1;
    o->seed = 1;
    o->misset_seed = 1;
}

void nbcl_series_frame_config(const nbcl_config *cfg, const nbcl_series_opts *o, int k,
                              nbcl_config *out)
{
    *out = *cfg;
    double phi_deg = o->phi0_deg + (double)(k - 1) * o->osc_deg;
    out->phi0 = phi_deg / RTD;
    out->seed = nbcl_frame_seed(o->seed, k);
    out->seed_set = 1;
    if (o->stills) {
        out->misset_seed = nbcl_frame_seed(o->misset_seed, k);
        out->misset_seed_set = 1;
    }
}

static void fail_ctx(series_ctx *c, nbcl_status st, const char *msg)
{
    pthread_mutex_lock(&c->mu);
    if (c->st == NBCL_OK) {
        c->st = st;
        snprintf(c->err, sizeof c->err, "%s", msg);
    }
    c->stop = 1;
    pthread_cond_broadcast(&c->not_full);
    pthread_cond_broadcast(&c->not_empty);
    pthread_mutex_unlock(&c->mu);
}

static void item_free(item *it)
{
    if (!it)
        return;
    nbcl_image_free(&it->img);
    nbcl_scene_destroy(it->scene);
    free(it);
}

/* the series' token (opts.cancel) or one of its engines' (nbcl_engine_opts.cancel: a render
 * stopped by it ends the series too) */
static int cancelled(const series_ctx *c)
{
    if (nbcl_cancel_triggered(c->o->cancel))
        return 1;
    for (size_t i = 0; i < c->nengines; i++)
        if (nbcl_cancel_triggered(c->engines[i]->opts.cancel))
            return 1;
    return 0;
}

/* per-tile hook of each render: stops it when cancelled, forwards to the caller's callback */
static int render_tick(void *user, size_t done, size_t total)
{
    const series_ctx *c = user;
    if (c->nengines == 1 && c->o->render_progress &&
        c->o->render_progress(c->o->render_progress_user, done, total))
        return 1;
    return nbcl_cancel_triggered(c->o->cancel);
}

/* ---------------------------------------------------------------- render side */
/* The next frames for engine ei: up to bmax of the plan, fewer so that what is left splits
 * evenly over batches (and, with several engines, so that each gets some: dynamic hand-out). */
static int next_frames(series_ctx *c, size_t ei, int *ks)
{
    int n = 0;
    pthread_mutex_lock(&c->mu);
    if (!c->stop && !cancelled(c) && c->next < c->nplan) {
        int left = c->nplan - c->next, bmax = c->bmax[ei];
        int share = (left + (int)c->nengines - 1) / (int)c->nengines;
        if (bmax > share)
            bmax = share;
        int batches = (left + bmax - 1) / bmax;
        n = (left + batches - 1) / batches;
        for (int i = 0; i < n; i++)
            ks[i] = c->plan[c->next++];
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

static int stats_on_device(const series_ctx *c, nbcl_engine *e)
{
    if (c->o->stats == NBCL_STATS_DEVICE)
        return 1;
    if (c->o->stats == NBCL_STATS_HOST)
        return 0;
    return strcmp(nbcl_engine_device(e)->device_type, "CPU") != 0;
}

/* frame k's item with its scene (NULL on failure, recorded) */
static item *frame_item(series_ctx *c, size_t ei, int k)
{
    item *it = calloc(1, sizeof *it);
    char err[2048];
    if (!it) {
        fail_ctx(c, NBCL_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    it->frame = k;
    it->engine = ei;
    nbcl_config fc;
    nbcl_series_frame_config(c->cfg, c->o, k, &fc);
    it->phi_deg = c->o->phi0_deg + (double)(k - 1) * c->o->osc_deg;
    it->seed = fc.seed;
    it->misset_seed = fc.misset_seed;
    nbcl_status st = nbcl_scene_build_shared(&fc, c->base, &it->scene, err, sizeof err);
    if (st != NBCL_OK) {
        char msg[2100];
        snprintf(msg, sizeof msg, "frame %d: %s", k, err);
        fail_ctx(c, st, msg);
        item_free(it);
        return NULL;
    }
    return it;
}

/* render the n items' frames in one call (the engine shares launches between frames that
 * allow it); 0 on success, -1 (recorded) on failure */
static int render_items(series_ctx *c, size_t ei, item **its, int n)
{
    nbcl_engine *e = c->engines[ei];
    const nbcl_scene *scenes[NBCL_SERIES_BATCH];
    nbcl_image imgs[NBCL_SERIES_BATCH];
    nbcl_render_timing tms[NBCL_SERIES_BATCH];
    for (int i = 0; i < n; i++)
        scenes[i] = its[i]->scene;
    nbcl_render_opts ro = {0};
    if (c->o->cancel || (c->nengines == 1 && c->o->render_progress)) {
        ro.progress = render_tick;
        ro.progress_user = c;
    }
    nbcl_status st = nbcl_render_frames(e, scenes, (size_t)n, &ro, imgs, tms);
    if (st != NBCL_OK) {
        if (st != NBCL_INTERRUPTED) {
            fail_ctx(c, st, nbcl_engine_last_error(e));
        } else {
            pthread_mutex_lock(&c->mu);
            c->render_interrupted = 1;
            pthread_mutex_unlock(&c->mu);
        }
        return -1;
    }
    for (int i = 0; i < n; i++) {
        item *it = its[i];
        it->img = imgs[i];
        it->tm = tms[i];
        double t = nbcl__now();
        if (stats_on_device(c, e))
            it->have_stats = nbcl_image_stats(e, it->scene, &it->img, &it->stats) == NBCL_OK;
        t = nbcl__now() - t;
        pthread_mutex_lock(&c->mu);
        c->acc.render_s += it->tm.wall_s;
        c->acc.upload_s += it->tm.upload_s;
        c->acc.kernel_s += it->tm.kernel_s;
        c->acc.readback_s += it->tm.readback_s;
        c->acc.tiles += it->tm.tiles;
        c->acc.stats_s += t;
        c->rendered++;
        pthread_mutex_unlock(&c->mu);
    }
    return 0;
}

static void queue_push(series_ctx *c, item *it)
{
    pthread_mutex_lock(&c->mu);
    while (c->queued >= c->cap && !c->stop)
        pthread_cond_wait(&c->not_full, &c->mu);
    if (c->stop) {
        pthread_mutex_unlock(&c->mu);
        item_free(it);
        return;
    }
    it->next = NULL;
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    c->queued++;
    pthread_cond_signal(&c->not_empty);
    pthread_mutex_unlock(&c->mu);
}

/* Batches of frames until the plan is done: each batch's scenes, one render for all of them,
 * then its frames to the writer one by one, in order. A cancel stops after the batch in
 * flight (its render stops at its next launch). */
static void render_loop(series_ctx *c, size_t ei)
{
    int ks[NBCL_SERIES_BATCH];
    for (int n; (n = next_frames(c, ei, ks)) > 0;) {
        item *its[NBCL_SERIES_BATCH] = {0};
        int ok = 1, done = 0;
        for (int i = 0; i < n && ok; i++)
            ok = (its[i] = frame_item(c, ei, ks[i])) != NULL;
        /* a run of frames that share launches is rendered, then queued, before the next run */
        while (ok && done < n) {
            int m = 1;
            while (done + m < n && nbcl_scenes_batchable(its[done]->scene, its[done + m]->scene))
                m++;
            ok = render_items(c, ei, its + done, m) == 0;
            for (int i = done; ok && i < done + m; i++)
                queue_push(c, its[i]);
            done += ok ? m : 0;
        }
        for (int i = done; i < n; i++) /* not rendered or failed: dropped */
            item_free(its[i]);
        if (!ok)
            break;
    }
}

typedef struct worker {
    series_ctx *c;
    size_t ei;
    pthread_t tid;
    int started;
} worker;

static void *render_thread(void *arg)
{
    worker *w = arg;
    render_loop(w->c, w->ei);
    return NULL;
}

/* ---------------------------------------------------------------- writer side */
static item *queue_pop(series_ctx *c)
{
    pthread_mutex_lock(&c->mu);
    while (!c->head && !c->producers_done)
        pthread_cond_wait(&c->not_empty, &c->mu);
    item *it = c->head;
    if (it) {
        c->head = it->next;
        if (!c->head)
            c->tail = NULL;
        c->queued--;
        pthread_cond_signal(&c->not_full);
    }
    pthread_mutex_unlock(&c->mu);
    return it;
}

static void report_progress(series_ctx *c, int force)
{
    if (!c->o->progress)
        return;
    double now = nbcl__now();
    if (!force && now - c->last_progress < c->o->progress_interval_s)
        return;
    c->last_progress = now;
    nbcl_series_progress p;
    p.done = c->written + c->skipped;
    p.total = c->total;
    p.skipped = c->skipped;
    p.elapsed_s = now - c->t0;
    p.rate_fps = p.elapsed_s > 0 ? c->written / p.elapsed_s : 0.0;
    p.eta_s = p.rate_fps > 0 ? (p.total - p.done) / p.rate_fps : -1.0;
    c->o->progress(c->o->progress_user, &p);
}

/* frame k of a series into the NXmx file of frames first..last (opened on the first frame to
 * arrive; frames come in any order). The file is committed by nexus_finish when all are in. */
static nbcl_status nexus_frame(series_ctx *c, int k, const nbcl_frame_products *p, char *err,
                               size_t errlen)
{
    if (!c->nexus) {
        nbcl_nexus_opts no = {c->last - c->first + 1,
                              (nbcl_nexus_compression)c->o->nexus_compression, 0};
        nbcl_commit_set *prev = nbcl_commit_set_use(NULL); /* not the frame's set: its own */
        nbcl_status st = nbcl_nexus_open(c->o->nexus_path, &p->meta, &no, &c->nexus, err, errlen);
        nbcl_commit_set_use(prev);
        if (st != NBCL_OK)
            return st;
    }
    nbcl_status st = nbcl_nexus_write_frame(c->nexus, k - c->first, p->counts, &p->meta, err,
                                            errlen);
    if (st == NBCL_OK)
        c->nexus_frames++;
    return st;
}

/* at the end of the writer: commit the NXmx file when every frame of the range is in it, else
 * remove it (a failed or interrupted series leaves no NXmx file) */
static void nexus_finish(series_ctx *c)
{
    if (!c->nexus)
        return;
    pthread_mutex_lock(&c->mu);
    nbcl_status failed = c->st;
    pthread_mutex_unlock(&c->mu);
    if (failed != NBCL_OK || cancelled(c) || c->nexus_frames != c->last - c->first + 1) {
        nbcl_nexus_abort(c->nexus);
    } else {
        char err[2048];
        nbcl_commit_set *prev = nbcl_commit_set_use(NULL);
        nbcl_status st = nbcl_nexus_close(c->nexus, err, sizeof err);
        nbcl_commit_set_use(prev);
        if (st != NBCL_OK) {
            c->acc.output_failed = 1;
            fail_ctx(c, st, err);
        }
    }
    c->nexus = NULL;
}

static nbcl_status write_item(series_ctx *c, item *it, char *err, size_t errlen)
{
    const nbcl_series_opts *o = c->o;
    double t = nbcl__now(); /* the writer's sums are its own (read after the join) */
    int want[NBCL_OUT_KINDS];
    char names[NBCL_OUT_KINDS][PATHCAP];
    nbcl_series_frame f;
    memset(&f, 0, sizeof f);
    for (int kd = 0; kd < NBCL_OUT_KINDS; kd++) {
        want[kd] = o->path[kd] != NULL;
        if (!want[kd])
            continue;
        if (nbcl_template_expand(o->path[kd], o->nframes > 1 ? it->frame : -1, names[kd],
                                 PATHCAP) != NBCL_OK) {
            nbcl__errf(err, errlen, "%s '%s': cannot name frame %d",
                       nbcl_output_kind_flag((nbcl_output_kind)kd), o->path[kd], it->frame);
            return NBCL_INVALID_ARGUMENT;
        }
        f.path[kd] = names[kd];
    }
    nbcl_frame_products p;
    /* without device statistics the host's are made with the SMV image (one sweep fewer) */
    nbcl_status st = nbcl_frame_products_make(it->scene, &it->img,
                                              it->have_stats ? &it->stats : NULL, want, &p, err,
                                              errlen);
    it->stats = p.stats;
    c->acc.convert_s += nbcl__now() - t;
    if (st != NBCL_OK)
        return st;
    f.frame = it->frame;
    f.nframes = o->nframes;
    f.phi_deg = it->phi_deg;
    f.seed = it->seed;
    f.misset_seed = it->misset_seed;
    f.scene = it->scene;
    f.image = &it->img;
    f.timing = &it->tm;
    f.products = &p;
    f.engine = it->engine;
    if (o->check_frame && (st = o->check_frame(o->check_frame_user, &f, err, errlen)) != NBCL_OK) {
        c->acc.check_failed = 1;
        nbcl_frame_products_free(&p);
        return st;
    }
    if (o->on_frame)
        o->on_frame(o->on_frame_user, &f);
    for (int kd = 0; kd < NBCL_OUT_KINDS && st == NBCL_OK; kd++)
        if (want[kd]) {
            t = nbcl__now();
            st = nbcl_frame_products_write(&p, &it->img, (nbcl_output_kind)kd, names[kd], err,
                                           errlen);
            c->acc.write_s[kd] += nbcl__now() - t;
        }
    if (st == NBCL_OK && (o->nexus_path || o->cbf_path)) {
        t = nbcl__now();
        st = nbcl_frame_products_counts(it->scene, &it->img, &p, err, errlen);
        if (st == NBCL_OK && o->nframes == 1) {
            nbcl_nexus_opts no = {1, (nbcl_nexus_compression)o->nexus_compression, 0};
            if (o->cbf_path)
                st = nbcl_write_cbf(o->cbf_path, &p.meta, p.counts, err, errlen);
            if (st == NBCL_OK && o->nexus_path)
                st = nbcl_write_nexus(o->nexus_path, &p.meta, p.counts, &no, err, errlen);
        } else if (st == NBCL_OK && o->nexus_path) {
            st = nexus_frame(c, it->frame, &p, err, errlen);
        }
        c->acc.convert_s += nbcl__now() - t;
    }
    if (st == NBCL_OK && p.counts && o->nframes == 1) {
        c->acc.counts_written = 1;
        c->acc.counts_overloads = p.counts_info.overloads;
        c->acc.counts_masked = p.counts_info.masked;
    }
    for (size_t i = 0; i < o->nsinks && st == NBCL_OK; i++)
        st = o->sinks[i].write_frame(o->sinks[i].user, &f, err, errlen);
    nbcl_frame_products_free(&p);
    return st;
}

/* A batch of frames waiting for their commit: one commit set per frame (its files appear
 * together or not at all), synced together (one wait for the batch) and then renamed set by set. */
#define BATCH_FILES 96 /* the outfile layer holds at most 256 temporary files over all sets */
typedef struct batch {
    nbcl_commit_set *set[BATCH_FILES];
    int n, cap;
} batch;

static int batch_frames(const series_ctx *c)
{
    int kinds = 0;
    for (int kd = 0; kd < NBCL_OUT_KINDS; kd++)
        kinds += c->o->path[kd] != NULL;
    int n = c->o->sync_frames > 0 ? c->o->sync_frames : BATCH_FILES;
    if (kinds > 0 && n * kinds > BATCH_FILES)
        n = BATCH_FILES / kinds;
    return n < 1 ? 1 : (n > BATCH_FILES ? BATCH_FILES : n);
}

/* sync every frame of the batch at once, rename frame by frame, sync the directories once; the
 * batch is empty after */
static nbcl_status batch_commit(series_ctx *c, batch *b, char *err, size_t errlen)
{
    double t = nbcl__now();
    nbcl_status st = nbcl_commit_sets_commit(b->set, (size_t)b->n, err, errlen);
    for (int i = 0; i < b->n; i++)
        nbcl_commit_set_destroy(b->set[i]);
    b->n = 0;
    c->acc.commit_s += nbcl__now() - t;
    return st;
}

static void batch_abort(batch *b)
{
    for (int i = 0; i < b->n; i++)
        nbcl_commit_set_destroy(b->set[i]); /* removes its files */
    b->n = 0;
}

/* one frame's files, into a commit set of their own that joins the batch */
static nbcl_status write_frame(series_ctx *c, item *it, batch *b, char *err, size_t errlen)
{
    nbcl_commit_set *set = NULL;
    nbcl_status st = nbcl_commit_set_create(&set, err, errlen);
    if (st != NBCL_OK)
        return st;
    nbcl_commit_set *prev = nbcl_commit_set_use(set);
    st = write_item(c, it, err, errlen);
    nbcl_commit_set_use(prev);
    if (st != NBCL_OK) {
        nbcl_commit_set_destroy(set);
        return st;
    }
    b->set[b->n++] = set;
    return NBCL_OK;
}

static void *writer_thread(void *arg)
{
    series_ctx *c = arg;
    /* a FIFO output waiting for its reader stops with the series' token (or the first engine's) */
    nbcl_cancel *prev = nbcl_cancel_use(c->o->cancel ? c->o->cancel : c->engines[0]->opts.cancel);
    char err[2048];
    batch b = {.n = 0, .cap = batch_frames(c)};
    double interval = c->o->sync_interval_s > 0 ? c->o->sync_interval_s : 2.0;
    double last_commit = nbcl__now();
    for (item *it; (it = queue_pop(c)) != NULL;) {
        pthread_mutex_lock(&c->mu);
        int stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (!stop && cancelled(c) && !c->o->keep_finished_on_cancel)
            stop = 1;
        if (!stop) {
            nbcl_status st = write_frame(c, it, &b, err, sizeof err);
            if (st == NBCL_OK) {
                c->written++;
                if (b.n >= b.cap || nbcl__now() - last_commit >= interval) {
                    st = batch_commit(c, &b, err, sizeof err);
                    last_commit = nbcl__now();
                }
                report_progress(c, 0);
            }
            if (st != NBCL_OK) {
                c->acc.output_failed = 1;
                fail_ctx(c, st, err);
            }
        }
        item_free(it);
    }
    if (cancelled(c) && !c->o->keep_finished_on_cancel) {
        batch_abort(&b);
    } else { /* the frames written so far are whole: commit them, also after a failure */
        nbcl_status st = batch_commit(c, &b, err, sizeof err);
        if (st != NBCL_OK) {
            c->acc.output_failed = 1;
            fail_ctx(c, st, err);
        }
    }
    nexus_finish(c);
    nbcl_cancel_use(prev); /* it may have run on the caller's thread */
    return NULL;
}

/* ---------------------------------------------------------------- plan and run */
static int frame_complete(const series_ctx *c, int k)
{
    int any = 0;
    for (int kd = 0; kd < NBCL_OUT_KINDS; kd++) {
        if (!c->o->path[kd])
            continue;
        char name[PATHCAP];
        if (nbcl_template_expand(c->o->path[kd], c->o->nframes > 1 ? k : -1, name, sizeof name) !=
                NBCL_OK ||
            !nbcl_output_file_complete((nbcl_output_kind)kd, name, c->base->fpixels,
                                       c->base->spixels))
            return 0;
        any = 1;
    }
    return any;
}

static nbcl_status make_plan(series_ctx *c, char *err, size_t errlen)
{
    const nbcl_series_opts *o = c->o;
    int first = o->first > 0 ? o->first : 1, last = o->last > 0 ? o->last : o->nframes;
    if (o->nframes < 1 || first > last || last > o->nframes || o->nranks < 1 || o->rank < 0 ||
        o->rank >= o->nranks) {
        nbcl__errf(err, errlen, "invalid frame plan: frames %d..%d of %d, rank %d of %d", first,
                   last, o->nframes, o->rank, o->nranks);
        return NBCL_INVALID_ARGUMENT;
    }
    if (o->nexus_path && o->nframes > 1 && (o->nranks > 1 || o->resume)) {
        nbcl__errf(err, errlen, "an NXmx series file holds every frame of the range: it cannot "
                                "be shared by %s", o->resume ? "-resume" : "several ranks");
        return NBCL_INVALID_ARGUMENT;
    }
    c->first = first;
    c->last = last;
    c->plan = malloc(sizeof(int) * (size_t)(last - first + 1));
    if (!c->plan) {
        nbcl__errf(err, errlen, "out of memory");
        return NBCL_OUT_OF_MEMORY;
    }
    for (int k = first; k <= last; k++) {
        if ((k - 1) % o->nranks != o->rank)
            continue;
        c->total++;
        if (o->resume && frame_complete(c, k))
            c->skipped++;
        else
            c->plan[c->nplan++] = k;
    }
    return NBCL_OK;
}

nbcl_status nbcl_series_run(nbcl_engine *const *engines, size_t nengines, const nbcl_config *cfg,
                            const nbcl_scene *base, const nbcl_series_opts *o,
                            nbcl_series_result *res, char *err, size_t errlen)
{
    if (res)
        memset(res, 0, sizeof *res);
    if (!engines || nengines == 0 || !cfg || !base || !o) {
        nbcl__errf(err, errlen, "nbcl_series_run: invalid argument");
        return NBCL_INVALID_ARGUMENT;
    }
    series_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        nbcl__errf(err, errlen, "out of memory");
        return NBCL_OUT_OF_MEMORY;
    }
    c->cfg = cfg;
    c->base = base;
    c->o = o;
    c->engines = engines;
    c->nengines = nengines;
    c->t0 = c->last_progress = nbcl__now();
    c->bmax = calloc(nengines, sizeof *c->bmax);
    nbcl_status st = c->bmax ? make_plan(c, err, errlen) : NBCL_OUT_OF_MEMORY;
    if (st != NBCL_OK) {
        if (!c->bmax)
            nbcl__errf(err, errlen, "out of memory");
        free(c->bmax);
        free(c->plan);
        free(c);
        return st;
    }
    /* the writer's queue: the largest batch plus one frame per engine, so a rendered batch can
     * wait for the writer while the next renders, and memory stays bounded by about two batches
     * of images (not one batch per engine) */
    int bmax_all = 1;
    for (size_t i = 0; i < nengines; i++) { /* stills: a misset per frame changes a*, b*, c* */
        size_t b = o->stills                ? 1
                   : o->max_batch > 0 ? (size_t)o->max_batch
                                      : nbcl_render_batch_max(engines[i], base);
        c->bmax[i] = b < NBCL_SERIES_BATCH ? (int)b : NBCL_SERIES_BATCH;
        bmax_all = c->bmax[i] > bmax_all ? c->bmax[i] : bmax_all;
    }
    c->cap = (int)nengines + bmax_all;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->not_empty, NULL);
    pthread_cond_init(&c->not_full, NULL);
    report_progress(c, 1);

    pthread_t wtid;
    int wthreaded = pthread_create(&wtid, NULL, writer_thread, c) == 0;
    if (!wthreaded)
        c->cap = c->nplan + 1; /* no writer thread: render everything, then write */
    if (nengines == 1) {
        render_loop(c, 0);
    } else {
        worker *w = calloc(nengines, sizeof *w);
        for (size_t i = 0; w && i < nengines; i++) {
            w[i].c = c;
            w[i].ei = i;
            w[i].started = pthread_create(&w[i].tid, NULL, render_thread, &w[i]) == 0;
        }
        for (size_t i = 0; w && i < nengines; i++)
            if (w[i].started)
                pthread_join(w[i].tid, NULL);
        if (!w)
            render_loop(c, 0);
        free(w);
    }
    pthread_mutex_lock(&c->mu);
    c->producers_done = 1;
    pthread_cond_broadcast(&c->not_empty);
    pthread_mutex_unlock(&c->mu);
    if (wthreaded)
        pthread_join(wtid, NULL);
    else
        writer_thread(c);
    report_progress(c, 1);

    st = c->st;
    if (st != NBCL_OK)
        nbcl__errf(err, errlen, "%s", c->err);
    else if (cancelled(c)) {
        st = NBCL_INTERRUPTED;
        nbcl__errf(err, errlen, "%s", c->render_interrupted ? "render interrupted" : "interrupted");
    }
    for (size_t i = 0; i < o->nsinks; i++) {
        char e2[1024];
        nbcl_status s2 = o->sinks[i].close(o->sinks[i].user, st == NBCL_OK, e2, sizeof e2);
        if (st == NBCL_OK && s2 != NBCL_OK) {
            st = s2;
            nbcl__errf(err, errlen, "%s", e2);
        }
    }
    if (res) {
        *res = c->acc;
        res->rendered = c->rendered; /* frames handed out but never rendered do not count */
        res->skipped = c->skipped;
        res->written = c->written;
        res->wall_s = nbcl__now() - c->t0;
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->not_empty);
    pthread_cond_destroy(&c->not_full);
    free(c->plan);
    free(c->bmax);
    free(c);
    return st;
}
