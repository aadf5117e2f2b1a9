/* A small program that renders a diffraction image through libnbcl's public API only (nbcl.h).
 *
 * It does what this command line does:
 *   nbcl -cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 6.2 -distance 100 \
 *        -detpixels 64 -floatfile OUT
 * and writes the same raw float32 image (64 x 64, fast-major) to OUT.
 *
 * usage: nbcl_example OUT.bin [DEVICE]     (DEVICE: cpu, gpu, P:D or a name substring)
 * Build: see CMakeLists.txt (find_package) or Makefile (pkg-config) in this folder. */
#include <nbcl/nbcl.h>

#include <stdio.h>

#define PI 3.14159265358979323846

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s OUT.bin [DEVICE]\n", argv[0]);
        return 2;
    }
    char err[4096] = "";

    /* 1. parameters: nanoBragg's defaults, then ours, in SI units (lengths in m, angles in rad) */
    nbcl_config cfg;
    nbcl_config_init(&cfg);
    cfg.user_cell = 1;
    double cell[6] = {100, 100, 100, 90 * PI / 180, 90 * PI / 180, 90 * PI / 180};
    for (int i = 0; i < 6; i++)
        cfg.cell[i] = cell[i];          /* a b c in Angstrom, angles in radians */
    cfg.default_F = 100;
    cfg.Na = cfg.Nb = cfg.Nc = 5;
    cfg.lambda0 = 6.2e-10;
    cfg.distance = 0.1;
    cfg.fpixels = cfg.spixels = 64;

    /* 2. the scene: every set-up decision, on the host */
    nbcl_scene *scene = NULL;
    nbcl_status st = nbcl_scene_build(&cfg, &scene, err, sizeof err);
    if (st != NBCL_OK) {
        fprintf(stderr, "scene: %s: %s\n", nbcl_status_name(st), err);
        return 1;
    }
    /* what it decided: the scene is opaque, nbcl_scene_get_info() fills a copy */
    nbcl_scene_info info;
    nbcl_scene_get_info(scene, &info);
    printf("scene: %d sub-steps per pixel (%dx%d oversampling), crystal %.3g um wide\n",
           info.steps, info.oversample, info.oversample, info.xtalsize[0] * 1e6);

    /* 3. an engine on a device (NULL: env NBCL_DEVICE, else the first GPU, else a CPU) */
    nbcl_engine_opts opts;
    nbcl_engine_opts_init(&opts);
    opts.device = argc > 2 ? argv[2] : NULL;
    nbcl_engine *engine = NULL;
    st = nbcl_engine_create(&opts, &engine, err, sizeof err);
    if (st != NBCL_OK) {
        fprintf(stderr, "engine: %s: %s\n", nbcl_status_name(st), err);
        nbcl_scene_destroy(scene);
        return 1;
    }

    /* 4. render, summarise, write */
    nbcl_image img = {0};
    st = nbcl_render(engine, scene, NULL, &img, NULL);
    if (st == NBCL_OK) {
        nbcl_stats s;
        nbcl_image_stats_host(scene, &img, &s);
        printf("nbcl %s on %s (%s precision): %dx%d pixels, max %.6g at (%d, %d), mean %.6g\n",
               nbcl_version(), nbcl_engine_device(engine)->device_name,
               nbcl_engine_precision(engine) == NBCL_PRECISION_F64 ? "double" : "single",
               img.fpixels, img.spixels, s.max_I, s.max_fpixel, s.max_spixel, s.mean);
        st = nbcl_write_float(argv[1], img.data, (size_t)img.fpixels * (size_t)img.spixels, err,
                              sizeof err);
    } else {
        snprintf(err, sizeof err, "%s", nbcl_engine_last_error(engine));
    }
    if (st != NBCL_OK)
        fprintf(stderr, "render: %s: %s\n", nbcl_status_name(st), err);
    nbcl_image_free(&img);
    nbcl_engine_destroy(engine);
    nbcl_scene_destroy(scene);
    return st == NBCL_OK ? 0 : 1;
}
