/* Command-line parsing for nbcl: nanoBragg's flags (single dash, same units) plus our own. */
#ifndef NBCL_ARGS_H
#define NBCL_ARGS_H

#include <stdio.h>
#include "nbcl/nbcl.h"
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* exit codes (docs/exit_codes.md) */
enum {
    NBCL_EXIT_OK = 0,
    NBCL_EXIT_USAGE = 2,       /* unknown flag, missing or non-numeric value, contradiction */
    NBCL_EXIT_PARAM = 3,       /* values out of range, impossible geometry or cell */
    NBCL_EXIT_INPUT = 4,       /* input file missing, unreadable or malformed */
    NBCL_EXIT_DEVICE = 5,      /* no device, no fp64, kernel build or OpenCL failure */
    NBCL_EXIT_OUTPUT = 6,      /* an output file could not be written */
    NBCL_EXIT_NONFINITE = 7,   /* the rendered image has NaN or infinite pixels: nothing written */
    NBCL_EXIT_MISSING = 9,     /* required inputs missing: usage printed (as nanoBragg) */
    NBCL_EXIT_INTERRUPTED = 130
};

typedef struct nbcl_cli {
    nbcl_config cfg;
    const char *floatfile, *intfile, *pgmfile, *noisefile;
    int write_float, write_int, write_pgm, write_noise;
    const char *cbffile, *nexusfile, *pngfile; /* nbcl extensions; NULL: not written */
    nbcl_nexus_compression nexus_compression;
    int progress;
    int help, list_devices, version;
    const char *device;
    nbcl_precision precision;
    int fast_math;
    const char *kernel_dir;
    /* series (nbcl extension, docs/datasets.md) */
    int nframes;                 /* -nframes (default 1) */
    int frame_first, frame_last; /* -frames FIRST LAST (0: all) */
    int resume;                  /* -resume */
    double phi_deg, osc_deg;     /* -phi / -osc as given (or from -img), degrees; NAN: not given */
} nbcl_cli;

/* Parse argv into cli. On error writes a one-line message into err and returns an exit code
 * (NBCL_EXIT_USAGE or NBCL_EXIT_INPUT); 0 on success. */
int nbcl_cli_parse(int argc, char **argv, nbcl_cli *cli, char *err, size_t errlen);
/* Every file the run reads or writes, with the flag that names it (the Fdump.bin cache as an
 * output after -hkl, as an input without), for nbcl_files_check_distinct before any work.
 * Returns how many were stored (at most max; NBCL_CLI_MAX_FILES holds them all). */
#define NBCL_CLI_MAX_FILES 16
size_t nbcl_cli_files(const nbcl_cli *cli, nbcl_file_ref *out, size_t max);
/* Usage text naming every flag with units and defaults. */
void nbcl_cli_usage(FILE *out);

#endif
