/* on-disk program-binary cache: miss -> hit -> corrupt -> rebuilt -> hit; build failures;
 * damaged entries (issue 14, class 5): truncated, corrupted or extended at many offsets, a FIFO
 * under the entry's name. Each is detected by its header (size, SHA-256, key) before the driver
 * sees it, dropped with a warning and rewritten valid; renders stay right. */
#include "nbcl_test.h"
#include "nbcl_embedded.h"
#include "nbcl_kcache.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char g_kdir[4096];   /* trivial kernels */
static char g_log[65536];

static void capture_log(void *user, nbcl_log_level level, const char *msg)
{
    (void)user;
    size_t used = strlen(g_log);
    snprintf(g_log + used, sizeof g_log - used, "[%d] %s\n", (int)level, msg);
}

static const char *test_device_spec(void)
{
    const char *dev = getenv("NBCL_TEST_DEVICE");
    return (dev && *dev) ? dev : NULL;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int write_trivial_kernels(const char *dir)
{
    mkdir(dir, 0755);
    for (size_t i = 0; i < nbcl_embedded_count; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, nbcl_embedded_files[i].name);
        const char *text = (i + 1 == nbcl_embedded_count)
                               ? "__kernel void nbcl_k_pixel(__global float *o) "
                                 "{ o[get_global_id(0)] = 0; }\n"
                               : "/* trivial */\n";
        if (write_file(path, text) != 0)
            return -1;
    }
    return 0;
}

/* number of *.bin files in dir; first one's path to `first` */
static int count_bins(const char *dir, char *first, size_t firstlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".bin") == 0) {
            if (n == 0 && first)
                snprintf(first, firstlen, "%s/%s", dir, de->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_kdir, sizeof g_kdir, "%s/kc_trivial_cl", nbcl_test_tmpdir());
    return write_trivial_kernels(g_kdir);
}

/* create an engine (kept in *keep when given, else destroyed); returns the status, copies
 * cache_state */
static nbcl_status make_kept(const char *kdir, const char *cache_dir, nbcl_cache_mode mode,
                             const char *build_options, char *state, size_t statelen, char *err,
                             size_t errlen, nbcl_engine **keep)
{
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    o.device = test_device_spec();
    o.precision = NBCL_PRECISION_F32;
    o.kernel_dir = kdir;
    o.cache_dir = cache_dir;
    o.cache = mode;
    o.build_options = build_options;
    o.log = capture_log;
    g_log[0] = '\0';
    nbcl_engine *e = NULL;
    nbcl_status st = nbcl_engine_create(&o, &e, err, errlen);
    if (st == NBCL_OK) {
        snprintf(state, statelen, "%s", nbcl_engine_build_facts(e)->cache_state);
        if (keep)
            *keep = e;
        else
            nbcl_engine_destroy(e);
    } else {
        assert_null(e);
        state[0] = '\0';
    }
    return st;
}

static nbcl_status make(const char *kdir, const char *cache_dir, nbcl_cache_mode mode,
                        const char *build_options, char *state, size_t statelen, char *err,
                        size_t errlen)
{
    return make_kept(kdir, cache_dir, mode, build_options, state, statelen, err, errlen, NULL);
}

