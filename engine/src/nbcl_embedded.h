#ifndef NBCL_EMBEDDED_H
#define NBCL_EMBEDDED_H
#include <stddef.h>
/* Kernel sources embedded at build time (cmake/NbclEmbedScript.cmake), in concatenation order. */
typedef struct nbcl_embedded_file {
    const char *name;
    const char *text;
    size_t length;
} nbcl_embedded_file;
extern const nbcl_embedded_file nbcl_embedded_files[];
extern const size_t nbcl_embedded_count;
#endif
