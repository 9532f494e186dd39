/*
 * Poisson sampling by bytes (see docs/internals.md#sampling): the distance
 * to the next sample point is exponential with mean `rate`, drawn from a
 * per-thread xoshiro128+ generator; a sampled request of n bytes stands for
 * 1/(1 - exp(-n/rate)) requests.
 */
#define _GNU_SOURCE
#include "sampler.h"
#include "../alloc/counters.h"
#include "../alloc/sampler_hooks.h"
#include "clock.h"
#include "config.h"
#include "dump.h"
#include "log.h"
#include "profile.h"
#include "stacks.h"

#include <math.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <time.h>

uint32_t hp_sampler_generation = 1; /* threads start at 0, so all draw once */
static int64_t rate;                /* 0 until started */
static atomic_uint_fast64_t thread_ordinal;

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void seed_thread(hp_thread *t) {
    uint64_t s;
    uint64_t ordinal = atomic_fetch_add(&thread_ordinal, 1);
    if (hp_cfg.seed_set) {
        s = hp_cfg.seed ^ (ordinal * 0xd1b54a32d192ed03ULL);
    } else if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)t ^ ordinal;
    }
    t->prng[0] = splitmix64(&s);
    t->prng[1] = splitmix64(&s) | 1; /* never both zero */
}

static uint64_t next_u64(hp_thread *t) { /* xorshift128+ */
    uint64_t s1 = t->prng[0];
    const uint64_t s0 = t->prng[1];
    t->prng[0] = s0;
    s1 ^= s1 << 23;
    t->prng[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
    return t->prng[1] + s0;
}

int64_t hp_sampler_next_distance(hp_thread *t) {
    if (rate == 0) return INT64_MAX;
    if (rate == 1) return 0;
    if (!t->prng[0] && !t->prng[1]) seed_thread(t);
    double u = (double)(next_u64(t) >> 11) * 0x1.0p-53; /* [0, 1) */
    double d = ceil(-log1p(-u) * (double)rate);         /* exponential, mean rate */
    if (d < 1) return 1;
    return d > 0x1.0p62 ? (int64_t)1 << 62 : (int64_t)d;
}

double hp_sampler_weight(uint64_t n) {
    if (rate <= 1 || n == 0) return 1.0;
    return 1.0 / -expm1(-(double)n / (double)rate);
}

int64_t hp_sampler_rate(void) { return rate; }

void hp_sampler_start(void) {
    if (hp_cfg.rate > 0) {
        hp_stacks_init();
        hp_clock_start();
    }
    rate = hp_cfg.rate;
    __atomic_add_fetch(&hp_sampler_generation, 1, __ATOMIC_RELAXED);
    /* This thread takes its next allocation through the slow path and
     * starts sampling there; others do within HP_FLUSH_BYTES. */
    hp_self.countdown = 0;
}

void hp_sampler_on_alloc(hp_thread *t, void *p, size_t usable, size_t requested) {
    uintptr_t pcs[HP_MAX_DEPTH + HP_OWN_FRAMES_MAX];
    hp_profile_prefetch((uintptr_t)p); /* its live-table slot arrives while we unwind */
    uint64_t walk;
    int depth = hp_stack_capture(pcs, hp_cfg.depth, &walk);
    hp_profile_add((uintptr_t)p, pcs, depth, walk, t->tag, t->labels, usable, requested,
                   hp_sampler_weight(requested), hp_clock_ns());
}

void hp_sampler_on_internal_alloc(void *p, size_t usable) {
    hp_profile_add((uintptr_t)p, NULL, -1, 0, 0, 0, usable, usable, 0, 0);
}

enum hp_block_kind hp_sampler_on_free(hp_thread *t, void *p) {
    (void)t;
    hp_profile_prefetch((uintptr_t)p);
    return (enum hp_block_kind)hp_profile_remove((uintptr_t)p, hp_clock_ns());
}