static void run_cycle(const char *kdir, const char *cache_dir)
{
    char state[16], err[16384], bin[4400], bin2[4400];
    nbcl_status st;

    st = make(kdir, cache_dir, NBCL_CACHE_ON, NULL, state, sizeof state, err, sizeof err);
    if (st != NBCL_OK)
        fail_msg("create 1: %s: %s", nbcl_status_name(st), err);
    assert_string_equal(state, "miss");
    assert_int_equal(count_bins(cache_dir, bin, sizeof bin), 1);
    assert_int_equal(count_entries(cache_dir), 1); /* no temp file left behind */
    size_t good_len = 0;
    char *good = nbcl_test_read_file(bin, &good_len);
    assert_non_null(good);
    assert_true(good_len > 0);

    st = make(kdir, cache_dir, NBCL_CACHE_ON, NULL, state, sizeof state, err, sizeof err);
    assert_int_equal(st, NBCL_OK);
    assert_string_equal(state, "hit");
    assert_non_null(strstr(g_log, "kernel cache: hit"));

    /* corrupt: garbage of the same name */
    assert_int_equal(write_file(bin, "this is not a program binary\n\x01\x02garbage"), 0);
    st = make(kdir, cache_dir, NBCL_CACHE_ON, NULL, state, sizeof state, err, sizeof err);
    if (st != NBCL_OK)
        fail_msg("create after corruption: %s: %s", nbcl_status_name(st), err);
    assert_string_equal(state, "miss");
    assert_non_null(strstr(g_log, "[2] kernel cache: discarding")); /* WARN */
    assert_int_equal(count_bins(cache_dir, bin2, sizeof bin2), 1);
    assert_string_equal(bin, bin2);
    size_t again_len = 0;
    char *again = nbcl_test_read_file(bin, &again_len);
    assert_non_null(again);
    assert_true(again_len > 64);
    assert_null(strstr(again, "this is not a program binary"));
    free(again);

    st = make(kdir, cache_dir, NBCL_CACHE_ON, NULL, state, sizeof state, err, sizeof err);
    assert_int_equal(st, NBCL_OK);
    assert_string_equal(state, "hit");

    /* an empty file is a miss too, and is replaced */
    assert_int_equal(write_file(bin, ""), 0);
    st = make(kdir, cache_dir, NBCL_CACHE_ON, NULL, state, sizeof state, err, sizeof err);
    assert_int_equal(st, NBCL_OK);
    assert_string_equal(state, "miss");
    st = make(kdir, cache_dir, NBCL_CACHE_ON, NULL, state, sizeof state, err, sizeof err);
    assert_int_equal(st, NBCL_OK);
    assert_string_equal(state, "hit");

    /* different options: different key, a second entry */
    st = make(kdir, cache_dir, NBCL_CACHE_ON, "-DNBCL_KCACHE_TEST=1", state, sizeof state, err,
              sizeof err);
    assert_int_equal(st, NBCL_OK);
    assert_string_equal(state, "miss");
    assert_int_equal(count_bins(cache_dir, NULL, 0), 2);
    free(good);
}

static void test_cycle_trivial(void **state)
{
    (void)state;
    char cache_dir[4200];
    snprintf(cache_dir, sizeof cache_dir, "%s/kc_cache_trivial/nested/dir", nbcl_test_tmpdir());
    run_cycle(g_kdir, cache_dir); /* also checks mkdir -p */
}

static void test_off_and_auto(void **state)
{
    (void)state;
    char cache_dir[4200], st_[16], err[16384];
    snprintf(cache_dir, sizeof cache_dir, "%s/kc_cache_off", nbcl_test_tmpdir());
    assert_int_equal(make(g_kdir, cache_dir, NBCL_CACHE_OFF, NULL, st_, sizeof st_, err,
                          sizeof err),
                     NBCL_OK);
    assert_string_equal(st_, "off");
    assert_true(count_entries(cache_dir) <= 0);

    /* AUTO follows NBCL_CACHE, then the platform rule */
    setenv("NBCL_CACHE", "on", 1);
    assert_int_equal(make(g_kdir, cache_dir, NBCL_CACHE_AUTO, NULL, st_, sizeof st_, err,
                          sizeof err),
                     NBCL_OK);
    assert_string_equal(st_, "miss");
    setenv("NBCL_CACHE", "off", 1);
    assert_int_equal(make(g_kdir, cache_dir, NBCL_CACHE_AUTO, NULL, st_, sizeof st_, err,
                          sizeof err),
                     NBCL_OK);
    assert_string_equal(st_, "off");
    setenv("NBCL_CACHE", "off", 1); /* explicit ON beats the environment */
    assert_int_equal(make(g_kdir, cache_dir, NBCL_CACHE_ON, NULL, st_, sizeof st_, err,
                          sizeof err),
                     NBCL_OK);
    assert_string_equal(st_, "hit");
    unsetenv("NBCL_CACHE");
    nbcl_device_info d;
    assert_int_equal(nbcl_device_find(test_device_spec(), &d, NULL, 0), NBCL_OK);
    int expect_on = nbcl__kcache_mode_on(NBCL_CACHE_AUTO, NBCL_CACHE_AUTO, d.platform_name,
                                         d.platform_vendor);
    assert_int_equal(make(g_kdir, cache_dir, NBCL_CACHE_AUTO, NULL, st_, sizeof st_, err,
                          sizeof err),
                     NBCL_OK);
    assert_string_equal(st_, expect_on ? "hit" : "off");
}

