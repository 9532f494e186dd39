/* Call stacks of sampled allocations: captured by the walker of unwind.c
 * (libunwind for the stacks it declines), the profiler's own frames removed,
 * interned by XXH3 so each distinct stack is stored once. */
#ifndef HP_STACKS_H
#define HP_STACKS_H

#include <stddef.h>
#include <stdint.h>

#define HP_MAX_DEPTH 256
/* Room for the profiler's own frames on top of a captured stack. */
#define HP_OWN_FRAMES_MAX 16

typedef struct hp_stack {
    uint64_t hash;
    uint32_t id;              /* dense, from 1, in order of first sight */
    uint32_t depth;           /* frames in pcs, leaf first */
    _Atomic(void *) site_hint; /* profile.c: the site this stack was last recorded in */
    uintptr_t pcs[];
} hp_stack;

/* Finds the address range of this library so its frames can be dropped.
 * Call once at start-up (it uses dl_iterate_phdr). */
void hp_stacks_init(void) __attribute__((visibility("hidden")));

/* Captures the caller's stack, leaf first, without the profiler's frames.
 * pcs[0] is the return address into the code that called malloc; the others
 * are return addresses too. pcs must hold max + HP_OWN_FRAMES_MAX entries.
 * Returns the number of frames (<= max). Does not allocate through the
 * profiled path; takes no lock unless it meets a return address for the
 * first time, or a stack the fast walker leaves to libunwind. If walk is
 * not NULL, *walk names the result: two captures of one thread with the
 * same nonzero *walk gave the same frames (0: not known). */
int hp_stack_capture(uintptr_t *pcs, int max, uint64_t *walk) __attribute__((visibility("hidden")));

/* Returns the interned stack for pcs (adding it if new), or NULL when out of
 * memory. Caller holds the profile lock. */
hp_stack *hp_stack_intern(const uintptr_t *pcs, int depth) __attribute__((visibility("hidden")));

/* The same in two steps, so that a known stack costs no lock: the hash of
 * pcs; the interned stack if there is one (any thread, no lock); interning
 * with a precomputed hash (profile lock held). */
uint64_t hp_stack_hash(const uintptr_t *pcs, int depth) __attribute__((visibility("hidden")));
hp_stack *hp_stack_find(const uintptr_t *pcs, int depth, uint64_t hash)
    __attribute__((visibility("hidden")));
hp_stack *hp_stack_intern_hashed(const uintptr_t *pcs, int depth, uint64_t hash)
    __attribute__((visibility("hidden")));

/* Fork handling: fork waits for captures in flight (see stacks.c). */
void hp_stacks_fork_prepare(void) __attribute__((visibility("hidden")));
void hp_stacks_fork_parent(void) __attribute__((visibility("hidden")));
void hp_stacks_fork_child(void) __attribute__((visibility("hidden")));
/* Holds fork off (the capture gate, read side) around a walk of the
 * loader's list outside the dump lock: a fork while dl_iterate_phdr holds
 * the loader's write lock leaves the child's copy of it locked forever.
 * Not re-entrant; call with the thread in internal mode (no captures). */
void hp_stacks_hold_fork(void) __attribute__((visibility("hidden")));
void hp_stacks_release_fork(void) __attribute__((visibility("hidden")));

/* Number of distinct stacks. Caller holds the profile lock. */
uint32_t hp_stack_count(void) __attribute__((visibility("hidden")));

/* The frames of all interned stacks that lie in [lo, hi) (with repeats), in
 * an hp_malloc'd array. Caller holds the profile lock. */
uintptr_t *hp_stack_pcs_in_range(uintptr_t lo, uintptr_t hi, size_t *count)
    __attribute__((visibility("hidden")));

#endif
