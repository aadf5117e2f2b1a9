/* NeXus/NXmx files through HDF5: one file per series, each frame written as it completes.
 *
 * Layout (docs/formats.md):
 *   /entry                    NXentry  definition = "NXmx"
 *     instrument/beam         NXbeam   incident_wavelength (A); the spectrum as an NXdata
 *                                      incident_wavelength_spectrum when there are several
 *     instrument/detector     NXdetector  sensor Si, thickness, saturation/underload values,
 *                                      pixel_mask (bit 8: -mask), count/frame time, distance,
 *                                      beam_center_x/y, depends_on -> module/module_offset
 *       module                NXdetector_module  data_origin/size, fast/slow_pixel_direction
 *                                      (vectors in the McStas frame) -> module_offset (the
 *                                      outer corner of the first pixel) -> "."
 *     sample                  NXsample depends_on -> transformations/phi (rotation about the
 *                                      spindle, one angle per frame; phi_end, phi_increment_set)
 *     data                    NXdata   data (n, slow, fast) int32, one frame per chunk
 *
 * This is the module nbcl-nexus.so (the table of nbcl_modules.h), loaded on first use by
 * io/nexus.c, which keeps the output file, the frame bookkeeping and the checks. HDF5 writes by
 * path: the file is the nbcl_outfile's temporary file, committed (renamed) by nbcl_nexus_close.
 * HDF5's automatic error printing is switched off (the library never prints); failures come back
 * as messages from HDF5's error stack. Links HDF5, nothing of libnbcl. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbcl_modules.h"

#define FILTER_BSLZ4 32008
#define FILTER_LZ4 32004

struct nbcl_nexus_h5 {
    char *path; /* the output's name, for messages */
    hid_t file, data, phi, phi_end;
};

static void h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *data)
{
    char *msg = data;
    if (n == 0 && e && e->desc && !msg[0])
        snprintf(msg, 256, "%s (%s)", e->desc, e->func_name ? e->func_name : "?");
    return 0;
}

static nbcl_status h5_fail(char *err, size_t errlen, const char *path, const char *what)
{
    char msg[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, first_error, msg);
    snprintf(err, errlen, "%s: HDF5: %s failed%s%s", path, what, msg[0] ? ": " : "", msg);
    H5Eclear2(H5E_DEFAULT);
    return NBCL_IO;
}

/* ---------------------------------------------------------------- small writers (0: ok) */
static int attr_str(hid_t loc, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) ? strlen(value) : 1);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, t, value) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return bad;
}

static int attr_vec(hid_t loc, const char *name, const double *v, hsize_t n)
{
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(loc, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, v) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return bad;
}

static hid_t group(hid_t parent, const char *name, const char *nx_class)
{
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0 && attr_str(g, "NX_class", nx_class)) {
        H5Gclose(g);
        return -1;
    }
    return g;
}

static int ds_str(hid_t loc, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) ? strlen(value) : 1);
    hid_t d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = d < 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, value) < 0;
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(t);
    return bad;
}

/* a 1-d (n > 0) or scalar (n == 0) dataset of doubles or ints, with optional units; the
 * dataset stays open when `keep` is given */
static int ds_num(hid_t loc, const char *name, hid_t type, const void *v, hsize_t n,
                  const char *units, hid_t *keep)
{
    hid_t sp = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = d < 0 || (v && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) ||
              (units && attr_str(d, "units", units));
    H5Sclose(sp);
    if (keep && !bad)
        *keep = d;
    else if (d >= 0)
        H5Dclose(d);
    return bad;
}

static int ds_d(hid_t loc, const char *name, double v, const char *units)
{
    return ds_num(loc, name, H5T_NATIVE_DOUBLE, &v, 0, units, NULL);
}

static int ds_i(hid_t loc, const char *name, int v, const char *units)
{
    return ds_num(loc, name, H5T_NATIVE_INT, &v, 0, units, NULL);
}

/* an NXtransformations axis: a scalar value with its vector, type, units and dependency */
static int axis(hid_t loc, const char *name, double value, const char *type, const char *units,
                const double vec[3], const char *depends_on)
{
    hid_t d = -1;
    static const double zero[3] = {0, 0, 0};
    if (ds_num(loc, name, H5T_NATIVE_DOUBLE, &value, 0, units, &d))
        return 1;
    int bad = attr_str(d, "transformation_type", type) || attr_vec(d, "vector", vec, 3) ||
              attr_vec(d, "offset", zero, 3) || attr_str(d, "offset_units", "m") ||
              attr_str(d, "depends_on", depends_on);
    H5Dclose(d);
    return bad;
}

