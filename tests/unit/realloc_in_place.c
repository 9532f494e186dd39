/*
 * realloc() decides by itself when a block stays where it is, using
 * mimalloc 2.0's rule (the new size fits the usable size and is at least half
 * of it), so that the program sees exactly the addresses bare mimalloc would
 * give it. Checked both ways over blocks of every kind (small, medium, large,
 * huge, aligned with interior pointers):
 *   - mimalloc itself, called directly, keeps a block in place exactly when
 *     the rule says so (if a mimalloc build ever changes the rule, this
 *     fails instead of the program quietly seeing different addresses);
 *   - realloc() under heapprof does the same, and counts an in-place realloc
 *     as one free and one allocation of the same usable size: lifetime
 *     totals grow, live bytes and objects do not move.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#define TRIALS 5000

static void *(*mi_malloc_fn)(size_t);
static void *(*mi_malloc_aligned_fn)(size_t, size_t);
static void *(*mi_realloc_fn)(void *, size_t);
static void (*mi_free_fn)(void *);
static size_t (*mi_usable_fn)(const void *);

static uint64_t rng = 0x2545f4914f6cdd1du;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static size_t random_size(void) {
    uint64_t r = next() % 1000;
    if (r < 650) return 1 + next() % 1024;
    if (r < 900) return 1025 + next() % (128 << 10);
    if (r < 997) return (128 << 10) + next() % (1 << 20);
    return (16 << 20) + next() % (8 << 20);
}

/* A request around the block's usable size: below half, between half and
 * all of it, and above it. */
static size_t new_size_for(size_t usable) {
    return 1 + next() % (2 * usable + 16);
}

static int rule_keeps(size_t usable, size_t n) {
    return n <= usable && n >= usable / 2;
}

static void mimalloc_follows_the_rule(void) {
    int kept = 0, moved = 0;
    for (int i = 0; i < TRIALS; i++) {
        size_t n = random_size();
        void *p = i % 5 == 0 ? mi_malloc_aligned_fn(n, (size_t)64 << (i % 7)) : mi_malloc_fn(n);
        CHECK(p != NULL);
        size_t u = mi_usable_fn(p), m = new_size_for(u);
        void *q = mi_realloc_fn(p, m);
        CHECK(q != NULL);
        if ((q == p) != rule_keeps(u, m)) {
            fprintf(stderr, "mimalloc: block of %zu (usable %zu) realloc'd to %zu: %s\n", n, u, m,
                    q == p ? "kept" : "moved");
            check_failures++;
        }
        q == p ? kept++ : moved++;
        mi_free_fn(q);
    }
    CHECK(kept > TRIALS / 10 && moved > TRIALS / 10);
}

static void heapprof_follows_the_rule(void) {
    int kept = 0;
    for (int i = 0; i < TRIALS; i++) {
        size_t n = random_size();
        void *p = i % 5 == 0 ? aligned_alloc((size_t)64 << (i % 7), n) : malloc(n);
        CHECK(p != NULL);
        size_t u = malloc_usable_size(p), m = new_size_for(u);
        heapprof_stats_t before, after;
        heapprof_stats(&before, sizeof before);
        void *q = realloc(p, m);
        heapprof_stats(&after, sizeof after);
        CHECK(q != NULL);
        if ((q == p) != rule_keeps(u, m)) {
            fprintf(stderr, "heapprof: block of %zu (usable %zu) realloc'd to %zu: %s\n", n, u, m,
                    q == p ? "kept" : "moved");
            check_failures++;
        }
        size_t nu = malloc_usable_size(q);
        if (q == p) {
            kept++;
            CHECK_EQ_U64(nu, u);
        }
        CHECK_EQ_U64(after.live_bytes - before.live_bytes, nu - u);
        CHECK_EQ_U64(after.live_objects, before.live_objects);
        CHECK_EQ_U64(after.alloc_bytes - before.alloc_bytes, nu);
        CHECK_EQ_U64(after.alloc_objects - before.alloc_objects, 1);
        CHECK_EQ_U64(after.freed_bytes - before.freed_bytes, u);
        free(q);
    }
    CHECK(kept > TRIALS / 10);
}

int main(void) {
    mi_malloc_fn = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "mi_malloc");
    mi_malloc_aligned_fn = (void *(*)(size_t, size_t))dlsym(RTLD_DEFAULT, "mi_malloc_aligned");
    mi_realloc_fn = (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "mi_realloc");
    mi_free_fn = (void (*)(void *))dlsym(RTLD_DEFAULT, "mi_free");
    mi_usable_fn = (size_t(*)(const void *))dlsym(RTLD_DEFAULT, "mi_usable_size");
    CHECK(mi_malloc_fn && mi_malloc_aligned_fn && mi_realloc_fn && mi_free_fn && mi_usable_fn);
    CHECK(heapprof_available());
    if (!mi_malloc_fn || !mi_malloc_aligned_fn || !mi_realloc_fn || !mi_free_fn || !mi_usable_fn)
        return CHECK_DONE();
    mimalloc_follows_the_rule();
    heapprof_follows_the_rule();
    return CHECK_DONE();
}
