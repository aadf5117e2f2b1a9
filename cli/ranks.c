/* Ranks of an MPI job (Open MPI when CMake found it: NBCL_HAVE_MPI, the calls in the module
 * nbcl-mpi.so, cli/ranks_mpi.c), or one process. */
#include "ranks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NBCL_HAVE_MPI
#include "ranks_mpi.h"
#endif

/* the launcher's world size from the environment, 0 when not started by a launcher */
static int launcher_size(const char **which)
{
    static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof size_vars / sizeof size_vars[0]; i++) {
        const char *v = getenv(size_vars[i]);
        if (v && *v) {
            *which = size_vars[i];
            return atoi(v);
        }
    }
    if (getenv("PMIX_RANK")) { /* PMIx without a size variable: assume a job of several */
        *which = "PMIX_RANK";
        return 2;
    }
    return 0;
}

int nbcl_ranks_init(int *argc, char ***argv, nbcl_ranks *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->size = 1;
    const char *which = NULL;
    int lsize = launcher_size(&which);
#ifdef NBCL_HAVE_MPI
    if (lsize > 0) { /* only under a launcher: a plain run stays free of MPI and its libraries */
        char why[1024] = "";
        r->mod = nbcl_module_load("mpi", NBCL_MODULE_GLOBAL, why, sizeof why);
        if (!r->mod) {
            snprintf(err, errlen, "started by an MPI launcher (%s=%s) but MPI is not available: %s",
                     which, getenv(which), why);
            return 1;
        }
        r->mod->init(argc, argv, &r->rank, &r->size, &r->local_rank);
        r->mpi = 1;
    }
    return 0;
#else
    (void)argc;
    (void)argv;
    if (lsize > 1) {
        snprintf(err, errlen,
                 "started by an MPI launcher (%s=%s) but this nbcl was built without MPI: every "
                 "rank would render and write the same files; rebuild with Open MPI "
                 "(libopenmpi-dev) or run one process",
                 which, getenv(which));
        return 1;
    }
    return 0;
#endif
}

int nbcl_ranks_max(const nbcl_ranks *r, int code)
{
#ifdef NBCL_HAVE_MPI
    if (r->mpi)
        return r->mod->max_int(code);
#endif
    (void)r;
    return code;
}

long nbcl_ranks_sum(const nbcl_ranks *r, long v)
{
#ifdef NBCL_HAVE_MPI
    if (r->mpi)
        return r->mod->sum_long(v);
#endif
    (void)r;
    return v;
}

void nbcl_ranks_finalize(const nbcl_ranks *r)
{
#ifdef NBCL_HAVE_MPI
    if (r->mpi)
        r->mod->finalize();
#endif
    (void)r;
}
