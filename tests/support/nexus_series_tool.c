/* Test tool (not installed): renders a rotation series with the library and writes it into ONE
 * NXmx file through the series writer (nbcl_nexus_open / write_frame / close), frames with
 * -phi stepped by -osc, noise seeded per frame. Stands in for nbcl -nframes (issue 11) until
 * the series pipeline writes NXmx itself; tests/readers/index_nexus_series.py drives it.
 *   nbcl-test-nexus-series OUT.nxs NFRAMES nbcl-flags... */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s OUT.nxs NFRAMES nbcl-flags...\n", argv[0]);
        return 2;
    }
    const char *out = argv[1];
    int nframes = atoi(argv[2]);
    char err[16384];
    nbcl_cli cli;
    argv[2] = argv[0];
    if (nframes < 1 || nbcl_cli_parse(argc - 2, argv + 2, &cli, err, sizeof err)) {
        fprintf(stderr, "bad arguments: %s\n", err);
        return 2;
    }
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    o.device = cli.device;
    o.precision = cli.precision;
    nbcl_engine *eng = NULL;
    if (nbcl_engine_create(&o, &eng, err, sizeof err) != NBCL_OK) {
        fprintf(stderr, "%s\n", err);
        return 5;
    }
    nbcl_nexus *w = NULL;
    int rc = 0;
    for (int k = 0; k < nframes && rc == 0; k++) {
        nbcl_config cfg = cli.cfg;
        cfg.phi0 = cli.cfg.phi0 + k * cli.cfg.osc; /* radians */
        cfg.seed = cli.cfg.seed + k;
        nbcl_scene *s = NULL;
        nbcl_image img = {0};
        nbcl_render_timing tm;
        if (nbcl_scene_build(&cfg, &s, err, sizeof err) != NBCL_OK ||
            nbcl_render(eng, s, NULL, &img, &tm) != NBCL_OK) {
            fprintf(stderr, "frame %d: %s\n", k + 1, s ? nbcl_engine_last_error(eng) : err);
            rc = 5;
            nbcl_scene_destroy(s);
            break;
        }
        size_t n = (size_t)img.fpixels * img.spixels;
        float *dev = malloc(n * sizeof *dev);
        int32_t *counts = malloc(n * sizeof *counts);
        nbcl_frame_meta m;
        nbcl_frame_meta_from_scene(s, &m);
        nbcl_noise_poisson(img.data, img.fpixels, img.spixels, s->roi, s->seed, dev);
        nbcl_status st = nbcl_frame_counts(&m, img.data, dev, counts, NULL);
        nbcl_nexus_opts no = {nframes, cli.nexus_compression, 0};
        if (st == NBCL_OK && k == 0)
            st = nbcl_nexus_open(out, &m, &no, &w, err, sizeof err);
        if (st == NBCL_OK)
            st = nbcl_nexus_write_frame(w, k, counts, &m, err, sizeof err);
        if (st != NBCL_OK) {
            fprintf(stderr, "frame %d: %s\n", k + 1, err);
            rc = 6;
        }
        free(dev);
        free(counts);
        nbcl_image_free(&img);
        nbcl_scene_destroy(s);
    }
    if (rc == 0 && nbcl_nexus_close(w, err, sizeof err) != NBCL_OK) {
        fprintf(stderr, "%s\n", err);
        rc = 6;
    } else if (rc != 0) {
        nbcl_nexus_abort(w);
    }
    nbcl_engine_destroy(eng);
    return rc;
}
