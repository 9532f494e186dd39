/*
 * The allocation slow path: registering a new thread, flushing counters,
 * and sampling. Reached only when a thread's countdown runs out, its free
 * floor is crossed, or the block being freed may be a sampled one.
 *
 * Sampling is by requested bytes, as a Poisson process: the thread holds the
 * distance to its next sample point; the request that covers the point is
 * sampled and the distance is drawn afresh from its end (memoryless, so the
 * chance an n-byte request is sampled is 1 - exp(-n/rate) whatever came
 * before).
 */
#define _GNU_SOURCE
#include "big_cache.h"
#include "counters.h"
#include "mi_aligned.h"
#include "memory_bound.h"
#include "mi_layout.h"
#include "sampled_pages.h"
#include "sampler_hooks.h"
#include "usable_size.h"

#include <errno.h>
#include <mimalloc.h>
#include <string.h>

/* Brings the thread up to date and decides whether a request of n bytes is
 * sampled. Leaves t->busy raised; the caller finishes with leave(). */
static int enter_and_decide(hp_thread *t, size_t n) {
    t->busy++;
    if (t->mode == HP_THREAD_NEW) hp_register_thread(t);
    if (t->mode != HP_THREAD_ACTIVE || t->internal || t->busy > 1) return 0;
    if (t->sampler_gen != hp_sampler_generation) {
        t->sampler_gen = hp_sampler_generation;
        t->sample_left = hp_sampler_next_distance(t);
        t->period = t->countdown;
    } else {
        hp_consume_countdown(t);
    }
    if ((uint64_t)t->sample_left > n) {
        t->sample_left -= (int64_t)n;
        return 0;
    }
    t->sample_left = hp_sampler_next_distance(t);
    return !t->no_sample;
}

static void leave(hp_thread *t) {
    t->busy--;
    /* In full mode (no distance to the next sample) every allocation comes
     * back here: flush full batches only, as the fast path does. */
    if (t->sample_left || t->busy || t->internal || t->mode != HP_THREAD_ACTIVE ||
        t->alloc_bytes >= (uint64_t)HP_FLUSH_BYTES || t->live >= HP_FLUSH_BYTES ||
        t->live <= -HP_FLUSH_BYTES) {
        hp_flush(t);
        hp_big_idle_check();
    }
    hp_arm(t);
}

/* After a block is allocated: count it, and record it if sampled or if it
 * is the profiler's own. */
static void allocated(hp_thread *t, void *p, size_t n, int sample) {
    size_t usable = hp_usable_of_block(p);
    hp_count_alloc(t, usable);
    if (sample) hp_sampler_on_alloc(t, p, usable, n);
    /* Inside a sample's own slow path (busy > 1): libunwind allocating caches
     * that may be freed anywhere later. Dumps allocate and free their own
     * memory within the dump, so they need no tracking. */
    else if (t->internal && t->busy > 1)
        hp_sampler_on_internal_alloc(p, usable);
}

/* Before a possibly tracked block goes away: forget it, and if it was the
 * profiler's, take its bytes off the profiler's total rather than the
 * program's. Returns the usable size to count against the program (0 if
 * none). */
static size_t forget(hp_thread *t, void *p, size_t usable) {
    if (!hp_maybe_sampled(p) || hp_sampler_on_free(t, p) != HP_BLOCK_INTERNAL) return usable;
    hp_profiler_bytes_add(-(int64_t)usable);
    return 0;
}

/* Counts a free against the program, or not at all for a profiler block. */
static void count_free(hp_thread *t, size_t usable) {
    if (!usable) return;
    hp_count_free(t, usable);
}

void *hp_alloc_slow(hp_thread *t, size_t n, size_t alignment, int zero) {
    if (hp_refuse_request(n)) return hp_alloc_refused();
    int sample = enter_and_decide(t, n);
    void *p = alignment ? hp_mi_malloc_aligned(n, alignment)
              : zero    ? mi_zalloc(n)
                        : hp_mi_malloc_reusing(n);
    if (p) allocated(t, p, n, sample);
    leave(t);
    if (!p) errno = ENOMEM;
    return p;
}

void hp_free_sampled(hp_thread *t, void *p) {
    t->busy++;
    if (t->mode == HP_THREAD_NEW) hp_register_thread(t);
    /* Forget it before mimalloc, or the big-block cache, can hand the
     * address out again. */
    size_t usable = forget(t, p, hp_usable_of_block(p));
    count_free(t, usable);
    if (!usable || !hp_big_keep(p, usable)) mi_free(p);
    leave(t);
}

void hp_free_other(hp_thread *t, void *p) {
    size_t usable = mi_usable_size(p);
    if (hp_count_free(t, usable)) hp_free_slow(t);
    if (!hp_big_keep(p, usable)) mi_free(p);
}

void hp_free_slow(hp_thread *t) {
    t->busy++;
    if (t->mode == HP_THREAD_NEW) hp_register_thread(t);
    leave(t);
}

/* realloc when the old block may be sampled or the new request reaches the
 * thread's countdown. The old block is forgotten before mimalloc may reuse
 * its address; if the reallocation then fails, the old block simply stays
 * unrecorded (it is still counted). */
void *hp_realloc_slow(hp_thread *t, void *p, size_t n) {
    if (hp_refuse_request(n)) return hp_alloc_refused(); /* p stays recorded */
    int sample = enter_and_decide(t, n);
    size_t old_usable = forget(t, p, hp_usable_of_block(p));
    void *q = mi_realloc(p, n);
    if (q) {
        count_free(t, old_usable);
        allocated(t, q, n, sample);
    }
    leave(t);
    if (!q) errno = ENOMEM;
    return q;
}

void *hp_alloc_failed(size_t n) {
    hp_thread *t = &hp_self;
    size_t usable = hp_usable_of_request(n);
    t->alloc_objs -= 1;
    t->alloc_bytes -= usable;
    if (hp_count_free(t, usable)) hp_free_slow(t);
    errno = ENOMEM;
    return NULL;
}

void *hp_alloc_refused(void) {
    errno = ENOMEM;
    return NULL;
}