static void test_unusable_dir(void **state)
{
    (void)state;
    char file[4200], cache_dir[4300], st_[16], err[16384];
    snprintf(file, sizeof file, "%s/kc_not_a_dir", nbcl_test_tmpdir());
    assert_int_equal(write_file(file, "plain file\n"), 0);
    snprintf(cache_dir, sizeof cache_dir, "%s/sub", file); /* ENOTDIR, even as root */
    assert_int_equal(make(g_kdir, cache_dir, NBCL_CACHE_ON, NULL, st_, sizeof st_, err,
                          sizeof err),
                     NBCL_OK);
    assert_string_equal(st_, "off");
    assert_non_null(strstr(g_log, "[0] kernel cache: disabled"));
}

static void test_cache_dir_env(void **state)
{
    (void)state;
    char cache_dir[4200], st_[16], err[16384];
    snprintf(cache_dir, sizeof cache_dir, "%s/kc_cache_env", nbcl_test_tmpdir());
    const char *saved = getenv("NBCL_CACHE_DIR");
    char saved_copy[4200] = "";
    if (saved)
        snprintf(saved_copy, sizeof saved_copy, "%s", saved);
    setenv("NBCL_CACHE_DIR", cache_dir, 1);
    assert_int_equal(make(g_kdir, NULL, NBCL_CACHE_ON, "-DNBCL_ENV_DIR=1", st_, sizeof st_, err,
                          sizeof err),
                     NBCL_OK);
    assert_string_equal(st_, "miss");
    assert_int_equal(count_bins(cache_dir, NULL, 0), 1);
    if (saved)
        setenv("NBCL_CACHE_DIR", saved_copy, 1);
    else
        unsetenv("NBCL_CACHE_DIR");
}

static void test_cycle_real(void **state)
{
    (void)state;
    /* the real (embedded or NBCL_KERNEL_DIR) kernels round-trip through the cache too */
    char cache_dir[4200], st_[16], err[16384];
    snprintf(cache_dir, sizeof cache_dir, "%s/kc_cache_real", nbcl_test_tmpdir());
    nbcl_status st = make(NULL, cache_dir, NBCL_CACHE_ON, NULL, st_, sizeof st_, err, sizeof err);
    if (st != NBCL_OK)
        fail_msg("real kernels: %s: %s", nbcl_status_name(st), err);
    assert_string_equal(st_, "miss");
    st = make(NULL, cache_dir, NBCL_CACHE_ON, NULL, st_, sizeof st_, err, sizeof err);
    assert_int_equal(st, NBCL_OK);
    assert_string_equal(st_, "hit");
}

/* copy of the source tree's cl/ (or the trivial kernels) with a syntax error appended */
static void test_build_failure(void **state)
{
    (void)state;
    char bad[4200], cmd[9000], path[4400];
    snprintf(bad, sizeof bad, "%s/kc_bad_cl", nbcl_test_tmpdir());
    const char *src_root = getenv("NBCL_SOURCE_DIR");
    int copied = 0;
    if (src_root && *src_root) {
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/cl/%s", src_root,
                 nbcl_embedded_files[nbcl_embedded_count - 1].name);
        FILE *f = fopen(probe, "r");
        if (f) {
            fclose(f);
            snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -R '%s/cl' '%s'", bad, src_root, bad);
            copied = nbcl_test_run(cmd) == 0;
        }
    }
    if (!copied)
        assert_int_equal(write_trivial_kernels(bad), 0);
    snprintf(path, sizeof path, "%s/%s", bad, nbcl_embedded_files[nbcl_embedded_count - 1].name);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("\n__kernel void nbcl_k_broken(__global float *o) { o[0] = undeclared_nbcl_symbol +; }\n",
          f);
    fclose(f);

    char cache_dir[4200], st_[16], err[16384];
    snprintf(cache_dir, sizeof cache_dir, "%s/kc_cache_bad", nbcl_test_tmpdir());
    nbcl_status st = make(bad, cache_dir, NBCL_CACHE_ON, "-DNBCL_MARK_OPT=7", st_, sizeof st_,
                          err, sizeof err);
    assert_int_equal(st, NBCL_BUILD_FAILED);
    assert_non_null(strstr(err, "CL_BUILD_PROGRAM_FAILURE"));
    assert_non_null(strstr(err, "options: -cl-std=CL1.2")); /* the option string, ours first */
    assert_non_null(strstr(err, " -DNBCL_MARK_OPT=7\n"));      /* and the caller's last */
    assert_non_null(strstr(err, "build log:"));
    assert_non_null(strstr(err, "undeclared_nbcl_symbol"));         /* the compiler's text */
    assert_non_null(strstr(err, bad));                              /* where the source came from */
    assert_non_null(strstr(g_log, "[3] kernel build failed"));      /* ERROR log */
    assert_int_equal(count_bins(cache_dir, NULL, 0), 0);            /* nothing cached */
}

