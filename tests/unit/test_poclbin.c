/* The lean PoCL binary of the program cache (engine/src/device/poclbin.c): PoCL's binary
 * (format 9) without program.bc, under a build hash made from nbcl's key. Built here from
 * synthetic binaries of that layout, so no device is needed: the kernels' records come back
 * byte for byte, the header keeps everything but the build hash, and anything that does not
 * parse exactly (other versions, other program entries, a kernel without its generic
 * work-group function, any truncation, trailing bytes) is refused without reading past the
 * end. tests/device/test_kcache.c checks the same on PoCL's real binaries. */
#include "nbcl_test.h"
#include "nbcl_kcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char g_key[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

typedef struct buf {
    unsigned char b[8192];
    size_t n;
} buf;

static void put(buf *o, const void *p, size_t n)
{
    assert_true(o->n + n <= sizeof o->b);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_int(buf *o, uint64_t v, int n)
{
    unsigned char t[8];
    nbcl__put_le(t, v, n);
    put(o, t, (size_t)n);
}

static void put_file(buf *o, const char *path, const char *content)
{
    put_int(o, strlen(path), 4);
    put(o, path, strlen(path));
    put_int(o, strlen(content), 4);
    put(o, content, strlen(content));
}

/* one kernel record: sizes, name, argument counts, reqd size, locals, attributes, flags, an
 * opaque arginfo blob, then its files */
static void put_kernel(buf *o, const char *name, int with_generic, int with_specialised)
{
    buf files = {.n = 0};
    char path[256];
    if (with_specialised) {
        snprintf(path, sizeof path, "/%s/64-1-1-goffs0-smallgrid/%s.so", name, name);
        put_file(&files, path, "\177ELF specialised");
    }
    if (with_generic) {
        snprintf(path, sizeof path, "/%s/0-0-0/%s.so", name, name);
        put_file(&files, path, "\177ELF generic");
    }
    buf meta = {.n = 0};
    put_int(&meta, strlen(name), 4);
    put(&meta, name, strlen(name));
    put_int(&meta, 2, 4); /* arguments */
    put_int(&meta, 0, 4); /* locals */
    for (int i = 0; i < 3; i++)
        put_int(&meta, 0, 8);
    put_int(&meta, 0, 4); /* attributes */
    put_int(&meta, 0, 8);
    put(&meta, "arginfo-bytes", 13);
    put_int(o, 20 + meta.n + files.n, 8);
    put_int(o, files.n, 8);
    put_int(o, 13, 4);
    put(o, meta.b, meta.n);
    put(o, files.b, files.n);
}

enum { GOOD, V8, TWO_ROOTS, ROOT_OTHER, ROOT_TWO_FILES, NO_GENERIC, BAD_HASH };

/* a binary of two kernels; *kernels_at: where the kernels' records start */
static void make_bin(buf *o, int variant, size_t *kernels_at)
{
    o->n = 0;
    put(o, "poclbin", 8);
    put_int(o, 0x1122334455667788u, 8);
    put_int(o, variant == V8 ? 8 : 9, 4);
    put_int(o, 2, 4);
    put_int(o, (uint64_t)4 << 32, 8);
    put_int(o, variant == TWO_ROOTS ? 2 : 1, 4);
    char hash[41] = "IN/CEPDKDGJHCMGJJAKKPBEPJHLPLJLHPMCPGEKA";
    if (variant == BAD_HASH)
        hash[7] = 'z';
    put(o, hash, 41);
    buf root = {.n = 0};
    put_file(&root, variant == ROOT_OTHER ? "/other.bc" : "/program.bc", "BC\xc0\xde IR-PAYLOAD");
    if (variant == ROOT_TWO_FILES)
        put_file(&root, "/extra", "x");
    put_int(o, root.n, 8);
    put(o, root.b, root.n);
    *kernels_at = o->n;
    put_kernel(o, "nbcl_k_pixel_simd", 1, 1);
    put_kernel(o, "nbcl_k_pixel", variant != NO_GENERIC, 0);
}

/* 1 when the n bytes at p hold s */
static int holds(const unsigned char *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(p + i, s, l) == 0)
            return 1;
    return 0;
}

