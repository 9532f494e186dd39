#define _GNU_SOURCE
#include "sites.h"
#include "../heapprof/id_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Source file by its base name: two builds may compile in other directories. */
static const char *file_key(const char *file) {
    if (!file) return NULL;
    const char *slash = strrchr(file, '/');
    return model_str(slash ? slash + 1 : file);
}

static uint64_t signature(const sample *s, size_t depth) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)s->tag;
    for (size_t f = 0; f < depth; f++) {
        h = (h ^ (uint64_t)(uintptr_t)s->frames[f].function) * 1099511628211ull;
        h = (h ^ (uint64_t)(uintptr_t)file_key(s->frames[f].file)) * 1099511628211ull;
    }
    return h;
}

int sites_add(site_table *t, const profile *p, const view_opts *o, int side, int metric,
              int objects_metric) {
    if (!t->ids) t->ids = calloc(1, sizeof(hp_id_map));
    hp_id_map *ids = (hp_id_map *)t->ids;
    if (!ids) return -1;
    size_t slot[MODEL_MAX_METRICS];
    for (size_t m = 0; m < p->nmetrics; m++) {
        size_t k = 0;
        while (k < t->nnames && strcmp(t->names[k], p->metrics[m].name))
            k++;
        if (k == t->nnames && t->nnames < MODEL_MAX_METRICS) {
            t->names[t->nnames] = p->metrics[m].name;
            t->units[t->nnames++] = p->metrics[m].unit;
        }
        slot[m] = k;
        if (k < MODEL_MAX_METRICS) t->has[side][k] = 1;
    }
    for (size_t i = 0; i < p->nsamples; i++) {
        const sample *s = &p->samples[i];
        if (!view_keep(o, s)) continue;
        int added;
        uint32_t id = hp_id_map_get(ids, signature(s, view_depth(o, s)), &added);
        if (!id) return -1;
        if (added) {
            if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 256;
                site *v = realloc(t->v, cap * sizeof *v);
                if (!v) return -1;
                t->v = v;
                t->cap = cap;
            }
            memset(&t->v[t->n], 0, sizeof t->v[0]);
            t->v[t->n++].example = s;
        }
        t->v[id - 1].values[side] += s->values[metric];
        for (size_t m = 0; m < p->nmetrics; m++)
            if (slot[m] < MODEL_MAX_METRICS) t->v[id - 1].all[side][slot[m]] += s->values[m];
        if (objects_metric >= 0) t->v[id - 1].objects[side] += s->values[objects_metric];
    }
    return 0;
}

void sites_free(site_table *t) {
    if (t->ids) hp_id_map_free((hp_id_map *)t->ids);
    free(t->ids);
    free(t->v);
    memset(t, 0, sizeof *t);
}

const char *site_describe(const site *s, size_t frames, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = 0;
    const sample *e = s->example;
    if (e->tag) used += (size_t)snprintf(buf, cap, "[%s] ", e->tag);
    if (!e->nframes && used < cap) snprintf(buf + used, cap - used, "[no stack]");
    for (size_t f = 0; f < e->nframes && f < frames && used < cap; f++) {
        const frame *fr = &e->frames[f];
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", f ? " < " : "", fr->function);
        if (f == 0 && fr->file && used < cap)
            used += (size_t)snprintf(buf + used, cap - used, " (%s:%d)", fr->file, fr->line);
    }
    if (e->nframes > frames && used < cap) snprintf(buf + used, cap - used, " < ...");
    return buf;
}
