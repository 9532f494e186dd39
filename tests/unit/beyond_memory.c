/*
 * Requests larger than RAM + swap fail with ENOMEM, as under glibc (the
 * kernel's default overcommit heuristic refuses such a mapping; mimalloc's
 * MAP_NORESERVE mappings would slip past it, alloc/memory_bound.h): through
 * every entry point, leaving a realloc'd block intact and the counters
 * unmoved. A request within RAM + swap still succeeds. With another
 * overcommit mode the kernel decides by itself; the test says so and checks
 * only the rest.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

static void *(*volatile malloc_fn)(size_t) = malloc;
static void *(*volatile calloc_fn)(size_t, size_t) = calloc;
static void *(*volatile realloc_fn)(void *, size_t) = realloc;

static char overcommit_mode(void) {
    FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
    int c = f ? fgetc(f) : EOF;
    if (f) fclose(f);
    return c == EOF ? '?' : (char)c;
}

static void refused_(const char *what, void *p, int err) {
    if (p || err != ENOMEM) {
        fprintf(stderr, "%s: got %p, errno %d; want NULL, ENOMEM\n", what, p, err);
        check_failures++;
    }
    free(p);
}

/* errno read after the call (argument order is unspecified) */
#define refused(what, call)                                                                        \
    do {                                                                                           \
        errno = 0;                                                                                 \
        void *r_ = (call);                                                                         \
        refused_(what, r_, errno);                                                                 \
    } while (0)

int main(void) {
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0);
    uint64_t memory = ((uint64_t)si.totalram + si.totalswap) * (si.mem_unit ? si.mem_unit : 1);
    size_t beyond = (size_t)memory + ((size_t)64 << 20);
    char mode = overcommit_mode();

    char *keep = malloc(100);
    CHECK(keep != NULL);
    strcpy(keep, "still here");
    heapprof_stats_t before, after;
    heapprof_stats(&before, sizeof before);
    if (mode == '0') {
        size_t sizes[] = {beyond, memory * 2, (size_t)1 << 46};
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            size_t n = sizes[i];
            void *p;
            refused("malloc", malloc_fn(n));
            refused("calloc", calloc_fn(1, n));
            refused("realloc", realloc_fn(keep, n));
            CHECK(strcmp(keep, "still here") == 0);
            refused("aligned_alloc", aligned_alloc(4096, n));
            refused("memalign", memalign(64, n));
            refused("valloc", valloc(n));
            p = (void *)1;
            CHECK(posix_memalign(&p, 64, n) == ENOMEM && p == (void *)1);
        }
        heapprof_stats(&after, sizeof after);
        CHECK_EQ_U64(after.live_bytes, before.live_bytes);
        CHECK_EQ_U64(after.alloc_objects, before.alloc_objects);
    } else {
        fprintf(stderr,
                "vm.overcommit_memory = %c: the kernel decides about requests beyond "
                "RAM + swap by itself; those checks do not apply here\n",
                mode);
    }
    /* within RAM + swap: allowed (not touched, so no memory is used) */
    void *big = malloc_fn((size_t)(memory / 4));
    CHECK(big != NULL);
    free(big);
    free(keep);
    return CHECK_DONE();
}