/* ---- damaged entries */

static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (len && fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

/* the key of an entry: its file name without ".bin" */
static void key_of(const char *bin, char key[65])
{
    const char *slash = strrchr(bin, '/');
    const char *name = slash ? slash + 1 : bin;
    assert_true(strlen(name) == 64 + 4);
    memcpy(key, name, 64);
    key[64] = '\0';
}

/* the entry at `bin` exists and verifies against its key */
static void assert_entry_valid(const char *bin)
{
    char key[65];
    key_of(bin, key);
    size_t len = 0, plen = 0;
    unsigned char *entry = nbcl_test_read_file(bin, &len);
    if (!entry)
        fail_msg("cache entry %s is missing", bin);
    const char *why = nbcl__kcache_verify(key, entry, len, &plen);
    if (why)
        fail_msg("cache entry %s is not valid: %s", bin, why);
    assert_int_equal(plen + NBCL_KCACHE_HEADER, len);
    free(entry);
}

typedef struct damage {
    const char *name;
    long trunc;    /* >= 0: keep this many bytes; < 0: keep len + trunc; KEEP_ALL */
    long flip;     /* >= 0: xor the byte at this offset; < 0: at len + flip; MIDDLE; NO_FLIP */
    size_t append; /* garbage bytes added at the end */
} damage;

#define KEEP_ALL LONG_MAX
#define NO_FLIP LONG_MAX
#define MIDDLE LONG_MIN

/* a damaged copy of entry (len bytes); returns its length */
static size_t apply_damage(const damage *d, const unsigned char *entry, size_t len,
                           unsigned char *out)
{
    memcpy(out, entry, len);
    size_t n = len;
    if (d->trunc != KEEP_ALL)
        n = d->trunc >= 0 ? (size_t)d->trunc : len - (size_t)(-d->trunc);
    if (d->flip != NO_FLIP) {
        size_t at = d->flip == MIDDLE ? len / 2
                    : d->flip >= 0    ? (size_t)d->flip
                                      : len - (size_t)(-d->flip);
        out[at] ^= 0x5a;
    }
    for (size_t i = 0; i < d->append; i++)
        out[n + i] = (unsigned char)(i * 37 + 11);
    return n + d->append;
}

/* the pure check: every header byte, truncation at every header length and many body lengths,
 * body corruption at many offsets, appended garbage, another key */
static void test_verify_damage(void **state)
{
    (void)state;
    size_t plen = 5000;
    unsigned char *payload = malloc(plen);
    assert_non_null(payload);
    for (size_t i = 0; i < plen; i++)
        payload[i] = (unsigned char)(i * 131 + (i >> 7));
    char key[65], other[65];
    nbcl__sha256_hex("some key", 8, key);
    nbcl__sha256_hex("other key", 9, other);
    size_t len = NBCL_KCACHE_HEADER + plen;
    unsigned char *entry = malloc(len + 8192), *bad = malloc(len + 8192);
    assert_non_null(entry);
    assert_non_null(bad);
    assert_int_equal(nbcl__kcache_header(key, payload, plen, entry), 1);
    memcpy(entry + NBCL_KCACHE_HEADER, payload, plen);
    size_t got = 0;
    assert_null(nbcl__kcache_verify(key, entry, len, &got));
    assert_int_equal(got, plen);
    assert_non_null(nbcl__kcache_verify(other, entry, len, &got));

    int checked = 0;
    for (size_t at = 0; at < NBCL_KCACHE_HEADER; at++) /* every header byte, two ways */
        for (int v = 0; v < 2; v++) {
            memcpy(bad, entry, len);
            bad[at] ^= v ? 0xff : 0x01;
            if (!nbcl__kcache_verify(key, bad, len, &got))
                fail_msg("header byte %zu ^ %#x not detected", at, v ? 0xff : 0x01);
            checked++;
        }
    for (size_t at = NBCL_KCACHE_HEADER; at < len; at += 47) { /* body, sampled, and its end */
        memcpy(bad, entry, len);
        bad[at] ^= 0x10;
        if (!nbcl__kcache_verify(key, bad, len, &got))
            fail_msg("body byte %zu changed: not detected", at);
        checked++;
    }
    memcpy(bad, entry, len);
    bad[len - 1] ^= 0x80;
    assert_non_null(nbcl__kcache_verify(key, bad, len, &got));
    for (size_t n = 0; n < len; n += (n <= NBCL_KCACHE_HEADER ? 1 : 61)) { /* truncations */
        if (!nbcl__kcache_verify(key, entry, n, &got))
            fail_msg("truncation to %zu of %zu bytes not detected", n, len);
        checked++;
    }
    assert_non_null(nbcl__kcache_verify(key, entry, len - 1, &got));
    const size_t extra[] = {1, 7, 88, 4096};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) { /* appended garbage */
        memcpy(bad, entry, len);
        memset(bad + len, 0, extra[i]);
        assert_non_null(nbcl__kcache_verify(key, bad, len + extra[i], &got));
        checked++;
    }
    /* a header whose stated size matches a truncated body is still caught by the checksum */
    memcpy(bad, entry, len);
    bad[16] = (unsigned char)((plen - 100) & 0xff);
    bad[17] = (unsigned char)((plen - 100) >> 8);
    assert_non_null(nbcl__kcache_verify(key, bad, len - 100, &got));
    assert_true(checked > 400);
    free(payload);
    free(entry);
    free(bad);
}

