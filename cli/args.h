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
/* Usage text naming every flag with units and defaults, generated from the flag table. */
void nbcl_cli_usage(FILE *out);

/* ------------------------------------------------------------------ the flag table (args.c)
 * One row per flag: its spellings, what its values are, how they are converted and checked, and
 * where they go. Only flags with real logic (-cell, -misset, word choices, ...) name a handler. */
typedef enum nbcl_cli_kind {
    NBCL_FLAG_SET,    /* no value: stores ival into each destination (int or enum) */
    NBCL_FLAG_INT,    /* one int into every destination (int, or double for the cell counts),
                       * or nargs ints into dst[0..nargs-1] */
    NBCL_FLAG_LONG,   /* one integer into a long */
    NBCL_FLAG_DOUBLE, /* one number, converted (v / div * mul), into every destination */
    NBCL_FLAG_VEC3,   /* three numbers into a double[3]; sets the CUSTOM convention */
    NBCL_FLAG_TEXT,   /* the value itself (a file name, a device) */
    NBCL_FLAG_IGNORE, /* accepted and ignored (-stol); -img/-mask are read before the others */
    NBCL_FLAG_CODE    /* the handler does it */
} nbcl_cli_kind;

typedef enum nbcl_cli_check {
    NBCL_CHECK_NONE,
    NBCL_CHECK_POSITIVE, /* > 0 */
    NBCL_CHECK_NONNEG,   /* >= 0 */
    NBCL_CHECK_NONZERO   /* a vector that is not (0, 0, 0) */
} nbcl_cli_check;

/* what a flag says about the detector pivot (spec-a-cli precedence, resolved after parsing) */
typedef enum nbcl_cli_pivot {
    NBCL_PIV_NONE,
    NBCL_PIV_BEAM,     /* a pivot-setting flag: beam */
    NBCL_PIV_SAMPLE,   /* a pivot-setting flag: sample */
    NBCL_PIV_CONV,     /* a convention: back to its default */
    NBCL_PIV_TWOTHETA  /* sample, in CUSTOM geometry only */
} nbcl_cli_pivot;

struct nbcl_cli_state;
typedef struct nbcl_cli_flag nbcl_cli_flag;
/* A handler: values v[0..need-1]; 0 or an exit code with the message in the state. */
typedef int (*nbcl_cli_handler)(struct nbcl_cli_state *st, const nbcl_cli_flag *f, const char *a,
                                char **v, int need);

/* A destination is a member of nbcl_cli and its type, packed in one size_t (0: none); args.c
 * builds them with macros that check the member's type at compile time. */
typedef enum nbcl_cli_dst_type {
    NBCL_DST_INT = 1,    /* int */
    NBCL_DST_ENUM,       /* an int-sized enum (convention, shape) */
    NBCL_DST_DOUBLE,
    NBCL_DST_LONG,
    NBCL_DST_TEXT,       /* const char * */
    NBCL_DST_VEC3        /* double[3] */
} nbcl_cli_dst_type;
#define NBCL_CLI_NO_DST ((size_t)0)
#define NBCL_CLI_DST_TYPE(d) ((nbcl_cli_dst_type)((d) & 7u))
#define NBCL_CLI_DST_OFFSET(d) (((d) >> 3) - 1u)
struct nbcl_cli_flag {
    const char *names;     /* space-separated: the name, then its aliases */
    nbcl_cli_kind kind;
    int nargs;             /* values taken; -1: the handler decides */
    const char *args;      /* the values as the help shows them */
    const char *help;      /* meaning, units and default */
    size_t dst[3];         /* destinations (see above); NBCL_CLI_NO_DST: none */
    size_t raw;            /* a double that keeps the value as given (before conversion) */
    double div, mul;       /* unit conversion: stored = value / div * mul */
    nbcl_cli_check check;
    double lo, hi;         /* accepted range in the flag's own unit when lo < hi */
    const char *unit;      /* the range's unit, for the message */
    int ival;              /* NBCL_FLAG_SET: the value stored */
    size_t also;           /* an int destination set to also_val whenever the flag is given */
    int also_val;
    nbcl_cli_pivot pivot;
    nbcl_cli_handler handler; /* NBCL_FLAG_CODE only */
};
/* The table (n rows). */
const nbcl_cli_flag *nbcl_cli_flags(size_t *n);
/* The row for a spelling (name or alias), NULL when none. */
const nbcl_cli_flag *nbcl_cli_flag_find(const char *arg);

#endif
