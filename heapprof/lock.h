/*
 * The lock of the sampling path (profile.c). In full mode every allocation
 * and free takes it, from every thread, for a few dozen instructions: a glibc
 * mutex put contended threads to sleep at once and woke them with a system
 * call per unlock (a fifth of producer/consumer's time was in futex calls).
 * This one spins briefly before sleeping, and an unlock without sleepers is
 * one atomic exchange (Drepper's "mutex 2", "Futexes Are Tricky"); in a
 * single-threaded process, no atomic at all.
 */
#ifndef HP_LOCK_H
#define HP_LOCK_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/single_threaded.h>

typedef struct hp_lock {
    _Atomic uint32_t v; /* 0 free, 1 held, 2 held and someone may sleep on it */
} hp_lock;

void hp_lock_wait(hp_lock *l) __attribute__((visibility("hidden")));
void hp_lock_wake(hp_lock *l) __attribute__((visibility("hidden")));

/* While the process has one thread (glibc clears __libc_single_threaded
 * for good when a second one is created) nobody else can hold the lock, and
 * the allocator's busy guard keeps a signal handler on the same thread out
 * of the sampling path: the lock is then taken and released with plain
 * stores, sparing two atomic instructions per sampled event. */
static inline void hp_lock_acquire(hp_lock *l) {
    if (__libc_single_threaded) {
        atomic_store_explicit(&l->v, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        return;
    }
    uint32_t free_ = 0;
    if (__builtin_expect(atomic_compare_exchange_strong_explicit(
                             &l->v, &free_, 1, memory_order_acquire, memory_order_relaxed),
                         1))
        return;
    hp_lock_wait(l);
}

static inline void hp_lock_release(hp_lock *l) {
    if (__libc_single_threaded) {
        atomic_signal_fence(memory_order_seq_cst);
        atomic_store_explicit(&l->v, 0, memory_order_relaxed);
        return;
    }
    if (__builtin_expect(atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2, 0))
        hp_lock_wake(l);
}

/* After fork, in the child: the lock's holder may not exist there. */
static inline void hp_lock_reset(hp_lock *l) {
    atomic_store_explicit(&l->v, 0, memory_order_relaxed);
}

#endif
