/* libFuzzer harness: HKL text reader and the Fdump.bin reader (the same bytes go to both). */
#include "fuzz_common.h"
#include <math.h>
#include "nbcl/nbcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_grid(const nbcl_hkl_grid *g)
{
    /* a grid that was returned must be consistent and fully readable */
    if (g->h_range != g->h_max - g->h_min + 1 || g->k_range != g->k_max - g->k_min + 1 ||
        g->l_range != g->l_max - g->l_min + 1 || g->h_range < 1 || g->k_range < 1 ||
        g->l_range < 1 || !g->F)
        abort();
    size_t cells = (size_t)g->h_range * (size_t)g->k_range * (size_t)g->l_range;
    volatile double sum = 0;
    for (size_t i = 0; i < cells; i++)
        sum += g->F[i];
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nbcl_fuzz_file(data, size);
    char err[1024];
    nbcl_hkl_grid g;
    err[0] = '\0';
    nbcl_status st = nbcl_read_hkl(path, 0.0, &g, err, sizeof err);
    if (st == NBCL_OK) {
        check_grid(&g);
        nbcl_hkl_free(&g);
    } else {
        nbcl_fuzz_check_message(err, sizeof err);
    }
    err[0] = '\0';
    st = nbcl_read_fdump(path, &g, err, sizeof err);
    if (st == NBCL_OK) {
        check_grid(&g);
        nbcl_hkl_free(&g);
    } else {
        nbcl_fuzz_check_message(err, sizeof err);
    }
    return 0;
}