static void test_lean_layout(void **state)
{
    (void)state;
    buf in;
    size_t kat = 0;
    make_bin(&in, GOOD, &kat);
    unsigned char *out = NULL;
    size_t olen = 0;
    assert_null(nbcl__poclbin_lean(in.b, in.n, g_key, &out, &olen));
    assert_non_null(out);
    /* header but the hash unchanged */
    assert_memory_equal(out, in.b, 36);
    /* hash: the key's first 40 hex digits as 'A' + digit, '/' third, NUL last */
    for (int i = 0; i < 40; i++) {
        char c = g_key[i];
        int v = c >= 'a' ? c - 'a' + 10 : c - '0';
        assert_int_equal(out[36 + i], i == 2 ? '/' : 'A' + v);
    }
    assert_int_equal(out[76], 0);
    /* one program-folder record, not program.bc */
    size_t root = (size_t)nbcl__get_le(out + 77, 8);
    size_t nlen = (size_t)nbcl__get_le(out + 85, 4);
    assert_true(nlen > 1 && 8 + nlen < root);
    assert_int_equal(out[89], '/');
    assert_false(nlen == 11 && memcmp(out + 89, "/program.bc", 11) == 0);
    assert_int_equal(root, 8 + nlen + (size_t)nbcl__get_le(out + 89 + nlen, 4));
    /* the kernels byte for byte, and nothing else */
    assert_int_equal(olen, 85 + root + (in.n - kat));
    assert_memory_equal(out + 85 + root, in.b + kat, in.n - kat);
    /* the bitcode is gone */
    assert_false(holds(out, olen, "IR-PAYLOAD"));
    assert_true(holds(in.b, in.n, "IR-PAYLOAD"));
    free(out);
}

static void test_refused(void **state)
{
    (void)state;
    const int bad[] = {V8, TWO_ROOTS, ROOT_OTHER, ROOT_TWO_FILES, NO_GENERIC, BAD_HASH};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf in;
        size_t kat;
        make_bin(&in, bad[i], &kat);
        unsigned char *out = (unsigned char *)"untouched";
        size_t olen = 7;
        const char *why = nbcl__poclbin_lean(in.b, in.n, g_key, &out, &olen);
        assert_non_null(why);
        assert_true(strlen(why) > 5);
        assert_null(out);
        assert_int_equal(olen, 0);
    }
    /* not PoCL's at all: another driver's binary */
    unsigned char out0[64] = "\x7f" "ELF other driver";
    unsigned char *out = NULL;
    size_t olen = 0;
    assert_string_equal(nbcl__poclbin_lean(out0, sizeof out0, g_key, &out, &olen),
                        "not a PoCL binary");
}

/* every truncation and every added byte is refused; each prefix is copied to a buffer of its
 * own size, so ASan sees any read past the end */
static void test_truncated_and_extended(void **state)
{
    (void)state;
    buf in;
    size_t kat;
    make_bin(&in, GOOD, &kat);
    for (size_t n = 0; n < in.n; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        assert_non_null(cut);
        memcpy(cut, in.b, n);
        unsigned char *out = NULL;
        size_t olen = 0;
        assert_non_null(nbcl__poclbin_lean(cut, n, g_key, &out, &olen));
        assert_null(out);
        free(cut);
    }
    unsigned char *ext = malloc(in.n + 1);
    assert_non_null(ext);
    memcpy(ext, in.b, in.n);
    ext[in.n] = 0;
    unsigned char *out = NULL;
    size_t olen = 0;
    assert_string_equal(nbcl__poclbin_lean(ext, in.n + 1, g_key, &out, &olen),
                        "bytes after the last kernel");
    assert_null(out);
    free(ext);
}

/* a size field that points past the end, in the program entry and in a kernel */
static void test_oversized_fields(void **state)
{
    (void)state;
    buf in;
    size_t kat;
    make_bin(&in, GOOD, &kat);
    const size_t at[] = {77, 85, kat, kat + 8, kat + 20};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        buf b = in;
        nbcl__put_le(b.b + at[i], 0xffffffffu, 4);
        unsigned char *out = NULL;
        size_t olen = 0;
        assert_non_null(nbcl__poclbin_lean(b.b, b.n, g_key, &out, &olen));
        assert_null(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lean_layout),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_truncated_and_extended),
        cmocka_unit_test(test_oversized_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
