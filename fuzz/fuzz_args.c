/* libFuzzer harness: the nbcl command-line parser (cli/args.c). The input is split on NUL and
 * newline bytes into argv (argv[0] = "nbcl"). The parser reads -img/-mask headers itself, so the
 * harness runs in a scratch directory holding two small SMV fixtures (a.img 4x4, m.img 4x4) and
 * replaces '/' in every argument with '_': fuzz inputs can name those fixtures but never reach
 * other files (/dev/zero, /dev/stdin, ...). */
#include "fuzz_common.h"
#include <math.h>
#include <sys/stat.h>
#include "args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_ARGS 256

static char g_dir[4096];

static void rmdir_fixtures(void)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/a.img", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/m.img", g_dir);
    unlink(p);
    rmdir(g_dir);
}

static void write_smv(const char *name, const char *extra)
{
    char head[512];
    memset(head, ' ', sizeof head);
    int n = snprintf(head, sizeof head,
                     "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                     "TYPE=unsigned_short;\nSIZE1=4;\nSIZE2=4;\nPIXEL_SIZE=0.1;\n"
                     "DISTANCE=100;\nWAVELENGTH=1;\nBEAM_CENTER_X=0.2;\nBEAM_CENTER_Y=0.2;\n%s}\f",
                     extra);
    head[n] = ' ';
    FILE *f = fopen(name, "wb");
    if (!f)
        abort();
    fwrite(head, 1, sizeof head, f);
    unsigned char pix[32] = {0};
    for (int i = 0; i < 32; i += 4)
        pix[i] = 1;
    fwrite(pix, 1, sizeof pix, f);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/nbcl_fuzz_args_XXXXXX", base);
    if (!mkdtemp(g_dir) || chdir(g_dir) != 0)
        abort();
    write_smv("a.img", "ORGX=2;\nORGY=2;\nPHI=10;\nOSC_RANGE=1;\nTWOTHETA=5;\n");
    write_smv("m.img", "CLOSE_DISTANCE=90;\n");
    atexit(rmdir_fixtures);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "nbcl";
    size_t start = 0;
    /* every separator ends an argument (empty ones included: "-lambda ''" is an input too);
     * the text after the last separator counts only when non-empty */
    for (size_t i = 0; i <= size && argc < MAX_ARGS; i++) {
        if (i == size || buf[i] == '\0' || buf[i] == '\n') {
            buf[i] = '\0';
            if (i < size || i > start)
                argv[argc++] = buf + start;
            start = i + 1;
        } else if (buf[i] == '/') {
            buf[i] = '_';
        }
    }
    argv[argc] = NULL;
    nbcl_cli cli;
    char err[16384];
    err[0] = '\0';
    int rc = nbcl_cli_parse(argc, argv, &cli, err, sizeof err);
    if (rc != 0) {
        if (rc != NBCL_EXIT_USAGE && rc != NBCL_EXIT_PARAM && rc != NBCL_EXIT_INPUT)
            abort(); /* the parser only reports usage, parameter and input errors */
        if (!err[0] || strchr(err, '\n'))
            abort(); /* one-line message */
    } else {
        /* every value the parser accepted is finite */
        const nbcl_config *c = &cli.cfg;
        if (!isfinite(c->lambda0) || !isfinite(c->pixel_size) || !isfinite(c->distance))
            abort();
    }
    free(buf);
    return 0;
}
