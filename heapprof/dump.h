/* A dump: one consistent set of profile files, one per configured format. */
#ifndef HP_DUMP_H
#define HP_DUMP_H

#include <stdint.h>
#include "../include/heapprof.h"
#include "internal_alloc.h"
#include "profile.h"

typedef struct hp_dump_info {
    const char *reason; /* exit, api, signal, interval, peak */
    int pid;
    unsigned seq;
    uint64_t time_unix_ns;
    uint64_t uptime_ns;
    heapprof_stats_t process;
    uint64_t rss_bytes, peak_rss_bytes;
    char cmdline[4096];
    int64_t rate;                  /* sampling rate in effect */
    hp_profile_snapshot profile;   /* sampled sites and per-tag estimates */
    uint32_t ntags;                /* tag ids are 1..ntags */
    uint64_t *tag_alloc_bytes;     /* exact lifetime totals, indexed by tag id */
    uint64_t *tag_alloc_objs;
    struct hp_gpu_snapshot *gpu;   /* gpu/gpu.h: GPU memory; NULL while GPU tracking is off */
} hp_dump_info;

/* Writes every configured format. Returns 0 if all files were written. A
 * dump already in progress on another thread makes this one wait; a dump
 * reentered on the same thread is skipped. */
int hp_dump(const char *reason) __attribute__((visibility("hidden")));

/* Loads the libraries the configured dumps may need (libdw, libzstd) now
 * rather than at the first dump. */
void hp_dump_load_libraries(void) __attribute__((visibility("hidden")));

/* Monotonic nanoseconds since the runtime started. */
uint64_t hp_uptime_ns(void) __attribute__((visibility("hidden")));

/* Fork handling: the dump lock is held across fork; in the child it is
 * reset and sequence numbers restart for the new pid. */
void hp_dump_lock(void) __attribute__((visibility("hidden")));
void hp_dump_unlock(void) __attribute__((visibility("hidden")));
void hp_dump_after_fork_child(void) __attribute__((visibility("hidden")));

/* ---- for the Pyroscope export (heapprof/pyroscope.c) ----
 * The gzipped pprof profile of the current state, without writing a file or
 * taking a sequence number. `adjust` may change the snapshot first (alloc_*
 * into differences). Serialised with dumps (symbolization needs that).
 * Returns 0, or -1 when out of memory or when `adjust` returned nonzero. */
typedef int (*hp_dump_adjust_fn)(hp_profile_snapshot *snapshot, void *arg);
int hp_dump_pprof_now(hp_buf *out, hp_dump_adjust_fn adjust, void *arg, uint64_t *time_unix_ns,
                      uint64_t *uptime_ns) __attribute__((visibility("hidden")));

#endif