static int filter_available(nbcl_nexus_compression c)
{
    h5_quiet();
    if (c == NBCL_NEXUS_DEFLATE)
        return H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 && H5Zfilter_avail(H5Z_FILTER_SHUFFLE) > 0;
    htri_t av = H5Zfilter_avail(c == NBCL_NEXUS_BSLZ4 ? FILTER_BSLZ4 : FILTER_LZ4);
    if (av <= 0) { /* plugins are loaded on first use: try to create a dataset with it */
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        unsigned cd[2] = {0, 2};
        av = H5Pset_filter(dcpl, c == NBCL_NEXUS_BSLZ4 ? FILTER_BSLZ4 : FILTER_LZ4,
                           H5Z_FLAG_MANDATORY, c == NBCL_NEXUS_BSLZ4 ? 2 : 1, cd) >= 0 &&
             H5Zfilter_avail(c == NBCL_NEXUS_BSLZ4 ? FILTER_BSLZ4 : FILTER_LZ4) > 0;
        H5Pclose(dcpl);
        H5Eclear2(H5E_DEFAULT);
    }
    return av > 0;
}

/* distinct wavelengths of the sources with their summed weights (the spectrum) */
static size_t spectrum(const nbcl_frame_meta *m, double *wl, double *wt)
{
    size_t n = 0;
    for (int i = 0; i < m->nsources; i++) {
        double l = m->source_lambda[i] * 1e10, w = m->source_weight ? m->source_weight[i] : 1.0;
        size_t j = 0;
        while (j < n && wl[j] != l)
            j++;
        if (j == n) {
            wl[n] = l;
            wt[n++] = 0;
        }
        wt[j] += w;
    }
    return n;
}

static int write_beam(hid_t inst, const nbcl_frame_meta *m)
{
    hid_t b = group(inst, "beam", "NXbeam");
    if (b < 0)
        return 1;
    int bad = ds_d(b, "incident_wavelength", m->wavelength * 1e10, "angstrom");
    if (!bad && m->nsources > 1 && m->source_lambda) {
        double *wl = malloc(2 * (size_t)m->nsources * sizeof *wl);
        size_t n = wl ? spectrum(m, wl, wl + m->nsources) : 0;
        if (!wl)
            bad = 1;
        else if (n > 1) {
            hid_t s = group(b, "incident_wavelength_spectrum", "NXdata");
            bad = s < 0 || attr_str(s, "signal", "weight") || attr_str(s, "axes", "wavelength") ||
                  ds_num(s, "wavelength", H5T_NATIVE_DOUBLE, wl, n, "angstrom", NULL) ||
                  ds_num(s, "weight", H5T_NATIVE_DOUBLE, wl + m->nsources, n, NULL, NULL);
            if (s >= 0)
                H5Gclose(s);
        }
        free(wl);
    }
    H5Gclose(b);
    return bad;
}

