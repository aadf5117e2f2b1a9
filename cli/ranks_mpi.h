/* The table of the module nbcl-mpi.so (cli/ranks_mpi.c, Open MPI), which cli/ranks.c loads with
 * nbcl_module_load only when an MPI launcher started the process: a plain run never loads
 * libmpi and its ~25 libraries (docs/architecture.md "Modules"). */
#ifndef NBCL_RANKS_MPI_H
#define NBCL_RANKS_MPI_H
#include <nbcl/nbcl.h>

typedef struct nbcl_mpi_module {
    nbcl_module_head head;
    /* MPI_Init; this process' rank, the world size and the rank among the node's processes */
    void (*init)(int *argc, char ***argv, int *rank, int *size, int *local_rank);
    int (*max_int)(int v);    /* over all ranks (MPI_Allreduce) */
    long (*sum_long)(long v); /* over all ranks */
    void (*finalize)(void);
} nbcl_mpi_module;

#endif
