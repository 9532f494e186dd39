/*
 * A stack walker for the common case, in front of libunwind: the unwind
 * rule of every return address (CFA = rsp or rbp + offset, return address
 * at CFA - 8, rbp unchanged or saved at CFA + offset) is read once from the
 * module's .eh_frame and cached in a table shared by all threads, which
 * later walks read without locks. Anything else (signal frames, DWARF
 * expressions, code without unwind tables, a stack it does not know) is
 * left to libunwind. Its output is what unw_backtrace returns from the
 * same call site: the return addresses themselves (as libunwind 1.6
 * reports them), innermost first.
 */
#ifndef HP_UNWIND_H
#define HP_UNWIND_H

#include <stdint.h>

enum {
    HP_UNWIND_FAIL = -1,      /* a frame this walker does not handle: use libunwind */
    HP_UNWIND_MISS = -2,      /* *miss has no cached rule yet: hp_unwind_fill, then retry */
    HP_UNWIND_NO_BOUNDS = -3, /* this thread's stack is not known yet: hp_unwind_thread_init */
};

/* Walks at most `limit` frames, from the return address into the caller of
 * hp_unwind outwards, and records up to max of them in pcs, leaving out
 * the leading ones whose return address lies in [skip_lo, skip_hi) (the
 * profiler's own). Returns the count or one of the codes above. Takes no
 * locks, allocates nothing, reads only the calling thread's stack.
 * On success *walk names the result: two walks of one thread with the same
 * nonzero *walk gave the same frames (0: not known). */
int hp_unwind(uintptr_t *pcs, int max, int limit, uintptr_t skip_lo, uintptr_t skip_hi,
              uintptr_t *miss, uint64_t *walk) __attribute__((visibility("hidden")));

/* Reads and caches the rule for pc. Serialised internally; call it with
 * fork held off (stacks.c's capture gate), as it walks the loader's list. */
void hp_unwind_fill(uintptr_t pc) __attribute__((visibility("hidden")));

/* Drops every cached rule (a module was unloaded). Takes the fill lock. */
void hp_unwind_forget(void) __attribute__((visibility("hidden")));

/* Fork: the fill lock is taken in prepare (after the capture gate) and
 * released, or re-initialised in the child. */
void hp_unwind_fork_prepare(void) __attribute__((visibility("hidden")));
void hp_unwind_fork_parent(void) __attribute__((visibility("hidden")));
void hp_unwind_fork_child(void) __attribute__((visibility("hidden")));

/* Learns the calling thread's stack bounds; may allocate (glibc), so call it
 * with the thread's allocations charged to the profiler. 0 on success. */
int hp_unwind_thread_init(void) __attribute__((visibility("hidden")));

#endif
