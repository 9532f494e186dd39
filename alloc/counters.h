/* Process-wide exact counters fed by the per-thread batches of thread_state.h. */
#ifndef HP_ALLOC_COUNTERS_H
#define HP_ALLOC_COUNTERS_H

#include "thread_state.h"
#include "../include/heapprof.h"

/* One-time process set-up (thread-exit key, fork handlers, sampler hook).
 * Safe to call from any allocation; idempotent. */
void hp_alloc_init(void) HP_HIDDEN;

/* Flush the calling thread's deltas and read the totals. */
void hp_counters_read(heapprof_stats_t *out) HP_HIDDEN;

/* The profiler's own allocations on this thread are not the program's: while
 * inside, they are counted as profiler memory instead. Nestable. */
void hp_internal_enter(void) HP_HIDDEN;
void hp_internal_leave(void) HP_HIDDEN;

/* Memory the profiler holds outside mimalloc's counted path (mmap arenas). */
void hp_profiler_bytes_add(int64_t delta) HP_HIDDEN;

#endif
