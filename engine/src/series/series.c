/* A series of frames in one process: the frame plan (this process's share, -frames, -resume),
 * render workers (the calling thread with one engine, one thread per engine with several: each
 * engine's OpenCL calls stay on one thread), and a writer thread that computes statistics,
 * conversions and the noise image and writes every output while the next frame renders; once
 * the renders are done the calling thread writes queued frames too (two_writers). Images are
 * used again frame after frame (buf_pool).
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
#include <sys/stat.h>

#include "nbcl_internal.h"

#define RTD (180.0 / M_PI)
#define PATHCAP 4096
#define NBCL_SERIES_BATCH 16 /* the most frames rendered in one call (nbcl_render_frames) */

typedef struct item {
    int frame;
    long seq;              /* its place in the writers' queue (0, 1, ...): callbacks in order */
    size_t engine;
    nbcl_scene *scene;
    nbcl_image img;        /* its memory from the series' image pool */
    nbcl_render_timing tm;
    nbcl_stats stats;
    int have_stats;
    long seed, misset_seed;
    double phi_deg;
    struct item *next;
} item;

/* Buffers of one size used again frame after frame (a stack): a fresh 1 MB image is a fresh
 * mmap whose 256 pages fault in inside the kernel's threads (glibc serves page-aligned blocks of
 * that size with mmap every time, and munmap flushes the other core's TLB). At most `cap`
 * buffers are kept; more are freed. */
typedef struct buf_pool {
    pthread_mutex_t mu;
    void **buf;
    int n, cap;
    size_t bytes;
} buf_pool;

static int pool_init(buf_pool *p, size_t bytes, int cap)
{
    p->buf = calloc((size_t)(cap > 0 ? cap : 1), sizeof *p->buf);
    p->n = 0;
    p->cap = cap;
    p->bytes = bytes;
    pthread_mutex_init(&p->mu, NULL);
    return p->buf != NULL;
}

static void *pool_get(buf_pool *p)
{
    void *b = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->n > 0)
        b = p->buf[--p->n];
    pthread_mutex_unlock(&p->mu);
    return b ? b : nbcl_alloc_large(p->bytes);
}

