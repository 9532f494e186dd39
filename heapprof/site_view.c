#include "site_view.h"
#include "internal_alloc.h"

#include <stdlib.h>
#include <string.h>

static int by_alloc_bytes_desc(const void *a, const void *b) {
    double x = (*(const hp_site_snapshot *const *)a)->v.alloc_bytes;
    double y = (*(const hp_site_snapshot *const *)b)->v.alloc_bytes;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Adding per-site peaks gives an upper bound of the group's peak; every
 * other field adds up exactly. */
static void add(hp_site_values *to, const hp_site_values *v) {
    double *dst = (double *)to;
    const double *src = (const double *)v;
    size_t ndoubles = offsetof(hp_site_values, samples) / sizeof(double);
    for (size_t i = 0; i < ndoubles; i++) dst[i] += src[i];
    to->samples += v->samples;
}

int hp_site_view_make(hp_site_view *v, const hp_profile_snapshot *p, size_t cap) {
    memset(v, 0, sizeof *v);
    if (!p->nsites) return 0;
    v->sites = hp_malloc(p->nsites * sizeof *v->sites);
    if (!v->sites) return -1;
    for (size_t i = 0; i < p->nsites; i++) v->sites[i] = &p->sites[i];
    qsort(v->sites, p->nsites, sizeof *v->sites, by_alloc_bytes_desc);
    v->n = p->nsites;
    if (v->n > cap) {
        for (size_t i = cap - 1; i < v->n; i++) add(&v->folded, &v->sites[i]->v);
        v->nfolded = v->n - (cap - 1);
        v->n = cap - 1;
    }
    return 0;
}

void hp_site_view_free(hp_site_view *v) {
    hp_free(v->sites);
    memset(v, 0, sizeof *v);
}
