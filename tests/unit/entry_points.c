/*
 * Every C allocation entry point of alloc/entry.c with its edge cases, checked
 * against the documented results (C17/C23, POSIX, glibc 2.36 manual pages), and
 * the exact process counters after each kind of call: the deltas of
 * heapprof_stats must equal the usable sizes (malloc_usable_size) of what the
 * test allocated and freed, to the byte and to the object.
 *
 * The test is single-threaded, so heapprof_stats is exact at every point;
 * nothing between a baseline and its check may allocate (no printing except
 * on failure).
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Not declared by glibc 2.36's headers: cfree is only a compat symbol there,
 * free_sized/free_aligned_sized are C23. Weak, so the test links anyway; when
 * preloaded they resolve to libheapprof. */
extern void cfree(void *p) __attribute__((weak));
typedef void (*free_sized_fn)(void *, size_t);
typedef void (*free_aligned_sized_fn)(void *, size_t, size_t);

/* Sizes kept out of the compiler's sight, so it neither warns about them
 * (-Walloc-size-larger-than) nor folds the calls. */
static volatile size_t v_huge = SIZE_MAX - 4096;
static volatile size_t v_size_max = SIZE_MAX;
static volatile size_t v_half = SIZE_MAX / 2;
static volatile size_t v_over_ptrdiff = (size_t)PTRDIFF_MAX + 1;

static size_t page;

/* The calls expected to fail go through these pointers: GCC's
 * -Wuse-after-free does not know that a failed realloc leaves the block
 * valid, and the test must use it afterwards. */
static void *(*volatile realloc_fn)(void *, size_t) = realloc;
static void *(*volatile reallocarray_fn)(void *, size_t, size_t) = reallocarray;

/* ---- exact counter deltas ------------------------------------------------ */

static heapprof_stats_t base;

static heapprof_stats_t now(void) {
    heapprof_stats_t s;
    memset(&s, 0xff, sizeof s);
    int rc = heapprof_stats(&s, sizeof s);
    CHECK(rc == 0);
    return s;
}

static void mark(void) { base = now(); }

static void cmp_(int line, const char *what, uint64_t after, uint64_t before, int64_t want) {
    int64_t got = (int64_t)(after - before);
    if (got != want) {
        fprintf(stderr, "%s:%d: counter delta %s: got %lld, want %lld\n", __FILE__, line, what,
                (long long)got, (long long)want);
        check_failures++;
    }
}

/* Compares the counters to the baseline taken by mark(), then re-marks. */
static void expect_(int line, int64_t live_b, int64_t live_o, int64_t alloc_b, int64_t alloc_o,
                    int64_t freed_b, int64_t freed_o) {
    heapprof_stats_t s = now();
    cmp_(line, "live_bytes", s.live_bytes, base.live_bytes, live_b);
    cmp_(line, "live_objects", s.live_objects, base.live_objects, live_o);
    cmp_(line, "alloc_bytes", s.alloc_bytes, base.alloc_bytes, alloc_b);
    cmp_(line, "alloc_objects", s.alloc_objects, base.alloc_objects, alloc_o);
    cmp_(line, "freed_bytes", s.freed_bytes, base.freed_bytes, freed_b);
    cmp_(line, "freed_objects", s.freed_objects, base.freed_objects, freed_o);
    if (s.peak_bytes < s.live_bytes || s.peak_objects < s.live_objects) {
        fprintf(stderr, "%s:%d: peak below live (%llu < %llu or %llu < %llu)\n", __FILE__, line,
                (unsigned long long)s.peak_bytes, (unsigned long long)s.live_bytes,
                (unsigned long long)s.peak_objects, (unsigned long long)s.live_objects);
        check_failures++;
    }
    base = s;
}

#define EXPECT_ALLOC(usable) expect_(__LINE__, (int64_t)(usable), 1, (int64_t)(usable), 1, 0, 0)
#define EXPECT_FREE(usable) expect_(__LINE__, -(int64_t)(usable), -1, 0, 0, (int64_t)(usable), 1)
#define EXPECT_NOTHING() expect_(__LINE__, 0, 0, 0, 0, 0, 0)
/* realloc: one free of the old block plus one allocation of the new one */
#define EXPECT_REALLOC(old_u, new_u)                                                               \
    expect_(__LINE__, (int64_t)(new_u) - (int64_t)(old_u), 0, (int64_t)(new_u), 1,                 \
            (int64_t)(old_u), 1)
