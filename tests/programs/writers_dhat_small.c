/*
 * A small deterministic program for comparing heapprof's full-mode DHAT
 * output with `valgrind --tool=dhat` (tests/integration/writers_dhat_valgrind.sh).
 *
 * Every allocation comes from one of the dh_* functions below; each is called
 * from two places in main, so each gives two program points. Blocks are freed
 * at once, later, or never (alive at exit, DHAT's "t-end"). No realloc (DHAT
 * and heapprof count it differently), no stdio (its buffer would be one more
 * block freed by Valgrind's __libc_freeres), nothing else that allocates.
 * Prints nothing; exit status 0.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;
static void *kept[4096];
static int nkept;

static void keep(void *p) {
    if (!p) abort();
    kept[nkept++] = p;
}

__attribute__((noinline)) void *dh_malloc(size_t n) {
    void *p = malloc(n);
    sink = p;
    return p;
}

__attribute__((noinline)) void *dh_calloc(size_t n, size_t size) {
    void *p = calloc(n, size);
    sink = p;
    return p;
}

__attribute__((noinline)) void *dh_aligned_alloc(size_t align, size_t n) {
    void *p = aligned_alloc(align, n);
    sink = p;
    return p;
}

__attribute__((noinline)) void *dh_posix_memalign(size_t align, size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, align, n)) return NULL;
    sink = p;
    return p;
}

__attribute__((noinline)) void *dh_memalign(size_t align, size_t n) {
    void *p = memalign(align, n);
    sink = p;
    return p;
}

__attribute__((noinline)) void *dh_zero(void) {
    void *p = malloc(0);
    sink = p;
    return p;
}

__attribute__((noinline)) void *dh_big(size_t n) {
    void *p = malloc(n);
    if (p) memset(p, 1, 64);
    sink = p;
    return p;
}

int main(void) {
    /* dh_malloc: 300 blocks of 1..600 bytes from one call site, half kept;
     * 100 of 4000 bytes from another, all freed. */
    for (int i = 0; i < 300; i++) {
        void *p = dh_malloc((size_t)(i * 2 + 1));
        if (i % 2) keep(p);
        else free(p);
    }
    for (int i = 0; i < 100; i++) free(dh_malloc(4000));

    /* dh_calloc: 200 blocks, a third kept */
    void *tmp[200];
    for (int i = 0; i < 200; i++) tmp[i] = dh_calloc((size_t)(i % 7 + 1), 24);
    for (int i = 0; i < 200; i++) {
        if (i % 3 == 0) keep(tmp[i]);
        else free(tmp[i]);
    }
    for (int i = 0; i < 50; i++) keep(dh_calloc(3, 100));

    /* aligned variants */
    for (int i = 0; i < 60; i++) {
        void *p = dh_aligned_alloc(64, 640);
        if (i % 4 == 0) keep(p);
        else free(p);
    }
    for (int i = 0; i < 40; i++) keep(dh_aligned_alloc(4096, 8192));
    for (int i = 0; i < 50; i++) {
        void *p = dh_posix_memalign(256, 1000 + (size_t)i);
        if (i % 5 == 0) free(p);
        else keep(p);
    }
    for (int i = 0; i < 10; i++) free(dh_posix_memalign(32, 48));
    for (int i = 0; i < 30; i++) keep(dh_memalign(128, 333));
    for (int i = 0; i < 30; i++) free(dh_memalign(16, 20));

    /* zero-byte blocks */
    for (int i = 0; i < 20; i++) keep(dh_zero());
    for (int i = 0; i < 20; i++) free(dh_zero());

    /* large blocks, one kept */
    for (int i = 0; i < 5; i++) free(dh_big(1 << 20));
    keep(dh_big(3 << 20));

    /* free some of the kept ones again, from the end */
    for (int i = 0; i < 25; i++) free(kept[--nkept]);
    return 0;
}
