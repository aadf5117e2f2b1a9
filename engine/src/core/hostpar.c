#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
/* A small parallel-for over a fixed number of chunks, for host passes over large images
 * (statistics, integer conversion). Results never depend on the thread count: callers give each
 * chunk its own output slot and combine the slots in chunk order.
 *
 * A thread is started only for at least HOSTPAR_PIXELS_PER_THREAD pixels of work (about a
 * millisecond per pass): below that, starting and joining it costs more than it saves, and in a
 * series on a CPU device both cores are busy with the kernel anyway, so a light frame's passes
 * run on the calling thread without any thread being created. NBCL_HOST_THREADS forces a count. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "nbcl_internal.h"

#define HOSTPAR_MAX_THREADS 64
#define HOSTPAR_PIXELS_PER_THREAD ((size_t)1 << 20)

/* NBCL_HOST_THREADS when set (>= 1), else 0 */
static int forced_threads(void)
{
    nbcl_env_options env; /* engine-less passes: read here, through the one reader */
    (void)nbcl_env_options_read(&env, NULL, 0); /* an invalid value stays 0 (unset) */
    long v = env.host_threads;
    if (v < 1)
        return 0;
    return v > HOSTPAR_MAX_THREADS ? HOSTPAR_MAX_THREADS : (int)v;
}

int nbcl__host_threads(void)
{
    int forced = forced_threads();
    if (forced)
        return forced;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        n = CPU_COUNT(&set); /* the CPUs this process may run on (containers, taskset) */
#endif
    if (n < 1)
        n = 1;
    return n > HOSTPAR_MAX_THREADS ? HOSTPAR_MAX_THREADS : (int)n;
}

typedef struct par_job {
    void (*fn)(void *, size_t);
    void *ctx;
    size_t nchunks;
    atomic_size_t next;
} par_job;

static void *par_worker(void *arg)
{
    par_job *j = arg;
    for (;;) {
        size_t c = atomic_fetch_add(&j->next, 1);
        if (c >= j->nchunks)
            break;
        j->fn(j->ctx, c);
    }
    return NULL;
}

int nbcl__host_threads_for(size_t nchunks, size_t npixels)
{
    int nt = forced_threads();
    if (!nt) {
        size_t by_work = npixels / HOSTPAR_PIXELS_PER_THREAD;
        /* a light pass asks nothing of the system (the CPU count reads /sys) */
        nt = by_work > 1 ? nbcl__host_threads() : 1;
        if ((size_t)nt > by_work)
            nt = by_work > 0 ? (int)by_work : 1;
    }
    if ((size_t)nt > nchunks)
        nt = nchunks > 0 ? (int)nchunks : 1;
    return nt;
}

void nbcl__parallel_chunks(size_t nchunks, size_t npixels, void (*fn)(void *ctx, size_t chunk),
                           void *ctx)
{
    int nt = nbcl__host_threads_for(nchunks, npixels);
    if (nt <= 1) { /* no thread, no atomics: the chunks in order on this thread */
        for (size_t c = 0; c < nchunks; c++)
            fn(ctx, c);
        return;
    }
    par_job j = {fn, ctx, nchunks, 0};
    pthread_t tid[HOSTPAR_MAX_THREADS];
    int started = 0;
    for (int t = 1; t < nt; t++) /* a thread that cannot start only means less parallelism */
        if (pthread_create(&tid[started], NULL, par_worker, &j) == 0)
            started++;
    par_worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
}
