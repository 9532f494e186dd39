/*
 * The sampled profile: every sampled block still alive (the live table),
 * and aggregates per site — a site being one (stack, tag, label set).
 * Values are Horvitz–Thompson estimates: each sampled block carries its
 * weight w = 1/P(sampled), so sums of w are unbiased for the totals; in full
 * mode (rate 1) w = 1 and every value is exact.
 *
 * One lock guards it all, taken once per sampled event (rare at the default
 * rate, every allocation and free in full mode) and never while unwinding
 * or doing I/O; known stacks and sites are found without it (profile.c).
 */
#ifndef HP_PROFILE_H
#define HP_PROFILE_H

#include "stacks.h"

#include <stddef.h>
#include <stdint.h>

#define HP_HIDDEN_API __attribute__((visibility("hidden")))

/* Aggregates of one site; counts and bytes are weighted estimates. Every
 * field before `samples` is a double that adds up across sites (site_view.c
 * relies on that). */
typedef struct hp_site_values {
    double alloc_objs, alloc_bytes;   /* since start */
    double inuse_objs, inuse_bytes;   /* alive now */
    double peak_objs, peak_bytes;     /* this site's own highest inuse_bytes, and objects then */
    double gpeak_objs, gpeak_bytes;   /* alive when the sampled total was at its peak */
    double lifetime_ns;               /* sum of w * lifetime; live blocks count up to now */
    double inuse_var_bytes, inuse_var_objs; /* variance of the inuse estimates */
    /* The same in requested bytes (what the program asked for), as DHAT counts */
    double alloc_req_bytes, inuse_req_bytes, peak_req_bytes, peak_req_objs, gpeak_req_bytes;
    uint64_t samples;                 /* sampled blocks, unweighted */
} hp_site_values;

/* The global-peak bookkeeping both the host and the GPU tables use: a table
 * keeps a peak epoch that grows whenever its total reaches a new maximum,
 * and each site the epoch at which it last saved its at-peak values. Before
 * a site changes, its current values are its values at the latest peak if
 * its epoch is older. */
static inline void hp_site_settle_peak(hp_site_values *v, uint64_t *site_epoch, uint64_t epoch) {
    if (*site_epoch == epoch) return;
    v->gpeak_bytes = v->inuse_bytes;
    v->gpeak_objs = v->inuse_objs;
    v->gpeak_req_bytes = v->inuse_req_bytes;
    *site_epoch = epoch;
}

/* A site's values as a snapshot shows them at now_ns: live blocks' lifetimes
 * run up to now (live_start_sum = sum of w * t_alloc over live blocks), and
 * a site untouched since the latest peak is still at its at-peak values. */
static inline hp_site_values hp_site_values_at(const hp_site_values *v, double live_start_sum,
                                               uint64_t site_epoch, uint64_t epoch,
                                               uint64_t now_ns) {
    hp_site_values o = *v;
    double live = v->inuse_objs * (double)now_ns - live_start_sum;
    o.lifetime_ns += live > 0 ? live : 0; /* stamps can run a hair ahead of now (clock.h) */
    hp_site_settle_peak(&o, &site_epoch, epoch);
    return o;
}

typedef struct hp_site_snapshot {
    const hp_stack *stack; /* immutable once interned; never freed */
    uint32_t tag, labels;
    hp_site_values v;
} hp_site_snapshot;

/* Estimates per tag (the exact lifetime totals are in tags.c). */
typedef struct hp_tag_estimate {
    double inuse_objs, inuse_bytes, peak_objs, peak_bytes;
    double inuse_var_bytes, inuse_var_objs;
    double freed_objs, freed_bytes;
} hp_tag_estimate;

typedef struct hp_profile_snapshot {
    hp_site_snapshot *sites;
    size_t nsites;
    hp_tag_estimate *tags; /* indexed by tag id */
    uint32_t ntags;
    double inuse_bytes, inuse_objs;     /* sampled totals now */
    double peak_bytes;                  /* sampled total at its peak */
    uint64_t peak_uptime_ns;            /* when that peak was reached */
    uint64_t samples, live_samples, stacks;
    uint64_t taken_uptime_ns;
} hp_profile_snapshot;

/* Records a sampled block. Returns -1 if out of memory (block then untracked).
 * depth -1 records a block of the profiler's own, with no site. walk is
 * hp_stack_capture's name for pcs (0 if none). */
int hp_profile_add(uintptr_t ptr, const uintptr_t *pcs, int depth, uint64_t walk, uint32_t tag,
                   uint32_t labels, size_t usable, size_t requested, double weight,
                   uint64_t now_ns) HP_HIDDEN_API;

/* Starts loading what hp_profile_add or hp_profile_remove will touch for
 * ptr (a cache miss in a large live table), so that it overlaps other work. */
void hp_profile_prefetch(uintptr_t ptr) HP_HIDDEN_API;

/* Forgets a block if it is recorded: returns 2 if it was one of the
 * profiler's own, else 1 (a sampled block's removal may be applied a few
 * events later, but always before anything reads the profile). */
int hp_profile_remove(uintptr_t ptr, uint64_t now_ns) HP_HIDDEN_API;

/* Copies the profile out under the lock; now_ns (uptime) closes the
 * lifetimes of blocks still alive. Free with hp_profile_snapshot_free. */
int hp_profile_snapshot_take(hp_profile_snapshot *out, uint64_t now_ns) HP_HIDDEN_API;
void hp_profile_snapshot_free(hp_profile_snapshot *s) HP_HIDDEN_API;

/* Current estimates for one tag; returns 0 if the tag has any. */
int hp_profile_tag_estimate(uint32_t tag, hp_tag_estimate *out) HP_HIDDEN_API;

/* Frames of recorded stacks inside [lo, hi); see hp_stack_pcs_in_range. */
uintptr_t *hp_profile_pcs_in_range(uintptr_t lo, uintptr_t hi, size_t *count) HP_HIDDEN_API;

/* The profile lock (fork: taken in prepare and released in both; also what
 * a caller of hp_stack_intern holds). */
void hp_profile_lock(void) HP_HIDDEN_API;
void hp_profile_unlock(void) HP_HIDDEN_API;
void hp_profile_reset_lock(void) HP_HIDDEN_API;

#endif
