#define _GNU_SOURCE
#include "big_cache.h"

#include <mimalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define SLOTS 8
#define CACHE_BYTES ((size_t)64 << 20)
#define IDLE_NS ((uint64_t)2000000000) /* released after 2 s unused */
/* Blocks are kept only once the program has shown the pattern: its first
 * big requests' blocks go straight back (as glibc returns its first mmapped
 * chunks), so a program that frees one big buffer early and never makes
 * another does not keep it. */
#define KEEP_AFTER 4
#define IDLE_CHECK_NS ((uint64_t)500000000)

typedef struct kept {
    void *p; /* NULL: free slot */
    size_t usable;
    uint64_t since_ns;
} kept;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t big_requests;    /* requests the cache could have served */
static uint64_t last_idle_check; /* ns */
static kept slot[SLOTS];
static size_t bytes;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Takes slot i out; lock held. */
static void *drop(int i) {
    void *p = slot[i].p;
    __atomic_store_n(&bytes, bytes - slot[i].usable, __ATOMIC_RELAXED); /* also read unlocked */
    slot[i].p = NULL;
    return p;
}

/* Moves blocks kept at least `age` into out[]; lock held. Returns how many. */
static int expire(uint64_t now, uint64_t age, void **out) {
    int n = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slot[i].p && now - slot[i].since_ns >= age) out[n++] = drop(i);
    return n;
}

/* Freed outside the lock: mimalloc may unmap. */
static void release(void **blocks, int n) {
    for (int i = 0; i < n; i++)
        mi_free(blocks[i]);
}

/* Releases the blocks kept at least `age`; returns their bytes. */
static size_t release_older(uint64_t age) {
    void *out[SLOTS];
    pthread_mutex_lock(&lock);
    size_t before = bytes;
    int n = expire(now_ns(), age, out);
    size_t released = before - bytes;
    pthread_mutex_unlock(&lock);
    release(out, n);
    return released;
}

void *hp_big_take(size_t n) {
    if (n < HP_BIG_MIN / 4 * 3 || n > HP_BIG_MAX) return NULL;
    if (__atomic_load_n(&big_requests, __ATOMIC_RELAXED) < KEEP_AFTER)
        __atomic_add_fetch(&big_requests, 1, __ATOMIC_RELAXED);
    if (!__atomic_load_n(&bytes, __ATOMIC_RELAXED)) return NULL;
    void *stale[SLOTS], *p = NULL;
    pthread_mutex_lock(&lock);
    int best = -1;
    for (int i = 0; i < SLOTS; i++)
        if (slot[i].p && slot[i].usable >= n && slot[i].usable / 4 * 3 <= n &&
            (best < 0 || slot[i].usable < slot[best].usable))
            best = i;
    if (best >= 0) p = drop(best);
    int nstale = expire(now_ns(), IDLE_NS, stale);
    pthread_mutex_unlock(&lock);
    release(stale, nstale);
    return p;
}

int hp_big_keep(void *p, size_t usable) {
    if (usable < HP_BIG_MIN || usable > HP_BIG_MAX ||
        __atomic_load_n(&big_requests, __ATOMIC_RELAXED) < KEEP_AFTER)
        return 0;
    void *out[SLOTS + 1];
    uint64_t now = now_ns();
    pthread_mutex_lock(&lock);
    int n = expire(now, IDLE_NS, out);
    /* Room for it: the oldest blocks make way. */
    for (;;) {
        int oldest = -1, empty = -1;
        for (int i = 0; i < SLOTS; i++) {
            if (!slot[i].p)
                empty = i;
            else if (oldest < 0 || slot[i].since_ns < slot[oldest].since_ns)
                oldest = i;
        }
        if (empty >= 0 && bytes + usable <= CACHE_BYTES) {
            slot[empty] = (kept){p, usable, now};
            __atomic_store_n(&bytes, bytes + usable, __ATOMIC_RELAXED);
            break;
        }
        out[n++] = drop(oldest); /* oldest exists: usable <= CACHE_BYTES */
    }
    pthread_mutex_unlock(&lock);
    release(out, n);
    return 1;
}

void hp_big_idle_check(void) {
    if (!__atomic_load_n(&bytes, __ATOMIC_RELAXED)) return;
    uint64_t now = now_ns();
    if (now - __atomic_load_n(&last_idle_check, __ATOMIC_RELAXED) < IDLE_CHECK_NS) return;
    __atomic_store_n(&last_idle_check, now, __ATOMIC_RELAXED);
    release_older(IDLE_NS);
}

size_t hp_big_release_all(void) {
    return release_older(0);
}

void hp_big_fork_prepare(void) {
    pthread_mutex_lock(&lock);
}
void hp_big_fork_parent(void) {
    pthread_mutex_unlock(&lock);
}
void hp_big_fork_child(void) {
    pthread_mutex_init(&lock, NULL);
}