static void pool_put(buf_pool *p, void *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->n < p->cap) {
        p->buf[p->n++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    free(b);
}

static void pool_destroy(buf_pool *p)
{
    while (p->n > 0)
        free(p->buf[--p->n]);
    free(p->buf);
    pthread_mutex_destroy(&p->mu);
}

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
    buf_pool images;       /* float images: renders write them, item_free gives them back */
    buf_pool smv;          /* the writers' SMV images */

    /* The writers: one thread; with writers == 2 the calling thread joins it once its renders
     * are done, for the frames still queued. Two turns keep the queue's order whatever the
     * writers' speed: a frame's callbacks (check_frame, on_frame) run after every earlier
     * frame's, and its files join the batch after every earlier frame's did (or failed). */
    int writers;
    long pushed;           /* items queued so far (the next one's seq) */
    long turn[2];          /* TURN_ANNOUNCE, TURN_COMMIT: seq of the item whose turn it is */
    pthread_cond_t turn_cv;
    int out_failed;        /* a frame's output failed: no later frame is begun or committed */
    struct batch *batch;   /* frames waiting for their commit (in TURN_COMMIT, or at the end) */
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

static void item_free(series_ctx *c, item *it)
{
    if (!it)
        return;
    pool_put(&c->images, it->img.data);
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
 * evenly over batches (and, with several engines, so that each gets some: dynamic hand-out).
 * Waits first while the writers' queue is full: the frames in flight stay bounded. */
static int next_frames(series_ctx *c, size_t ei, int *ks)
{
    int n = 0;
    pthread_mutex_lock(&c->mu);
    while (c->queued >= c->cap && !c->stop && !cancelled(c))
        pthread_cond_wait(&c->not_full, &c->mu);
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
        item_free(c, it);
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
    for (int i = 0; i < n; i++) {
        scenes[i] = its[i]->scene;
        imgs[i].data = its[i]->img.data ? its[i]->img.data : pool_get(&c->images);
        its[i]->img.data = imgs[i].data; /* the item gives it back, whatever happens */
        if (!imgs[i].data) {
            fail_ctx(c, NBCL_OUT_OF_MEMORY, "out of memory for the frames' images");
            return -1;
        }
    }
    nbcl_render_opts ro = {0};
    if (c->o->cancel || (c->nengines == 1 && c->o->render_progress)) {
        ro.progress = render_tick;
        ro.progress_user = c;
    }
    nbcl_status st = nbcl__render_frames_into(e, scenes, (size_t)n, &ro, imgs, tms);
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

/* a rendered frame to the writers; never waits (its image is made: next_frames waits for room
 * before the next batch is rendered), so the calling thread is free to write as soon as its
 * last batch is rendered */
static void queue_push(series_ctx *c, item *it)
{
    pthread_mutex_lock(&c->mu);
    if (c->stop) {
        pthread_mutex_unlock(&c->mu);
        item_free(c, it);
        return;
    }
    it->seq = c->pushed++;
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
            item_free(c, its[i]);
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

/* The queue's order for the writers (see series_ctx): with two writers, frame k+1's products
 * may be ready before frame k's callbacks ran, or its files written before frame k's; it waits
 * here for its turn. Every item passes each turn exactly once. Returns 0 when an earlier
 * frame's output failed (nothing after it is begun or committed, as with one writer). */
enum { TURN_ANNOUNCE = 0, TURN_COMMIT = 1 };

static int turn_wait(series_ctx *c, int which, long seq)
{
    pthread_mutex_lock(&c->mu);
    while (c->turn[which] != seq)
        pthread_cond_wait(&c->turn_cv, &c->mu);
    int go = !c->out_failed;
    pthread_mutex_unlock(&c->mu);
    return go;
}

static void turn_next(series_ctx *c, int which)
{
    pthread_mutex_lock(&c->mu);
    c->turn[which]++;
    pthread_cond_broadcast(&c->turn_cv);
    pthread_mutex_unlock(&c->mu);
}

static void acc_add(series_ctx *c, double *sum, double s)
{
    pthread_mutex_lock(&c->mu);
    *sum += s;
    pthread_mutex_unlock(&c->mu);
}

/* an error of the output side: the first one is the series' */
static void fail_output(series_ctx *c, nbcl_status st, const char *msg, int check)
{
    pthread_mutex_lock(&c->mu);
    c->acc.output_failed = 1;
    c->acc.check_failed |= check;
    c->out_failed = 1;
    pthread_mutex_unlock(&c->mu);
    fail_ctx(c, st, msg);
}

/* *turned: whether a frame passed TURN_ANNOUNCE (TURN_PASSED), was dropped there after an
 * earlier frame failed (TURN_STOPPED: not an error of its own), or did not reach it */
enum { TURN_NOT_YET = 0, TURN_PASSED = 1, TURN_STOPPED = 2 };

/* the frame's callbacks (check_frame, on_frame), in queue order */
static nbcl_status announce(series_ctx *c, item *it, const nbcl_series_frame *f, int *turned,
                            char *err, size_t errlen)
{
    const nbcl_series_opts *o = c->o;
    nbcl_status st = NBCL_OK;
    *turned = TURN_PASSED;
    if (!turn_wait(c, TURN_ANNOUNCE, it->seq)) {
        st = NBCL_INTERRUPTED;
        *turned = TURN_STOPPED;
        nbcl__errf(err, errlen, "stopped");
    } else if (o->check_frame && (st = o->check_frame(o->check_frame_user, f, err, errlen)) !=
                                     NBCL_OK) {
        fail_output(c, st, err, 1); /* before the next frame's turn: it sees the failure */
    } else if (o->on_frame) {
        o->on_frame(o->on_frame_user, f);
    }
    turn_next(c, TURN_ANNOUNCE);
    return st;
}

static nbcl_status write_products(series_ctx *c, item *it, nbcl_frame_products *p, int *turned,
                                  char *err, size_t errlen)
{
    const nbcl_series_opts *o = c->o;
    double t = nbcl__now();
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
    uint16_t *smv = want[NBCL_OUT_SMV] ? pool_get(&c->smv) : NULL;
    /* without device statistics the host's are made with the SMV image (one sweep fewer) */
    nbcl_status st = want[NBCL_OUT_SMV] && !smv
                         ? NBCL_OUT_OF_MEMORY
                         : nbcl__frame_products_make_into(it->scene, &it->img,
                                                          it->have_stats ? &it->stats : NULL,
                                                          want, smv, p, err, errlen);
    if (want[NBCL_OUT_SMV] && !smv)
        nbcl__errf(err, errlen, "out of memory for the SMV image of frame %d", it->frame);
    if (p->smv != smv) { /* make failed before taking it */
        pool_put(&c->smv, smv);
        smv = NULL;
    }
    it->stats = p->stats;
    acc_add(c, &c->acc.convert_s, nbcl__now() - t);
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
    f.products = p;
    f.engine = it->engine;
    if ((st = announce(c, it, &f, turned, err, errlen)) != NBCL_OK)
        return st;
    for (int kd = 0; kd < NBCL_OUT_KINDS && st == NBCL_OK; kd++)
        if (want[kd]) {
            t = nbcl__now();
            st = nbcl_frame_products_write(p, &it->img, (nbcl_output_kind)kd, names[kd], err,
                                           errlen);
            acc_add(c, &c->acc.write_s[kd], nbcl__now() - t);
        }
    if (st == NBCL_OK && (o->nexus_path || o->cbf_path)) { /* one writer: no lock needed */
        t = nbcl__now();
        st = nbcl_frame_products_counts(it->scene, &it->img, p, err, errlen);
        if (st == NBCL_OK && o->nframes == 1) {
            nbcl_nexus_opts no = {1, (nbcl_nexus_compression)o->nexus_compression, 0};
            if (o->cbf_path)
                st = nbcl_write_cbf(o->cbf_path, &p->meta, p->counts, err, errlen);
            if (st == NBCL_OK && o->nexus_path)
                st = nbcl_write_nexus(o->nexus_path, &p->meta, p->counts, &no, err, errlen);
        } else if (st == NBCL_OK && o->nexus_path) {
            st = nexus_frame(c, it->frame, p, err, errlen);
        }
        c->acc.convert_s += nbcl__now() - t;
    }
    if (st == NBCL_OK && p->counts && o->nframes == 1) {
        c->acc.counts_written = 1;
        c->acc.counts_overloads = p->counts_info.overloads;
        c->acc.counts_masked = p->counts_info.masked;
    }
    for (size_t i = 0; i < o->nsinks && st == NBCL_OK; i++)
        st = o->sinks[i].write_frame(o->sinks[i].user, &f, err, errlen);
    return st;
}

/* one frame's products and files; the SMV image goes back to the pool */
static nbcl_status write_item(series_ctx *c, item *it, int *turned, char *err, size_t errlen)
{
    nbcl_frame_products p;
    memset(&p, 0, sizeof p);
    nbcl_status st = write_products(c, it, &p, turned, err, errlen);
    pool_put(&c->smv, p.smv);
    p.smv = NULL;
    nbcl_frame_products_free(&p);
    return st;
}

/* A batch of frames waiting for their commit: one commit set per frame (its files appear
 * together or not at all), synced together (one wait for the batch) and then renamed set by set.
 * (A thread that fdatasynced each frame as it joined the batch, while later frames were written,
 * made the series slower, not faster: 40 interleaved runs, docs/performance.md.) */
#define BATCH_FILES 96 /* the outfile layer holds at most 256 temporary files over all sets */
typedef struct batch {
    nbcl_commit_set *set[BATCH_FILES];
    int n, cap;
    double last_commit, interval;
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
    b->last_commit = nbcl__now();
    acc_add(c, &c->acc.commit_s, b->last_commit - t);
    return st;
}

static void batch_abort(batch *b)
{
    for (int i = 0; i < b->n; i++)
        nbcl_commit_set_destroy(b->set[i]); /* removes its files */
    b->n = 0;
}

/* a written frame's set joins the batch, which is committed when full or due (in TURN_COMMIT:
 * one writer at a time) */
static nbcl_status batch_add(series_ctx *c, nbcl_commit_set *set, char *err, size_t errlen)
{
    batch *b = c->batch;
    b->set[b->n++] = set;
    nbcl_status st = NBCL_OK;
    if (b->n >= b->cap || nbcl__now() - b->last_commit >= b->interval)
        st = batch_commit(c, b, err, errlen);
    pthread_mutex_lock(&c->mu);
    c->written++;
    pthread_mutex_unlock(&c->mu);
    if (st == NBCL_OK)
        report_progress(c, 0);
    return st;
}

/* one frame's files, into a commit set of their own (*set; NULL when nothing was written) */
static nbcl_status write_frame(series_ctx *c, item *it, int *turned, nbcl_commit_set **set,
                               char *err, size_t errlen)
{
    nbcl_status st = nbcl_commit_set_create(set, err, errlen);
    if (st != NBCL_OK)
        return st;
    nbcl_commit_set *prev = nbcl_commit_set_use(*set);
    st = write_item(c, it, turned, err, errlen);
    nbcl_commit_set_use(prev);
    if (st != NBCL_OK) {
        nbcl_commit_set_destroy(*set); /* removes its files */
        *set = NULL;
    }
    return st;
}

/* one item: its frame written (unless the series stopped), both turns passed, the frame's set
 * into the batch in queue order */
static void writer_item(series_ctx *c, item *it, char *err, size_t errlen)
{
    pthread_mutex_lock(&c->mu);
    int stop = c->stop;
    pthread_mutex_unlock(&c->mu);
    if (!stop && cancelled(c) && !c->o->keep_finished_on_cancel)
        stop = 1;
    int turned = TURN_NOT_YET;
    nbcl_commit_set *set = NULL;
    nbcl_status st = NBCL_OK;
    if (!stop) {
        st = write_frame(c, it, &turned, &set, err, errlen);
        if (st != NBCL_OK && turned != TURN_STOPPED)
            fail_output(c, st, err, 0); /* before its turns pass: later frames see it */
    }
    if (turned == TURN_NOT_YET) {
        turn_wait(c, TURN_ANNOUNCE, it->seq);
        turn_next(c, TURN_ANNOUNCE);
    }
    if (turn_wait(c, TURN_COMMIT, it->seq) && set) {
        st = batch_add(c, set, err, errlen);
        set = NULL;
        if (st != NBCL_OK)
            fail_output(c, st, err, 0);
    }
    nbcl_commit_set_destroy(set); /* an earlier frame failed after this one was written */
    turn_next(c, TURN_COMMIT);
}

/* frames from the queue until it is empty and the renders are done */
static void writer_loop(series_ctx *c)
{
    char err[2048];
    for (item *it; (it = queue_pop(c)) != NULL;) {
        writer_item(c, it, err, sizeof err);
        item_free(c, it);
    }
}

/* after the last frame of every writer: the last batch, the NXmx file */
static void writer_finish(series_ctx *c)
{
    char err[2048];
    if (cancelled(c) && !c->o->keep_finished_on_cancel) {
        batch_abort(c->batch);
    } else { /* the frames written so far are whole: commit them, also after a failure */
        nbcl_status st = batch_commit(c, c->batch, err, sizeof err);
        if (st != NBCL_OK)
            fail_output(c, st, err, 0);
    }
    nexus_finish(c);
}

/* a FIFO output waiting for its reader stops with the series' token (or the first engine's) */
static nbcl_cancel *writer_token(const series_ctx *c)
{
    return c->o->cancel ? c->o->cancel : c->engines[0]->opts.cancel;
}

static void *writer_thread(void *arg)
{
    series_ctx *c = arg;
    nbcl_cancel *prev = nbcl_cancel_use(writer_token(c));
    writer_loop(c);
    if (c->writers == 1)
        writer_finish(c);
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

/* whether the calling thread may write frames too once its renders are done: the per-frame
 * outputs only (the NXmx file, single-frame photon counts and the sinks stay on one thread),
 * more than one frame to write and more than one CPU */
static int two_writers(const series_ctx *c)
{
    const nbcl_series_opts *o = c->o;
    if (c->nplan < 2 || o->nexus_path || o->cbf_path || o->nsinks > 0 || o->path[NBCL_OUT_CBF] ||
        nbcl__host_threads() < 2)
        return 0;
    /* outputs that are devices or FIFOs (names linked to one FIFO, say) get their frames one
     * after the other, as from one writer: two writing at once would interleave the streams.
     * Every planned frame's names are looked at (with -resume the first may be a plain file). */
    for (int kd = 0; kd < NBCL_OUT_KINDS; kd++) {
        if (!o->path[kd])
            continue;
        for (int i = 0; i < c->nplan; i++) {
            char name[PATHCAP];
            struct stat st;
            if (nbcl_template_expand(o->path[kd], o->nframes > 1 ? c->plan[i] : -1, name,
                                     sizeof name) == NBCL_OK &&
                stat(name, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
                return 0;
        }
    }
    return 1;
}

/* locks, pools (bounded by the frames in flight: the queue, a batch being rendered per engine,
 * one per writer) and the batch */
static nbcl_status pipeline_init(series_ctx *c, char *err, size_t errlen)
{
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->not_empty, NULL);
    pthread_cond_init(&c->not_full, NULL);
    pthread_cond_init(&c->turn_cv, NULL);
    c->writers = two_writers(c) ? 2 : 1;
    int in_flight = c->cap + c->writers;
    for (size_t i = 0; i < c->nengines; i++)
        in_flight += c->bmax[i];
    size_t npix = (size_t)c->base->fpixels * (size_t)c->base->spixels;
    int ok = pool_init(&c->images, (npix ? npix : 1) * sizeof(float), in_flight);
    ok &= pool_init(&c->smv, (npix ? npix : 1) * sizeof(uint16_t), c->writers);
    c->batch = calloc(1, sizeof *c->batch);
    if (!ok || !c->batch) {
        nbcl__errf(err, errlen, "out of memory");
        return NBCL_OUT_OF_MEMORY;
    }
    c->batch->cap = batch_frames(c);
    c->batch->interval = c->o->sync_interval_s > 0 ? c->o->sync_interval_s : 2.0;
    c->batch->last_commit = nbcl__now();
    return NBCL_OK;
}

static void render_all(series_ctx *c)
{
    size_t nengines = c->nengines;
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
}

/* the renders on this thread (one engine) or a thread per engine, the writer thread meanwhile;
 * with two writers this thread then joins the writer for the frames still queued */
static void pipeline_run(series_ctx *c)
{
    report_progress(c, 1);
    pthread_t wtid;
    int wthreaded = pthread_create(&wtid, NULL, writer_thread, c) == 0;
    if (!wthreaded) {
        c->cap = c->nplan + 1; /* no writer thread: render everything, then write */
        c->writers = 1;
    }
    render_all(c);
    pthread_mutex_lock(&c->mu);
    c->producers_done = 1;
    pthread_cond_broadcast(&c->not_empty);
    pthread_mutex_unlock(&c->mu);
    if (!wthreaded) {
        writer_thread(c);
    } else if (c->writers == 1) {
        pthread_join(wtid, NULL);
    } else {
        nbcl_cancel *prev = nbcl_cancel_use(writer_token(c));
        writer_loop(c);
        pthread_join(wtid, NULL);
        writer_finish(c);
        nbcl_cancel_use(prev);
    }
    report_progress(c, 1);
}

static void pipeline_free(series_ctx *c)
{
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->not_empty);
    pthread_cond_destroy(&c->not_full);
    pthread_cond_destroy(&c->turn_cv);
    pool_destroy(&c->images);
    pool_destroy(&c->smv);
    free(c->batch);
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
    st = pipeline_init(c, err, errlen);
    if (st == NBCL_OK)
        pipeline_run(c);
    else
        fail_ctx(c, st, err);
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
    pipeline_free(c);
    free(c->plan);
    free(c->bmax);
    free(c);
    return st;
}
