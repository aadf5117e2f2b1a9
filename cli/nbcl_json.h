/* The programs' JSON (part of their helper library nbcl_progs, not of libnbcl, not installed):
 * a small streaming writer (json.c) and printers of the library's environment facts for
 * nbcl-bench's env.json (envjson.c). Built on the public API only.
 *
 * The writer produces RFC 8259 text: strings are escaped (quote, backslash, every control
 * character; invalid UTF-8 becomes U+FFFD), numbers are formatted independently of the C locale
 * (always '.', shortest text that reads back to the same double), NaN and infinities become
 * null. Commas and indentation are inserted by the writer; a key must precede every value in an
 * object. Misuse (value without key in an object, unbalanced end) and out-of-memory make the
 * writer "failed" (nbcl_json_ok() == 0); further calls are ignored. */
#ifndef NBCL_JSON_H
#define NBCL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "nbcl/nbcl.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nbcl_json nbcl_json;

/* pretty: 2-space indentation and one member per line; 0: compact single line */
nbcl_json *nbcl_json_new(int pretty);
void nbcl_json_free(nbcl_json *w);
int nbcl_json_ok(const nbcl_json *w);
/* The text so far (NUL-terminated; valid until the next call on w). len may be NULL. */
const char *nbcl_json_text(const nbcl_json *w, size_t *len);
/* 1 when every object/array has been closed and exactly one top-level value was written */
int nbcl_json_complete(const nbcl_json *w);

void nbcl_json_obj_begin(nbcl_json *w);
void nbcl_json_obj_end(nbcl_json *w);
void nbcl_json_arr_begin(nbcl_json *w);
void nbcl_json_arr_end(nbcl_json *w);
void nbcl_json_key(nbcl_json *w, const char *key);
void nbcl_json_str(nbcl_json *w, const char *s);           /* NULL writes null */
void nbcl_json_strn(nbcl_json *w, const char *s, size_t n);
void nbcl_json_num(nbcl_json *w, double v);                 /* NaN/Inf write null */
void nbcl_json_int(nbcl_json *w, long long v);
void nbcl_json_uint(nbcl_json *w, uint64_t v);
void nbcl_json_bool(nbcl_json *w, int v);
void nbcl_json_null(nbcl_json *w);
/* key + value shorthands */
void nbcl_json_kstr(nbcl_json *w, const char *key, const char *s);
void nbcl_json_knum(nbcl_json *w, const char *key, double v);
void nbcl_json_kint(nbcl_json *w, const char *key, long long v);
void nbcl_json_kuint(nbcl_json *w, const char *key, uint64_t v);
void nbcl_json_kbool(nbcl_json *w, const char *key, int v);
void nbcl_json_knull(nbcl_json *w, const char *key);

/* Write the text (plus a final newline) atomically to path (nbcl_outfile). */
nbcl_status nbcl_json_write_file(const nbcl_json *w, const char *path, char *err, size_t errlen);

/* Locale-independent number text: the shortest of %.15g/%.16g/%.17g that reads back exactly,
 * '.' as the decimal point whatever LC_NUMERIC says. "null" for NaN/Inf. Returns the length. */
size_t nbcl_json_format_double(char *buf, size_t cap, double v);
/* The repair step used above when no "C" locale object can be had, exposed for tests: replace
 * the locale's decimal point `dp` (may be multi-byte, e.g. U+066B) in buf with '.'. (%g never
 * inserts grouping characters, so there is nothing else to undo.) */
void nbcl_json_fix_decimal(char *buf, const char *dp);
/* Append the JSON string literal for s[0..n) (quotes included) to out (cap bytes, NUL-terminated,
 * truncated at a character boundary when short). Returns the length it needed. */
size_t nbcl_json_escape(const char *s, size_t n, char *out, size_t cap);

/* ------------------------------------------------------------------ environment facts */
/* One object per struct, field names as in docs/benchmarks.md ("env.json") (envjson.c). */
void nbcl_json_host_info(nbcl_json *w, const nbcl_host_info *h);
void nbcl_json_device_info(nbcl_json *w, const nbcl_device_info *d);
void nbcl_json_build_facts(nbcl_json *w, const nbcl_build_facts *f);
/* Environment variables that change what a run does (OMP_NUM_THREADS, POCL_*, NBCL_*, ...):
 * an object of the ones that are set. */
void nbcl_json_environment(nbcl_json *w);

#ifdef __cplusplus
}
#endif
#endif
