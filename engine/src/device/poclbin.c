/* PoCL's program binary made lean for nbcl's cache: the same binary without the program's LLVM
 * bitcode, so that loading it costs no bitcode parse (docs/kernels.md, "The program cache").
 *
 * PoCL 3.x's binary ("poclbin", format 9, lib/CL/pocl_binary.c) is a header, the program's
 * folder entries (only "/program.bc", the LLVM bitcode) and, per kernel, its metadata and the
 * files of its folder: the compiled work-group functions, at least the generic one
 * "/<kernel>/0-0-0/<kernel>.so" that runs any launch shape. clCreateProgramWithBinary unpacks
 * the files into PoCL's cache folder named by the header's build hash and reads program.bc back
 * from there when it exists; clBuildProgram then parses it (~5.5 ms for nbcl's program on the
 * 2-core machine). Without it the build is a few header reads, and launches run the work-group
 * functions the binary carries: a size-specialised one when PoCL had compiled it before the
 * binary was taken, else the generic one (PoCL compiles new specialised ones only from the
 * bitcode; for nbcl's heavy work-items the two run alike and give the same bytes,
 * docs/performance.md).
 *
 * The lean binary keeps the header (with a build hash of its own, so that it unpacks into a
 * folder where no program.bc from the source build lies) and the kernels' records byte for
 * byte; its one program-folder entry is a small note instead of program.bc. Anything that does
 * not parse exactly as that format is left alone: the caller stores PoCL's binary as it came. */
#include "nbcl_kcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PB_MAGIC "poclbin" /* 8 bytes with its NUL */
#define PB_VERSION 9
#define PB_HASH_AT 36   /* after magic, device id, version, kernel count, flags, root entries */
#define PB_HASH_LEN 41  /* "XX/" + 37 characters 'A'..'P' + NUL (pocl_cache.c) */
#define PB_ROOT_AT (PB_HASH_AT + PB_HASH_LEN)
#define PB_MAX_KERNELS 4096

static const char lean_note_name[] = "/nbcl-lean.txt";
static const char lean_note[] = "program.bc left out by nbcl: its program cache stores PoCL's "
                                "binary without the LLVM bitcode (nbcl docs/kernels.md)\n";

/* one file record at p (end: the end of its section): u32 path length, path, u32 content
 * length, content. The record's size, or 0 when it does not fit; *path, *plen set. */
static size_t pb_record(const unsigned char *p, const unsigned char *end, const unsigned char **path,
                        size_t *plen)
{
    if (end - p < 4)
        return 0;
    size_t n = (size_t)nbcl__get_le(p, 4);
    if (n == 0 || (size_t)(end - p - 4) < n + 4)
        return 0;
    size_t c = (size_t)nbcl__get_le(p + 4 + n, 4);
    if ((size_t)(end - p - 8) - n < c)
        return 0;
    *path = p + 4;
    *plen = n;
    return 8 + n + c;
}

/* 1 when [p, end) is a sequence of whole file records, one of them named want (NULL: exactly
 * one record, "/program.bc") */
static int pb_files_ok(const unsigned char *p, const unsigned char *end, const char *want)
{
    static const char bc[] = "/program.bc";
    int found = 0, records = 0;
    while (p < end) {
        const unsigned char *path;
        size_t plen, r = pb_record(p, end, &path, &plen);
        if (r == 0)
            return 0;
        const char *name = want ? want : bc;
        if (plen == strlen(name) && memcmp(path, name, plen) == 0)
            found = 1;
        records++;
        p += r;
    }
    return found && (want || records == 1);
}

/* 1 when the kernel record at p (struct_size bytes, the last files_size of them its files)
 * names a kernel and holds its generic work-group function among its files */
static int pb_kernel_ok(const unsigned char *p, size_t struct_size, size_t files_size)
{
    if (struct_size < 24 || files_size > struct_size - 24)
        return 0;
    size_t nlen = (size_t)nbcl__get_le(p + 20, 4);
    if (nlen == 0 || nlen > 1024 || nlen > struct_size - 24)
        return 0;
    char want[3200];
    const char *name = (const char *)(p + 24);
    if (memchr(name, '/', nlen) || memchr(name, '\0', nlen))
        return 0;
    snprintf(want, sizeof want, "/%.*s/0-0-0/%.*s.so", (int)nlen, name, (int)nlen, name);
    return pb_files_ok(p + struct_size - files_size, p + struct_size, want);
}

static int pb_hash_ok(const unsigned char *h)
{
    for (int i = 0; i < PB_HASH_LEN - 1; i++)
        if (i == 2 ? h[i] != '/' : (h[i] < 'A' || h[i] > 'P'))
            return 0;
    return h[PB_HASH_LEN - 1] == '\0';
}

const char *nbcl__poclbin_lean(const unsigned char *bin, size_t len, const char *key,
                               unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (len < PB_ROOT_AT + 8 || memcmp(bin, PB_MAGIC, sizeof PB_MAGIC) != 0)
        return "not a PoCL binary";
    if (nbcl__get_le(bin + 16, 4) != PB_VERSION || nbcl__get_le(bin + 32, 4) != 1 ||
        !pb_hash_ok(bin + PB_HASH_AT))
        return "a PoCL binary format other than 9 with one program entry";
    uint64_t nk = nbcl__get_le(bin + 20, 4);
    uint64_t root = nbcl__get_le(bin + PB_ROOT_AT, 8);
    size_t kernels_at = PB_ROOT_AT + 8;
    if (nk == 0 || nk > PB_MAX_KERNELS || root > len - kernels_at ||
        !pb_files_ok(bin + kernels_at, bin + kernels_at + root, NULL))
        return "its program entry is not program.bc alone";
    kernels_at += (size_t)root;
    const unsigned char *p = bin + kernels_at;
    for (uint64_t k = 0; k < nk; k++) {
        if ((size_t)(bin + len - p) < 24)
            return "a kernel record is truncated";
        uint64_t ss = nbcl__get_le(p, 8), fs = nbcl__get_le(p + 8, 8);
        if (ss > (uint64_t)(bin + len - p) || !pb_kernel_ok(p, (size_t)ss, (size_t)fs))
            return "a kernel lacks its generic work-group function";
        p += ss;
    }
    if (p != bin + len)
        return "bytes after the last kernel";

    size_t nn = sizeof lean_note_name - 1, nc = sizeof lean_note - 1;
    size_t rec = 8 + nn + nc, kbytes = len - kernels_at;
    unsigned char *o = malloc(PB_ROOT_AT + 8 + rec + kbytes);
    if (!o)
        return "out of memory";
    memcpy(o, bin, PB_HASH_AT);
    /* a build hash of the same shape, from nbcl's key: its own folder in PoCL's cache */
    for (int i = 0; i < PB_HASH_LEN - 1; i++) {
        char c = key[i];
        int v = c >= 'a' ? c - 'a' + 10 : c - '0';
        o[PB_HASH_AT + i] = (unsigned char)(i == 2 ? '/' : 'A' + (v & 15));
    }
    o[PB_HASH_AT + PB_HASH_LEN - 1] = '\0';
    unsigned char *w = o + PB_ROOT_AT;
    nbcl__put_le(w, rec, 8);
    nbcl__put_le(w + 8, nn, 4);
    memcpy(w + 12, lean_note_name, nn);
    nbcl__put_le(w + 12 + nn, nc, 4);
    memcpy(w + 16 + nn, lean_note, nc);
    memcpy(w + 8 + rec, bin + kernels_at, kbytes);
    *out = o;
    *outlen = PB_ROOT_AT + 8 + rec + kbytes;
    return NULL;
}
