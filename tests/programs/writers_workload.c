/*
 * Allocation workload with a known truth per allocating function, for the
 * profile-writer tests (tests/integration/writers_*.sh).
 *
 *   writers_workload [SCALE [RATE [oddtag]]]     (defaults 1, 0, none)
 *
 * Each wl_* function below is the only caller of one allocation call site,
 * so a profile's per-function totals (leaf frame = the wl_* function) can be
 * compared with what the program counted itself:
 *
 *   wl_churn       malloc 1000/3000/5000/20000 B, freed at once      (main tag)
 *   wl_keep_small  malloc 700 B, kept until exit  (tag "writers:keep", label trace_id=t-42)
 *   wl_keep_big    malloc 100000/200000/400000 B, kept (tag "writers:big")
 *   wl_calloc      calloc(16|32|64, 64), 3 in 4 blocks freed         (main tag)
 *   wl_aligned     posix_memalign(64|256|4096, 1500), kept           (main tag)
 *   wl_odd_tag     with "oddtag" only: malloc 64 B x 10, kept, under the tag
 *                  ODD_TAG below (quote, backslash, newline: escaping tests)
 *
 * wl_churn makes 400 + 125 * (SCALE - 1) rounds of its four sizes; the
 * counts of wl_calloc (3000 blocks) and wl_keep_big (30 blocks) are
 * multiplied by SCALE/2.5 and SCALE/25, rounded up. The sampled-rate test
 * uses SCALE 250, where the estimates for these three are tight (the var_*
 * columns say how tight) while the memory kept stays below 100 MB. At any
 * SCALE wl_churn allocates the most bytes; at SCALE 1 wl_keep_big keeps the
 * most at exit.
 *
 * Output (stdout, written with write(2) so that stdio allocates nothing), one
 * line per function:
 *   truth FUNC alloc_objects alloc_space inuse_objects inuse_space
 *         req_alloc_bytes req_inuse_bytes
 *         var_alloc_objects var_alloc_space var_inuse_objects var_inuse_space
 * Spaces are usable bytes (malloc_usable_size, as heapprof counts for pprof);
 * req_* are the requested bytes (what DHAT counts). The var_* columns are the
 * variances the Horvitz-Thompson estimates have when heapprof samples by
 * requested bytes at mean distance RATE: sum of (1-p)/p * x^2 with
 * p = 1 - exp(-requested/RATE) (0 when RATE is 0 or 1).
 * Then "done", and the exit status is 0. Blocks kept stay alive until exit, so
 * the exit dump's inuse values are the kept ones.
 */
#define _GNU_SOURCE
#include "heapprof.h"

#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { F_CHURN, F_KEEP_SMALL, F_KEEP_BIG, F_CALLOC, F_ALIGNED, F_ODD_TAG, NFUNCS };
static const char *const names[NFUNCS] = {"wl_churn",  "wl_keep_small", "wl_keep_big",
                                          "wl_calloc", "wl_aligned",    "wl_odd_tag"};
#define ODD_TAG "odd \"tag\" \\ with\nnewline"

typedef struct truth {
    uint64_t alloc_objects, alloc_space, inuse_objects, inuse_space, req_alloc, req_inuse;
    double var_alloc_objects, var_alloc_space, var_inuse_objects, var_inuse_space;
} truth;

static truth tr[NFUNCS];
static double rate;
static void *volatile sink; /* keeps the compiler from dropping allocations */

static void out(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0 && write(1, line, (size_t)n) != n) _exit(3);
}

static void die(const char *what) {
    out("error %s\n", what);
    _exit(2);
}

/* Pointer storage outside the heap, so the program's bookkeeping never shows
 * up in a profile. */
