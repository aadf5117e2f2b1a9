/* nbcl-bench --formats: speed of the pipeline-format writers (docs/formats.md) against the render
 * of the frame they write. For each size: the perf case (with noise) rendered on the run's first
 * device, then, each timed over --repeats runs (median): the Poisson deviates, the photon counts,
 * miniCBF, NXmx (shuffle+deflate; LZ4 when its plugin is there) and the PNG preview, written into
 * <outdir>/formats_tmp and removed. Reports ms, MB/s of int32 counts and the writer's share of a
 * frame's time (render + deviates + counts + that writer). formats_results.json and
 * formats_summary.md go into the bundle. */
#include "bench.h"
#include "args.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { W_DEVIATES, W_COUNTS, W_CBF, W_NXS_DEFLATE, W_NXS_LZ4, W_PNG, W_N };
static const char *const k_names[W_N] = {"deviates", "counts", "cbf", "nexus_deflate",
                                         "nexus_lz4", "png"};

typedef struct fmt_row {
    int size;
    double render_s;
    double t[W_N];     /* median seconds; < 0 not measured */
    long long bytes[W_N];
} fmt_row;

static double median_of(double *v, int n)
{
    bench_summary s;
    bench_summarise(v, (size_t)n, &s);
    return s.median;
}

static long long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long long n = ftell(f);
    fclose(f);
    return n;
}

static int one_size(bench_run *run, nbcl_engine *eng, int size, const char *dir, fmt_row *r,
                    char *err, size_t errlen)
{
    bench_argv av = {0};
    if (!bench_case_argv("perf", size, run->thicksteps, run->inputs_dir, &av, err, errlen))
        return 0;
    nbcl_cli cli;
    int rc = nbcl_cli_parse(av.argc, av.argv, &cli, err, errlen);
    bench_argv_free(&av);
    if (rc)
        return 0;
    cli.cfg.read_dump = cli.cfg.write_dump = 0;
    cli.cfg.seed = 7;
    cli.cfg.seed_set = 1;
    nbcl_scene *scene = NULL;
    if (nbcl_scene_build(&cli.cfg, &scene, err, errlen) != NBCL_OK)
        return 0;
    nbcl_image img = {0};
    nbcl_render_timing tm;
    int reps = run->repeats > 0 ? run->repeats : 3, ok = 1;
    double *v = calloc((size_t)reps, sizeof *v);
    int fpixels, spixels, roi[4];
    nbcl_scene_size(scene, &fpixels, &spixels);
    nbcl_scene_roi(scene, roi);
    size_t npix = (size_t)fpixels * spixels;
    float *dev = nbcl_alloc_large(npix * sizeof *dev);
    int32_t *counts = nbcl_alloc_large(npix * sizeof *counts);
    uint8_t *u8 = nbcl_alloc_large(npix);
    nbcl_frame_meta m;
    nbcl_frame_meta_from_scene(scene, &m);
    r->size = size;
    for (int w = 0; w < W_N; w++)
        r->t[w] = -1, r->bytes[w] = -1;
    ok = v && dev && counts && u8 && nbcl_render(eng, scene, NULL, &img, &tm) == NBCL_OK;
    for (int i = 0; ok && i < reps; i++) { /* warm renders */
        nbcl_image_free(&img);
        double t0 = bench_now();
        ok = nbcl_render(eng, scene, NULL, &img, &tm) == NBCL_OK;
        v[i] = bench_now() - t0;
    }
    if (ok)
        r->render_s = median_of(v, reps);
    char path[4400];
    for (int w = 0; ok && w < W_N; w++) {
        if (w == W_NXS_LZ4 && !nbcl_nexus_filter_available(NBCL_NEXUS_LZ4))
            continue;
        path[0] = '\0';
        for (int i = 0; ok && i < reps; i++) {
            nbcl_nexus_opts no = {1, w == W_NXS_LZ4 ? NBCL_NEXUS_LZ4 : NBCL_NEXUS_DEFLATE, 0};
            double t0 = bench_now();
            switch (w) {
            case W_DEVIATES:
                nbcl_noise_poisson(img.data, img.fpixels, img.spixels, roi, nbcl_scene_seed(scene),
                                   dev);
                break;
            case W_COUNTS:
                ok = nbcl_frame_counts(&m, img.data, dev, counts, NULL) == NBCL_OK;
                break;
            case W_CBF:
                snprintf(path, sizeof path, "%.4000s/f_0001.cbf", dir);
                ok = nbcl_write_cbf(path, &m, counts, err, errlen) == NBCL_OK;
                break;
            case W_NXS_DEFLATE:
            case W_NXS_LZ4:
                snprintf(path, sizeof path, "%.4000s/f.nxs", dir);
                ok = nbcl_write_nexus(path, &m, counts, &no, err, errlen) == NBCL_OK;
                break;
            case W_PNG:
                snprintf(path, sizeof path, "%.4000s/f.png", dir);
                nbcl_image_to_u8(&img, roi, 1.0, u8);
                ok = nbcl_write_png(path, img.fpixels, img.spixels, u8, 1.0, err, errlen) ==
                     NBCL_OK;
                break;
            }
            v[i] = bench_now() - t0;
        }
        if (ok) {
            r->t[w] = median_of(v, reps);
            r->bytes[w] = path[0] ? file_size(path) : -1;
            if (path[0])
                unlink(path);
        }
    }
    free(v);
    free(dev);
    free(counts);
    free(u8);
    nbcl_image_free(&img);
    nbcl_scene_destroy(scene);
    return ok;
}

