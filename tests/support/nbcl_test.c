#define _DEFAULT_SOURCE /* mknod, makedev */
#include "nbcl_test.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

int nbcl_test_close(double a, double b, double abs_tol, double rel_tol)
{
    if (isnan(a) || isnan(b))
        return 0;
    return fabs(a - b) <= abs_tol + rel_tol * fabs(b);
}

const char *nbcl_test_golden_dir(void)
{
    static char path[4096];
    const char *env = getenv("NBCL_GOLDEN_DIR");
    const char *dir = (env && *env) ? env : NBCL_GOLDEN_DEFAULT;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/MANIFEST.md", dir);
    if (access(probe, R_OK) != 0)
        return NULL;
    snprintf(path, sizeof path, "%s", dir);
    return path;
}

static nbcl_engine *g_engines[2];
static int g_tried[2];

nbcl_engine *nbcl_test_engine(nbcl_precision p)
{
    int i = (p == NBCL_PRECISION_F32) ? 0 : 1;
    if (g_tried[i])
        return g_engines[i];
    g_tried[i] = 1;
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    const char *dev = getenv("NBCL_TEST_DEVICE");
    o.device = (dev && *dev) ? dev : NULL;
    o.precision = p;
    char err[16384];
    if (nbcl_engine_create(&o, &g_engines[i], err, sizeof err) != NBCL_OK) {
        fprintf(stderr, "nbcl_test_engine: %s\n", err);
        g_engines[i] = NULL;
    }
    return g_engines[i];
}

nbcl_engine *nbcl_test_engine_with(nbcl_precision p, const nbcl_env_options *env,
                                   nbcl_cancel *cancel)
{
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    const char *dev = getenv("NBCL_TEST_DEVICE");
    o.device = (dev && *dev) ? dev : NULL;
    o.precision = p;
    o.env = env;
    o.cancel = cancel;
    nbcl_engine *e = NULL;
    char err[16384];
    if (nbcl_engine_create(&o, &e, err, sizeof err) != NBCL_OK) {
        fprintf(stderr, "nbcl_test_engine_with: %s\n", err);
        return NULL;
    }
    return e;
}

void nbcl_test_engines_release(void)
{
    for (int i = 0; i < 2; i++) {
        nbcl_engine_destroy(g_engines[i]);
        g_engines[i] = NULL;
        g_tried[i] = 0;
    }
}

int nbcl_test_have_device(void)
{
    size_t n = 0;
    if (nbcl_device_list(NULL, 0, &n) != NBCL_OK)
        return 0;
    return n > 0;
}

int nbcl_test_skip_all(void)
{
    fprintf(stderr, "no OpenCL device: skipping\n");
    return 77;
}

void nbcl_test_need_device(void)
{
    static int have = -1;
    if (have < 0)
        have = nbcl_test_have_device();
    if (!have) {
        printf("no OpenCL device: skipping\n");
        skip();
    }
}

void *nbcl_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[sz] = 0;
        if (len)
            *len = (size_t)sz;
    }
    return buf;
}

const char *nbcl_test_tmpdir(void)
{
    static char dir[4096];
    if (dir[0])
        return dir;
    const char *base = getenv("NBCL_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(dir, sizeof dir, "%s/t%ld", base, (long)getpid());
    mkdir(dir, 0755);
    return dir;
}

const char *nbcl_test_workdir(const char *name)
{
    static char dirs[8][4096];
    static int slot;
    char *d = dirs[slot++ & 7];
    snprintf(d, 4096, "%s/%s", nbcl_test_tmpdir(), name);
    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%.4000s' && mkdir -p '%.4000s'", d, d);
    return nbcl_test_run(cmd) == 0 ? d : NULL;
}

int nbcl_test_run(const char *cmdline)
{
    int st = system(cmdline);
    if (st == -1)
        return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return -1;
}

const char *nbcl_test_bin(const char *name)
{
    static char path[8][4096];
    static int slot;
    const char *dir = getenv("NBCL_BIN_DIR");
    char *p = path[slot++ & 7];
    snprintf(p, 4096, "%s/%s", (dir && *dir) ? dir : ".", name);
    return p;
}

void nbcl_test_cubic_config(nbcl_config *c, double cell_A, int N, double default_F, int pixels)
{
    nbcl_config_init(c);
    c->user_cell = 1;
    c->cell[0] = c->cell[1] = c->cell[2] = cell_A;
    c->cell[3] = c->cell[4] = c->cell[5] = 1.5707963267948966; /* 90 degrees */
    c->default_F = default_F;
    c->Na = c->Nb = c->Nc = N;
    c->fpixels = c->spixels = pixels; /* the detector size follows the pixel counts */
    c->read_dump = c->write_dump = 0;
}

int nbcl_test_make_null_device(const char *path)
{
    if (geteuid() != 0 || mknod(path, S_IFCHR | 0666, makedev(1, 3)) != 0)
        return 0;
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        unlink(path);
        return 0;
    }
    close(fd);
    return 1;
}

nbcl_scene *nbcl_test_cubic_scene(int fpixels, int spixels, int N, int oversample)
{
    nbcl_config c;
    nbcl_test_cubic_config(&c, 100.0, N, 100.0, fpixels);
    c.spixels = spixels;
    c.oversample = oversample;
    nbcl_scene *s = NULL;
    char err[2048];
    if (nbcl_scene_build(&c, &s, err, sizeof err) != NBCL_OK)
        fail_msg("scene: %s", err);
    return s;
}
