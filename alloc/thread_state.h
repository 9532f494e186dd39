/*
 * Per-thread allocation accounting: the state the malloc fast path touches.
 *
 * The fast path does plain stores to this thread's own block and takes exactly
 * one predictable branch per call. Every rare event (first use, flushing a
 * batch to the global counters, a sample, thread exit) is folded into two
 * thresholds so it costs nothing extra:
 *   - malloc goes slow when `countdown` drops below zero;
 *   - free goes slow when `live` drops below `live_floor`.
 * A zeroed block (a new thread) has countdown 0 and floor 0, so its first
 * malloc or free takes the slow path, which registers it.
 */
#ifndef HP_ALLOC_THREAD_STATE_H
#define HP_ALLOC_THREAD_STATE_H

#include <stdint.h>
#include <stddef.h>

#define HP_LIKELY(x) __builtin_expect(!!(x), 1)
#define HP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HP_HIDDEN __attribute__((visibility("hidden")))
#define HP_EXPORT __attribute__((visibility("default")))

/* Most bytes a thread may allocate, or free, before its deltas are flushed to
 * the process totals. This is the documented error bound of the peak when
 * several threads allocate at once (per other thread). */
#define HP_FLUSH_BYTES ((int64_t)256 * 1024)

enum hp_thread_mode {
    HP_THREAD_NEW = 0,  /* never registered */
    HP_THREAD_ACTIVE,   /* registered, fast path live */
    HP_THREAD_RETIRED,  /* past its exit destructor: every call goes to the globals */
};

typedef struct hp_thread {
    /* fast path fields, one cache line */
    int64_t countdown;     /* bytes until the next slow-path event */
    int64_t live;          /* unflushed live-bytes delta */
    int64_t live_floor;    /* free() goes slow below this */
    int64_t live_max;      /* highest `live` since the last flush */
    int64_t live_objs;     /* unflushed live-objects delta */
    int64_t live_objs_max; /* highest `live_objs` since the last flush */
    uint64_t alloc_objs;   /* unflushed allocation count */
    int64_t period;        /* countdown at its last reset: allocated bytes = period - countdown */

    /* slow path only */
    int64_t sample_left;   /* bytes until the next sample (sampler) */
    uint32_t mode;
    uint32_t busy;         /* reentrancy guard for the slow path */
    uint32_t exit_passes;  /* destructor passes seen at thread exit */
    uint32_t internal;     /* >0 while the profiler itself allocates on this thread */
    struct hp_thread *next, *prev; /* registry of live threads */
} hp_thread;

extern __thread hp_thread hp_self __attribute__((tls_model("initial-exec"))) HP_HIDDEN;

/* Slow paths, in alloc/counters.c. */
void hp_alloc_slow(hp_thread *t, void *p, size_t usable) HP_HIDDEN;
void hp_free_slow(hp_thread *t, void *p, size_t usable) HP_HIDDEN;

static inline void hp_count_alloc(void *p, size_t usable) {
    hp_thread *t = &hp_self;
    t->live += (int64_t)usable;
    t->live_objs += 1;
    t->alloc_objs += 1;
    if (t->live > t->live_max) t->live_max = t->live;
    if (t->live_objs > t->live_objs_max) t->live_objs_max = t->live_objs;
    t->countdown -= (int64_t)usable;
    if (HP_UNLIKELY(t->countdown < 0)) hp_alloc_slow(t, p, usable);
}

static inline void hp_count_free(void *p, size_t usable) {
    hp_thread *t = &hp_self;
    t->live -= (int64_t)usable;
    t->live_objs -= 1;
    if (HP_UNLIKELY(t->live < t->live_floor)) hp_free_slow(t, p, usable);
}

#endif
