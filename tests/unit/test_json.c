/* JSON writer: structure, escaping, locale-independent numbers, the env/device printers' field
 * names (read back with json-c). */
#include "nbcl_test.h"
#include "nbcl_json.h"

#include <json-c/json.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static json_object *parse(const nbcl_json *w)
{
    size_t len = 0;
    const char *t = nbcl_json_text(w, &len);
    assert_int_equal(strlen(t), len);
    json_object *o = json_tokener_parse(t);
    if (!o)
        fail_msg("json-c could not parse:\n%s", t);
    return o;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("missing field \"%s\" in %s", key, json_object_to_json_string(o));
    return v;
}

static void test_structure_compact(void **state)
{
    (void)state;
    nbcl_json *w = nbcl_json_new(0);
    assert_non_null(w);
    nbcl_json_obj_begin(w);
    nbcl_json_kint(w, "a", 1);
    nbcl_json_key(w, "b");
    nbcl_json_arr_begin(w);
    nbcl_json_int(w, -2);
    nbcl_json_bool(w, 1);
    nbcl_json_null(w);
    nbcl_json_obj_begin(w);
    nbcl_json_obj_end(w);
    nbcl_json_arr_begin(w);
    nbcl_json_arr_end(w);
    nbcl_json_arr_end(w);
    nbcl_json_kstr(w, "c", "x");
    nbcl_json_kuint(w, "d", UINT64_C(18446744073709551615));
    nbcl_json_kbool(w, "e", 0);
    nbcl_json_knull(w, "f");
    nbcl_json_kstr(w, "g", NULL);
    nbcl_json_obj_end(w);
    assert_true(nbcl_json_ok(w));
    assert_true(nbcl_json_complete(w));
    assert_string_equal(nbcl_json_text(w, NULL),
                        "{\"a\":1,\"b\":[-2,true,null,{},[]],\"c\":\"x\","
                        "\"d\":18446744073709551615,\"e\":false,\"f\":null,\"g\":null}");
    nbcl_json_free(w);
}

static void test_structure_pretty(void **state)
{
    (void)state;
    nbcl_json *w = nbcl_json_new(1);
    nbcl_json_obj_begin(w);
    nbcl_json_knum(w, "x", 0.5);
    nbcl_json_key(w, "list");
    nbcl_json_arr_begin(w);
    nbcl_json_int(w, 1);
    nbcl_json_int(w, 2);
    nbcl_json_arr_end(w);
    nbcl_json_key(w, "empty");
    nbcl_json_obj_begin(w);
    nbcl_json_obj_end(w);
    nbcl_json_obj_end(w);
    assert_true(nbcl_json_complete(w));
    assert_string_equal(nbcl_json_text(w, NULL), "{\n"
                                                 "  \"x\": 0.5,\n"
                                                 "  \"list\": [\n"
                                                 "    1,\n"
                                                 "    2\n"
                                                 "  ],\n"
                                                 "  \"empty\": {}\n"
                                                 "}");
    json_object *o = parse(w);
    assert_int_equal(json_object_get_int(json_object_array_get_idx(get(o, "list"), 1)), 2);
    json_object_put(o);
    nbcl_json_free(w);
}

static void test_misuse_fails(void **state)
{
    (void)state;
    nbcl_json *w = nbcl_json_new(0);
    nbcl_json_obj_begin(w);
    nbcl_json_int(w, 1); /* value without a key */
    assert_false(nbcl_json_ok(w));
    nbcl_json_free(w);

    w = nbcl_json_new(0);
    nbcl_json_arr_begin(w);
    nbcl_json_key(w, "k"); /* key in an array */
    assert_false(nbcl_json_ok(w));
    nbcl_json_free(w);

    w = nbcl_json_new(0);
    nbcl_json_arr_begin(w);
    nbcl_json_obj_end(w); /* wrong closer */
    assert_false(nbcl_json_ok(w));
    nbcl_json_free(w);

    w = nbcl_json_new(0);
    nbcl_json_int(w, 1);
    nbcl_json_int(w, 2); /* two top-level values */
    assert_false(nbcl_json_ok(w));
    nbcl_json_free(w);

    w = nbcl_json_new(0);
    nbcl_json_obj_begin(w);
    nbcl_json_key(w, "k");
    nbcl_json_obj_end(w); /* key without value */
    assert_false(nbcl_json_ok(w));
    nbcl_json_free(w);

    w = nbcl_json_new(0);
    nbcl_json_obj_begin(w);
    assert_true(nbcl_json_ok(w));
    assert_false(nbcl_json_complete(w)); /* still open */
    char err[256];
    nbcl_json_int(w, 3);
    assert_int_not_equal(nbcl_json_write_file(w, "/nonexistent/x.json", err, sizeof err), NBCL_OK);
    nbcl_json_free(w);
    nbcl_json_free(NULL);
}

