#define _GNU_SOURCE
#include "clock.h"
#include "dump.h"

#include <stdatomic.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>

/* From `tsc` on, uptime is ns + (tsc now - tsc) * mult / 2^32, until next. */
typedef struct anchor {
    uint64_t tsc, ns, mult, span; /* span: ticks until the next measurement */
} anchor;

#define ANCHORS 48 /* 20 ms doubled 47 times: longer than any process runs */
#define FIRST_NS 20000000u

static anchor anchors[ANCHORS];
static _Atomic int current = -1; /* the anchor in use; -1: none yet */
static atomic_flag measuring = ATOMIC_FLAG_INIT;
static uint64_t tsc0, ns0; /* the first reading; every rate is measured from it */
static int usable;

void hp_clock_start(void) {
    unsigned a, b, c, d;
    /* CPUID 0x80000007 EDX bit 8: the TSC runs at a constant rate in every
     * power state (and Linux keeps it synchronised across CPUs). */
    if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8))) return;
    ns0 = hp_uptime_ns();
    tsc0 = __rdtsc();
    usable = 1;
}

/* A new anchor at tsc t, continuing the current time line (mapped = where
 * it puts t) and slewed to meet CLOCK_MONOTONIC at the next measurement. */
static void measure(int i, uint64_t t, uint64_t mapped) {
    uint64_t real = hp_uptime_ns();
    if (real <= ns0 || t <= tsc0) return;
    unsigned __int128 rate = ((unsigned __int128)(real - ns0) << 32) / (t - tsc0);
    uint64_t span = 2 * (t - tsc0);
    /* ns to cover in `span` ticks: span at the measured rate, plus the gap */
    __int128 cover = (__int128)((rate * span) >> 32) + (__int128)real - (__int128)mapped;
    if (cover <= 0) cover = 1;
    anchor *n = &anchors[i + 1];
    n->tsc = t;
    n->ns = mapped;
    n->mult = (uint64_t)(((unsigned __int128)cover << 32) / span);
    n->span = i + 2 < ANCHORS ? span : UINT64_MAX;
    atomic_store_explicit(&current, i + 1, memory_order_release);
}

static uint64_t slow(int i, uint64_t t) {
    if (i < 0) {
        uint64_t now = hp_uptime_ns();
        if (usable && now - ns0 >= FIRST_NS && !atomic_flag_test_and_set(&measuring)) {
            if (atomic_load_explicit(&current, memory_order_relaxed) < 0)
                measure(-1, __rdtsc(), now);
            atomic_flag_clear(&measuring);
        }
        return now;
    }
    const anchor *a = &anchors[i];
    if (t < a->tsc) return a->ns; /* read on a CPU a hair behind the one that anchored */
    uint64_t mapped = a->ns + (uint64_t)(((unsigned __int128)(t - a->tsc) * a->mult) >> 32);
    if (!atomic_flag_test_and_set(&measuring)) {
        if (atomic_load_explicit(&current, memory_order_relaxed) == i) measure(i, t, mapped);
        atomic_flag_clear(&measuring);
    }
    return mapped;
}

uint64_t hp_clock_ns(void) {
    int i = atomic_load_explicit(&current, memory_order_acquire);
    if (__builtin_expect(i < 0, 0)) return slow(i, 0);
    const anchor *a = &anchors[i];
    uint64_t t = __rdtsc(), d = t - a->tsc;
    if (__builtin_expect(d >= a->span, 0)) return slow(i, t);
    return a->ns + (uint64_t)(((unsigned __int128)d * a->mult) >> 32);
}

#else

void hp_clock_start(void) {}
uint64_t hp_clock_ns(void) {
    return hp_uptime_ns();
}

#endif
