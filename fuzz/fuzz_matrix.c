/* libFuzzer harness: MOSFLM A-matrix reader (-mat). */
#include "fuzz_common.h"
#include <math.h>
#include "nbcl/nbcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nbcl_fuzz_file(data, size);
    char err[1024];
    double a[3], b[3], c[3];
    err[0] = '\0';
    nbcl_status st = nbcl_read_matrix(path, a, b, c, err, sizeof err);
    if (st == NBCL_OK) {
        for (int i = 0; i < 3; i++)
            if (!isfinite(a[i]) || !isfinite(b[i]) || !isfinite(c[i]))
                abort(); /* the reader promises finite elements */
    } else {
        nbcl_fuzz_check_message(err, sizeof err);
    }
    return 0;
}
