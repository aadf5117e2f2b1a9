/* nbcl-bench: clocks, bench.log, progress on stderr, commands.txt and labels. */
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

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

void bench_utc_stamp(char *buf, size_t cap, int compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}
