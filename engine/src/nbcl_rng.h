/* Random numbers reproducing the reference's generators exactly (same seeds, same sequences):
 * ran1 (Park-Miller with Bays-Durham shuffle), Poisson and Gaussian deviates, the random
 * spherical-cap rotation used for mosaic domains and -misset random, and umat -> misset angles.
 * Each generator carries its own state (the reference keeps it in statics; the sequences are
 * the same because every reference use starts from a negative, i.e. re-initialising, seed). */
#ifndef NBCL_RNG_H
#define NBCL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct nbcl_rng {
    long idum;       /* reference's *idum: negative re-initialises */
    long iy;
    long iv[32];
    /* poidev/gaussdev cached state */
    float pd_sq, pd_alxm, pd_g, pd_oldm;
    int gd_iset;
    float gd_gset;
} nbcl_rng;

/* seed as the reference stores it (e.g. -atoi(argv) for -seed). */
void nbcl_rng_init(nbcl_rng *r, long seed);
float nbcl_ran1(nbcl_rng *r);
float nbcl_poidev(nbcl_rng *r, float xm);
float nbcl_gaussdev(nbcl_rng *r);
/* random rotation in a spherical cap; `mosaicity` in radians, float as in the reference */
void nbcl_mosaic_rotation_umat(nbcl_rng *r, float mosaicity, double umat[9]);
/* rotation matrix -> misset angles (radians, x y z) */
void nbcl_umat2misset(const double umat[9], double missets[3]);

/* Poisson noise image exactly as the reference: pixels in raster order inside the ROI
 * (inclusive bounds) get poidev(float value) + adc, clipped at 65535 (counted as overloads),
 * truncated to uint16; pixels outside the ROI are 0. Returns the photon sum. */
double nbcl_noise_image(const float *img, int fpixels, int spixels, const int roi[4],
                        long seed, double adc_offset, uint16_t *out, int *overloads);

#endif
