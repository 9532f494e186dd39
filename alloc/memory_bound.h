/*
 * Requests larger than the machine's memory fail, as they do under glibc.
 * With the kernel's default overcommit heuristic (vm.overcommit_memory = 0)
 * a single mapping larger than RAM plus swap is refused, so glibc's malloc
 * returns NULL for it; mimalloc maps with MAP_NORESERVE, which the heuristic
 * does not check, so malloc(1 << 46) would succeed and the program learn of
 * it only from the OOM killer (a Python MemoryError, a C++ bad_alloc that
 * never come). Only the paths that see requests above 1 KiB check.
 */
#ifndef HP_MEMORY_BOUND_H
#define HP_MEMORY_BOUND_H

#include "thread_state.h"

/* Above this many bytes a request is checked against RAM + swap; SIZE_MAX
 * when the kernel does not refuse such requests itself (overcommit 1 or 2). */
extern size_t hp_memory_bound HP_HIDDEN;

void hp_memory_bound_init(void) HP_HIDDEN;
int hp_exceeds_memory_now(size_t n) HP_HIDDEN;

/* Nonzero if a request of n bytes must fail with ENOMEM. */
static inline int hp_exceeds_memory(size_t n) {
    return HP_UNLIKELY(n > __atomic_load_n(&hp_memory_bound, __ATOMIC_RELAXED)) &&
           hp_exceeds_memory_now(n);
}

#endif
