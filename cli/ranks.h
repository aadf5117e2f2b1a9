/* MPI ranks for nbcl series (cli/ranks.c): one rank per process when built without MPI or when
 * no MPI launcher started the process. */
#ifndef NBCL_RANKS_H
#define NBCL_RANKS_H
#include <stddef.h>

typedef struct nbcl_ranks {
    int rank, size;      /* this process, all processes */
    int local_rank;      /* among the processes on this node */
    int mpi;             /* MPI_Init was called */
    const struct nbcl_mpi_module *mod; /* the module nbcl-mpi.so, when mpi */
} nbcl_ranks;

/* Start MPI when nbcl was built with it and the environment says the process was started by
 * mpirun/srun (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK...): only then is the module
 * nbcl-mpi.so (Open MPI) loaded; when it cannot be, returns non-zero with the loader's message.
 * Without MPI: refuses (non-zero with a message) under a launcher of more than one rank, so that
 * R copies never write the same files. */
int nbcl_ranks_init(int *argc, char ***argv, nbcl_ranks *r, char *err, size_t errlen);
/* The largest exit code over all ranks (every rank returns the same code). */
int nbcl_ranks_max(const nbcl_ranks *r, int code);
/* Sum of v over all ranks. */
long nbcl_ranks_sum(const nbcl_ranks *r, long v);
void nbcl_ranks_finalize(const nbcl_ranks *r);

#endif
