#define _GNU_SOURCE
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one string pool for every profile the process reads ---- */

static char **pool;
static size_t pool_cap, pool_n;

static uint64_t hash_str(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

const char *model_strn(const char *s, size_t n) {
    if (!s) return NULL;
    if ((pool_n + 1) * 2 > pool_cap) {
        size_t cap = pool_cap ? pool_cap * 2 : 4096;
        char **t = calloc(cap, sizeof *t);
        if (!t) return "??";
        for (size_t i = 0; i < pool_cap; i++) {
            if (!pool[i]) continue;
            size_t j = hash_str(pool[i], strlen(pool[i])) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = pool[i];
        }
        free(pool);
        pool = t;
        pool_cap = cap;
    }
    size_t j = hash_str(s, n) & (pool_cap - 1);
    for (; pool[j]; j = (j + 1) & (pool_cap - 1))
        if (!strncmp(pool[j], s, n) && pool[j][n] == 0) return pool[j];
    char *copy = strndup(s, n);
    if (!copy) return "??";
    pool[j] = copy;
    pool_n++;
    return copy;
}

const char *model_str(const char *s) { return s ? model_strn(s, strlen(s)) : NULL; }

/* ---- profiles ---- */

int profile_metric(const profile *p, const char *name) {
    for (size_t i = 0; i < p->nmetrics; i++)
        if (!strcmp(p->metrics[i].name, name)) return (int)i;
    /* "alloc" means alloc_space, "inuse_objects" stays as is, etc. */
    char longer[64];
    snprintf(longer, sizeof longer, "%s_space", name);
    for (size_t i = 0; i < p->nmetrics; i++)
        if (!strcmp(p->metrics[i].name, longer)) return (int)i;
    return -1;
}

int profile_add_metric(profile *p, const char *name, const char *unit) {
    for (size_t i = 0; i < p->nmetrics; i++)
        if (!strcmp(p->metrics[i].name, name)) return (int)i;
    if (p->nmetrics == MODEL_MAX_METRICS) return -1;
    p->metrics[p->nmetrics] = (metric){model_str(name), model_str(unit)};
    return (int)p->nmetrics++;
}

sample *profile_add_sample(profile *p) {
    if (p->nsamples == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        sample *t = realloc(p->samples, cap * sizeof *t);
        if (!t) return NULL;
        p->samples = t;
        p->cap = cap;
    }
    sample *s = &p->samples[p->nsamples++];
    memset(s, 0, sizeof *s);
    return s;
}

void profile_free(profile *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nsamples; i++) {
        free(p->samples[i].frames);
        free(p->samples[i].labels);
    }
    free(p->samples);
    free(p);
}

const char *frame_display(const frame *f, char *buf, size_t cap) {
    if (f->file && f->line) snprintf(buf, cap, "%s %s:%d", f->function, f->file, f->line);
    else if (f->file) snprintf(buf, cap, "%s %s", f->function, f->file);
    else snprintf(buf, cap, "%s", f->function);
    return buf;
}