static void test_escaping(void **state)
{
    (void)state;
    char out[256];
    size_t n = nbcl_json_escape("a\"b\\c/d", 7, out, sizeof out);
    assert_string_equal(out, "\"a\\\"b\\\\c/d\"");
    assert_int_equal(n, strlen(out));
    nbcl_json_escape("\b\f\n\r\t\x01\x1f", 7, out, sizeof out);
    assert_string_equal(out, "\"\\b\\f\\n\\r\\t\\u0001\\u001f\"");
    /* embedded NUL with an explicit length */
    nbcl_json_escape("a\0b", 3, out, sizeof out);
    assert_string_equal(out, "\"a\\u0000b\"");
    /* valid UTF-8 passes through; invalid bytes become U+FFFD */
    nbcl_json_escape("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, out, sizeof out);
    assert_string_equal(out, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    nbcl_json_escape("a\xff" "b\xc3", 4, out, sizeof out);
    assert_string_equal(out, "\"a\\ufffdb\\ufffd\"");
    nbcl_json_escape("\xed\xa0\x80", 3, out, sizeof out); /* surrogate: invalid in UTF-8 */
    assert_string_equal(out, "\"\\ufffd\\ufffd\\ufffd\"");
    nbcl_json_escape("\xc0\xaf", 2, out, sizeof out); /* overlong '/' */
    assert_string_equal(out, "\"\\ufffd\\ufffd\"");
    /* truncation never splits an escape and always terminates */
    char small[6];
    n = nbcl_json_escape("ab\ncd", 5, small, sizeof small);
    assert_int_equal(n, strlen("\"ab\\ncd\""));
    assert_true(strlen(small) < sizeof small);
    assert_string_equal(small, "\"ab\\n");

    /* the writer output parses back to the same bytes, keys included */
    const char *nasty = "tab\there \"quoted\" back\\slash \x7f ctrl\x02 \xc3\xa9";
    nbcl_json *w = nbcl_json_new(1);
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, nasty, nasty);
    nbcl_json_obj_end(w);
    json_object *o = parse(w);
    assert_string_equal(json_object_get_string(get(o, nasty)), nasty);
    json_object_put(o);
    nbcl_json_free(w);
}

static void check_number(double v, const char *expect)
{
    char buf[64];
    size_t n = nbcl_json_format_double(buf, sizeof buf, v);
    assert_int_equal(n, strlen(buf));
    if (expect)
        assert_string_equal(buf, expect);
    if (isfinite(v)) {
        assert_null(strchr(buf, ','));
        /* parse back with json-c (its own locale handling) and exactly */
        json_object *o = json_tokener_parse(buf);
        assert_non_null(o);
        assert_true(json_object_get_double(o) == v);
        json_object_put(o);
    }
}

static void numbers_suite(void)
{
    check_number(0.5, "0.5");
    check_number(-1.25e-300, "-1.25e-300");
    check_number(1e21, "1e+21");
    check_number(3.0, "3");
    check_number(0.1, "0.1");
    check_number(1.0 / 3.0, "0.3333333333333333");
    check_number(2.0 / 3.0, "0.6666666666666666");
    check_number(0.1 + 0.2, "0.30000000000000004");
    check_number(123456.789, "123456.789");
    check_number(-0.0, "0");
    check_number(5e-324, NULL);
    check_number(1.7976931348623157e308, "1.7976931348623157e+308");
    check_number(NAN, "null");
    check_number(INFINITY, "null");
    check_number(-INFINITY, "null");
    nbcl_json *w = nbcl_json_new(0);
    nbcl_json_arr_begin(w);
    nbcl_json_num(w, 1.5);
    nbcl_json_num(w, NAN);
    nbcl_json_arr_end(w);
    assert_string_equal(nbcl_json_text(w, NULL), "[1.5,null]");
    nbcl_json_free(w);
}

static void test_numbers_c_locale(void **state)
{
    (void)state;
    numbers_suite();
}

static void test_fix_decimal(void **state)
{
    (void)state;
    char b[64];
    snprintf(b, sizeof b, "3,25");
    nbcl_json_fix_decimal(b, ",");
    assert_string_equal(b, "3.25");
    snprintf(b, sizeof b, "-1\xd9\xab" "5e-07"); /* U+066B ARABIC DECIMAL SEPARATOR */
    nbcl_json_fix_decimal(b, "\xd9\xab");
    assert_string_equal(b, "-1.5e-07");
    snprintf(b, sizeof b, "12");
    nbcl_json_fix_decimal(b, ",");
    assert_string_equal(b, "12");
    nbcl_json_fix_decimal(b, ".");
    nbcl_json_fix_decimal(b, "");
    nbcl_json_fix_decimal(b, NULL);
    assert_string_equal(b, "12");
}

/* A real comma locale: build de_DE.UTF-8 with localedef into the test's scratch directory when
 * the system has none (Debian images often carry only C and C.UTF-8). */
static int set_comma_locale(void)
{
    static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "nl_NL.UTF-8"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (setlocale(LC_NUMERIC, names[i]) && strcmp(localeconv()->decimal_point, ",") == 0)
            return 1;
    char dir[4600], cmd[9300];
    snprintf(dir, sizeof dir, "%s/locales", nbcl_test_tmpdir());
    mkdir(dir, 0755);
    snprintf(cmd, sizeof cmd,
             "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1", dir);
    int rc = nbcl_test_run(cmd);
    if (rc != 0 && rc != 1) /* 1: built with warnings */
        return 0;
    setenv("LOCPATH", dir, 1);
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") && strcmp(localeconv()->decimal_point, ",") == 0)
        return 1;
    return 0;
}

static void test_numbers_comma_locale(void **state)
{
    (void)state;
    if (!set_comma_locale()) {
        setlocale(LC_NUMERIC, "C");
        skip();
    }
    char probe[32];
    snprintf(probe, sizeof probe, "%.1f", 0.5);
    assert_string_equal(probe, "0,5"); /* the locale really is active */
    numbers_suite();
    /* and through the writer */
    nbcl_json *w = nbcl_json_new(0);
    nbcl_json_obj_begin(w);
    nbcl_json_knum(w, "v", 1234.5);
    nbcl_json_obj_end(w);
    assert_string_equal(nbcl_json_text(w, NULL), "{\"v\":1234.5}");
    nbcl_json_free(w);
    setlocale(LC_NUMERIC, "C");
}

static void test_printers_field_names(void **state)
{
    (void)state;
    nbcl_device_info d;
    memset(&d, 0, sizeof d);
    d.platform_index = 1;
    d.device_index = 2;
    snprintf(d.platform_name, sizeof d.platform_name, "Portable \"Computing\" Language");
    snprintf(d.device_name, sizeof d.device_name, "pthread-cpu\\x");
    snprintf(d.device_name_normalised, sizeof d.device_name_normalised, "cpu\\x");
    snprintf(d.device_type, sizeof d.device_type, "CPU");
    snprintf(d.extensions, sizeof d.extensions, " cl_khr_fp64  cl_khr_icd ");
    d.global_mem_bytes = UINT64_C(1) << 40;
    d.has_fp64 = 1;
    d.clock_mhz = 2100;
    d.compute_units = 2;

    nbcl_host_info h;
    nbcl_host_info_query(&h);
    nbcl_build_facts f;
    memset(&f, 0, sizeof f);
    snprintf(f.cache_state, sizeof f.cache_state, "off");
    snprintf(f.options, sizeof f.options, "-cl-std=CL1.2 -DX=\"a b\"");
    f.build_seconds = 0.25;

    nbcl_json *w = nbcl_json_new(1);
    nbcl_json_obj_begin(w);
    nbcl_json_key(w, "host");
    nbcl_json_host_info(w, &h);
    nbcl_json_key(w, "device");
    nbcl_json_device_info(w, &d);
    nbcl_json_key(w, "build");
    nbcl_json_build_facts(w, &f);
    nbcl_json_key(w, "environment");
    nbcl_json_environment(w);
    nbcl_json_obj_end(w);
    assert_true(nbcl_json_complete(w));
    json_object *o = parse(w);

    json_object *dev = get(o, "device");
    assert_string_equal(json_object_get_string(get(dev, "spec")), "1:2");
    json_object *plat = get(dev, "platform");
    assert_string_equal(json_object_get_string(get(plat, "name")), d.platform_name);
    get(plat, "vendor");
    get(plat, "version");
    json_object *dd = get(dev, "device");
    static const char *dev_fields[] = {
        "index", "name", "name_normalised", "vendor", "vendor_id", "type", "version",
        "opencl_c_version", "driver_version", "compute_units", "max_clock_mhz",
        "global_mem_bytes", "local_mem_bytes", "max_alloc_bytes", "max_work_group_size", "fp64",
        "extensions"};
    for (size_t i = 0; i < sizeof dev_fields / sizeof dev_fields[0]; i++)
        get(dd, dev_fields[i]);
    assert_string_equal(json_object_get_string(get(dd, "name")), "pthread-cpu\\x");
    assert_int_equal(json_object_get_int64(get(dd, "global_mem_bytes")), (int64_t)1 << 40);
    assert_int_equal(json_object_get_int(get(dd, "max_clock_mhz")), 2100);
    assert_true(json_object_get_boolean(get(dd, "fp64")));
    json_object *ext = get(dd, "extensions");
    assert_int_equal(json_object_array_length(ext), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(ext, 0)), "cl_khr_fp64");

    json_object *host = get(o, "host");
    json_object *os = get(host, "os");
    get(os, "name");
    assert_true(strlen(json_object_get_string(get(os, "kernel"))) > 0);
    json_object *cpu = get(host, "cpu");
    get(cpu, "model");
    assert_true(json_object_get_int(get(cpu, "logical_cpus")) >= 1);
    get(cpu, "physical_cores");
    assert_true(json_object_get_int64(get(get(host, "memory"), "total_bytes")) > 0);
    json_object *icd = get(host, "icd_loader");
    get(icd, "name");
    get(icd, "version");
    get(icd, "vendor");
    get(icd, "library");
    assert_true(strncmp(json_object_get_string(get(host, "clblast_version")), "1.", 2) == 0);
    json_object *eng = get(host, "engine");
    assert_string_equal(json_object_get_string(get(eng, "version")), nbcl_version());
    assert_string_equal(json_object_get_string(get(eng, "git_sha")), nbcl_git_sha());
    get(eng, "compiler");
    get(eng, "build_type");

    json_object *b = get(o, "build");
    assert_string_equal(json_object_get_string(get(b, "build_options")), f.options);
    assert_string_equal(json_object_get_string(get(b, "cache_state")), "off");
    get(b, "source_origin");
    get(b, "source_sha256");
    assert_true(json_object_get_double(get(b, "build_seconds")) == 0.25);
    assert_true(json_object_is_type(get(o, "environment"), json_type_object));
    json_object_put(o);

    /* and to a file, atomically, with a trailing newline */
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/env_test.json", nbcl_test_tmpdir());
    assert_int_equal(nbcl_json_write_file(w, path, err, sizeof err), NBCL_OK);
    size_t len = 0;
    char *text = nbcl_test_read_file(path, &len);
    assert_non_null(text);
    size_t wl = 0;
    nbcl_json_text(w, &wl);
    assert_int_equal(len, wl + 1);
    assert_int_equal(text[len - 1], '\n');
    free(text);
    nbcl_json_free(w);
}

static void test_large_document(void **state)
{
    (void)state;
    nbcl_json *w = nbcl_json_new(0);
    nbcl_json_arr_begin(w);
    for (int i = 0; i < 20000; i++) {
        nbcl_json_obj_begin(w);
        nbcl_json_kint(w, "i", i);
        nbcl_json_knum(w, "v", i * 0.001);
        nbcl_json_obj_end(w);
    }
    nbcl_json_arr_end(w);
    assert_true(nbcl_json_complete(w));
    json_object *o = parse(w);
    assert_int_equal(json_object_array_length(o), 20000);
    json_object *last = json_object_array_get_idx(o, 19999);
    assert_true(json_object_get_double(get(last, "v")) == 19999 * 0.001);
    json_object_put(o);
    nbcl_json_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_compact),
        cmocka_unit_test(test_structure_pretty),
        cmocka_unit_test(test_misuse_fails),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_numbers_c_locale),
        cmocka_unit_test(test_fix_decimal),
        cmocka_unit_test(test_numbers_comma_locale),
        cmocka_unit_test(test_printers_field_names),
        cmocka_unit_test(test_large_document),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