/* every damage kind on a real entry: the next engine drops it with a warning, rebuilds, and
 * leaves a valid entry that the run after hits */
static void test_damage_cycle(void **state)
{
    (void)state;
    char cache_dir[4200], bin[4400], st_[16], err[16384];
    snprintf(cache_dir, sizeof cache_dir, "%s/kc_damage", nbcl_test_tmpdir());
    nbcl_status st = make(g_kdir, cache_dir, NBCL_CACHE_ON, "-DNBCL_DAMAGE=1", st_, sizeof st_,
                          err, sizeof err);
    if (st != NBCL_OK)
        fail_msg("create: %s: %s", nbcl_status_name(st), err);
    assert_string_equal(st_, "miss");
    assert_int_equal(count_bins(cache_dir, bin, sizeof bin), 1);
    assert_entry_valid(bin);
    size_t len = 0;
    unsigned char *good = nbcl_test_read_file(bin, &len);
    assert_non_null(good);
    assert_true(len > NBCL_KCACHE_HEADER + 16);
    const damage kinds[] = {
        {"zero length", 0, NO_FLIP, 0},
        {"one byte", 1, NO_FLIP, 0},
        {"inside the magic", 5, NO_FLIP, 0},
        {"inside the sizes", 20, NO_FLIP, 0},
        {"inside the checksum", 40, NO_FLIP, 0},
        {"header only", NBCL_KCACHE_HEADER, NO_FLIP, 0},
        {"one body byte", NBCL_KCACHE_HEADER + 1, NO_FLIP, 0},
        {"half", (long)(len / 2), NO_FLIP, 0},
        {"last byte missing", -1, NO_FLIP, 0},
        {"magic byte", KEEP_ALL, 0, 0},
        {"version byte", KEEP_ALL, 8, 0},
        {"header size byte", KEEP_ALL, 12, 0},
        {"size byte", KEEP_ALL, 16, 0},
        {"checksum byte", KEEP_ALL, 30, 0},
        {"key byte", KEEP_ALL, 87, 0},
        {"first body byte", KEEP_ALL, NBCL_KCACHE_HEADER, 0},
        {"middle body byte", KEEP_ALL, MIDDLE, 0},
        {"last body byte", KEEP_ALL, -1, 0},
        {"one byte appended", KEEP_ALL, NO_FLIP, 1},
        {"4 KiB appended", KEEP_ALL, NO_FLIP, 4096},
    };
    unsigned char *bad = malloc(len + 4096);
    assert_non_null(bad);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = apply_damage(&kinds[i], good, len, bad);
        assert_int_equal(write_bytes(bin, bad, n), 0);
        st = make(g_kdir, cache_dir, NBCL_CACHE_ON, "-DNBCL_DAMAGE=1", st_, sizeof st_, err,
                  sizeof err);
        if (st != NBCL_OK)
            fail_msg("%s: create: %s: %s", kinds[i].name, nbcl_status_name(st), err);
        if (strcmp(st_, "miss") != 0 || !strstr(g_log, "[2] kernel cache: discarding"))
            fail_msg("%s: state %s, log:\n%s", kinds[i].name, st_, g_log);
        assert_entry_valid(bin);
        assert_int_equal(count_entries(cache_dir), 1); /* no temp file left */
    }
    st = make(g_kdir, cache_dir, NBCL_CACHE_ON, "-DNBCL_DAMAGE=1", st_, sizeof st_, err,
              sizeof err);
    assert_int_equal(st, NBCL_OK);
    assert_string_equal(st_, "hit");

    /* temporaries of a store that never finished: an old one is removed, a recent one (a
     * store under way in another process) is left alone */
    char old_tmp[4600], new_tmp[4600], key[65];
    key_of(bin, key);
    snprintf(old_tmp, sizeof old_tmp, "%s/.%s.AbC123", cache_dir, key);
    snprintf(new_tmp, sizeof new_tmp, "%s/.%s.XyZ789", cache_dir, key);
    assert_int_equal(write_bytes(old_tmp, "partial", 7), 0);
    assert_int_equal(write_bytes(new_tmp, "partial", 7), 0);
    struct timespec times[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
    assert_int_equal(utimensat(AT_FDCWD, old_tmp, times, 0), 0);
    st = make(g_kdir, cache_dir, NBCL_CACHE_ON, "-DNBCL_DAMAGE=1", st_, sizeof st_, err,
              sizeof err);
    assert_int_equal(st, NBCL_OK);
    assert_string_equal(st_, "hit");
    assert_int_equal(access(old_tmp, F_OK), -1);
    assert_int_equal(access(new_tmp, F_OK), 0);
    assert_int_equal(unlink(new_tmp), 0);

    /* a FIFO under the entry's name is refused at once (never waited on) and replaced */
    assert_int_equal(unlink(bin), 0);
    assert_int_equal(mkfifo(bin, 0644), 0);
    st = make(g_kdir, cache_dir, NBCL_CACHE_ON, "-DNBCL_DAMAGE=1", st_, sizeof st_, err,
              sizeof err);
    assert_int_equal(st, NBCL_OK);
    assert_string_equal(st_, "miss");
    assert_non_null(strstr(g_log, "not a regular file"));
    assert_entry_valid(bin);
    free(bad);
    free(good);
}

