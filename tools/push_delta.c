#define _GNU_SOURCE
#include "push_delta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h, uint64_t v) {
    for (int i = 0; i < 8; i++, v >>= 8)
        h = (h ^ (v & 0xff)) * 1099511628211ull;
    return h;
}

/* Strings are interned by the model, so their addresses identify them; the
 * same site in two dumps of one process has the same frames, addresses,
 * tag and labels. */
static uint64_t identity(const sample *s) {
    uint64_t h = 14695981039346656037ull;
    h = mix(h, (uintptr_t)s->tag);
    for (size_t i = 0; i < s->nlabels; i++)
        h = mix(mix(h, (uintptr_t)s->labels[i].key), (uintptr_t)s->labels[i].value);
    for (size_t i = 0; i < s->nframes; i++) {
        const frame *f = &s->frames[i];
        h = mix(mix(h, (uintptr_t)f->function), (uintptr_t)f->file);
        h = mix(mix(h, (uint64_t)f->line), f->address);
    }
    return mix(h, s->nframes);
}

static int by_identity(const void *a, const void *b) {
    uint64_t x = ((const push_cumul_entry *)a)->identity,
             y = ((const push_cumul_entry *)b)->identity;
    return x < y ? -1 : x > y;
}

int push_cumul_of(const profile *p, push_cumul *out) {
    memset(out, 0, sizeof *out);
    out->time_nanos = p->time_nanos;
    if (!p->nsamples) return 0;
    out->v = malloc(p->nsamples * sizeof *out->v);
    if (!out->v) return -1;
    int ao = profile_metric(p, "alloc_objects"), as = profile_metric(p, "alloc_space");
    for (size_t i = 0; i < p->nsamples; i++) {
        const sample *s = &p->samples[i];
        out->v[i] = (push_cumul_entry){identity(s), ao >= 0 ? s->values[ao] : 0,
                                       as >= 0 ? s->values[as] : 0};
    }
    qsort(out->v, p->nsamples, sizeof *out->v, by_identity);
    size_t n = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        if (n && out->v[n - 1].identity == out->v[i].identity) {
            out->v[n - 1].objs += out->v[i].objs;
            out->v[n - 1].space += out->v[i].space;
        } else {
            out->v[n++] = out->v[i];
        }
    }
    out->n = n;
    return 0;
}

void push_cumul_free(push_cumul *c) {
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Subtracts what is left of the previous value: consumed as it goes, so two
 * samples of one identity take it off only once between them. */
static double take(double *left, double v) {
    double d = v < *left ? v : *left;
    if (d < 0) d = 0;
    *left -= d;
    return v - d;
}

int push_to_delta(profile *p, const push_cumul *prev, char *err, size_t cap) {
    static const struct {
        const char *name, *unit;
    } types[] = {{"alloc_objects", "count"},
                 {"alloc_space", "bytes"},
                 {"inuse_objects", "count"},
                 {"inuse_space", "bytes"}};
    int from[4], which[4], n = 0;
    metric keep[4];
    for (int t = 0; t < 4; t++) {
        for (size_t i = 0; i < p->nmetrics; i++) {
            if (strcmp(p->metrics[i].name, types[t].name)) continue;
            from[n] = (int)i;
            which[n] = t;
            keep[n++] = (metric){model_str(types[t].name), model_str(types[t].unit)};
            break;
        }
    }
    if (!n) {
        snprintf(err, cap,
                 "no heap sample types (alloc_objects, alloc_space, inuse_objects, "
                 "inuse_space) in it; Pyroscope would not show it as memory");
        return -1;
    }
    push_cumul_entry *left = NULL;
    if (prev && prev->n) {
        left = malloc(prev->n * sizeof *left);
        if (!left) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        memcpy(left, prev->v, prev->n * sizeof *left);
    }
    size_t kept = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        sample *s = &p->samples[i];
        push_cumul_entry key = {.identity = left ? identity(s) : 0};
        push_cumul_entry *was =
            left ? bsearch(&key, left, prev->n, sizeof *left, by_identity) : NULL;
        double v[4];
        int nonzero = 0;
        for (int k = 0; k < n; k++) {
            v[k] = s->values[from[k]];
            if (was && which[k] == 0) v[k] = take(&was->objs, v[k]);
            if (was && which[k] == 1) v[k] = take(&was->space, v[k]);
            if (v[k] < 0) v[k] = 0;
            if (v[k] >= 0.5) nonzero = 1; /* what rounds to 0 in pprof is 0 */
        }
        if (!nonzero) { /* Pyroscope drops all-zero samples anyway */
            free(s->frames);
            free(s->labels);
            continue;
        }
        memset(s->values, 0, sizeof s->values);
        memcpy(s->values, v, (size_t)n * sizeof *v);
        p->samples[kept++] = *s;
    }
    free(left);
    p->nsamples = kept;
    memcpy(p->metrics, keep, (size_t)n * sizeof *keep);
    p->nmetrics = (size_t)n;
    if (prev && prev->time_nanos > 0 && p->time_nanos > prev->time_nanos)
        p->duration_nanos = p->time_nanos - prev->time_nanos;
    return 0;
}
