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

/* ---- Attribution tags ----
 * Each thread has a current tag (initially HEAPPROF_TAG, default "main").
 * Every allocation counts toward the allocating thread's current tag, and
 * the tag stays with the block until it is freed, whichever thread frees it.
 * Names are 1-255 bytes; up to 65535 distinct names (more go to "[other]").
 * Tags nest up to 64 deep per thread. Functions return 0, or -1 for a bad
 * argument. */
HEAPPROF_API int heapprof_tag_push(const char *name);
HEAPPROF_API int heapprof_tag_pop(void);
/* Replaces the innermost tag (or pushes one if none is pushed). */
HEAPPROF_API int heapprof_tag_set(const char *name);
/* The calling thread's current tag; valid for the life of the process. */
HEAPPROF_API const char *heapprof_tag_current(void);

typedef struct heapprof_tag_stats {
    uint64_t alloc_bytes;   /* lifetime, exact */
    uint64_t alloc_objects; /* lifetime, exact */
    /* Live and peak: exact when every allocation is tracked (HEAPPROF_RATE=1,
     * `exact` = 1), otherwise unbiased estimates from the sampled blocks with
     * their standard errors. */
    double live_bytes, live_objects;
    double peak_bytes, peak_objects;
    double live_bytes_stderr, live_objects_stderr;
    int exact;
} heapprof_tag_stats_t;

/* Counters of the tag `name`. Returns -1 if no such tag was ever used. */
HEAPPROF_API int heapprof_tag_stats(const char *name, heapprof_tag_stats_t *out, size_t size);

/* ---- Labels ----
 * Thread-local key/value pairs recorded with every sampled block and written
 * as pprof labels (e.g. trace_id, session_id). Up to 16 per thread; keys and
 * values are 1-1024 bytes; the key "tag" is reserved. */
HEAPPROF_API int heapprof_label_set(const char *key, const char *value);
HEAPPROF_API int heapprof_label_clear(const char *key);

/* ---- Dumps ----
 * Writes a full set of profile files now, from the calling thread. `reason`
 * is recorded in the files (NULL means "api"). Returns 0 if every file was
 * written. */
HEAPPROF_API int heapprof_dump(const char *reason);

/* Version string of the loaded runtime, e.g. "0.1.0". */
HEAPPROF_API const char *heapprof_version(void);

#ifdef __cplusplus
}
#endif

/* True when the runtime is loaded into this process. */
#define heapprof_available() (heapprof_version != 0)

#endif /* HEAPPROF_H */