/* the real kernels: a damaged entry still gives the right image (the same bytes as a run
 * without the cache), and the entry is rewritten valid */
static float *render_with(const char *cache_dir, nbcl_cache_mode mode, const nbcl_scene *s,
                          char *state, size_t statelen)
{
    nbcl_engine *e = NULL;
    char err[16384];
    nbcl_status st = make_kept(NULL, cache_dir, mode, NULL, state, statelen, err, sizeof err, &e);
    if (st != NBCL_OK)
        fail_msg("create: %s: %s", nbcl_status_name(st), err);
    nbcl_image img = {0};
    st = nbcl_render(e, s, NULL, &img, NULL);
    if (st != NBCL_OK)
        fail_msg("render: %s: %s", nbcl_status_name(st), nbcl_engine_last_error(e));
    size_t n = (size_t)img.fpixels * (size_t)img.spixels;
    float *copy = malloc(n * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, img.data, n * sizeof *copy);
    nbcl_image_free(&img);
    nbcl_engine_destroy(e);
    return copy;
}

static void test_damage_render(void **state)
{
    (void)state;
    char cache_dir[4200], bin[4400], st_[16];
    snprintf(cache_dir, sizeof cache_dir, "%s/kc_damage_real", nbcl_test_tmpdir());
    nbcl_scene *s = nbcl_test_cubic_scene(48, 48, 5, 2);
    size_t npix = 48 * 48;
    float *ref = render_with(cache_dir, NBCL_CACHE_OFF, s, st_, sizeof st_);
    double sum = 0;
    for (size_t i = 0; i < npix; i++)
        sum += ref[i];
    assert_true(sum > 0 && isfinite(sum));
    float *img = render_with(cache_dir, NBCL_CACHE_ON, s, st_, sizeof st_);
    assert_string_equal(st_, "miss");
    assert_memory_equal(img, ref, npix * sizeof *ref);
    free(img);
    assert_int_equal(count_bins(cache_dir, bin, sizeof bin), 1);
    size_t len = 0;
    unsigned char *good = nbcl_test_read_file(bin, &len);
    assert_non_null(good);
    unsigned char *bad = malloc(len + 64);
    assert_non_null(bad);
    const damage kinds[] = {
        {"truncated in the middle", (long)(len / 2), NO_FLIP, 0},
        {"a body byte changed", KEEP_ALL, MIDDLE, 0},
        {"garbage appended", KEEP_ALL, NO_FLIP, 64},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = apply_damage(&kinds[i], good, len, bad);
        assert_int_equal(write_bytes(bin, bad, n), 0);
        img = render_with(cache_dir, NBCL_CACHE_ON, s, st_, sizeof st_);
        if (strcmp(st_, "miss") != 0 || !strstr(g_log, "[2] kernel cache: discarding"))
            fail_msg("%s: state %s, log:\n%s", kinds[i].name, st_, g_log);
        assert_memory_equal(img, ref, npix * sizeof *ref);
        free(img);
        assert_entry_valid(bin);
    }
    img = render_with(cache_dir, NBCL_CACHE_ON, s, st_, sizeof st_);
    assert_string_equal(st_, "hit");
    assert_memory_equal(img, ref, npix * sizeof *ref);
    free(img);
    free(bad);
    free(good);
    free(ref);
    nbcl_scene_destroy(s);
}

