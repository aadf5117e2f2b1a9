/* File formats: float images, SMV (write and header ingestion), PGM, HKL text, Fdump.bin,
 * MOSFLM matrices, source files. Every writer goes through a temporary file in the target
 * directory and renames it on success, so a failure never leaves a partial file or clobbers an
 * existing one. Readers report file and line for malformed input. */
#ifndef NBCL_IO_H
#define NBCL_IO_H

#include <stddef.h>
#include <stdint.h>
#include "nbcl/nbcl_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- atomic output: write to "<dir>/.<name>.tmp.XXXXXX" (mkstemp) then fsync + rename over
 * "<dir>/<name>"; final mode 0644 & ~umask. A failed write makes commit refuse. commit always
 * consumes f (on failure the temporary file is removed). */
typedef struct nbcl_outfile nbcl_outfile;
NBCL_API nbcl_status nbcl_outfile_open(const char *path, nbcl_outfile **out, char *err, size_t errlen);
NBCL_API nbcl_status nbcl_outfile_write(nbcl_outfile *f, const void *data, size_t len, char *err, size_t errlen);
NBCL_API nbcl_status nbcl_outfile_commit(nbcl_outfile *f, char *err, size_t errlen);  /* fsync+rename+free */
NBCL_API void nbcl_outfile_abort(nbcl_outfile *f);                                     /* unlink+free; NULL ok */
/* Several outputs as one unit: after defer_begin, commits complete and close the temporary files
 * but rename nothing; defer_commit renames them all (NBCL_INTERRUPTED if a signal removed one:
 * then none is renamed); defer_abort removes them all. */
NBCL_API void nbcl_outfile_defer_begin(void);
NBCL_API nbcl_status nbcl_outfile_defer_commit(char *err, size_t errlen);
NBCL_API void nbcl_outfile_defer_abort(void);
/* Remove every temporary file still open (for SIGINT/SIGTERM handlers: async-signal-safe). */
NBCL_API void nbcl_outfile_abort_all_signal_safe(void);

/* ---- float image: raw little-endian float32, fast-major */
NBCL_API nbcl_status nbcl_write_float(const char *path, const float *data, size_t n, char *err, size_t errlen);
NBCL_API nbcl_status nbcl_read_float(const char *path, float **data, size_t *n, char *err, size_t errlen);

/* ---- SMV */
typedef struct nbcl_smv_header_info {
    int fpixels, spixels;
    double pixel_size_mm, distance_mm, close_distance_mm, wavelength_A;
    double beam_center_x_mm, beam_center_y_mm;   /* Xbeam, Ybeam */
    double adxv_x_mm, adxv_y_mm, mosflm_x_mm, mosflm_y_mm, denzo_x_mm, denzo_y_mm;
    double dials_origin_mm[3];
    double orgx, orgy;
    double phi_deg, osc_start_deg, osc_range_deg, twotheta_deg;
} nbcl_smv_header_info;
/* Writes the reference's header keys (spec-a-core "File I/O"), "}\f", space padding to 512 bytes,
 * then native unsigned 16-bit pixels with the matching BYTE_ORDER. */
NBCL_API nbcl_status nbcl_write_smv(const char *path, const nbcl_smv_header_info *h, const uint16_t *pix,
                                    char *err, size_t errlen);

typedef struct nbcl_smv {
    char *header;              /* NUL-terminated header text (header_bytes long) */
    size_t header_bytes;
    int width, height;         /* SIZE1, SIZE2 */
    int swap;                  /* file byte order differs from host */
    uint16_t *pixels;          /* width*height, host order */
} nbcl_smv;
NBCL_API nbcl_status nbcl_read_smv(const char *path, nbcl_smv *out, char *err, size_t errlen);
NBCL_API void nbcl_smv_free(nbcl_smv *s);
/* Value of the LAST occurrence of `key=` in the header (blanks allowed before '='), parsed in the
 * C locale; NAN when absent or not a number. Like the reference's ValueOf the key matches as a
 * substring: "ORGX" finds XDS_ORGX=, and "DISTANCE" finds CLOSE_DISTANCE= when that comes last. */
NBCL_API double nbcl_smv_value(const nbcl_smv *s, const char *key);
/* Same, but the key must be a whole name ("DISTANCE" never matches CLOSE_DISTANCE=). */
NBCL_API double nbcl_smv_value_exact(const nbcl_smv *s, const char *key);

/* ---- PGM (P5, 8-bit) with the reference's "# pixels scaled by" comment */
NBCL_API nbcl_status nbcl_write_pgm(const char *path, int fpixels, int spixels, const uint8_t *pix,
                                    double scale, char *err, size_t errlen);

/* ---- HKL text: "h k l F" per line, whitespace separated; comments (#) and blank lines skipped.
 * Grid covers [min,max] of each index; entries not in the file get default_F. */
NBCL_API nbcl_status nbcl_read_hkl(const char *path, double default_F, nbcl_hkl_grid *grid, char *err,
                                   size_t errlen);
NBCL_API void nbcl_hkl_free(nbcl_hkl_grid *grid);
/* Fdump.bin: "%d %d %d %d %d %d\n\f" (h_min h_max k_min k_max l_min l_max) then
 * (h_range+1)*(k_range+1)*(l_range+1) native doubles, as the reference writes it. */
NBCL_API nbcl_status nbcl_write_fdump(const char *path, const nbcl_hkl_grid *grid, char *err, size_t errlen);
NBCL_API nbcl_status nbcl_read_fdump(const char *path, nbcl_hkl_grid *grid, char *err, size_t errlen);

/* ---- MOSFLM A matrix: first 9 numbers, rows a*x b*x c*x / a*y ... (includes lambda). */
NBCL_API nbcl_status nbcl_read_matrix(const char *path, double a_star[3], double b_star[3],
                                      double c_star[3], char *err, size_t errlen);

/* ---- source file: columns X Y Z weight lambda; missing columns are NAN. */
typedef struct nbcl_source_list {
    size_t n;
    double *x, *y, *z, *w, *lambda;
} nbcl_source_list;
NBCL_API nbcl_status nbcl_read_sources(const char *path, nbcl_source_list *out, char *err, size_t errlen);
NBCL_API void nbcl_sources_free(nbcl_source_list *s);

#ifdef __cplusplus
}
#endif
#endif
