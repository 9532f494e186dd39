/* Process-wide exact counters fed by the per-thread batches of thread_state.h,
 * and the slow paths of the allocation entry points. */
#ifndef HP_ALLOC_COUNTERS_H
#define HP_ALLOC_COUNTERS_H

#include "thread_state.h"
#include "../include/heapprof.h"

/* One-time process set-up (thread-exit key, fork handlers). Safe to call
 * from any allocation; idempotent. */
void hp_alloc_init(void) HP_HIDDEN;

/* Flush the calling thread's deltas and read the totals. */
void hp_counters_read(heapprof_stats_t *out) HP_HIDDEN;

/* Calls fn for each registered thread with unflushed lifetime totals: its
 * current tag and those totals. Runs under the registry lock. */
void hp_counters_each_pending(void (*fn)(uint32_t tag, uint64_t bytes, uint64_t objects, void *arg),
                              void *arg) HP_HIDDEN;

/* The profiler's own allocations on this thread are not the program's: while
 * inside, they are counted as profiler memory instead. Nestable. */
void hp_internal_enter(void) HP_HIDDEN;
void hp_internal_leave(void) HP_HIDDEN;

/* Memory the profiler holds outside the interposed malloc. */
void hp_profiler_bytes_add(int64_t delta) HP_HIDDEN;

/* Moves the thread's pending deltas into the totals (counters.c). */
void hp_flush(hp_thread *t) HP_HIDDEN;
/* Subtracts the requests made since the last arm from the distance to the
 * next sample point (counters.c). */
void hp_consume_countdown(hp_thread *t) HP_HIDDEN;
/* Sets the thread's thresholds for its current mode (counters.c). */
void hp_arm(hp_thread *t) HP_HIDDEN;
/* Registers a new thread (counters.c). */
void hp_register_thread(hp_thread *t) HP_HIDDEN;

/* Slow paths (slow_path.c). `alignment` 0 means malloc's default. */
void *hp_alloc_slow(hp_thread *t, size_t n, size_t alignment, int zero) HP_HIDDEN;
void *hp_realloc_slow(hp_thread *t, void *p, size_t n) HP_HIDDEN;
void hp_free_sampled(hp_thread *t, void *p) HP_HIDDEN;
void hp_free_slow(hp_thread *t) HP_HIDDEN;
/* free of an unsampled block whose size the fast path does not read. */
void hp_free_other(hp_thread *t, void *p) HP_HIDDEN;
/* Sets errno to ENOMEM and returns NULL (kept out of line: errno is a call). */
/* A small request of n bytes, counted by the fast path, failed: takes the
 * count back and sets errno. (The thread's running maximum may keep it: a
 * failed allocation can raise the peak by at most its own size.) */
void *hp_alloc_failed(size_t n) HP_HIDDEN;
/* A request refused before mimalloc sees it: sets errno, returns NULL. */
void *hp_alloc_refused(void) HP_HIDDEN;

/* Stops sampling on the calling thread (exit dump started). */
void hp_thread_stop_sampling(void) HP_HIDDEN;

#endif
