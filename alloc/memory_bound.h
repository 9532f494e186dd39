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

#include "mi_tuning.h"
#include "thread_state.h"

/* Above this many bytes a request is checked against RAM + swap; SIZE_MAX
 * when the kernel does not refuse such requests itself (overcommit 1 or 2). */
extern size_t hp_memory_bound HP_HIDDEN;

void hp_memory_bound_init(void) HP_HIDDEN;

/* The first byte of /proc/sys/vm/overcommit_memory ('0', '1', '2'), 0 if unknown. */
char hp_overcommit_mode(void) HP_HIDDEN;

/* Requests of 4 MiB or more (HP_THP_ARENA_TRIGGER_BYTES) pass here: refused
 * when beyond memory, else counted towards the THP arena's automatic mode
 * (mi_tuning.h). */
int hp_large_request_seen(size_t n) HP_HIDDEN;

/* Nonzero if a request of n bytes must fail with ENOMEM. One compare for
 * everything under 4 MiB; called only by the paths that see requests above
 * 1 KiB, never by the small-block fast path. */
static inline int hp_refuse_request(size_t n) {
    return HP_UNLIKELY(n >= HP_THP_ARENA_TRIGGER_BYTES) && hp_large_request_seen(n);
}

#endif