/* ---- pure helpers */

static void test_mode_rules(void **state)
{
    (void)state;
    const char *pocl = "Portable Computing Language";
    /* the engine option wins over NBCL_CACHE; AUTO takes NBCL_CACHE; auto is off for NVIDIA */
    assert_int_equal(nbcl__kcache_mode_on(NBCL_CACHE_ON, NBCL_CACHE_OFF, pocl, "The pocl project"),
                     1);
    assert_int_equal(nbcl__kcache_mode_on(NBCL_CACHE_OFF, NBCL_CACHE_ON, "AMD", "AMD"), 0);
    assert_int_equal(
        nbcl__kcache_mode_on(NBCL_CACHE_AUTO, NBCL_CACHE_AUTO, pocl, "The pocl project"), 1);
    assert_int_equal(nbcl__kcache_mode_on(NBCL_CACHE_AUTO, NBCL_CACHE_AUTO, "NVIDIA CUDA",
                                          "NVIDIA Corporation"),
                     0);
    assert_int_equal(nbcl__kcache_mode_on(NBCL_CACHE_AUTO, NBCL_CACHE_AUTO, "Intel(R) OpenCL",
                                          "Intel(R)"),
                     1);
    assert_int_equal(nbcl__kcache_mode_on(NBCL_CACHE_AUTO, NBCL_CACHE_AUTO,
                                          "AMD Accelerated Parallel Processing",
                                          "Advanced Micro Devices, Inc."),
                     1);
    assert_int_equal(nbcl__kcache_mode_on(NBCL_CACHE_AUTO, NBCL_CACHE_ON, "NVIDIA CUDA", "NVIDIA"),
                     1);
    assert_int_equal(nbcl__kcache_mode_on(NBCL_CACHE_AUTO, NBCL_CACHE_OFF, "AMD", "AMD"), 0);
    assert_int_equal(nbcl__kcache_mode_on(NBCL_CACHE_AUTO, NBCL_CACHE_AUTO, NULL, NULL), 1);

    /* NBCL_CACHE's words (case-insensitive) as env.c reads them into the options; anything
     * else is refused, naming the variable */
    static const struct {
        const char *value;
        int mode;
    } words[] = {{"ON", NBCL_CACHE_ON},     {"1", NBCL_CACHE_ON},    {"yes", NBCL_CACHE_ON},
                 {"True", NBCL_CACHE_ON},   {"Off", NBCL_CACHE_OFF}, {"0", NBCL_CACHE_OFF},
                 {"no", NBCL_CACHE_OFF},    {"FALSE", NBCL_CACHE_OFF}, {"auto", NBCL_CACHE_AUTO},
                 {"", NBCL_CACHE_AUTO}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        nbcl_env_options env;
        setenv("NBCL_CACHE", words[i].value, 1);
        assert_int_equal(nbcl_env_options_read(&env, NULL, 0), NBCL_OK);
        if (env.cache != words[i].mode)
            fail_msg("NBCL_CACHE=%s: mode %d, expected %d", words[i].value, env.cache,
                     words[i].mode);
    }
    nbcl_env_options env;
    char err[256];
    setenv("NBCL_CACHE", "bogus", 1);
    assert_int_equal(nbcl_env_options_read(&env, err, sizeof err), NBCL_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "NBCL_CACHE='bogus'"));
    assert_int_equal(env.cache, NBCL_CACHE_AUTO);
    unsetenv("NBCL_CACHE");
}

