/*
 * The fast stack walker of heapprof/unwind.c (with eh_frame.c), compiled in
 * here, against
 * libunwind's unw_backtrace called from the same place: every stack both
 * can walk must come out identical, frame for frame, through
 *   - frames based on rbp, on rsp, and of variable size (alloca), mixed, at
 *     depths 1..60;
 *   - libc's own frames (a qsort comparator), and another thread's stack;
 *   - truncation (max) and the leading frames left out (skip range);
 *   - callers whose frames lie at the same addresses, one after the other;
 *   - replay: a walk from the same place again is served from the words the
 *     previous one read, and must notice a caller that changed meanwhile.
 * And it must decline (HP_UNWIND_FAIL, so that the profiler falls back to
 * libunwind) where its rules do not apply: a signal handler's frame, and
 * code without unwind tables (a few bytes of machine code in an mmap'd
 * page).
 */
#define _GNU_SOURCE
#include "check.h"
#include "../../heapprof/eh_frame.c"
#include "../../heapprof/unwind.c"

#include <alloca.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* unwind.c's only need from the profiler's allocator */
void *hp_calloc(size_t n, size_t size) {
    return calloc(n, size);
}

#define MAXF 256
static int (*unw_bt)(void **, int);
static int compared, declined;

static __attribute__((noinline)) int walk_fast(uintptr_t *pcs, int max, uintptr_t lo,
                                               uintptr_t hi) {
    for (int tries = 0; tries < 4 * MAXF; tries++) {
        uintptr_t miss = 0;
        uint64_t walk;
        int n = hp_unwind(pcs, max, MAXF, lo, hi, &miss, &walk);
        if (n == HP_UNWIND_MISS) {
            hp_unwind_fill(miss);
        } else if (n == HP_UNWIND_NO_BOUNDS) {
            CHECK(hp_unwind_thread_init() == 0);
        } else {
            return n;
        }
    }
    CHECK(!"the walk kept missing");
    return HP_UNWIND_FAIL;
}

static __attribute__((noinline)) int walk_slow(uintptr_t *pcs, int max) {
    int n = unw_bt((void **)pcs, max);
    __asm__ volatile(""); /* no tail call: this frame must stay */
    return n;
}

/* Walks twice from one call site: all frames, then at most max2 of them
 * leaving out the leading ones in [lo, hi), a range around the first two. */
static __attribute__((noinline)) void walk_twice(uintptr_t out[2][MAXF], int n[2], int max2) {
    uintptr_t lo = 0, hi = 0;
    static volatile int rounds = 2; /* not unrolled: one call site for both */
    for (int i = 0; i < rounds; i++) {
        n[i] = walk_fast(out[i], i ? max2 : MAXF, lo, hi);
        if (n[0] < 2) return;
        lo = out[0][0] < out[0][1] ? out[0][0] : out[0][1];
        hi = (out[0][0] < out[0][1] ? out[0][1] : out[0][0]) + 1;
    }
    int skip = 0;
    while (skip < n[0] && out[0][skip] >= lo && out[0][skip] < hi)
        skip++;
    int want = n[0] - skip < max2 ? n[0] - skip : max2;
    CHECK(n[1] == want);
    if (n[1] == want) CHECK(!memcmp(out[1], out[0] + skip, (size_t)want * sizeof out[0][0]));
}

static __attribute__((noinline)) void compare_here(int expect_decline) {
    uintptr_t fast[MAXF], slow[MAXF];
    int n = walk_fast(fast, MAXF, 0, 0);
    int m = walk_slow(slow, MAXF);
    if (expect_decline) {
        CHECK(n == HP_UNWIND_FAIL);
        declined += n == HP_UNWIND_FAIL;
        return;
    }
    /* [0] is in walk_*, [1] at two call sites here: the rest must agree */
    CHECK(n > 3);
    CHECK(n == m);
    if (n == m && n > 2) {
        int same = !memcmp(fast + 2, slow + 2, (size_t)(n - 2) * sizeof fast[0]);
        CHECK(same);
        if (!same)
            for (int i = 0; i < n; i++)
                fprintf(stderr, "  %2d %#lx %#lx\n", i, (unsigned long)fast[i],
                        (unsigned long)slow[i]);
    }
    uintptr_t two[2][MAXF];
    int k[2];
    walk_twice(two, k, 3);
    walk_twice(two, k, MAXF);
    compared++;
}

/* ---- frames of three shapes ---- */

static void descend(int depth, int expect_decline);

static __attribute__((noinline)) void with_rbp(int depth, int expect_decline) {
    volatile int pad[3] = {depth, 0, 0};
    descend(depth - 1 - pad[1], expect_decline);
    __asm__ volatile("");
}

static __attribute__((noinline, optimize("omit-frame-pointer"))) void with_rsp(int depth,
                                                                               int expect_decline) {
    volatile long pad[5] = {depth, 0, 0, 0, 0};
    descend(depth - 1 - (int)pad[2], expect_decline);
    __asm__ volatile("");
}

static __attribute__((noinline)) void with_alloca(int depth, int expect_decline) {
    volatile char *p = alloca((size_t)depth * 8 + 1);
    p[0] = 0;
    descend(depth - 1 - p[0], expect_decline);
    __asm__ volatile("");
}

