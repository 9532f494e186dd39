#define _GNU_SOURCE
#include "internal_alloc.h"
#include "../alloc/counters.h"

#include <mimalloc.h>

void *hp_malloc(size_t size) {
    void *p = mi_malloc(size);
    if (p) hp_profiler_bytes_add((int64_t)mi_usable_size(p));
    return p;
}

void *hp_calloc(size_t n, size_t size) {
    void *p = mi_calloc(n, size);
    if (p) hp_profiler_bytes_add((int64_t)mi_usable_size(p));
    return p;
}

void *hp_realloc(void *p, size_t size) {
    size_t old = p ? mi_usable_size(p) : 0;
    void *q = mi_realloc(p, size);
    if (q) hp_profiler_bytes_add((int64_t)mi_usable_size(q) - (int64_t)old);
    return q;
}

void hp_free(void *p) {
    if (!p) return;
    hp_profiler_bytes_add(-(int64_t)mi_usable_size(p));
    mi_free(p);
}