int bench_formats(bench_run *run)
{
    char err[4096] = "", dir[4400], path[4400];
    snprintf(dir, sizeof dir, "%s/formats_tmp", run->outdir);
    if (bench_mkdirs(dir) != 0) {
        fprintf(stderr, "nbcl-bench: cannot create %s\n", dir);
        return 3;
    }
    nbcl_engine_opts o;
    nbcl_engine_opts_init(&o);
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", run->devices[0].platform_index,
             run->devices[0].device_index);
    o.device = spec;
    o.cancel = bench_cancel;
    o.env = &bench_env;
    nbcl_engine *eng = NULL;
    if (nbcl_engine_create(&o, &eng, err, sizeof err) != NBCL_OK) {
        fprintf(stderr, "nbcl-bench: %s\n", err);
        return 1;
    }
    static const int dflt[] = {1024, 2048};
    size_t nsizes = run->nsizes ? run->nsizes : 2;
    fmt_row rows[BENCH_MAX_SIZES];
    int failed = 0;
    for (size_t s = 0; s < nsizes && !bench_interrupted; s++) {
        int size = run->nsizes ? run->sizes[s] : dflt[s];
        if (!one_size(run, eng, size, dir, &rows[s], err, sizeof err)) {
            fprintf(stderr, "nbcl-bench: formats at %d: %s\n", size, err);
            failed = 1;
            nsizes = s;
            break;
        }
    }
    nbcl_engine_destroy(eng);
    rmdir(dir);

    nbcl_json *js = nbcl_json_new(1);
    nbcl_json_obj_begin(js);
    nbcl_json_kint(js, "format_version", BENCH_FORMAT_VERSION);
    nbcl_json_kstr(js, "device", run->devices[0].device_name);
    nbcl_json_key(js, "rows");
    nbcl_json_arr_begin(js);
    snprintf(path, sizeof path, "%s/formats_summary.md", run->outdir);
    FILE *md = fopen(path, "w");
    FILE *outs[2] = {md, run->progress ? stdout : NULL};
    for (int k = 0; k < 2; k++)
        if (outs[k])
            fprintf(outs[k],
                    "# Writer speed (perf case, noise on; %s; median of %d)\n\n"
                    "| size | render ms | output | ms | MB/s (int32 counts) | file MiB | share of "
                    "frame |\n|---:|---:|---|---:|---:|---:|---:|\n",
                    run->devices[0].device_name, run->repeats > 0 ? run->repeats : 3);
    for (size_t s = 0; s < nsizes; s++) {
        fmt_row *r = &rows[s];
        double mb = (double)r->size * r->size * 4 / 1e6;
        for (int w = 0; w < W_N; w++) {
            if (r->t[w] < 0)
                continue;
            double frame = r->render_s + r->t[W_DEVIATES] + (w > W_COUNTS ? r->t[W_COUNTS] : 0) +
                           (w > W_DEVIATES ? r->t[w] : 0);
            double share = r->t[w] / frame;
            char fsz[32] = "-";
            if (r->bytes[w] >= 0)
                snprintf(fsz, sizeof fsz, "%.2f", r->bytes[w] / 1048576.0);
            for (int k = 0; k < 2; k++)
                if (outs[k])
                    fprintf(outs[k], "| %d | %.1f | %s | %.1f | %.0f | %s | %.0f %% |\n",
                            r->size, 1e3 * r->render_s, k_names[w], 1e3 * r->t[w],
                            mb / r->t[w], fsz, 100 * share);
            nbcl_json_obj_begin(js);
            nbcl_json_kint(js, "size", r->size);
            nbcl_json_kstr(js, "output", k_names[w]);
            nbcl_json_knum(js, "render_s", r->render_s);
            nbcl_json_knum(js, "seconds", r->t[w]);
            nbcl_json_knum(js, "mb_per_s", mb / r->t[w]);
            nbcl_json_kint(js, "file_bytes", r->bytes[w]);
            nbcl_json_knum(js, "share_of_frame", share);
            nbcl_json_obj_end(js);
        }
    }
    nbcl_json_arr_end(js);
    nbcl_json_obj_end(js);
    snprintf(path, sizeof path, "%s/formats_results.json", run->outdir);
    if (!md || nbcl_json_write_file(js, path, err, sizeof err) != NBCL_OK) {
        fprintf(stderr, "nbcl-bench: cannot write the formats results into %s\n", run->outdir);
        failed = 3;
    }
    if (md)
        fclose(md);
    nbcl_json_free(js);
    if (run->commands) { /* no rows, so no commands.txt */
        fclose(run->commands);
        run->commands = NULL;
        snprintf(path, sizeof path, "%s/.commands.part", run->outdir);
        unlink(path);
    }
    return failed;
}
