#define _DEFAULT_SOURCE /* wait4 */
/* nbcl-bench: child processes (the reference, nbcl as a whole process) and git facts. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

volatile int bench_interrupted = 0;
nbcl_cancel *bench_cancel = NULL;
nbcl_env_options bench_env;

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

/* Running from the build tree's bin folder (not an installed copy), whose source tree then
 * says what was built: its HEAD and whether it is dirty. An installed copy reports the SHA it
 * was built from, never whatever the source folder holds today. */
static int in_build_tree(void)
{
#ifdef NBCL_BENCH_BUILD_BIN_DIR
    char exe[4096], bin[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || !realpath(NBCL_BENCH_BUILD_BIN_DIR, bin))
        return 0;
    exe[n] = '\0';
    size_t bl = strlen(bin);
    return strncmp(exe, bin, bl) == 0 && exe[bl] == '/' && !strchr(exe + bl + 1, '/');
#else
    return 0;
#endif
}

void bench_git_info(char *sha, size_t cap, int *dirty)
{
    char cmd[8192], out[4096];
    snprintf(sha, cap, "%s", nbcl_git_sha());
    *dirty = -1;
    if (!in_build_tree())
        return;
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
