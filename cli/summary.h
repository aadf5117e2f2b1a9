#ifndef NBCL_SUMMARY_H
#define NBCL_SUMMARY_H
#include <stdio.h>
#include "nbcl/nbcl.h"
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
void nbcl_print_summary(FILE *out, const nbcl_scene *s, int noise);
/* -printout/-printout_pixel: one pixel's terms (nbcl_scene_pixel_trace) in nbcl's own format,
 * with the rendered image's value of that pixel (img may be NULL) */
void nbcl_print_pixel_trace(FILE *out, const nbcl_scene *s, const nbcl_image *img, int fpixel,
                            int spixel);
#endif
