/*
 * A few freed big blocks (4-32 MiB) kept for the next requests of about
 * their size, instead of going back to mimalloc.
 *
 * Why (DESIGN.md §6): Debian's mimalloc 2.0.9 hands a freed block of 4 MiB
 * or more back to the OS at once (a huge block's segment is unmapped) or
 * after 25 ms (a large block's span is decommitted), so a program that
 * frees and allocates buffers of that size over and over pays a page fault
 * per 4 KiB each time, with the kernel zeroing every page: bench/'s `large`
 * took 2.5x glibc's time. glibc keeps such blocks in its heap (its mmap
 * threshold rises to 32 MiB once a block of that size is freed) and reuses
 * them. This cache does the same on a small scale: at most 64 MiB in at most
 * 8 blocks, each reused for a request between 3/4 of its size and its size
 * (the smallest that fits), and released to mimalloc after 2 s unused
 * (checked at big allocations and frees, and at the allocation slow path's
 * batch flushes), so a program that stops making big calls does not keep
 * them. Blocks are kept only after the program's first 4 big requests. On `large` at scale 0.2
 * (bench/RESULTS.md, session 4): page faults 537 k -> 283 k (glibc 216 k), CPU time about glibc's,
 * peak RSS 401 -> 463-477 MiB (glibc 434; reuse for half the size: 505 MiB; a 128 MiB cache: 498
 * MiB).
 *
 * A kept block is an ordinary mimalloc block throughout: handing it out
 * again changes no address-space limit or accounting a program can see
 * (unlike an arena reservation, alloc/mi_tuning.c), as reusing freed heap
 * memory under glibc would not. Plain requests only: calloc and aligned
 * requests go to mimalloc, whose fresh huge pages come zeroed.
 */
#ifndef HP_ALLOC_BIG_CACHE_H
#define HP_ALLOC_BIG_CACHE_H

#include "thread_state.h"

#include <mimalloc.h>
#include <stddef.h>

#define HP_BIG_MIN ((size_t)4 << 20)  /* smallest block kept */
#define HP_BIG_MAX ((size_t)32 << 20) /* largest block kept */

/* A kept block whose usable size u satisfies n <= u <= 4n/3, or NULL. */
void *hp_big_take(size_t n) HP_HIDDEN;

/* Keeps p (usable bytes, not yet freed) for reuse; returns 0 when it is not
 * kept and the caller must free it. */
int hp_big_keep(void *p, size_t usable) HP_HIDDEN;

/* mi_malloc(n) for a plain request, served from the cache when it can be. */
static inline void *hp_mi_malloc_reusing(size_t n) {
    void *p = HP_UNLIKELY(n >= HP_BIG_MIN / 4 * 3) ? hp_big_take(n) : NULL;
    return p ? p : mi_malloc(n);
}

/* Fork handlers (counters.c): the cache's lock across fork. */
void hp_big_fork_prepare(void) HP_HIDDEN;
void hp_big_fork_parent(void) HP_HIDDEN;
void hp_big_fork_child(void) HP_HIDDEN;

/* Releases blocks kept for too long; cheap when none is kept. Called from
 * the allocation slow path at each batch flush (every 256 KiB a thread
 * allocates or frees), so blocks do not outlive their 2 s in a program
 * that makes no more big calls. */
void hp_big_idle_check(void) HP_HIDDEN;

/* Releases every kept block to mimalloc (malloc_trim); returns the bytes. */
size_t hp_big_release_all(void) HP_HIDDEN;

#endif
