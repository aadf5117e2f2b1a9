/* libFuzzer harness: SMV header reader (-img, -mask) and the header value look-ups. */
#include "fuzz_common.h"
#include <math.h>
#include "nbcl/nbcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *keys[] = {"HEADER_BYTES", "SIZE1", "SIZE2", "PIXEL_SIZE", "DISTANCE",
                                 "CLOSE_DISTANCE", "WAVELENGTH", "BEAM_CENTER_X",
                                 "BEAM_CENTER_Y", "ORGX", "ORGY", "XDS_ORGX", "PHI",
                                 "OSC_RANGE", "TWOTHETA", "BYTE_ORDER", "DETECTOR_DIMENSIONS"};
    const char *path = nbcl_fuzz_file(data, size);
    char err[1024];
    nbcl_smv s;
    err[0] = '\0';
    nbcl_status st = nbcl_read_smv(path, &s, err, sizeof err);
    if (st == NBCL_OK) {
        if (!s.header || s.width < 1 || s.height < 1 || !s.pixels ||
            strlen(s.header) > s.header_bytes)
            abort();
        volatile double sum = 0;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            sum += nbcl_smv_value(&s, keys[i]) + nbcl_smv_value_exact(&s, keys[i]);
        size_t npix = (size_t)s.width * (size_t)s.height;
        sum += s.pixels[0] + s.pixels[npix - 1];
        (void)sum;
        nbcl_smv_free(&s);
    } else {
        nbcl_fuzz_check_message(err, sizeof err);
    }
    return 0;
}