static void test_dir_rules(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(nbcl__kcache_dir("/o", "/e", "/x", "/h", out, sizeof out), 1);
    assert_string_equal(out, "/o");
    assert_int_equal(nbcl__kcache_dir("", "/e", "/x", "/h", out, sizeof out), 1);
    assert_string_equal(out, "/e");
    assert_int_equal(nbcl__kcache_dir(NULL, NULL, "/x", "/h", out, sizeof out), 1);
    assert_string_equal(out, "/x/nbcl");
    assert_int_equal(nbcl__kcache_dir(NULL, "", "", "/h", out, sizeof out), 1);
    assert_string_equal(out, "/h/.cache/nbcl");
    assert_int_equal(nbcl__kcache_dir(NULL, NULL, NULL, NULL, out, sizeof out), 0);
    assert_string_equal(out, "");
    char tiny[4];
    assert_int_equal(nbcl__kcache_dir("/long/path", NULL, NULL, NULL, tiny, sizeof tiny), 0);
}

static void test_key(void **state)
{
    (void)state;
    nbcl_device_info a;
    memset(&a, 0, sizeof a);
    snprintf(a.platform_name, sizeof a.platform_name, "P");
    snprintf(a.device_name, sizeof a.device_name, "D");
    snprintf(a.driver_version, sizeof a.driver_version, "1.0");
    char k1[65], k2[65], k3[65], k4[65], k5[65];
    nbcl__kcache_key("0.1.0", "src", "-cl-std=CL1.2", &a, k1);
    nbcl__kcache_key("0.1.0", "src", "-cl-std=CL1.2", &a, k2);
    assert_int_equal(strlen(k1), 64);
    assert_string_equal(k1, k2);
    nbcl__kcache_key("0.1.0", "src", "-cl-std=CL1.2 -DX", &a, k3);
    assert_string_not_equal(k1, k3);
    nbcl__kcache_key("0.1.1", "src", "-cl-std=CL1.2", &a, k4);
    assert_string_not_equal(k1, k4);
    snprintf(a.driver_version, sizeof a.driver_version, "1.1");
    nbcl__kcache_key("0.1.0", "src", "-cl-std=CL1.2", &a, k5);
    assert_string_not_equal(k1, k5);
    /* NUL separation: moving a character across a field boundary changes the key */
    nbcl__kcache_key("0.1.0", "srcX", "Y", &a, k1);
    nbcl__kcache_key("0.1.0", "src", "XY", &a, k2);
    assert_string_not_equal(k1, k2);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_mode_rules),
        cmocka_unit_test(test_dir_rules),
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_verify_damage),
    };
    int fails = cmocka_run_group_tests_name("kcache_pure", pure, NULL, NULL);
    if (fails)
        return fails;
    if (!nbcl_test_have_device())
        return nbcl_test_skip_all();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cycle_trivial),
        cmocka_unit_test(test_off_and_auto),
        cmocka_unit_test(test_unusable_dir),
        cmocka_unit_test(test_cache_dir_env),
        cmocka_unit_test(test_build_failure),
        cmocka_unit_test(test_cycle_real),
        cmocka_unit_test(test_damage_cycle),
        cmocka_unit_test(test_damage_render),
    };
    return cmocka_run_group_tests_name("kcache", tests, group_setup, NULL);
}