#define EXPECT_N(live_b, live_o, alloc_b, alloc_o, freed_b, freed_o)                               \
    expect_(__LINE__, live_b, live_o, alloc_b, alloc_o, freed_b, freed_o)

/* ---- helpers ------------------------------------------------------------- */

static int aligned_to(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static void fill(void *p, size_t n, unsigned seed) {
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++) c[i] = (unsigned char)(i * 31u + seed);
}

static int filled(const void *p, size_t n, unsigned seed) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)(i * 31u + seed)) return 0;
    return 1;
}

static int all_zero(const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i]) return 0;
    return 1;
}

/* Writes the whole usable area (small blocks) or its ends (large ones): the
 * bytes up to malloc_usable_size belong to the caller. */
static void touch(void *p, size_t usable) {
    if (usable <= (1u << 20)) {
        memset(p, 0x5a, usable);
    } else {
        ((volatile char *)p)[0] = 1;
        ((volatile char *)p)[usable / 2] = 1;
        ((volatile char *)p)[usable - 1] = 1;
    }
}

static const size_t sizes[] = {0,     1,     7,      8,       15,        16,        17,
                               24,    100,   1000,   4095,    4096,      4097,      10000,
                               65536, 70000, 262144, 1 << 20, 3u << 20,  17u << 20, 40u << 20,
                               200u << 20};
#define NSIZES (sizeof sizes / sizeof *sizes)

/* ---- malloc / free / cfree / free_sized ---------------------------------- */

