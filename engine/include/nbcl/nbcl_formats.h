/* Outputs that data-processing pipelines read (nbcl extensions; docs/formats.md):
 * miniCBF (Pilatus-style, CBFlib), NeXus/NXmx (HDF5, one file per series) and an 8-bit PNG
 * preview. The CBF and NXmx files hold photon counts (nbcl_frame_counts), described by one
 * per-frame experiment description (nbcl_frame_meta) filled from a scene.
 *
 * Every writer goes through nbcl_outfile (temporary file + rename): a failed or interrupted run
 * never leaves a partial file and never clobbers an existing one. */
#ifndef NBCL_FORMATS_H
#define NBCL_FORMATS_H

#include <stddef.h>
#include <stdint.h>
#include "nbcl/nbcl_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Counts at or above this are overloads (clipped to it): a 20-bit photon counter, as the
 * Pilatus' Count_cutoff. Written as Count_cutoff (CBF) and saturation_value (NXmx). */
#define NBCL_COUNTS_SATURATION 1048575
/* Value of a masked pixel (-mask) in the counts: Pilatus' "bad pixel" value. dxtbx's trusted
 * range for both formats starts above -1, so it is never used; NXmx also flags it in
 * pixel_mask (bit 8, "user defined mask"). */
#define NBCL_COUNTS_MASKED (-2)
/* Sensor thickness written when -detector_thick is not given (nanoBragg then models no
 * parallax): 450 um of silicon, a common Pilatus/Eiger sensor. */
#define NBCL_DEFAULT_SENSOR_THICKNESS_M 450e-6

/* One frame of an experiment as the formats describe it. Lengths in metres, angles in degrees.
 * "lab" vectors are in nanoBragg's frame; "mcstas" vectors in the NeXus (McStas) frame: z along
 * the beam, x horizontal (the beam's polarization E-vector is -x), y = z cross x. */
typedef struct nbcl_frame_meta {
    int fpixels, spixels;
    double pixel_size;
    double wavelength;                /* central wavelength, m */
    int nsources;                     /* the beam's sources (the spectrum): borrowed from the */
    const double *source_lambda;      /* scene, m */
    const double *source_weight;      /* may be NULL: equal weights */
    double beam_fast_px, beam_slow_px;/* where the direct beam meets the detector plane, pixels
                                         from the outer corner of the first pixel */
    double beam_distance;             /* sample to that point, along the beam */
    double close_distance;            /* sample to the detector plane, along its normal */
    int beam_hits;                    /* 0: the beam misses the plane (then the near point) */
    double lab_beam[3], lab_fdet[3], lab_sdet[3], lab_pix0[3], lab_spindle[3];
    double mcstas_fast[3], mcstas_slow[3], mcstas_origin[3], mcstas_spindle[3];
    double thickness;                 /* sensor thickness (NBCL_DEFAULT_SENSOR_THICKNESS_M when
                                         the scene has none) */
    int thickness_given;
    double exposure;                  /* s */
    double phi_start, osc;            /* this frame's spindle start angle and width, degrees */
    int32_t saturation;               /* NBCL_COUNTS_SATURATION */
    const unsigned char *mask;        /* fpixels*spixels, 0 = masked; NULL: none (borrowed) */
} nbcl_frame_meta;

/* The description of the scene's (single) frame. Pointers borrow from the scene, which must
 * outlive the description. */
NBCL_API nbcl_status nbcl_frame_meta_from_scene(const nbcl_scene *s, nbcl_frame_meta *m);

/* ---- noise, split in two so that the deviates are drawn once for every output that needs
 * them: the Poisson deviates of the reference's noise image (same seed, same sequence: raster
 * order inside the ROI, 0 outside; returns their sum, the reference's photon count), then the
 * SMV noise image from them (deviate + ADC offset, clipped at 65535 and counted as overloads,
 * truncated to 16 bits): nbcl_noise_from_poisson(nbcl_noise_poisson(...)) is the reference's
 * noise image bit for bit. */
NBCL_API double nbcl_noise_poisson(const float *img, int fpixels, int spixels, const int roi[4],
                                   long seed, float *dev);
NBCL_API void nbcl_noise_from_poisson(const float *dev, int fpixels, int spixels, const int roi[4],
                                      double adc_offset, uint16_t *out, int *overloads);

/* ---- photon counts (int32, fast-major) as a photon-counting detector records them:
 * with `poisson` (the deviates of nbcl_noise_poisson, i.e. the noise image less its ADC offset):
 * those, truncated as the SMV noise image truncates them; without: the float image rounded to
 * nearest. Negative or NaN values count 0. Counts >= m->saturation become m->saturation
 * (overloads); masked pixels become NBCL_COUNTS_MASKED. */
typedef struct nbcl_counts_info {
    size_t overloads, masked;
    double total;                     /* sum of the unclipped counts */
} nbcl_counts_info;
NBCL_API nbcl_status nbcl_frame_counts(const nbcl_frame_meta *m, const float *image,
                                       const float *poisson, int32_t *counts,
                                       nbcl_counts_info *info);

