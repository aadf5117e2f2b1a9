/* Cancellation tokens (nbcl_cancel): a flag the caller creates, hands to the engines and series
 * it wants to stop together, and triggers (from a signal handler too); the library only reads it.
 * Nothing here is process-wide: two engines with different tokens stop independently. File waits
 * (an input FIFO, a FIFO output whose reader is slow) have no engine to ask, so they read the
 * token the calling thread installed with nbcl_cancel_use(), as commit sets do with
 * nbcl_commit_set_use(). */
#include <stdatomic.h>
#include <stdlib.h>

#include "nbcl_internal.h"

/* a lock-free atomic int is async-signal-safe to store and safe to read from other threads */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "nbcl_cancel needs a lock-free atomic int");

struct nbcl_cancel {
    atomic_int triggered;
};

static _Thread_local nbcl_cancel *t_io_cancel;

nbcl_cancel *nbcl_cancel_create(void)
{
    nbcl_cancel *c = malloc(sizeof *c);
    if (c)
        atomic_init(&c->triggered, 0);
    return c;
}

void nbcl_cancel_destroy(nbcl_cancel *c)
{
    if (c && t_io_cancel == c)
        t_io_cancel = NULL;
    free(c);
}

void nbcl_cancel_trigger(nbcl_cancel *c)
{
    if (c)
        atomic_store(&c->triggered, 1);
}

void nbcl_cancel_reset(nbcl_cancel *c)
{
    if (c)
        atomic_store(&c->triggered, 0);
}

int nbcl_cancel_triggered(const nbcl_cancel *c)
{
    return c ? atomic_load(&((nbcl_cancel *)c)->triggered) != 0 : 0;
}

nbcl_cancel *nbcl_cancel_use(nbcl_cancel *c)
{
    nbcl_cancel *prev = t_io_cancel;
    t_io_cancel = c;
    return prev;
}

int nbcl__io_cancelled(void)
{
    return nbcl_cancel_triggered(t_io_cancel);
}
