#include "pyroscope_delta.h"
#include "internal_alloc.h"

#include <math.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

static uint64_t site_key(const hp_site_snapshot *s) {
    uint32_t k[3] = {s->stack->id, s->tag, s->labels};
    return XXH3_64bits(k, sizeof k);
}

static int grow(hp_pyro_baseline *b, uint32_t need) {
    if (need <= b->cap) return 0;
    uint32_t cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2;
    double *sent = hp_realloc(b->sent, (size_t)cap * 2 * sizeof *sent);
    if (!sent) return -1;
    b->sent = sent;
    double *pending = hp_realloc(b->pending, (size_t)cap * 2 * sizeof *pending);
    if (!pending) return -1;
    b->pending = pending;
    memset(b->sent + (size_t)b->cap * 2, 0, (size_t)(cap - b->cap) * 2 * sizeof *sent);
    memset(b->pending + (size_t)b->cap * 2, 0, (size_t)(cap - b->cap) * 2 * sizeof *pending);
    b->cap = cap;
    return 0;
}

int hp_pyro_baseline_apply(hp_pyro_baseline *b, hp_profile_snapshot *s) {
    if (b->cap) memcpy(b->pending, b->sent, (size_t)b->cap * 2 * sizeof *b->pending);
    size_t kept = 0;
    for (size_t i = 0; i < s->nsites; i++) {
        hp_site_snapshot *site = &s->sites[i];
        int added;
        uint32_t id = hp_id_map_get(&b->ids, site_key(site), &added);
        if (!id || grow(b, id)) return -1;
        double *was = &b->sent[(size_t)(id - 1) * 2], *now = &b->pending[(size_t)(id - 1) * 2];
        now[0] = site->v.alloc_objs;
        now[1] = site->v.alloc_bytes;
        /* Differences of the rounded values, as the writer rounds: they add
         * up exactly to the rounded total of the last upload. */
        site->v.alloc_objs = round(now[0]) - round(was[0]);
        site->v.alloc_bytes = round(now[1]) - round(was[1]);
        if (site->v.alloc_objs < 0) site->v.alloc_objs = 0;
        if (site->v.alloc_bytes < 0) site->v.alloc_bytes = 0;
        /* The writer rounds; Pyroscope drops all-zero samples anyway. */
        if (site->v.alloc_objs < 0.5 && site->v.alloc_bytes < 0.5 && site->v.inuse_objs < 0.5 &&
            site->v.inuse_bytes < 0.5)
            continue;
        s->sites[kept++] = *site;
    }
    s->nsites = kept;
    return 0;
}

void hp_pyro_baseline_commit(hp_pyro_baseline *b) {
    double *t = b->sent;
    b->sent = b->pending;
    b->pending = t;
}