static int write_detector(hid_t inst, const nbcl_frame_meta *m)
{
    hid_t d = group(inst, "detector", "NXdetector");
    if (d < 0)
        return 1;
    int bad = ds_str(d, "description", "nbcl simulated photon-counting detector") ||
              ds_str(d, "type", "pixel") || ds_str(d, "sensor_material", "Si") ||
              ds_d(d, "sensor_thickness", m->thickness, "m") ||
              ds_i(d, "saturation_value", m->saturation, NULL) ||
              ds_i(d, "underload_value", 0, NULL) ||
              ds_d(d, "count_time", m->exposure, "s") || ds_d(d, "frame_time", m->exposure, "s") ||
              ds_d(d, "distance", m->beam_distance, "m") ||
              ds_d(d, "beam_center_x", m->beam_fast_px, "pixel") ||
              ds_d(d, "beam_center_y", m->beam_slow_px, "pixel") ||
              ds_d(d, "x_pixel_size", m->pixel_size, "m") ||
              ds_d(d, "y_pixel_size", m->pixel_size, "m") ||
              ds_str(d, "depends_on", "/entry/instrument/detector/module/module_offset");
    if (!bad && m->mask) {
        size_t n = (size_t)m->fpixels * m->spixels;
        int32_t *pm = malloc(n * sizeof *pm);
        hsize_t dims[2] = {(hsize_t)m->spixels, (hsize_t)m->fpixels};
        hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 2, dims);
        H5Pset_deflate(dcpl, 1);
        hid_t ds = pm ? H5Dcreate2(d, "pixel_mask", H5T_STD_I32LE, sp, H5P_DEFAULT, dcpl,
                                   H5P_DEFAULT)
                      : -1;
        if (pm)
            for (size_t i = 0; i < n; i++)
                pm[i] = m->mask[i] ? 0 : (1 << 8); /* bit 8: user-defined mask */
        bad = ds < 0 || H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, pm) < 0 ||
              ds_i(d, "pixel_mask_applied", 1, NULL);
        if (ds >= 0)
            H5Dclose(ds);
        H5Pclose(dcpl);
        H5Sclose(sp);
        free(pm);
    }
    hid_t mod = bad ? -1 : group(d, "module", "NXdetector_module");
    if (mod < 0) {
        H5Gclose(d);
        return 1;
    }
    int origin[2] = {0, 0}, size[2] = {m->spixels, m->fpixels};
    double len = sqrt(m->mcstas_origin[0] * m->mcstas_origin[0] +
                      m->mcstas_origin[1] * m->mcstas_origin[1] +
                      m->mcstas_origin[2] * m->mcstas_origin[2]);
    double dir[3] = {0, 0, 1};
    if (len > 0)
        for (int i = 0; i < 3; i++)
            dir[i] = m->mcstas_origin[i] / len;
    const char *off = "/entry/instrument/detector/module/module_offset";
    bad = ds_num(mod, "data_origin", H5T_NATIVE_INT, origin, 2, NULL, NULL) ||
          ds_num(mod, "data_size", H5T_NATIVE_INT, size, 2, NULL, NULL) ||
          axis(mod, "module_offset", len, "translation", "m", dir, ".") ||
          axis(mod, "fast_pixel_direction", m->pixel_size, "translation", "m", m->mcstas_fast,
               off) ||
          axis(mod, "slow_pixel_direction", m->pixel_size, "translation", "m", m->mcstas_slow,
               off);
    H5Gclose(mod);
    H5Gclose(d);
    return bad;
}

static void discard(nbcl_nexus_h5 *w)
{
    if (!w)
        return;
    h5_quiet();
    if (w->data >= 0)
        H5Dclose(w->data);
    if (w->phi >= 0)
        H5Dclose(w->phi);
    if (w->phi_end >= 0)
        H5Dclose(w->phi_end);
    if (w->file >= 0)
        H5Fclose(w->file);
    H5Eclear2(H5E_DEFAULT);
    free(w->path);
    free(w);
}

/* /entry/sample with its phi axis, one angle per frame (written with each frame) */
static int write_sample(hid_t entry, nbcl_nexus_h5 *w, const nbcl_frame_meta *m, int nframes)
{
    hid_t sample = group(entry, "sample", "NXsample"), tr = -1;
    int bad = sample < 0 || ds_str(sample, "name", "simulated crystal") ||
              ds_str(sample, "depends_on", "/entry/sample/transformations/phi");
    tr = bad ? -1 : group(sample, "transformations", "NXtransformations");
    hsize_t nf = (hsize_t)nframes;
    bad = bad || tr < 0 || ds_num(tr, "phi", H5T_NATIVE_DOUBLE, NULL, nf, "deg", &w->phi) ||
          attr_str(w->phi, "transformation_type", "rotation") ||
          attr_vec(w->phi, "vector", m->mcstas_spindle, 3) ||
          attr_str(w->phi, "depends_on", ".") ||
          ds_num(tr, "phi_end", H5T_NATIVE_DOUBLE, NULL, nf, "deg", &w->phi_end) ||
          ds_d(tr, "phi_increment_set", m->osc, "deg");
    if (tr >= 0)
        H5Gclose(tr);
    if (sample >= 0)
        H5Gclose(sample);
    return bad;
}

