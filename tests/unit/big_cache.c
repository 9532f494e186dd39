/*
 * Freed blocks of 4-32 MiB are kept for reuse (alloc/big_cache.h), as glibc
 * keeps them in its heap, instead of going back to the OS under mimalloc:
 *   - a request of 3/4 of a freed block's size up to its size gets that
 *     block back, already paged in (writing it all takes almost no page
 *     faults; a fresh block takes one per 4 KiB); a smaller one does not;
 *   - the counters never include a kept block: live bytes go down at free
 *     and up again at reuse by the usable size the program sees;
 *   - calloc never gets a kept block (its memory must read as zeros);
 *   - the first big blocks a program frees are not kept; a kept block is
 *     released after 2 s unused (found by the small-allocation slow path,
 *     without another big call), or by malloc_trim: resident memory drops;
 *   - threads freeing and taking big blocks concurrently, and a forked
 *     child, see intact contents and exact counters.
 * Runs under the preloaded library at the default sampling rate, so the big
 * blocks here are sampled ones too.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)

static long minor_faults(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    long v = -1;
    if (f) {
        /* field 10: minflt; the command name (2) has no blanks here */
        if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %ld", &v) != 1) v = -1;
        fclose(f);
    }
    return v;
}

static long resident_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = -1, resident = -1;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t live_bytes(void) {
    heapprof_stats_t s;
    heapprof_stats(&s, sizeof s);
    return s.live_bytes;
}

static void reuse(void) {
    uint64_t base = live_bytes();
    char *p = malloc(20 * MiB);
    CHECK(p != NULL);
    size_t up = malloc_usable_size(p);
    memset(p, 0xab, 20 * MiB);
    CHECK_EQ_U64(live_bytes(), base + up);
    free(p);
    CHECK_EQ_U64(live_bytes(), base);

    /* too small for it (under 3/4): a different block */
    char *small = malloc(10 * MiB);
    CHECK(small != p);
    free(small);

    long before = minor_faults();
    char *q = malloc(18 * MiB);
    CHECK(q == p);
    CHECK_EQ_U64(malloc_usable_size(q), up);
    CHECK_EQ_U64(live_bytes(), base + up);
    memset(q, 0xcd, 18 * MiB);
    long faults = minor_faults() - before;
    fprintf(stderr, "faults writing a reused 18 MiB block: %ld\n", faults);
    CHECK(faults >= 0 && faults < 200); /* a fresh one takes ~4600 */

    /* realloc of a reused block keeps its contents */
    char *r = realloc(q, 19 * MiB);
    CHECK(r != NULL && r[0] == (char)0xcd && r[18 * MiB - 1] == (char)0xcd);
    free(r);
    CHECK_EQ_U64(live_bytes(), base);
}

static void calloc_is_zero(void) {
    char *p = malloc(12 * MiB);
    memset(p, 0x5a, 12 * MiB);
    free(p);
    char *z = calloc(1, 12 * MiB);
    CHECK(z != NULL); /* it may be p's address only if mimalloc gave that back zeroed */
    int nonzero = 0;
    for (size_t i = 0; z && i < 12 * MiB; i += 4096)
        nonzero += z[i] != 0;
    CHECK(nonzero == 0);
    free(z);
}

static void released_by_trim(void) {
    char *p = malloc(20 * MiB);
    memset(p, 1, 20 * MiB);
    free(p);
    long kept = resident_kib();
    CHECK(malloc_trim(0) == 1);
    long after = resident_kib();
    fprintf(stderr, "resident KiB: kept %ld, after malloc_trim %ld\n", kept, after);
    CHECK(after < kept - 16 * 1024);
    CHECK(malloc_trim(0) == 0); /* nothing kept any more */
}

/* Before the program has made 4 big requests, a freed big block goes back
 * at once (as glibc returns its first mmapped chunks). */
static void first_ones_not_kept(void) {
    char *p = malloc(24 * MiB);
    memset(p, 1, 24 * MiB);
    long with = resident_kib();
    free(p);
    long after = resident_kib();
    fprintf(stderr, "resident KiB: first big block in use %ld, freed %ld\n", with, after);
    CHECK(after < with - 16 * 1024);
    for (int i = 0; i < 4; i++) /* the pattern: from here on blocks are kept */
        free(malloc(5 * MiB));
}

static void released_when_idle(void) {
    char *p = malloc(24 * MiB);
    memset(p, 1, 24 * MiB);
    long with = resident_kib();
    free(p); /* kept */
    long kept = resident_kib();
    sleep(3);
    /* no big call: small allocations' batch flushes let the idle one go */
    void *small[4096];
    for (int i = 0; i < 4096; i++)
        small[i] = malloc(256);
    for (int i = 0; i < 4096; i++)
        free(small[i]);
    long after = resident_kib();
    fprintf(stderr, "resident KiB: in use %ld, kept %ld, after 3 s idle %ld\n", with, kept, after);
    CHECK(kept > with - 4096);       /* still there while kept */
    CHECK(after < kept - 16 * 1024); /* 24 MiB went back */
}

#define THREADS 4
#define ROUNDS 200

static void *worker(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    int bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        size_t n = (4 + (i * 7 + id * 3) % 20) * MiB;
        unsigned char *p = malloc(n);
        if (!p) return (void *)1;
        unsigned char v = (unsigned char)(id * 31 + i);
        for (size_t k = 0; k < n; k += 4096)
            p[k] = v;
        p[n - 1] = v;
        for (size_t k = 0; k < n; k += 4096)
            bad += p[k] != v;
        bad += p[n - 1] != v;
        free(p);
    }
    return (void *)(uintptr_t)bad;
}

static void threads(void) {
    uint64_t base = live_bytes();
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < THREADS; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        CHECK(bad == NULL);
    }
    /* glibc keeps a little per finished thread (its stack cache's DTVs) */
    uint64_t after = live_bytes();
    fprintf(stderr, "live bytes after the threads: %llu over before\n",
            (unsigned long long)(after - base));
    CHECK(after >= base && after - base < 64 * 1024);
}

static void forked(void) {
    char *p = malloc(16 * MiB);
    memset(p, 7, 16 * MiB);
    free(p); /* kept, and inherited by the child */
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t base = live_bytes();
        char *q = malloc(14 * MiB);
        int ok = q != NULL && live_bytes() == base + malloc_usable_size(q);
        free(q);
        _exit(ok && live_bytes() == base && worker((void *)9) == NULL ? 0 : 1);
    }
    int status = 1;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
    if (!heapprof_available()) {
        fprintf(stderr, "big_cache: not under heapprof\n");
        return 1;
    }
    first_ones_not_kept();
    released_when_idle(); /* next: with nothing else kept, nothing makes way for it */
    reuse();
    calloc_is_zero();
    released_by_trim();
    threads();
    forked();
    return CHECK_DONE();
}
