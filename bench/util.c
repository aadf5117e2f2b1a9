#define _DEFAULT_SOURCE /* wait4 */
/* nbcl-bench helpers: sample statistics, logging and progress, directories, git facts, SHA-256,
 * child processes. */
#include "bench.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile int bench_interrupted = 0;

/* ------------------------------------------------------------------ statistics */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_summarise(const double *v, size_t n, bench_summary *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n == 0) {
        out->min = out->median = out->mean = out->stddev = NAN;
        return;
    }
    double *s = malloc(n * sizeof *s);
    if (!s) {
        out->min = out->median = out->mean = out->stddev = NAN;
        return;
    }
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    out->min = s[0];
    out->median = (n % 2) ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    out->mean = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (s[i] - out->mean) * (s[i] - out->mean);
    out->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    free(s);
}

int bench_series_add(bench_series *s, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        double *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return 0;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 1;
}

void bench_series_free(bench_series *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* ------------------------------------------------------------------ argv */
void bench_argv_free(bench_argv *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    a->argc = 0;
}

int bench_argv_push(bench_argv *a, const char *s)
{
    if (a->argc >= BENCH_MAX_ARGS - 1)
        return 0;
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (!c)
        return 0;
    memcpy(c, s, n);
    a->argv[a->argc++] = c;
    a->argv[a->argc] = NULL;
    return 1;
}

static void append_quoted(char **buf, size_t *len, size_t *cap, const char *s)
{
    int plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("-_./:=+,@%", *p)))
            plain = 0;
    size_t need = strlen(s) * 4 + 4;
    if (*len + need + 1 > *cap) {
        size_t nc = (*cap + need + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return;
        *buf = nb;
        *cap = nc;
    }
    char *o = *buf + *len;
    if (plain) {
        o += sprintf(o, "%s", s);
    } else {
        *o++ = '\'';
        for (const char *p = s; *p; p++) {
            if (*p == '\'') {
                memcpy(o, "'\\''", 4);
                o += 4;
            } else {
                *o++ = *p;
            }
        }
        *o++ = '\'';
        *o = '\0';
    }
    *len = (size_t)(o - *buf);
}

char *bench_argv_cmdline(const char *prog, const bench_argv *a, const char *extra)
{
    size_t len = 0, cap = 256;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    append_quoted(&buf, &len, &cap, prog);
    for (int i = 1; i < a->argc; i++) {
        if (len + 2 < cap) {
            buf[len++] = ' ';
            buf[len] = '\0';
        }
        append_quoted(&buf, &len, &cap, a->argv[i]);
    }
    if (extra && *extra) {
        size_t el = strlen(extra);
        char *nb = realloc(buf, len + el + 2);
        if (nb) {
            buf = nb;
            buf[len++] = ' ';
            memcpy(buf + len, extra, el + 1);
            len += el;
        }
    }
    return buf;
}

/* ------------------------------------------------------------------ logging */
double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bench_log(bench_run *run, const char *fmt, ...)
{
    if (!run->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(run->log, "[%9.3f] ", bench_now() - run->t0);
    vfprintf(run->log, fmt, ap);
    fputc('\n', run->log);
    fflush(run->log);
    va_end(ap);
}

/* progress: one line per call on stderr (and into the log) */
void bench_progress(bench_run *run, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (run->progress) {
        fprintf(stderr, "nbcl-bench: %s\n", line);
        fflush(stderr);
    }
    bench_log(run, "%s", line);
}

void bench_command(bench_run *run, const char *status, const char *cmdline)
{
    if (!run->commands)
        return;
    fprintf(run->commands, "%s%s\t%s\t%s\n", run->git_sha, run->git_dirty == 1 ? "-dirty" : "",
            status, cmdline);
    fflush(run->commands);
}

const char *bench_precision_name(int p)
{
    return p == 64 ? "double" : "single";
}

const char *bench_device_label(const bench_row *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u:%u %s", r->dev.platform_index, r->dev.device_index,
             r->dev.device_name_normalised[0] ? r->dev.device_name_normalised : r->dev.device_name);
    return buf;
}

/* ------------------------------------------------------------------ files */
int bench_mkdirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int bench_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return unlink(path);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[8192];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            rc |= bench_rmtree(sub);
        else
            rc |= unlink(sub);
    }
    closedir(d);
    rc |= rmdir(path);
    return rc;
}

void bench_utc_stamp(char *buf, size_t cap, int compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int run_capture(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t got = fread(out, 1, cap - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == '\r'))
        out[--got] = '\0';
    return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

void bench_git_info(char *sha, size_t cap, int *dirty)
{
    char cmd[8192], out[4096];
    snprintf(sha, cap, "%s", nbcl_git_sha());
    *dirty = -1;
#ifdef NBCL_BENCH_SOURCE_DIR
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse --short=12 HEAD 2>/dev/null",
             NBCL_BENCH_SOURCE_DIR);
    if (run_capture(cmd, out, sizeof out) == 0 && out[0]) {
        snprintf(sha, cap, "%s", out);
        snprintf(cmd, sizeof cmd,
                 "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null | head -c 1",
                 NBCL_BENCH_SOURCE_DIR);
        if (run_capture(cmd, out, sizeof out) == 0)
            *dirty = out[0] != '\0';
    }
#else
    (void)cmd;
    (void)out;
#endif
}

int bench_sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        fclose(f);
        return -1;
    }
    unsigned char buf[65536];
    size_t got;
    int ok = 1;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        if (EVP_DigestUpdate(ctx, buf, got) != 1)
            ok = 0;
    if (ferror(f))
        ok = 0;
    fclose(f);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
        ok = 0;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    for (unsigned i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    hex[64] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ processes */
int bench_spawn(char *const argv[], const char *cwd, const char *logpath, double *wall_s,
                double *max_rss_bytes)
{
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        int fd = open(logpath ? logpath : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &st, 0, &ru) < 0) {
        if (errno != EINTR)
            return -1;
        if (bench_interrupted)
            kill(pid, SIGTERM);
    }
    if (wall_s)
        *wall_s = bench_now() - t0;
    if (max_rss_bytes) /* Linux reports ru_maxrss in KiB */
        *max_rss_bytes = (double)ru.ru_maxrss * 1024.0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}