/* ---- miniCBF: "PILATUS_1.2" header convention (when the image size is a Pilatus module
 * layout; else dxtbx's "GENERIC_MINI", see docs/formats.md), int32 byte-offset pixels. */
NBCL_API nbcl_status nbcl_write_cbf(const char *path, const nbcl_frame_meta *m,
                                    const int32_t *counts, char *err, size_t errlen);

/* ---- NeXus/NXmx series writer: one file, frames written as they complete (any order),
 * data (nframes, slow, fast) int32, one frame per chunk. Debian's HDF5 is the serial build, not
 * thread-safe: call the nexus functions (and nbcl_read_nexus) from one thread at a time, e.g. a
 * writer thread of the series pipeline. HDF5's automatic error printing is switched off
 * (process-wide) by these functions: errors come back in `err`. */
typedef enum nbcl_nexus_compression {
    NBCL_NEXUS_DEFLATE = 0,           /* shuffle + deflate: always available */
    NBCL_NEXUS_BSLZ4 = 1,             /* bitshuffle/LZ4 (HDF5 filter 32008, a plugin) */
    NBCL_NEXUS_LZ4 = 2                /* LZ4 (HDF5 filter 32004, Debian hdf5-filter-plugin) */
} nbcl_nexus_compression;
typedef struct nbcl_nexus_opts {
    int nframes;                      /* >= 1 */
    nbcl_nexus_compression compression;
    int deflate_level;                /* 0..9; 0 means the default (1) */
} nbcl_nexus_opts;
typedef struct nbcl_nexus nbcl_nexus;
/* `m` describes the series (frame 0's meta; per-frame angles come with each frame). */
NBCL_API nbcl_status nbcl_nexus_open(const char *path, const nbcl_frame_meta *m,
                                     const nbcl_nexus_opts *o, nbcl_nexus **out, char *err,
                                     size_t errlen);
/* frame k (0-based) with its own meta (phi_start, osc); the geometry must equal the series'. */
NBCL_API nbcl_status nbcl_nexus_write_frame(nbcl_nexus *w, int k, const int32_t *counts,
                                            const nbcl_frame_meta *m, char *err, size_t errlen);
/* Every frame must have been written; then the file is completed and committed (renamed into
 * place, or pending in the thread's nbcl_commit_set_use set). Always consumes w. */
NBCL_API nbcl_status nbcl_nexus_close(nbcl_nexus *w, char *err, size_t errlen);
NBCL_API void nbcl_nexus_abort(nbcl_nexus *w);         /* removes the temporary file; NULL ok */
/* Whether an HDF5 filter (32008 bitshuffle, 32004 LZ4) can be used here. */
NBCL_API int nbcl_nexus_filter_available(nbcl_nexus_compression c);
/* One frame in one file: open, write, close. */
NBCL_API nbcl_status nbcl_write_nexus(const char *path, const nbcl_frame_meta *m,
                                      const int32_t *counts, const nbcl_nexus_opts *o, char *err,
                                      size_t errlen);

/* ---- PNG preview: 8-bit greyscale of the PGM's pixels (nbcl_image_to_u8), the scale in a
 * tEXt comment. */
NBCL_API nbcl_status nbcl_write_png(const char *path, int fpixels, int spixels, const uint8_t *pix,
                           double scale, char *err, size_t errlen);

/* ---- readers (nbcl-compare, tests) */
typedef enum nbcl_image_format {
    NBCL_FORMAT_UNKNOWN = 0,          /* raw float32 has no signature */
    NBCL_FORMAT_SMV,
    NBCL_FORMAT_CBF,
    NBCL_FORMAT_HDF5
} nbcl_image_format;
/* From the file's first bytes ("{\nHEADER_BYTES=", "###CBF: VERSION", the HDF5 signature). */
NBCL_API nbcl_image_format nbcl_detect_format(const char *path);
typedef struct nbcl_counts_image {
    int fpixels, spixels;
    int nframes;                      /* frames in the file (1 for CBF) */
    int32_t *counts;                  /* fpixels*spixels of the frame read; free() it */
} nbcl_counts_image;
NBCL_API nbcl_status nbcl_read_cbf(const char *path, nbcl_counts_image *out, char *err,
                                   size_t errlen);
/* Frame `frame` (0-based) of the NXdata signal of the file's first NXmx entry (/entry/data). */
NBCL_API nbcl_status nbcl_read_nexus(const char *path, int frame, nbcl_counts_image *out, char *err,
                            size_t errlen);

/* The CBF functions run in the module nbcl-cbf.so (CBFlib), the NXmx ones in nbcl-nexus.so
 * (HDF5), each loaded on first use (nbcl_module_load in nbcl.h); when it cannot be, they fail
 * with NBCL_IO and the loader's message (nbcl_nexus_filter_available says 0). This loads the
 * module of format f (NBCL_FORMAT_CBF or NBCL_FORMAT_HDF5) now, e.g. to refuse a run before
 * any work: NBCL_OK (also for formats that need no module), or NBCL_IO with a message naming the
 * module, the path tried and the reason. */
NBCL_API nbcl_status nbcl_format_load(nbcl_image_format f, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
