/*
 * Per-thread allocation accounting: the state the malloc fast path touches.
 *
 * The fast path does plain stores to this thread's own block and takes one
 * predictable branch per call. Every rare event (first use, flushing a batch
 * to the global counters, taking a sample, thread exit, the profiler's own
 * allocations) is folded into two thresholds so it costs nothing extra:
 *   - an allocation of n bytes goes slow when n >= `countdown`;
 *   - free goes slow when `live` drops below `live_floor`.
 * A zeroed block (a new thread) has countdown 0 and floor 0, so its first
 * malloc or free takes the slow path, which registers it.
 *
 * `countdown` counts requested bytes (sampling is by requested bytes, decided
 * before the block is allocated); the counters count usable bytes.
 */
#ifndef HP_ALLOC_THREAD_STATE_H
#define HP_ALLOC_THREAD_STATE_H

#include <stdint.h>
#include <stddef.h>

#define HP_LIKELY(x) __builtin_expect(!!(x), 1)
#define HP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HP_HIDDEN __attribute__((visibility("hidden")))
#define HP_EXPORT __attribute__((visibility("default")))

/* Most bytes a thread may request, or free, before its deltas are flushed to
 * the process totals. This bounds how far the peak can read low while
 * several threads allocate at once (per other thread). */
#define HP_FLUSH_BYTES ((int64_t)256 * 1024)

enum hp_thread_mode {
    HP_THREAD_NEW = 0, /* never registered */
    HP_THREAD_ACTIVE,  /* registered, fast path live */
    HP_THREAD_RETIRED, /* past its exit destructor: every call goes to the globals */
};

typedef struct hp_thread {
    /* fast path fields, one cache line */
    int64_t countdown;     /* requested bytes until the next slow-path event */
    int64_t live;          /* unflushed live-bytes delta */
    int64_t live_floor;    /* free() goes slow below this */
    int64_t live_max;      /* highest `live` since the last flush */
    int64_t live_objs;     /* unflushed live-objects delta */
    int64_t live_objs_max; /* highest `live_objs` since the last flush */
    uint64_t alloc_objs;   /* unflushed allocation count */
    uint64_t alloc_bytes;  /* unflushed allocated usable bytes */

    /* slow path only */
    int64_t period;      /* countdown at its last reset */
    int64_t sample_left; /* requested bytes to the next sample point, >= 1 */
    uint64_t prng[2];    /* sampler's generator */
    uint32_t mode;
    uint32_t busy;                 /* reentrancy guard for the slow path */
    uint32_t internal;             /* >0 while the profiler itself allocates on this thread */
    uint32_t no_sample;            /* set once the thread (or process) is shutting down */
    uint32_t sampler_gen;          /* sampler configuration this thread was armed with */
    uint32_t tag;                  /* current attribution tag (heapprof/tags.h) */
    uint32_t labels;               /* current label set */
    struct hp_thread *next, *prev; /* registry of live threads */
} __attribute__((aligned(64))) hp_thread; /* the fast-path fields share one cache line */

extern __thread hp_thread hp_self __attribute__((tls_model("initial-exec"))) HP_HIDDEN;

/* Adds one allocation of `usable` bytes to the thread's pending counters. */
static inline void hp_count_alloc(hp_thread *t, size_t usable) {
    t->live += (int64_t)usable;
    t->live_objs += 1;
    t->alloc_objs += 1;
    t->alloc_bytes += usable;
    if (t->live > t->live_max) t->live_max = t->live;
    if (t->live_objs > t->live_objs_max) t->live_objs_max = t->live_objs;
}

/* A realloc that keeps its block: a free and an allocation of the same
 * usable size, so only the lifetime totals move. */
static inline void hp_count_realloc_in_place(hp_thread *t, size_t usable) {
    t->alloc_objs += 1;
    t->alloc_bytes += usable;
}

/* Subtracts one free; returns nonzero when the slow path must flush. */
static inline int hp_count_free(hp_thread *t, size_t usable) {
    t->live -= (int64_t)usable;
    t->live_objs -= 1;
    return HP_UNLIKELY(t->live < t->live_floor);
}

/* True when an allocation of n bytes must take the slow path; otherwise
 * consumes n bytes of the countdown. Huge n (a failing request) is slow too. */
static inline int hp_alloc_is_slow(hp_thread *t, size_t n) {
    if (HP_UNLIKELY((uint64_t)t->countdown <= n)) return 1;
    t->countdown -= (int64_t)n;
    return 0;
}

#endif