static void **table(size_t n) {
    void *p = mmap(NULL, n * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap");
    return p;
}

static void count(int f, void *p, size_t requested, int kept) {
    if (!p) die("allocation failed");
    size_t usable = malloc_usable_size(p);
    truth *t = &tr[f];
    double q = 0; /* (1-p)/p for this block at `rate` */
    if (rate > 1) q = 1.0 / -expm1(-(double)requested / rate) - 1.0;
    t->alloc_objects++;
    t->alloc_space += usable;
    t->req_alloc += requested;
    t->var_alloc_objects += q;
    t->var_alloc_space += q * (double)usable * (double)usable;
    if (kept) {
        t->inuse_objects++;
        t->inuse_space += usable;
        t->req_inuse += requested;
        t->var_inuse_objects += q;
        t->var_inuse_space += q * (double)usable * (double)usable;
    }
}

__attribute__((noinline)) void wl_churn(size_t n) {
    void *p = malloc(n);
    sink = p;
    count(F_CHURN, p, n, 0);
    free(p);
}

__attribute__((noinline)) void *wl_keep_small(void) {
    void *p = malloc(700);
    sink = p;
    count(F_KEEP_SMALL, p, 700, 1);
    return p;
}

__attribute__((noinline)) void *wl_keep_big(size_t n) {
    void *p = malloc(n);
    sink = p;
    count(F_KEEP_BIG, p, n, 1);
    return p;
}

__attribute__((noinline)) void *wl_calloc(size_t n, int keep) {
    void *p = calloc(n, 64);
    sink = p;
    count(F_CALLOC, p, n * 64, keep);
    return p;
}

__attribute__((noinline)) void *wl_aligned(size_t align) {
    void *p = NULL;
    if (posix_memalign(&p, align, 1500)) p = NULL;
    sink = p;
    count(F_ALIGNED, p, 1500, 1);
    return p;
}

__attribute__((noinline)) void *wl_odd_tag(void) {
    void *p = malloc(64);
    sink = p;
    count(F_ODD_TAG, p, 64, 1);
    return p;
}

int main(int argc, char **argv) {
    long scale = argc > 1 ? atol(argv[1]) : 1;
    rate = argc > 2 ? atof(argv[2]) : 0;
    if (scale < 1) die("bad SCALE");

    static const size_t churn_sizes[] = {1000, 3000, 5000, 20000};
    static const size_t big_sizes[] = {100000, 200000, 400000};
    static const size_t calloc_n[] = {16, 32, 64};
    static const size_t aligns[] = {64, 256, 4096};
    size_t nchurn = 400 + 125 * ((size_t)scale - 1), nsmall = 2000, nbig = 30 * (((size_t)scale + 24) / 25),
           ncalloc = 3000 * (((size_t)scale * 2 + 4) / 5), naligned = 600;
    void **small = table(nsmall), **big = table(nbig), **cal = table(ncalloc),
         **al = table(naligned);

    for (size_t i = 0; i < nchurn; i++)
        for (size_t k = 0; k < 4; k++) wl_churn(churn_sizes[k]);

    if (heapprof_available()) {
        heapprof_tag_push("writers:keep");
        heapprof_label_set("trace_id", "t-42");
    }
    for (size_t i = 0; i < nsmall; i++) small[i] = wl_keep_small();
    if (heapprof_available()) {
        heapprof_label_clear("trace_id");
        heapprof_tag_set("writers:big");
    }
    for (size_t i = 0; i < nbig; i++) big[i] = wl_keep_big(big_sizes[i % 3]);
    if (heapprof_available()) heapprof_tag_pop();

    for (size_t i = 0; i < ncalloc; i++) { /* 1 in 4 kept; the others freed at once or a bit later */
        cal[i] = wl_calloc(calloc_n[i % 3], i % 4 == 0);
        if (i % 4 == 2) free(cal[i]);
        if (i % 2 == 0 && i > 0) free(cal[i - 1]);
    }
    if (ncalloc % 2 == 0) free(cal[ncalloc - 1]);
    for (size_t i = 0; i < naligned; i++) al[i] = wl_aligned(aligns[i % 3]);

    if (argc > 3 && strcmp(argv[3], "oddtag") == 0) {
        void **odd = table(10);
        if (heapprof_available()) heapprof_tag_push(ODD_TAG);
        for (int i = 0; i < 10; i++) odd[i] = wl_odd_tag();
        if (heapprof_available()) heapprof_tag_pop();
    }

    for (int f = 0; f < NFUNCS; f++) {
        const truth *t = &tr[f];
        out("truth %s %llu %llu %llu %llu %llu %llu %.6g %.6g %.6g %.6g\n", names[f],
            (unsigned long long)t->alloc_objects, (unsigned long long)t->alloc_space,
            (unsigned long long)t->inuse_objects, (unsigned long long)t->inuse_space,
            (unsigned long long)t->req_alloc, (unsigned long long)t->req_inuse,
            t->var_alloc_objects, t->var_alloc_space, t->var_inuse_objects, t->var_inuse_space);
    }
    out("done\n");
    return 0;
}
