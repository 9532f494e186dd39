/* alloc_* as differences for the continuous export: Pyroscope's /ingest
 * stores each profile as sent (FORMATS.md §C.7), so every upload carries
 * what was allocated since the last *delivered* one; a dropped upload's
 * allocations go out with the next that gets through, and the uploads still
 * add up to the process's totals. inuse_* stay as they are. */
#ifndef HP_PYROSCOPE_DELTA_H
#define HP_PYROSCOPE_DELTA_H

#include "id_map.h"
#include "profile.h"

typedef struct hp_pyro_baseline {
    hp_id_map ids;   /* site (stack, tag, labels) -> index + 1 */
    double *sent;    /* per site: alloc objects, bytes as last delivered (2 per site) */
    double *pending; /* the same as in the upload under way */
    uint32_t cap;    /* sites the arrays hold */
} hp_pyro_baseline;

/* Turns the snapshot's alloc values into differences from the last delivered
 * upload, remembers the cumulative ones as pending, and drops sites that are
 * now all zero. Returns 0, or -1 when out of memory (nothing changed that
 * matters: the upload is to be skipped). */
int hp_pyro_baseline_apply(hp_pyro_baseline *b, hp_profile_snapshot *s)
    __attribute__((visibility("hidden")));

/* The upload was delivered: pending becomes the baseline. */
void hp_pyro_baseline_commit(hp_pyro_baseline *b) __attribute__((visibility("hidden")));

#endif
