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
 * consumes f (on failure the temporary file is removed).
 * What the path names decides how it is written (docs/reliability.md, "Round two"):
 *   - nothing, or a regular file: temporary file + rename, as above (a hard-linked file gets a new
 *     inode: its other names keep the old content);
 *   - a symbolic link: its final target is written that way (temporary file in the TARGET's
 *     directory); the link stays a link; a dangling link creates its target;
 *   - a character device or a FIFO: the bytes go to it directly, it is never replaced (a FIFO
 *     without a reader is refused at open, NBCL_IO; a write waiting for a slow reader ends with
 *     NBCL_INTERRUPTED once the writing thread's nbcl_cancel_use() token is triggered);
 *   - a directory, block device or socket: refused at open (NBCL_IO). */
typedef struct nbcl_outfile nbcl_outfile;
NBCL_API nbcl_status nbcl_outfile_open(const char *path, nbcl_outfile **out, char *err, size_t errlen);
NBCL_API nbcl_status nbcl_outfile_write(nbcl_outfile *f, const void *data, size_t len, char *err, size_t errlen);
/* fsync+rename+free; while the calling thread has a current commit set, adds f to it instead */
NBCL_API nbcl_status nbcl_outfile_commit(nbcl_outfile *f, char *err, size_t errlen);
NBCL_API void nbcl_outfile_abort(nbcl_outfile *f);                                     /* unlink+free; NULL ok */
/* Before any work: can path be written as above? NBCL_IO with "path: reason" when it names a
 * directory, block device or socket, its directory is missing or not writable, or a device or
 * FIFO is not writable; opens nothing (a FIFO's reader is only checked at open). */
NBCL_API nbcl_status nbcl_outfile_check(const char *path, char *err, size_t errlen);

/* ---- commit sets: several outputs as one unit, all renamed into place or none.
 * While a set is the calling thread's current set (nbcl_commit_set_use), nbcl_outfile_commit -
 * and so every nbcl_write_* function - completes a file (starts its write-back) and adds it to
 * the set without renaming it. nbcl_commit_set_commit then: (1) waits until every file is on disk
 * (fdatasync, concurrently) and closed, and checks every target again; a failure here renames
 * nothing; (2) renames the files one by one, keeping a hard link to each previous target until
 * the last rename succeeded: if a rename fails (or a signal removed a temporary file), the
 * renames already done are undone (the previous files come back, new names are removed). What is
 * left at risk: a crash (SIGKILL, power loss) between the first and the last rename, and a
 * target on a file system without hard links, which cannot be restored. Devices and FIFOs got
 * their bytes when they were written and cannot take them back. A set is used by one thread at a
 * time; nbcl_outfile_abort_all_signal_safe() covers the files of every live set. At most 256
 * temporary files can be open at once, over all sets. */
typedef struct nbcl_commit_set nbcl_commit_set;
NBCL_API nbcl_status nbcl_commit_set_create(nbcl_commit_set **out, char *err, size_t errlen);
/* Make set (NULL: none) the calling thread's current set; returns the previous one. */
NBCL_API nbcl_commit_set *nbcl_commit_set_use(nbcl_commit_set *set);
/* Add a written file explicitly (consumes f; on failure f is aborted). */
NBCL_API nbcl_status nbcl_commit_set_add(nbcl_commit_set *set, nbcl_outfile *f, char *err, size_t errlen);
NBCL_API size_t nbcl_commit_set_size(const nbcl_commit_set *set);
/* Step (1) for several sets at once: every file of every set synced concurrently, so a series
 * pays one wait for many frames. On failure the set holding the bad file is aborted (its files
 * removed) and the error returned; the other sets stay pending. */
NBCL_API nbcl_status nbcl_commit_sets_prepare(nbcl_commit_set *const *sets, size_t n, char *err,
                                              size_t errlen);
/* Steps (1) and (2); the set is empty afterwards, and reusable, whatever the result.
 * NBCL_INTERRUPTED if a signal removed one of its temporary files: then nothing is renamed. */
NBCL_API nbcl_status nbcl_commit_set_commit(nbcl_commit_set *set, char *err, size_t errlen);
/* nbcl_commit_set_commit for each of n sets (NULL entries skipped), with one step (1) for all
 * of them and one directory sync per directory at the end instead of one per set. A set that
 * fails is left as nbcl_commit_set_commit leaves it; the others are still committed. Returns
 * the first failure (its message in err). Every set is empty afterwards. */
NBCL_API nbcl_status nbcl_commit_sets_commit(nbcl_commit_set *const *sets, size_t n, char *err,
                                             size_t errlen);
NBCL_API void nbcl_commit_set_abort(nbcl_commit_set *set);    /* removes every pending file; NULL ok */
NBCL_API void nbcl_commit_set_destroy(nbcl_commit_set *set);  /* aborts what is pending, frees; NULL ok */
/* Remove every temporary file still open (for SIGINT/SIGTERM handlers: async-signal-safe). */
NBCL_API void nbcl_outfile_abort_all_signal_safe(void);

/* ---- two names, one file: the files a run reads and writes, each with the flag that named it */
typedef struct nbcl_file_ref {
    const char *role;  /* how the user named it, for the message: "-floatfile", "-hkl", ... */
    const char *path;  /* NULL or "": not used in this run */
    int is_output;
} nbcl_file_ref;
/* NBCL_INVALID_ARGUMENT with a message naming both roles when two outputs, or an output and an
 * input, are one file: compared by identity (device and inode of what exists, following symbolic
 * links; the real directory plus the name of what does not exist yet), never by spelling, so
 * "x", "./x", "sub/../x", a hard link and a symbolic link to x all match. One character device may
 * serve several outputs (a null device discards them all). Inputs may share a file; an input
 * that does not exist matches nothing (its reader reports it). */
NBCL_API nbcl_status nbcl_files_check_distinct(const nbcl_file_ref *files, size_t n, char *err,
                                               size_t errlen);

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
