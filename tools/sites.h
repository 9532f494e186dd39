/* Grouping samples into allocation sites: same tag and same chain of
 * (function, file) frames. Line numbers and addresses are left out, so the
 * same code lines up across two builds. */
#ifndef HP_CLI_SITES_H
#define HP_CLI_SITES_H

#include "model.h"
#include "view.h"

typedef struct site {
    const sample *example; /* frames and tag of the site (from the first sample seen) */
    double values[2];      /* per side: [0] one profile or the base, [1] the new one */
    double objects[2];     /* the matching object counts, when known */
    double all[2][MODEL_MAX_METRICS]; /* every metric, by the table's `names` */
} site;

typedef struct site_table {
    site *v;
    size_t n, cap;
    const char *names[MODEL_MAX_METRICS]; /* metrics seen in any profile added */
    const char *units[MODEL_MAX_METRICS];
    size_t nnames;
    int has[2][MODEL_MAX_METRICS]; /* which side had each metric */
    struct hp_id_map_opaque *ids;
} site_table;

/* Adds the samples of p that pass `o` to side `side`, summing `metric` and,
 * if objects_metric >= 0, that too. Returns 0 or -1 (out of memory). */
int sites_add(site_table *t, const profile *p, const view_opts *o, int side, int metric,
              int objects_metric);
void sites_free(site_table *t);

/* "leaf  <  caller  <  caller" for display, up to `frames` frames. */
const char *site_describe(const site *s, size_t frames, char *buf, size_t cap);

#endif
