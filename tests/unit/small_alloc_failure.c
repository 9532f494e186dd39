/*
 * malloc of a small block counts it before mimalloc runs (so that only the
 * request lives across the call) and takes the count back when mimalloc
 * returns NULL. Run out of address space under a lowered RLIMIT_AS, with
 * small requests only, and check that every failure sets errno to ENOMEM and
 * that the counters still match this program's own accounting exactly.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_BLOCKS (1u << 20)
#define HEADROOM ((rlim_t)96 << 20)

static void *blocks[MAX_BLOCKS];

static rlim_t address_space_in_use(void) {
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1) pages = 0;
        fclose(f);
    }
    return (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
}

int main(void) {
    CHECK(heapprof_available());
    struct rlimit saved;
    CHECK(getrlimit(RLIMIT_AS, &saved) == 0);
    rlim_t in_use = address_space_in_use();
    CHECK(in_use > 0);
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < in_use + HEADROOM) {
        fprintf(stderr, "RLIMIT_AS hard limit too low for this test\n");
        return 1;
    }

    heapprof_stats_t before, after;
    heapprof_stats(&before, sizeof before);
    struct rlimit low = {in_use + HEADROOM, saved.rlim_max};
    CHECK(setrlimit(RLIMIT_AS, &low) == 0);

    size_t n = 0, failures = 0;
    uint64_t bytes = 0;
    while (failures < 8 && n < MAX_BLOCKS) {
        size_t size = 16 + (n % 63) * 16; /* 16..1008: the size-table path */
        errno = 0;
        void *p = malloc(size);
        if (!p) {
            failures++;
            CHECK(errno == ENOMEM);
            continue;
        }
        blocks[n++] = p;
        bytes += malloc_usable_size(p);
    }
    heapprof_stats(&after, sizeof after);
    CHECK(setrlimit(RLIMIT_AS, &saved) == 0);

    CHECK(failures == 8); /* the limit was reached, not the block table's end */
    CHECK_EQ_U64(after.live_bytes - before.live_bytes, bytes);
    CHECK_EQ_U64(after.live_objects - before.live_objects, n);
    CHECK_EQ_U64(after.alloc_bytes - before.alloc_bytes, bytes);
    CHECK_EQ_U64(after.alloc_objects - before.alloc_objects, n);
    for (size_t i = 0; i < n; i++)
        free(blocks[i]);
    heapprof_stats(&after, sizeof after);
    CHECK_EQ_U64(after.live_bytes, before.live_bytes);
    CHECK_EQ_U64(after.live_objects, before.live_objects);
    return CHECK_DONE();
}
