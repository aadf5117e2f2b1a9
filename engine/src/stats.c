/* Image statistics and image comparison on the device. (Placeholder: host computation until the
 * CLBlast path lands.) */
#include "nbcl_internal.h"

nbcl_status nbcl_image_stats(nbcl_engine *e, const nbcl_scene *s, const nbcl_image *img,
                             nbcl_stats *out)
{
    (void)e;
    nbcl_image_stats_host(s, img, out);
    return NBCL_OK;
}

nbcl_status nbcl_compare_device(nbcl_engine *e, const float *a, const float *b, size_t n,
                                nbcl_compare_result *r)
{
    (void)e;
    nbcl_compare_host(a, b, n, r);
    return NBCL_OK;
}
