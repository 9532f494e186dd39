#define _GNU_SOURCE
#include "triggers.h"
#include "../alloc/counters.h"
#include "../alloc/sampler_hooks.h"
#include "config.h"
#include "dump.h"
#include "log.h"
#include "pyroscope.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A peak dump needs the heap to grow past this before the first one, so a
 * small start-up heap does not produce a burst of tiny dumps. */
#define PEAK_BASELINE_BYTES ((int64_t)1 << 20)
#define PEAK_MIN_GAP_NS 1000000000ull

int64_t hp_peak_trigger_at = INT64_MAX;

/* The background thread sleeps on a semaphore, not on a descriptor: a
 * descriptor would take the lowest free number (0 when the program starts
 * with stdin closed, shifting every descriptor the program opens), and a
 * program that closes descriptors it does not know (closefrom(3), daemons)
 * would leave the thread polling a closed number (POLLNVAL: a busy loop) or
 * one the program reopened (the thread would read the program's data, a
 * signal or peak wake-up would write 8 bytes into its file). */
static sem_t wake_sem;
static atomic_int wake_armed;
static atomic_int signal_pending, peak_pending;
static int running;

static void wake(void) {
    int saved = errno;
    sem_post(&wake_sem);
    errno = saved;
}

/* Async-signal-safe: a flag and sem_post(3). */
static void on_signal(int sig) {
    (void)sig;
    atomic_store(&signal_pending, 1);
    wake();
}

/* Called from a counter flush that took the process past the threshold. */
void hp_trigger_peak(void) {
    if (!atomic_load(&wake_armed) || atomic_exchange(&peak_pending, 1)) return;
    wake();
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_peak_threshold(int64_t live) {
    if (live < PEAK_BASELINE_BYTES) live = PEAK_BASELINE_BYTES;
    double at = (double)live * hp_cfg.peak_dump;
    __atomic_store_n(&hp_peak_trigger_at, at > 0x1p62 ? INT64_MAX : (int64_t)at, __ATOMIC_RELAXED);
}

static void *background(void *arg) {
    (void)arg;
    hp_internal_enter(); /* everything this thread allocates is the profiler's */
    hp_thread_stop_sampling();
    uint64_t interval_ns = (uint64_t)(hp_cfg.interval * 1e9);
    uint64_t next_interval = interval_ns ? now_ns() + interval_ns : UINT64_MAX;
    uint64_t last_peak_dump = 0;
    /* Pyroscope export (pyroscope.c): a schedule of its own, as it runs
     * also when no interval dumps are configured */
    uint64_t push_ns = hp_pyroscope_interval_ns();
    uint64_t next_push = push_ns ? now_ns() + push_ns : UINT64_MAX;
    for (;;) {
        uint64_t now = now_ns();
        int timeout = -1;
        uint64_t next = next_interval < next_push ? next_interval : next_push;
        if (next != UINT64_MAX) timeout = next > now ? (int)((next - now) / 1000000 + 1) : 0;
        if (atomic_load(&peak_pending) && now < last_peak_dump + PEAK_MIN_GAP_NS) {
            int gap = (int)((last_peak_dump + PEAK_MIN_GAP_NS - now) / 1000000 + 1);
            if (timeout < 0 || gap < timeout) timeout = gap;
        }
        if (timeout < 0) {
            sem_wait(&wake_sem);
        } else {
            uint64_t until = now + (uint64_t)timeout * 1000000ull;
            struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
            sem_clockwait(&wake_sem, CLOCK_MONOTONIC, &ts);
        }
        while (sem_trywait(&wake_sem) == 0) {
        } /* several wake-ups, one pass */
        now = now_ns();
        if (atomic_exchange(&signal_pending, 0)) hp_dump("signal");
        if (now >= next_interval) {
            hp_dump("interval");
            while (next_interval <= now)
                next_interval += interval_ns;
        }
        if (now >= next_push) {
            hp_pyroscope_push();
            now = now_ns(); /* an upload can take seconds: do not catch up in a burst */
            while (next_push <= now)
                next_push += push_ns;
        }
        if (atomic_load(&peak_pending) && now >= last_peak_dump + PEAK_MIN_GAP_NS) {
            atomic_store(&peak_pending, 0);
            heapprof_stats_t s;
            hp_counters_read(&s);
            /* Only a peak dump moves the threshold: a spike freed before this
             * (rate-limited) check must not lower the bar for the next one. */
            if ((int64_t)s.live_bytes >= __atomic_load_n(&hp_peak_trigger_at, __ATOMIC_RELAXED)) {
                hp_dump("peak");
                last_peak_dump = now_ns();
                set_peak_threshold((int64_t)s.live_bytes);
            }
        }
    }
    return NULL;
}

static int start_thread(void) {
    if (sem_init(&wake_sem, 0, 0)) return -1;
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The thread must not take signals meant for the program. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&th, &attr, background, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc) {
        errno = rc;
        return -1;
    }
    atomic_store(&wake_armed, 1);
    pthread_setname_np(th, "heapprof");
    return 0;
}

void hp_triggers_start(void) {
    int want = hp_cfg.interval > 0 || hp_cfg.signal || hp_cfg.peak_dump > 0 ||
               hp_pyroscope_interval_ns() > 0;
    if (!want) return;
    /* Dumps from the background thread would dlopen their libraries while
     * the program runs, and the loader's short-lived descriptors would be
     * exposed to a program that closes one of its own twice (fd_high.h):
     * bash's double close made those loads fail. Loaded now, before main. */
    hp_dump_load_libraries();
    if (start_thread()) {
        hp_info("cannot start the background thread (%s); interval, signal and peak dumps are off",
                strerror(errno));
        return;
    }
    running = 1;
    if (hp_cfg.signal) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(hp_cfg.signal, &sa, NULL))
            hp_info("cannot handle signal %d (%s); signal dumps are off", hp_cfg.signal,
                    strerror(errno));
    }
    if (hp_cfg.peak_dump > 0) {
        heapprof_stats_t s;
        hp_counters_read(&s);
        set_peak_threshold((int64_t)s.live_bytes);
    }
}

/* The child has no background thread (and the semaphore's state is a copy
 * of a moment the parent's thread may have been inside sem_wait): start
 * both afresh. */
void hp_triggers_after_fork_child(void) {
    if (!running) return;
    atomic_store(&wake_armed, 0);
    atomic_store(&signal_pending, 0);
    atomic_store(&peak_pending, 0);
    hp_pyroscope_after_fork_child();
    if (start_thread()) running = 0;
}
