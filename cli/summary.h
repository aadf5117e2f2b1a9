#ifndef NBCL_SUMMARY_H
#define NBCL_SUMMARY_H
#include <stdio.h>
#include "nbcl/nbcl.h"
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
void nbcl_print_summary(FILE *out, const nbcl_scene *s, int noise);
#endif