static void descend(int depth, int expect_decline) {
    if (depth <= 0) {
        compare_here(expect_decline);
        return;
    }
    switch (depth % 3) {
    case 0:
        with_rbp(depth, expect_decline);
        break;
    case 1:
        with_rsp(depth, expect_decline);
        break;
    default:
        with_alloca(depth, expect_decline);
        break;
    }
}

/* Two callers with identical frames: the walks below them meet the same
 * states at the same addresses, and must notice where the stack differs. */
static __attribute__((noinline)) void via_a(int depth) {
    descend(depth, 0);
    __asm__ volatile("");
}

static __attribute__((noinline)) void via_b(int depth) {
    descend(depth, 0);
    __asm__ volatile("");
}

/* Replay: the walker keeps what a walk read and serves the next walk from
 * the same place from it while those words are unchanged (unwind.c). */
static int replay_ok = 1;

/* Walks, and checks the frames against libunwind's from here. */
static __attribute__((noinline)) int walk_here(uintptr_t *pcs, uint64_t *id) {
    int n = HP_UNWIND_MISS;
    for (int tries = 0; tries < MAXF && n == HP_UNWIND_MISS; tries++) {
        uintptr_t miss = 0;
        n = hp_unwind(pcs, MAXF, MAXF, 0, 0, &miss, id);
        if (n == HP_UNWIND_MISS) hp_unwind_fill(miss);
    }
    uintptr_t slow[MAXF];
    int m = unw_bt((void **)slow, MAXF);
    /* [0] are two call sites here */
    if (n != m || n < 2 || memcmp(pcs + 1, slow + 1, (size_t)(n - 1) * sizeof pcs[0]))
        replay_ok = 0;
    return n;
}

static __attribute__((noinline)) int replay_a(uintptr_t *pcs, uint64_t *id) {
    int n = walk_here(pcs, id);
    __asm__ volatile("");
    return n;
}

static __attribute__((noinline)) int replay_b(uintptr_t *pcs, uint64_t *id) {
    int n = walk_here(pcs, id);
    __asm__ volatile("");
    return n;
}

static __attribute__((noinline)) void check_replay(void) {
    uint64_t id[48] = {0};
    int k = 0;
    /* From one frame, so the walks start at one stack pointer: replay_a
     * until replay serves it (after a run of differing walks the walker
     * keeps only some), then b, b, a. Every walk is checked against
     * libunwind's. */
    for (int i = 0; i < 48; i++) {
        uintptr_t pcs[MAXF];
        int (*volatile fn)(uintptr_t *, uint64_t *) =
            k && i >= k && i < k + 2 ? replay_b : replay_a;
        fn(pcs, &id[i]);
        if (k && i == k + 2) break;
        if (!k && i && id[i] && id[i] == id[i - 1]) k = i + 1;
    }
    CHECK(k > 0);
    CHECK(replay_ok);
    if (!k) return;
    CHECK(id[k] != id[k - 1]);     /* b after a: not replayed */
    CHECK(id[k + 1] == id[k]);     /* b again: replayed */
    CHECK(id[k + 2] != id[k + 1]); /* a after b */
}

/* ---- through libc, in a thread, in a signal handler, through JIT code ---- */

static int by_value(const void *a, const void *b) {
    static int once;
    if (!once++) descend(4, 0);
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static void *thread_main(void *arg) {
    (void)arg;
    for (int d = 0; d < 20; d++)
        descend(d, 0);
    return NULL;
}

static void on_signal(int sig) {
    (void)sig;
    descend(2, 1);
}

static void from_jit(void) {
    descend(1, 1);
}

static void through_code_without_unwind_tables(void) {
    /* push %rbp; mov %rsp,%rbp; call *%rdi; pop %rbp; ret */
    static const unsigned char code[] = {0x55, 0x48, 0x89, 0xe5, 0xff, 0xd7, 0x5d, 0xc3};
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    if (page == MAP_FAILED) return;
    memcpy(page, code, sizeof code);
    CHECK(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0);
    void (*jit)(void (*)(void)) = (void (*)(void (*)(void)))page;
    jit(from_jit);
    munmap(page, 4096);
}

int main(void) {
    void *lib = dlopen("libunwind.so.8", RTLD_NOW);
    unw_bt = lib ? (int (*)(void **, int))dlsym(lib, "unw_backtrace") : NULL;
    CHECK(unw_bt != NULL);
    if (!unw_bt) return CHECK_DONE();

    for (int d = 0; d <= 60; d++)
        descend(d, 0);
    for (int i = 0; i < 40; i++) /* each depth through a, then b, then a again */
        (i % 3 == 1 ? via_b : via_a)(i / 3);
    check_replay();
    int v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (i * 37) % 64;
    qsort(v, 64, sizeof v[0], by_value);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
    pthread_join(t, NULL);
    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
    through_code_without_unwind_tables();

    CHECK(compared == 61 + 40 + 1 + 20);
    CHECK(declined == 2);
    printf("unwind_fast: %d stacks identical to libunwind's, %d declined\n", compared, declined);
    return CHECK_DONE();
}
