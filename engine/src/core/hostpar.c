#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
/* A small parallel-for over a fixed number of chunks, for host passes over large images
 * (statistics, integer conversion). Results never depend on the thread count: callers give each
 * chunk its own output slot and combine the slots in chunk order. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "nbcl_internal.h"

#define HOSTPAR_MAX_THREADS 64

int nbcl__host_threads(void)
{
    nbcl_env_options env; /* engine-less passes: read here, through the one reader */
    (void)nbcl_env_options_read(&env, NULL, 0); /* an invalid value stays 0 (unset) */
    long v = env.host_threads;
    if (v >= 1)
        return v > HOSTPAR_MAX_THREADS ? HOSTPAR_MAX_THREADS : (int)v;
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

void nbcl__parallel_chunks(size_t nchunks, void (*fn)(void *ctx, size_t chunk), void *ctx)
{
    par_job j = {fn, ctx, nchunks, 0};
    int nt = nbcl__host_threads();
    if ((size_t)nt > nchunks)
        nt = (int)nchunks;
    pthread_t tid[HOSTPAR_MAX_THREADS];
    int started = 0;
    for (int t = 1; t < nt; t++) /* a thread that cannot start only means less parallelism */
        if (pthread_create(&tid[started], NULL, par_worker, &j) == 0)
            started++;
    par_worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
}
