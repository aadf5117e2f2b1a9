/* 8-bit greyscale PNG previews through libpng, written through nbcl_outfile (temporary file +
 * rename) by libpng's write callback. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "nbcl_internal.h"
#include "io_util.h"

typedef struct png_sink {
    nbcl_outfile *f;
    char *err;
    size_t errlen;
    nbcl_status st;
} png_sink;

static void sink_write(png_structp png, png_bytep data, png_size_t len)
{
    png_sink *s = png_get_io_ptr(png);
    if (s->st == NBCL_OK)
        s->st = nbcl_outfile_write(s->f, data, len, s->err, s->errlen);
    if (s->st != NBCL_OK)
        png_error(png, "write failed");
}

static void sink_flush(png_structp png)
{
    (void)png;
}

nbcl_status nbcl_write_png(const char *path, int fpixels, int spixels, const uint8_t *pix,
                           double scale, char *err, size_t errlen)
{
    if (fpixels <= 0 || spixels <= 0 || !pix) {
        nbcl__errf(err, errlen, "%s: invalid PNG image (%d x %d)", path ? path : "(null)", fpixels,
                   spixels);
        return NBCL_INVALID_ARGUMENT;
    }
    png_sink sink = {NULL, err, errlen, NBCL_OK};
    nbcl_status st = nbcl_outfile_open(path, &sink.f, err, errlen);
    if (st != NBCL_OK)
        return st;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png)
            png_destroy_write_struct(&png, NULL);
        nbcl_outfile_abort(sink.f);
        nbcl__errf(err, errlen, "%s: cannot set up libpng", path);
        return NBCL_OUT_OF_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        nbcl_outfile_abort(sink.f);
        if (sink.st == NBCL_OK) {
            nbcl__errf(err, errlen, "%s: libpng could not encode the image", path);
            sink.st = NBCL_IO;
        }
        return sink.st;
    }
    png_set_write_fn(png, &sink, sink_write, sink_flush);
    png_set_IHDR(png, info, (png_uint_32)fpixels, (png_uint_32)spixels, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1); /* a preview: speed over size */
    png_set_filter(png, 0, PNG_FILTER_SUB);
    char key[] = "Comment", val[96];
    nbcl__snprintf_c(val, sizeof val, "pixels scaled by %lg (nbcl, as the PGM)", scale);
    png_text txt;
    memset(&txt, 0, sizeof txt);
    txt.compression = PNG_TEXT_COMPRESSION_NONE;
    txt.key = key;
    txt.text = val;
    png_set_text(png, info, &txt, 1);
    png_write_info(png, info);
    for (int y = 0; y < spixels; y++)
        png_write_row(png, (png_const_bytep)(pix + (size_t)y * (size_t)fpixels));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return nbcl_outfile_commit(sink.f, err, errlen);
}