static void test_malloc_free(void) {
    void *p[NSIZES];
    size_t u[NSIZES];
    for (size_t i = 0; i < NSIZES; i++) {
        mark();
        p[i] = malloc(sizes[i]);
        CHECK(p[i] != NULL);
        if (!p[i]) return;
        u[i] = malloc_usable_size(p[i]);
        EXPECT_ALLOC(u[i]);
        CHECK(u[i] >= sizes[i]);
        /* C23 7.24.3: suitably aligned for any fundamental type that fits */
        size_t need = sizes[i] >= 16 ? 16 : sizes[i] >= 8 ? 8 : sizes[i] >= 4 ? 4 : 1;
        CHECK(aligned_to(p[i], need));
        touch(p[i], u[i]);
    }
    for (size_t i = 0; i < NSIZES; i++) {
        mark();
        errno = EBADF;
        free(p[i]);
        CHECK(errno == EBADF); /* POSIX.1-2024 and glibc >= 2.33: free preserves errno */
        EXPECT_FREE(u[i]);
    }

    /* malloc(0): unique, non-null, freeable, and counted */
    enum { NZ = 64 };
    void *z[NZ];
    size_t zsum = 0;
    mark();
    for (int i = 0; i < NZ; i++) {
        z[i] = malloc(0);
        CHECK(z[i] != NULL);
        zsum += malloc_usable_size(z[i]);
        for (int j = 0; j < i; j++) CHECK(z[i] != z[j]);
    }
    EXPECT_N((int64_t)zsum, NZ, (int64_t)zsum, NZ, 0, 0);
    for (int i = 0; i < NZ; i++) free(z[i]);
    EXPECT_N(-(int64_t)zsum, -NZ, 0, 0, (int64_t)zsum, NZ);

    /* free(NULL) is a no-op, also for the other free functions */
    mark();
    errno = EBADF;
    free(NULL);
    CHECK(errno == EBADF);
    EXPECT_NOTHING();

    /* malloc failure: NULL with errno ENOMEM, nothing counted */
    mark();
    errno = 0;
    void *q = malloc(v_huge);
    CHECK(q == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    q = malloc(v_size_max);
    CHECK(q == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    q = malloc(v_over_ptrdiff);
    CHECK(q == NULL);
    CHECK(errno == ENOMEM);
    EXPECT_NOTHING();

    /* malloc_usable_size */
    CHECK(malloc_usable_size(NULL) == 0);

    /* cfree: the glibc compat name of free */
    CHECK(cfree != NULL);
    if (cfree) {
        void *c = malloc(123);
        size_t cu = malloc_usable_size(c);
        mark();
        cfree(c);
        EXPECT_FREE(cu);
        cfree(NULL);
        EXPECT_NOTHING();
    }

    /* C23 free_sized / free_aligned_sized must be provided when preloaded */
    free_sized_fn fs = (free_sized_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "free_sized");
    free_aligned_sized_fn fas =
        (free_aligned_sized_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "free_aligned_sized");
    CHECK(fs != NULL);
    CHECK(fas != NULL);
    if (fs) {
        static const size_t fsz[] = {1, 100, 5000, 300000, 5u << 20};
        for (size_t i = 0; i < sizeof fsz / sizeof *fsz; i++) {
            void *a = malloc(fsz[i]), *b = calloc(1, fsz[i]), *c = realloc(NULL, fsz[i]);
            CHECK(a && b && c);
            size_t ua = malloc_usable_size(a), ub = malloc_usable_size(b);
            size_t uc = malloc_usable_size(c);
            mark();
            errno = EBADF;
            fs(a, fsz[i]);
            EXPECT_FREE(ua);
            fs(b, fsz[i]);
            EXPECT_FREE(ub);
            fs(c, fsz[i]);
            EXPECT_FREE(uc);
            CHECK(errno == EBADF);
        }
        fs(NULL, 0);
        fs(NULL, 10);
        EXPECT_NOTHING();
    }
    if (fas) {
        static const size_t al[] = {8, 16, 64, 4096, 1 << 16, 1 << 21, 1 << 26};
        for (size_t i = 0; i < sizeof al / sizeof *al; i++) {
            size_t n = al[i] * 2;
            void *a = aligned_alloc(al[i], n);
            CHECK(a != NULL);
            if (!a) continue;
            size_t ua = malloc_usable_size(a);
            mark();
            fas(a, al[i], n);
            EXPECT_FREE(ua);
        }
        fas(NULL, 64, 64);
        EXPECT_NOTHING();
    }
}

/* ---- calloc ------------------------------------------------------------- */

static void test_calloc(void) {
    /* overflow and exhaustion: NULL + ENOMEM, nothing counted */
    mark();
    errno = 0;
    CHECK(calloc(v_half, 4) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(calloc(4, v_half) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(calloc(v_size_max, v_size_max) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(calloc(1, v_huge) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(calloc(v_huge, 1) == NULL);
    CHECK(errno == ENOMEM);
    EXPECT_NOTHING();

    /* zero-sized: unique non-null */
    void *a = calloc(0, 0), *b = calloc(0, 16), *c = calloc(16, 0);
    CHECK(a && b && c && a != b && b != c && a != c);
    mark();
    size_t s3 = malloc_usable_size(a) + malloc_usable_size(b) + malloc_usable_size(c);
    free(a);
    free(b);
    free(c);
    EXPECT_N(-(int64_t)s3, -3, 0, 0, (int64_t)s3, 3);

    /* zeroed, also when the memory is reused after being dirtied */
    enum { N = 48 };
    static const size_t csz[] = {1,     8,       24,       48,        100,       512,     1000,
                                 4096,  10000,   65536,    100000,    1 << 20,   3u << 20,
                                 9u << 20, 33u << 20, 70u << 20};
    for (size_t k = 0; k < sizeof csz / sizeof *csz; k++) {
        size_t n = csz[k];
        int count = n > (1u << 20) ? 3 : N;
        void *blk[N];
        for (int i = 0; i < count; i++) {
            blk[i] = malloc(n);
            CHECK(blk[i] != NULL);
            if (blk[i]) memset(blk[i], 0xa5, malloc_usable_size(blk[i]));
        }
        for (int i = 0; i < count; i++) free(blk[i]);
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < count; i++) {
                size_t nm = round ? 1 : n, sz = round ? n : 1; /* both argument orders */
                mark();
                blk[i] = calloc(nm, sz);
                CHECK(blk[i] != NULL);
                if (!blk[i]) continue;
                size_t u = malloc_usable_size(blk[i]);
                EXPECT_ALLOC(u);
                CHECK(u >= n);
                if (!all_zero(blk[i], n)) {
                    fprintf(stderr, "calloc(%zu) round %d block %d not zeroed\n", n, round, i);
                    check_failures++;
                }
                memset(blk[i], 0x3c, u); /* dirty again for the next round */
            }
            for (int i = 0; i < count; i++) {
                size_t u = malloc_usable_size(blk[i]);
                mark();
                free(blk[i]);
                EXPECT_FREE(u);
            }
        }
    }

    /* n * size with both factors > 1 */
    mark();
    int *v = calloc(1000, sizeof(int));
    CHECK(v != NULL);
    if (v) {
        EXPECT_ALLOC(malloc_usable_size(v));
        CHECK(malloc_usable_size(v) >= 1000 * sizeof(int));
        CHECK(all_zero(v, 1000 * sizeof(int)));
        size_t u = malloc_usable_size(v);
        free(v);
        EXPECT_FREE(u);
    }
}

/* ---- realloc / reallocarray ---------------------------------------------- */

static void test_realloc(void) {
    /* realloc(NULL, n) is malloc(n) */
    mark();
    char *p = realloc(NULL, 10);
    CHECK(p != NULL);
    if (!p) return;
    size_t u = malloc_usable_size(p);
    EXPECT_ALLOC(u);
    CHECK(u >= 10);
    void *z = realloc(NULL, 0);
    CHECK(z != NULL);
    size_t zu = malloc_usable_size(z);
    EXPECT_ALLOC(zu);

    /* realloc(p, 0): glibc frees p and returns NULL (errno untouched) */
    errno = EBADF;
    CHECK(realloc(z, 0) == NULL);
    CHECK(errno == EBADF);
    EXPECT_FREE(zu);

    /* contents survive growing and shrinking, through every size class and
     * into and out of huge blocks; each step is one free plus one alloc */
    static const size_t steps[] = {10,     24,      100,       1000,      5000,     64000,
                                   70000,  300000,  1u << 20,  3u << 20,  20u << 20, 70u << 20,
                                   75u << 20, 9u << 20, 1u << 20, 200000, 4000,     100,
                                   16,     7,       1,         90000,     90001,    89000,
                                   45000,  44990};
    size_t have = 10;
    fill(p, have, 7);
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        size_t n = steps[i];
        size_t old_u = malloc_usable_size(p);
        mark();
        char *q = realloc(p, n);
        CHECK(q != NULL);
        if (!q) return;
        size_t new_u = malloc_usable_size(q);
        EXPECT_REALLOC(old_u, new_u);
        CHECK(new_u >= n);
        size_t keep = have < n ? have : n;
        if (!filled(q, keep, 7)) {
            fprintf(stderr, "realloc %zu -> %zu lost the contents\n", have, n);
            check_failures++;
        }
        p = q;
        fill(p, n, 7);
        have = n;
    }

    /* in place (same pointer) still counts as free + alloc, objects unchanged */
    {
        char *a = malloc(1000);
        size_t ua = malloc_usable_size(a);
        mark();
        char *b = realloc(a, ua); /* same usable size: mimalloc keeps the block */
        CHECK(b != NULL);
        EXPECT_REALLOC(ua, malloc_usable_size(b));
        free(b);
    }

    /* failure: NULL + ENOMEM, the block untouched, still valid, still counted */
    u = malloc_usable_size(p);
    mark();
    errno = 0;
    CHECK(realloc_fn(p, v_huge) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(realloc_fn(p, v_size_max) == NULL);
    CHECK(errno == ENOMEM);
    EXPECT_NOTHING();
    CHECK(malloc_usable_size(p) == u);
    CHECK(filled(p, have, 7));

    /* reallocarray */
    errno = 0;
    CHECK(reallocarray_fn(p, v_half, 4) == NULL); /* overflow */
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(reallocarray_fn(p, 4, v_half) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(reallocarray_fn(p, v_size_max, v_size_max) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(reallocarray_fn(p, 1, v_huge) == NULL); /* no overflow, just too big */
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(reallocarray(NULL, v_half, 4) == NULL);
    CHECK(errno == ENOMEM);
    EXPECT_NOTHING();
    CHECK(malloc_usable_size(p) == u);
    CHECK(filled(p, have, 7));

    size_t old_u = malloc_usable_size(p);
    char *q = reallocarray(p, 3000, 7); /* grow */
    CHECK(q != NULL);
    if (!q) return;
    size_t qu = malloc_usable_size(q);
    EXPECT_REALLOC(old_u, qu);
    CHECK(qu >= 21000);
    CHECK(filled(q, have < 21000 ? have : 21000, 7));
    fill(q, 21000, 9);
    char *r = reallocarray(q, 10, 100); /* shrink */
    CHECK(r != NULL);
    if (!r) return;
    size_t ru = malloc_usable_size(r);
    EXPECT_REALLOC(qu, ru);
    CHECK(filled(r, 1000, 9));

    char *s = reallocarray(NULL, 12, 12); /* = malloc(144) */
    CHECK(s != NULL);
    size_t su = malloc_usable_size(s);
    EXPECT_ALLOC(su);
    CHECK(su >= 144);
    free(s);
    EXPECT_FREE(su);
    free(r);
    EXPECT_FREE(ru);
}

/* ---- aligned allocation -------------------------------------------------- */

static void test_posix_memalign(void) {
    /* invalid alignments: EINVAL, *out and errno untouched, nothing counted */
    static const size_t bad[] = {0, 1, 2, 3, 4, 12, 24, 48, 100, 4097, ((size_t)1 << 20) + 8};
    void *sentinel = (void *)(uintptr_t)0xdeadbeef;
    mark();
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        void *out = sentinel;
        errno = EBADF;
        int rc = posix_memalign(&out, bad[i], 64);
        if (rc != EINVAL) {
            fprintf(stderr, "posix_memalign(alignment %zu) returned %d, want EINVAL\n", bad[i], rc);
            check_failures++;
            if (rc == 0 && out != sentinel) free(out);
        }
        CHECK(out == sentinel);
        CHECK(errno == EBADF);
    }
    EXPECT_NOTHING();

    /* exhaustion: ENOMEM, *out and errno untouched */
    for (size_t a = 8; a <= 4096; a *= 8) {
        void *out = sentinel;
        errno = EBADF;
        CHECK(posix_memalign(&out, a, v_huge) == ENOMEM);
        CHECK(out == sentinel);
        CHECK(errno == EBADF);
    }
    EXPECT_NOTHING();

    /* every power-of-two alignment from sizeof(void*) to 64 MiB, with small,
     * odd and large sizes, all held at once */
    enum { MAXB = 24 * 6 };
    void *blk[MAXB];
    size_t usum = 0;
    int nb = 0;
    mark();
    for (size_t a = sizeof(void *); a <= ((size_t)1 << 26); a *= 2) {
        const size_t sz[] = {0, 1, 100, a, a + 1, 3u << 20};
        for (size_t k = 0; k < sizeof sz / sizeof *sz; k++) {
            void *out = sentinel;
            errno = EBADF;
            int rc = posix_memalign(&out, a, sz[k]);
            CHECK(errno == EBADF);
            if (rc != 0 || out == sentinel || out == NULL) {
                fprintf(stderr, "posix_memalign(alignment %zu, size %zu) failed: %d\n", a, sz[k],
                        rc);
                check_failures++;
                continue;
            }
            if (!aligned_to(out, a)) {
                fprintf(stderr, "posix_memalign(alignment %zu, size %zu) = %p misaligned\n", a,
                        sz[k], out);
                check_failures++;
            }
            size_t u = malloc_usable_size(out);
            CHECK(u >= sz[k]);
            touch(out, u);
            usum += u;
            blk[nb++] = out;
        }
    }
    EXPECT_N((int64_t)usum, nb, (int64_t)usum, nb, 0, 0);
    for (int i = 0; i < nb; i++) {
        size_t u = malloc_usable_size(blk[i]);
        free(blk[i]);
        EXPECT_FREE(u);
    }

    /* the cases named in the issue, one by one: 2 MiB and 64 MiB */
    static const size_t big[][2] = {{1u << 21, 1},       {1u << 21, 5u << 20},
                                    {1u << 26, 1},       {1u << 26, 100u << 20},
                                    {1u << 21, 1u << 21}, {1u << 26, 1u << 26}};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        void *out = NULL;
        mark();
        int rc = posix_memalign(&out, big[i][0], big[i][1]);
        CHECK(rc == 0);
        if (rc) continue;
        CHECK(aligned_to(out, big[i][0]));
        size_t u = malloc_usable_size(out);
        CHECK(u >= big[i][1]);
        EXPECT_ALLOC(u);
        touch(out, u);
        free(out);
        EXPECT_FREE(u);
    }
}

static void test_aligned_alloc(void) {
    /* alignment not a power of two: NULL + EINVAL */
    static const size_t bad[] = {0, 3, 5, 6, 12, 24, 100, 4097, 3u << 20};
    mark();
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errno = 0;
        void *p = aligned_alloc(bad[i], 4096);
        if (p != NULL || errno != EINVAL) {
            fprintf(stderr, "aligned_alloc(%zu, 4096) = %p errno %d, want NULL + EINVAL\n",
                    bad[i], p, errno);
            check_failures++;
            free(p);
        }
    }
    EXPECT_NOTHING();
    errno = 0;
    CHECK(aligned_alloc(64, v_huge) == NULL);
    CHECK(errno == ENOMEM);
    EXPECT_NOTHING();

    for (size_t a = 1; a <= ((size_t)1 << 26); a *= 2) {
        const size_t sz[] = {1, a, 2 * a, 3 * a, 4 * a, 1000};
        for (size_t k = 0; k < sizeof sz / sizeof *sz; k++) {
            mark();
            void *p = aligned_alloc(a, sz[k]);
            CHECK(p != NULL);
            if (!p) continue;
            size_t u = malloc_usable_size(p);
            EXPECT_ALLOC(u);
            if (!aligned_to(p, a)) {
                fprintf(stderr, "aligned_alloc(%zu, %zu) = %p misaligned\n", a, sz[k], p);
                check_failures++;
            }
            CHECK(u >= sz[k]);
            touch(p, u);
            free(p);
            EXPECT_FREE(u);
        }
    }
}

static void test_memalign_valloc_pvalloc(void) {
    /* memalign: powers of two as given; others rounded up to the next power
     * of two (glibc); absurd alignments fail with EINVAL */
    static const size_t al[][2] = {{1, 1},       {2, 2},        {8, 8},         {16, 16},
                                   {24, 32},     {48, 64},      {100, 128},     {200, 256},
                                   {512, 512},   {1000, 1024},  {3000, 4096},
                                   {4096, 4096}, {5000, 8192},  {65535, 65536}, {1u << 21, 1u << 21},
                                   {3u << 20, 4u << 20},        {1u << 26, 1u << 26}};
    for (size_t i = 0; i < sizeof al / sizeof *al; i++) {
        const size_t sz[] = {1, 100, al[i][0] + 1, al[i][1], 2 * al[i][1], 2u << 20};
        for (size_t k = 0; k < sizeof sz / sizeof *sz; k++) {
            mark();
            void *p = memalign(al[i][0], sz[k]);
            CHECK(p != NULL);
            if (!p) continue;
            size_t u = malloc_usable_size(p);
            EXPECT_ALLOC(u);
            if (!aligned_to(p, al[i][1])) {
                fprintf(stderr, "memalign(%zu, %zu) = %p not aligned to %zu\n", al[i][0], sz[k], p,
                        al[i][1]);
                check_failures++;
            }
            CHECK(u >= sz[k]);
            touch(p, u);
            free(p);
            EXPECT_FREE(u);
        }
    }
    mark();
    void *m0 = memalign(0, 10); /* glibc: treated as the minimum alignment */
    CHECK(m0 != NULL);
    size_t m0u = malloc_usable_size(m0);
    EXPECT_ALLOC(m0u);
    free(m0);
    EXPECT_FREE(m0u);
    errno = 0;
    CHECK(memalign(SIZE_MAX / 2 + 2, 16) == NULL);
    CHECK(errno == EINVAL);
    errno = 0;
    CHECK(memalign(v_size_max, 16) == NULL);
    CHECK(errno == EINVAL);
    errno = 0;
    CHECK(memalign(64, v_huge) == NULL);
    CHECK(errno == ENOMEM);
    EXPECT_NOTHING();

    /* valloc: page aligned */
    static const size_t vs[] = {0, 1, 100, 4095, 4096, 4097, 100000, 1u << 20, 9u << 20};
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
        mark();
        void *p = valloc(vs[i]);
        CHECK(p != NULL);
        if (!p) continue;
        size_t u = malloc_usable_size(p);
        EXPECT_ALLOC(u);
        CHECK(aligned_to(p, page));
        CHECK(u >= vs[i]);
        touch(p, u);
        free(p);
        EXPECT_FREE(u);
    }
    errno = 0;
    CHECK(valloc(v_huge) == NULL);
    CHECK(errno == ENOMEM);
    EXPECT_NOTHING();

    /* pvalloc: page aligned, size rounded up to whole pages, pvalloc(0) is one page */
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
        size_t pages = (vs[i] + page - 1) / page;
        if (pages == 0) pages = 1;
        mark();
        void *p = pvalloc(vs[i]);
        CHECK(p != NULL);
        if (!p) continue;
        size_t u = malloc_usable_size(p);
        EXPECT_ALLOC(u);
        CHECK(aligned_to(p, page));
        if (u < pages * page) {
            fprintf(stderr, "pvalloc(%zu): usable %zu < %zu\n", vs[i], u, pages * page);
            check_failures++;
        }
        touch(p, u);
        free(p);
        EXPECT_FREE(u);
    }
    errno = 0;
    CHECK(pvalloc(v_size_max) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(pvalloc(v_huge) == NULL);
    CHECK(errno == ENOMEM);
    EXPECT_NOTHING();
}

/* realloc of blocks that came from the aligned functions, large alignments
 * included: contents kept, one free + one allocation each */
static void test_realloc_aligned(void) {
    static const size_t al[] = {64, 4096, 1u << 21, 1u << 26};
    static const size_t to[] = {100, 5000, 3u << 20, 50u << 20, 200};
    for (size_t i = 0; i < sizeof al / sizeof *al; i++) {
        void *p = NULL;
        CHECK(posix_memalign(&p, al[i], 1000) == 0);
        if (!p) continue;
        fill(p, 1000, 3);
        size_t have = 1000;
        for (size_t k = 0; k < sizeof to / sizeof *to; k++) {
            size_t old_u = malloc_usable_size(p);
            mark();
            void *q = realloc(p, to[k]);
            CHECK(q != NULL);
            if (!q) break;
            size_t new_u = malloc_usable_size(q);
            EXPECT_REALLOC(old_u, new_u);
            CHECK(new_u >= to[k]);
            if (!filled(q, have < to[k] ? have : to[k], 3)) {
                fprintf(stderr, "realloc of a %zu-aligned block to %zu lost the contents\n", al[i],
                        to[k]);
                check_failures++;
            }
            p = q;
            have = to[k] < 1000 ? to[k] : 1000;
            fill(p, have, 3);
        }
        size_t u = malloc_usable_size(p);
        mark();
        free(p);
        EXPECT_FREE(u);
    }
}

/* glibc's internal names, which some programs and libraries call directly */
static void test_libc_names(void) {
    typedef void *(*m_fn)(size_t);
    typedef void *(*c_fn)(size_t, size_t);
    typedef void *(*r_fn)(void *, size_t);
    typedef void *(*a_fn)(size_t, size_t);
    typedef void (*f_fn)(void *);
    m_fn lm = (m_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "__libc_malloc");
    c_fn lc = (c_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "__libc_calloc");
    r_fn lr = (r_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "__libc_realloc");
    a_fn lma = (a_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "__libc_memalign");
    m_fn lv = (m_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "__libc_valloc");
    m_fn lpv = (m_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "__libc_pvalloc");
    f_fn lf = (f_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "__libc_free");
    CHECK(lm && lc && lr && lma && lv && lpv && lf);
    if (!(lm && lc && lr && lma && lv && lpv && lf)) return;
    mark();
    void *a = lm(100);
    EXPECT_ALLOC(malloc_usable_size(a));
    void *b = lc(10, 10);
    EXPECT_ALLOC(malloc_usable_size(b));
    CHECK(b && all_zero(b, 100));
    size_t old_u = malloc_usable_size(a);
    a = lr(a, 5000);
    EXPECT_REALLOC(old_u, malloc_usable_size(a));
    void *c = lma(256, 300);
    EXPECT_ALLOC(malloc_usable_size(c));
    CHECK(c && aligned_to(c, 256));
    void *d = lv(10);
    EXPECT_ALLOC(malloc_usable_size(d));
    CHECK(d && aligned_to(d, page));
    void *e = lpv(10);
    EXPECT_ALLOC(malloc_usable_size(e));
    CHECK(e && aligned_to(e, page) && malloc_usable_size(e) >= page);
    void *blocks[] = {a, b, c, d, e};
    for (int i = 0; i < 5; i++) {
        size_t u = malloc_usable_size(blocks[i]);
        lf(blocks[i]); /* and free() / __libc_free are interchangeable */
        EXPECT_FREE(u);
    }
}

/* ---- mixed: many live blocks from every family, freed in another order --- */

static void test_mixed_live_set(void) {
    enum { N = 400 };
    void *blk[N];
    size_t want = 0;
    unsigned seed = 12345;
    mark();
    heapprof_stats_t start = base;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 8) % (i % 10 == 0 ? 300000 : 3000);
        void *p = NULL;
        switch (i % 8) {
        case 0: p = malloc(n); break;
        case 1: p = calloc(n, 1); break;
        case 2: p = realloc(NULL, n); break;
        case 3: p = reallocarray(NULL, n, 2); break;
        case 4: CHECK(posix_memalign(&p, 256, n) == 0); break;
        case 5: p = aligned_alloc(64, n); break;
        case 6: p = memalign(1024, n); break;
        default: p = (i & 16) ? valloc(n) : pvalloc(n); break;
        }
        CHECK(p != NULL);
        blk[i] = p;
        want += malloc_usable_size(p);
    }
    EXPECT_N((int64_t)want, N, (int64_t)want, N, 0, 0);
    /* grow every third block, then free from the middle outwards */
    int64_t d_live = 0, d_alloc = 0, d_freed = 0, n_re = 0;
    for (int i = 0; i < N; i += 3) {
        size_t old_u = malloc_usable_size(blk[i]);
        void *q = realloc(blk[i], old_u * 2 + 1);
        CHECK(q != NULL);
        if (!q) continue;
        blk[i] = q;
        size_t new_u = malloc_usable_size(q);
        d_live += (int64_t)new_u - (int64_t)old_u;
        d_alloc += (int64_t)new_u;
        d_freed += (int64_t)old_u;
        n_re++;
    }
    EXPECT_N(d_live, 0, d_alloc, n_re, d_freed, n_re);
    size_t total = 0;
    for (int i = 0; i < N; i++) total += malloc_usable_size(blk[i]);
    heapprof_stats_t s = now();
    CHECK_EQ_U64(s.live_bytes - start.live_bytes, total);
    CHECK_EQ_U64(s.live_objects - start.live_objects, N);
    for (int k = 0; k < N; k++) {
        int i = (k % 2) ? N / 2 + k / 2 : N / 2 - 1 - k / 2;
        free(blk[i]);
    }
    s = now();
    CHECK_EQ_U64(s.live_bytes, start.live_bytes);
    CHECK_EQ_U64(s.live_objects, start.live_objects);
    CHECK_EQ_U64(s.alloc_objects - start.alloc_objects, (uint64_t)(N + n_re));
    CHECK_EQ_U64(s.freed_objects - start.freed_objects, (uint64_t)(N + n_re));
    CHECK_EQ_U64(s.freed_bytes - start.freed_bytes, s.alloc_bytes - start.alloc_bytes);
}

int main(void) {
    page = (size_t)sysconf(_SC_PAGESIZE);
    CHECK(heapprof_available());
    if (!heapprof_available()) {
        fprintf(stderr, "libheapprof.so is not preloaded\n");
        return 1;
    }
    /* heapprof_stats contract */
    CHECK(heapprof_stats(NULL, 0) == -1);
    heapprof_stats_t s;
    CHECK(heapprof_stats(&s, sizeof s) == 0);
    CHECK(s.freed_bytes == s.alloc_bytes - s.live_bytes);
    CHECK(s.freed_objects == s.alloc_objects - s.live_objects);

    test_malloc_free();
    test_calloc();
    test_realloc();
    test_posix_memalign();
    test_aligned_alloc();
    test_memalign_valloc_pvalloc();
    test_realloc_aligned();
    test_libc_names();
    test_mixed_live_set();
    return CHECK_DONE();
}
