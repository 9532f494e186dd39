/*
 * heapprof — public API.
 *
 * Every symbol is declared weak, so a program may call these functions when
 * libheapprof.so is preloaded and still link and run without it:
 *
 *     if (heapprof_available()) { heapprof_stats_t s; heapprof_stats(&s, sizeof s); }
 */
#ifndef HEAPPROF_H
#define HEAPPROF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HEAPPROF_API __attribute__((weak, visibility("default")))

/* Process-wide heap counters, in usable bytes (what the allocator really
 * handed out). Lifetime counters only grow; live = alloc - freed. */
typedef struct heapprof_stats {
    uint64_t live_bytes;
    uint64_t live_objects;
    uint64_t peak_bytes;   /* highest live_bytes seen (see docs/internals.md for the bound) */
    uint64_t peak_objects; /* highest live_objects seen */
    uint64_t alloc_bytes;  /* lifetime */
    uint64_t alloc_objects;
    uint64_t freed_bytes;
    uint64_t freed_objects;
    uint64_t profiler_bytes; /* the profiler's own bookkeeping, not counted above */
    uint64_t threads_seen;   /* threads that ever allocated */
} heapprof_stats_t;

/* Fills *out with up to `size` bytes of the current counters (pass sizeof *out;
 * older callers with a shorter struct stay compatible). The calling thread's
 * unflushed deltas and those of all live threads are included, so the values
 * are exact whenever no other thread is allocating at the same moment.
 * Returns 0, or -1 if out is NULL. */
HEAPPROF_API int heapprof_stats(heapprof_stats_t *out, size_t size);

/* Version string of the loaded runtime, e.g. "0.1.0". */
HEAPPROF_API const char *heapprof_version(void);

#ifdef __cplusplus
}
#endif

/* True when the runtime is loaded into this process. */
#define heapprof_available() (heapprof_version != 0)

#endif /* HEAPPROF_H */
