#define _GNU_SOURCE
#include "lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Spin before sleeping: the holder is usually running on another core and
 * about to release (critical sections are well under a microsecond); when
 * it is not running (more threads than cores), sleeping soon leaves it the
 * core. The waits between looks double, so that waiters do not keep pulling
 * the lock's cache line away from the holder, which needs it to release. */
#define SPIN_ROUNDS 7 /* 1 + 2 + ... + 64 pauses */

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void hp_lock_wait(hp_lock *l) {
    for (int round = 0; round < SPIN_ROUNDS; round++) {
        for (int i = 0; i < 1 << round; i++) relax();
        uint32_t free_ = 0;
        if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&l->v, &free_, 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
    /* Mark it contended; whoever releases it then wakes one sleeper. */
    while (atomic_exchange_explicit(&l->v, 2, memory_order_acquire) != 0)
        syscall(SYS_futex, &l->v, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void hp_lock_wake(hp_lock *l) {
    syscall(SYS_futex, &l->v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
