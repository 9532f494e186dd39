/*
 * What the allocator asks of the sampler (implemented in heapprof/sampler.c).
 * The allocator decides *when* a block is sampled; the sampler draws the
 * distances and records what a sample means (stack, tag, weight).
 */
#ifndef HP_SAMPLER_HOOKS_H
#define HP_SAMPLER_HOOKS_H

#include "thread_state.h"

/* Bumped whenever the sampling configuration changes; a thread whose
 * `sampler_gen` differs re-draws its distance on its next slow path. */
extern uint32_t hp_sampler_generation HP_HIDDEN;

/* Requested bytes to the next sample point: >= 1; 0 when every allocation
 * is sampled (rate 1); INT64_MAX when sampling is off. */
int64_t hp_sampler_next_distance(hp_thread *t) HP_HIDDEN;

/* A block chosen for sampling was allocated at p.
 * Called on the allocating thread with its slow-path guard held, so
 * allocations made while recording are plain and unsampled. */
void hp_sampler_on_alloc(hp_thread *t, void *p, size_t usable, size_t requested) HP_HIDDEN;

/* The profiler itself allocated p (libunwind's caches, say): it is tracked
 * so that its free, wherever it happens, is charged to the profiler too. */
void hp_sampler_on_internal_alloc(void *p, size_t usable) HP_HIDDEN;

enum hp_block_kind { HP_BLOCK_UNTRACKED = 0, HP_BLOCK_SAMPLED, HP_BLOCK_INTERNAL };

/* The block p, which may be tracked, is about to be freed or reallocated:
 * forgets it and says what it was. */
enum hp_block_kind hp_sampler_on_free(hp_thread *t, void *p) HP_HIDDEN;

/* Adds a thread's flushed lifetime totals to its current tag (heapprof/tags.c). */
void hp_tag_account(uint32_t tag, uint64_t bytes, uint64_t objects) HP_HIDDEN;

/* The tag every thread starts with (HEAPPROF_TAG). */
uint32_t hp_tag_initial(void) HP_HIDDEN;

/* Live bytes above which a counter flush wakes the peak-dump trigger
 * (INT64_MAX when HEAPPROF_PEAK_DUMP is off), and the wake-up itself. */
extern int64_t hp_peak_trigger_at HP_HIDDEN;
void hp_trigger_peak(void) HP_HIDDEN;

#endif
