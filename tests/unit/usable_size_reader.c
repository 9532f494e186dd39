/*
 * free() learns a block's usable size by reading mimalloc's page metadata
 * directly (alloc/mi_layout.h) instead of calling mi_usable_size(). Every
 * counter depends on that answer, and malloc_usable_size() returns it too,
 * so it is checked here against mimalloc's own mi_usable_size(), looked up
 * in libmimalloc itself, over blocks of every kind: small and medium size
 * classes, blocks deep inside multi-slice pages, large and huge blocks,
 * aligned blocks (interior pointers), calloc, realloc growth and shrinking,
 * and blocks freed by another thread. The process counters must then move
 * by exactly mimalloc's usable sizes.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define BLOCKS 6000

static size_t (*mi_usable)(const void *);
static void *blocks[BLOCKS];

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* Mostly small, some medium, a few large and huge. */
static size_t random_size(void) {
    uint64_t r = next() % 1000;
    if (r < 700) return 1 + next() % 1024;
    if (r < 950) return 1025 + next() % (128 << 10);
    if (r < 995) return (128 << 10) + next() % (4 << 20);
    return (16 << 20) + next() % (8 << 20);
}

static void *random_block(void) {
    size_t n = random_size();
    switch (next() % 6) {
    case 0: {
        void *p = NULL;
        size_t a = (size_t)1 << (3 + next() % 14); /* 8 B .. 64 KiB */
        return posix_memalign(&p, a, n) == 0 ? p : NULL;
    }
    case 1:
        return calloc(1, n);
    case 2:
        return realloc(malloc(n / 2 + 1), n);
    case 3:
        return realloc(malloc(n + 100), n / 3 + 1);
    default:
        return malloc(n);
    }
}

static int64_t live_bytes(void) {
    heapprof_stats_t s;
    heapprof_stats(&s, sizeof s);
    return (int64_t)s.live_bytes;
}

/* The freeing thread exists before the first measurement: creating a
 * thread allocates (glibc's TLS vectors), which is not what is measured. */
static pthread_barrier_t go, done;

static void *free_half(void *arg) {
    (void)arg;
    pthread_barrier_wait(&go);
    for (int i = 0; i < BLOCKS; i += 2)
        free(blocks[i]);
    live_bytes(); /* flushes this thread's pending deltas */
    pthread_barrier_wait(&done);
    return NULL;
}

int main(void) {
    mi_usable = (size_t(*)(const void *))dlsym(RTLD_DEFAULT, "mi_usable_size");
    CHECK(mi_usable != NULL);
    if (!mi_usable) return CHECK_DONE();

    pthread_t t;
    pthread_barrier_init(&go, NULL, 2);
    pthread_barrier_init(&done, NULL, 2);
    pthread_create(&t, NULL, free_half, NULL);
    int64_t before = live_bytes(), expected = 0;
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = random_block();
        CHECK(blocks[i] != NULL);
        CHECK_EQ_U64(malloc_usable_size(blocks[i]), mi_usable(blocks[i]));
        expected += (int64_t)mi_usable(blocks[i]);
    }
    CHECK_EQ_U64(live_bytes() - before, expected);

    /* Every other block freed by another thread, the rest here. */
    int64_t odd = 0;
    for (int i = 1; i < BLOCKS; i += 2)
        odd += (int64_t)mi_usable(blocks[i]);
    pthread_barrier_wait(&go);
    pthread_barrier_wait(&done);
    CHECK_EQ_U64(live_bytes() - before, odd);
    for (int i = 1; i < BLOCKS; i += 2)
        free(blocks[i]);
    CHECK_EQ_U64(live_bytes(), before);
    pthread_join(t, NULL);
    return CHECK_DONE();
}
