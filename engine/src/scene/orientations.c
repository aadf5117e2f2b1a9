/* Scene stage of the orientations: the mosaic domains' rotations (-mosaic_seed) and the table
 * of crystal orientations, one per (phi step, domain), that the kernel sums over.
 * spec-a-core "Mosaicity" and "Crystal rotation". */
#include <stdlib.h>
#include <string.h>

#include "nbcl_host_physics.h"
#include "nbcl_internal.h"
#include "nbcl_rng.h"
#include "nbcl_scene_internal.h"
#include "scene/stage_util.h"

/* one rotation per domain (9 each into umats), drawn from the -mosaic_seed stream; domain 0 is
 * the identity */
static void mosaic_rotations(const nbcl_config *cfg, const nbcl_scene *s, double *umats)
{
    nbcl_rng r;
    nbcl_rng_init(&r, -cfg->mosaic_seed);
    for (int m = 0; m < s->mosaic_domains; m++) {
        double *u = umats + 9 * m;
        nbcl_mosaic_rotation_umat(&r, (float)s->mosaic_spread, u);
        if (m == 0) {
            memset(u, 0, 9 * sizeof(double));
            u[0] = u[4] = u[8] = 1.0;
        }
    }
}

/* the (phi x domain) table: a, b, c (m) rotated by phi about the spindle, then by the domain's
 * rotation; phi-major (orient[(p * domains + m) * 9]). The domain rotations live only here: the
 * table is what the kernel reads. */
nbcl_status nbcl__stage_orientations(const nbcl_config *cfg, nbcl_scene *s, char *err,
                                     size_t errlen)
{
    int domains = s->mosaic_domains;
    double *umats = calloc((size_t)domains * 9, sizeof(double));
    size_t norient = (size_t)s->phisteps * (size_t)domains;
    s->orient = calloc(norient * 9, sizeof(double));
    if (!umats || !s->orient) {
        free(umats);
        return stage_fail(NBCL_OUT_OF_MEMORY, err, errlen, "out of memory for orientations");
    }
    mosaic_rotations(cfg, s, umats);
    for (int p = 0; p < s->phisteps; p++) {
        double phi = s->phi0 + s->phistep * p;
        double ap[3], bp[3], cp[3];
        /* rotation by phi about the spindle; phi == 0 is the identity (docs/parity.md) */
        nbcl_rotate_axis(s->a, s->spindle, phi, ap);
        nbcl_rotate_axis(s->b, s->spindle, phi, bp);
        nbcl_rotate_axis(s->c, s->spindle, phi, cp);
        if (phi == 0.0) {
            copy3(ap, s->a);
            copy3(bp, s->b);
            copy3(cp, s->c);
        }
        for (int m = 0; m < domains; m++) {
            double *o = s->orient + ((size_t)p * domains + m) * 9;
            if (s->mosaic_spread > 0.0) {
                nbcl_mat3_apply(umats + 9 * m, ap, o);
                nbcl_mat3_apply(umats + 9 * m, bp, o + 3);
                nbcl_mat3_apply(umats + 9 * m, cp, o + 6);
            } else {
                copy3(o, ap);
                copy3(o + 3, bp);
                copy3(o + 6, cp);
            }
        }
    }
    free(umats);
    return NBCL_OK;
}
