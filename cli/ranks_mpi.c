/* nbcl-mpi.so: the MPI calls of nbcl's ranks (cli/ranks.c), a module that links Open MPI. Loaded
 * with NBCL_MODULE_GLOBAL: Open MPI's own plug-ins (mca_*.so) expect libmpi's symbols in the
 * global scope. */
#include <mpi.h>

#include "ranks_mpi.h"

static void init(int *argc, char ***argv, int *rank, int *size, int *local_rank)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, *rank, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(node, local_rank);
        MPI_Comm_free(&node);
    }
}

static int max_int(int v)
{
    int out = v;
    MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

static long sum_long(long v)
{
    long out = v;
    MPI_Allreduce(&v, &out, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    return out;
}

static void finalize(void)
{
    MPI_Finalize();
}

__attribute__((visibility("default"))) const void *nbcl_module_mpi(void);
const void *nbcl_module_mpi(void)
{
    static const nbcl_mpi_module table = {
        {NBCL_MODULE_ABI, NBCL_VERSION_TEXT}, init, max_int, sum_long, finalize};
    return &table;
}
