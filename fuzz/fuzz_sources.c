/* libFuzzer harness: source-file reader (-sourcefile). */
#include "fuzz_common.h"
#include <math.h>
#include "nbcl/nbcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nbcl_fuzz_file(data, size);
    char err[1024];
    nbcl_source_list s;
    err[0] = '\0';
    nbcl_status st = nbcl_read_sources(path, &s, err, sizeof err);
    if (st == NBCL_OK) {
        if (s.n == 0 || !s.x || !s.y || !s.z || !s.w || !s.lambda)
            abort();
        volatile double sum = 0;
        for (size_t i = 0; i < s.n; i++) {
            if (isinf(s.x[i]) || isinf(s.y[i]) || isinf(s.z[i]))
                abort(); /* infinities are rejected; NAN means "column missing" */
            sum += s.x[i] + s.y[i] + s.z[i] + s.w[i] + s.lambda[i];
        }
        (void)sum;
        nbcl_sources_free(&s);
    } else {
        nbcl_fuzz_check_message(err, sizeof err);
    }
    return 0;
}