/* /entry/data/data (frames, slow, fast) int32, one frame per chunk, compressed as asked */
static int write_data(hid_t entry, nbcl_nexus_h5 *w, const nbcl_frame_meta *m,
                      const nbcl_nexus_opts *o)
{
    hid_t data = group(entry, "data", "NXdata");
    hsize_t dims[3] = {(hsize_t)o->nframes, (hsize_t)m->spixels, (hsize_t)m->fpixels};
    hsize_t chunk[3] = {1, dims[1], dims[2]};
    hid_t sp = H5Screate_simple(3, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int bad = data < 0 || attr_str(data, "signal", "data") || H5Pset_chunk(dcpl, 3, chunk) < 0;
    if (!bad && o->compression == NBCL_NEXUS_DEFLATE) {
        int level = o->deflate_level > 0 ? o->deflate_level : 1;
        bad = H5Pset_shuffle(dcpl) < 0 ||
              H5Pset_deflate(dcpl, (unsigned)(level > 9 ? 9 : level)) < 0;
    } else if (!bad) {
        unsigned cd[2] = {0, 2};
        int bs = o->compression == NBCL_NEXUS_BSLZ4;
        bad = H5Pset_filter(dcpl, bs ? FILTER_BSLZ4 : FILTER_LZ4, H5Z_FLAG_MANDATORY, bs ? 2 : 1,
                            cd) < 0;
    }
    if (!bad) {
        w->data = H5Dcreate2(data, "data", H5T_STD_I32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        bad = w->data < 0;
    }
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (data >= 0)
        H5Gclose(data);
    return bad;
}

static nbcl_status create(const char *tmp, const char *path, const nbcl_frame_meta *m,
                          const nbcl_nexus_opts *o, nbcl_nexus_h5 **out, char *err,
                          size_t errlen)
{
    *out = NULL;
    h5_quiet();
    nbcl_nexus_h5 *w = calloc(1, sizeof *w);
    if (w)
        w->path = malloc(strlen(path) + 1);
    if (!w || !w->path) {
        free(w);
        snprintf(err, errlen, "%s: out of memory", path);
        return NBCL_OUT_OF_MEMORY;
    }
    strcpy(w->path, path);
    w->file = w->data = w->phi = w->phi_end = -1;
    w->file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) {
        nbcl_status st = h5_fail(err, errlen, path, "creating the file");
        discard(w);
        return st;
    }
    hid_t entry = group(w->file, "entry", "NXentry"), inst = -1;
    int bad = entry < 0 || ds_str(entry, "definition", "NXmx") ||
              ds_str(entry, "start_time", "2000-01-01T00:00:00Z");
    if (!bad) {
        inst = group(entry, "instrument", "NXinstrument");
        bad = inst < 0 || ds_str(inst, "name", "nbcl simulation") || write_beam(inst, m) ||
              write_detector(inst, m);
    }
    bad = bad || write_sample(entry, w, m, o->nframes) || write_data(entry, w, m, o);
    if (inst >= 0)
        H5Gclose(inst);
    if (entry >= 0)
        H5Gclose(entry);
    if (bad) {
        nbcl_status st = h5_fail(err, errlen, path, "writing the NXmx metadata");
        discard(w);
        return st;
    }
    *out = w;
    return NBCL_OK;
}

static nbcl_status write_frame(nbcl_nexus_h5 *w, int k, const int32_t *counts,
                               const nbcl_frame_meta *m, char *err, size_t errlen)
{
    h5_quiet();
    hsize_t start[3] = {(hsize_t)k, 0, 0}, count[3] = {1, (hsize_t)m->spixels, (hsize_t)m->fpixels};
    hid_t fsp = H5Dget_space(w->data), msp = H5Screate_simple(3, count, NULL);
    int bad = fsp < 0 || H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
              H5Dwrite(w->data, H5T_NATIVE_INT32, msp, fsp, H5P_DEFAULT, counts) < 0;
    H5Sclose(msp);
    if (fsp >= 0)
        H5Sclose(fsp);
    double ang[2] = {m->phi_start, m->phi_start + m->osc};
    hid_t ds[2] = {w->phi, w->phi_end};
    for (int i = 0; i < 2 && !bad; i++) {
        hsize_t one = 1, at = (hsize_t)k;
        hid_t f1 = H5Dget_space(ds[i]), m1 = H5Screate_simple(1, &one, NULL);
        bad = f1 < 0 || H5Sselect_hyperslab(f1, H5S_SELECT_SET, &at, NULL, &one, NULL) < 0 ||
              H5Dwrite(ds[i], H5T_NATIVE_DOUBLE, m1, f1, H5P_DEFAULT, &ang[i]) < 0;
        H5Sclose(m1);
        if (f1 >= 0)
            H5Sclose(f1);
    }
    return bad ? h5_fail(err, errlen, w->path, "writing a frame") : NBCL_OK;
}

static nbcl_status finish(nbcl_nexus_h5 *w, char *err, size_t errlen)
{
    h5_quiet();
    int bad = H5Dclose(w->data) < 0;
    bad |= H5Dclose(w->phi) < 0;
    bad |= H5Dclose(w->phi_end) < 0;
    w->data = w->phi = w->phi_end = -1;
    bad |= H5Fclose(w->file) < 0;
    w->file = -1;
    nbcl_status st = bad ? h5_fail(err, errlen, w->path, "completing the file") : NBCL_OK;
    discard(w);
    return st;
}

/* ---------------------------------------------------------------- reading */
static nbcl_status read_nexus(const char *path, int frame, nbcl_counts_image *out, char *err,
                              size_t errlen)
{
    memset(out, 0, sizeof *out);
    h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return h5_fail(err, errlen, path, "opening the file");
    nbcl_status st = NBCL_PARSE;
    char sig[64] = "data";
    hid_t g = H5Gopen2(f, "/entry/data", H5P_DEFAULT), d = -1, sp = -1, msp = -1;
    if (g < 0) {
        snprintf(err, errlen, "%s: no /entry/data group (not an NXmx file from nbcl?)", path);
        H5Eclear2(H5E_DEFAULT);
        goto out;
    }
    if (H5Aexists(g, "signal") > 0) {
        hid_t a = H5Aopen(g, "signal", H5P_DEFAULT), t = H5Aget_type(a);
        size_t n = H5Tget_size(t);
        if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) && n < sizeof sig) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, n + 1);
            if (H5Aread(a, mt, sig) < 0)
                strcpy(sig, "data");
            H5Tclose(mt);
        }
        H5Tclose(t);
        H5Aclose(a);
    }
    d = H5Dopen2(g, sig, H5P_DEFAULT);
    sp = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[3] = {0, 0, 0};
    if (sp < 0 || H5Sget_simple_extent_ndims(sp) != 3) {
        snprintf(err, errlen, "%s: /entry/data/%s is not a (frames, slow, fast) dataset", path,
                   sig);
        H5Eclear2(H5E_DEFAULT);
        goto out;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if (frame < 0 || (hsize_t)frame >= dims[0] || dims[1] == 0 || dims[2] == 0 ||
        dims[1] > (1u << 20) || dims[2] > (1u << 20)) {
        snprintf(err, errlen,
                   "%s: no frame %d: the file holds %llu frame(s) of %llu x %llu pixels", path,
                   frame + 1, (unsigned long long)dims[0], (unsigned long long)dims[2],
                   (unsigned long long)dims[1]);
        st = NBCL_INVALID_ARGUMENT;
        goto out;
    }
    out->counts = malloc((size_t)(dims[1] * dims[2]) * sizeof(int32_t));
    if (!out->counts) {
        snprintf(err, errlen, "%s: out of memory", path);
        st = NBCL_OUT_OF_MEMORY;
        goto out;
    }
    hsize_t start[3] = {(hsize_t)frame, 0, 0}, count[3] = {1, dims[1], dims[2]};
    msp = H5Screate_simple(3, count, NULL);
    if (H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(d, H5T_NATIVE_INT32, msp, sp, H5P_DEFAULT, out->counts) < 0) {
        st = h5_fail(err, errlen, path, "reading a frame");
        free(out->counts);
        out->counts = NULL;
        goto out;
    }
    out->fpixels = (int)dims[2];
    out->spixels = (int)dims[1];
    out->nframes = (int)dims[0];
    st = NBCL_OK;
out:
    if (msp >= 0)
        H5Sclose(msp);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    if (g >= 0)
        H5Gclose(g);
    H5Fclose(f);
    return st;
}

__attribute__((visibility("default"))) const void *nbcl_module_nexus(void);
const void *nbcl_module_nexus(void)
{
    static const nbcl_nexus_module table = {
        {NBCL_MODULE_ABI, NBCL_VERSION_TEXT}, filter_available, create, write_frame, finish,
        discard, read_nexus};
    return &table;
}
