/*
 * The allocation fast path, shared by the C entry points (entry.c) and the
 * C++ operators (cxx_operators.c) so that operator new costs what malloc
 * does, without a second call through the PLT.
 *
 * malloc of a small request looks its usable size up from the request
 * (usable_size.h) and counts it before calling mimalloc, so only the request
 * is kept across the call.
 * free reads the usable size from mimalloc's page (mi_layout.h) and ends in
 * a tail call to mi_free; blocks the reader leaves alone (aligned, 4 MiB
 * and up) go out of line, where big ones may be kept for reuse
 * (big_cache.h).
 */
#ifndef HP_ALLOC_FAST_PATH_H
#define HP_ALLOC_FAST_PATH_H

#include "big_cache.h"
#include "counters.h"
#include "mi_aligned.h"
#include "mi_layout.h"
#include "sampled_pages.h"
#include "usable_size.h"

#include <errno.h>
#include <mimalloc.h>

/* Out of line: any size, alignment or zeroing, counted after the call. */
void *hp_alloc_general(hp_thread *t, size_t n, size_t alignment, int zero) HP_HIDDEN;

static inline void *hp_allocate(size_t n) {
    hp_thread *t = &hp_self;
    size_t usable;
    if (HP_UNLIKELY((uint64_t)t->countdown <= n)) return hp_alloc_slow(t, n, 0, 0);
    if (HP_UNLIKELY(n > HP_TABLE_MAX_REQUEST) ||
        HP_UNLIKELY((usable = hp_usable_of_request(n)) == 0))
        return hp_alloc_general(t, n, 0, 0);
    t->countdown -= (int64_t)n;
    /* Counted before the call so that nothing but n lives across it; a
     * failure takes the count back. */
    hp_count_alloc(t, usable);
    void *p = mi_malloc(n); /* small: never one for the big-block cache */
    if (HP_UNLIKELY(p == NULL)) return hp_alloc_failed(n);
    return p;
}

static inline void hp_release(void *p) {
    if (HP_UNLIKELY(p == NULL)) return;
    hp_thread *t = &hp_self;
    if (hp_maybe_sampled(p)) {
        hp_free_sampled(t, p);
        return;
    }
    size_t usable;
    if (HP_LIKELY(__atomic_load_n(&hp_mi_layout_ok, __ATOMIC_RELAXED)) &&
        HP_LIKELY(hp_mi_layout_read(p, &usable))) {
        if (hp_count_free(t, usable)) hp_free_slow(t);
        mi_free(p);
        return;
    }
    hp_free_other(t, p);
}

#endif
