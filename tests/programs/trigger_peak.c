/*
 * Heap growth in steps, for the peak-dump tests (HEAPPROF_PEAK_DUMP=1.5).
 * The live heap is moved to a number of MiB and held there; the program
 * prints one line per step and nothing that depends on timing, so a plain
 * run prints the same. When the runtime is not loaded nothing waits.
 *
 * Growth to a level is one block ("jump") or 16 KiB blocks ("creep"); a
 * peak dump started by a creep sees the heap part of the way up.
 * "await" waits (up to 10 s) for the next stats file of this process in
 * HEAPPROF_OUT, then holds 0.1 s; "hold" just holds.
 *
 *   trigger_peak steps
 *       creep to 2 MiB (first threshold 1.5 MiB: a dump on the way, await),
 *       then jumps: 4 (await), 5 (hold 1.2 s), 8 (await), 13 (await), 16
 *       (hold 1.2 s), 20 MiB (await). Each dump but the first is due exactly
 *       at its level: the level is >= 1.5 x the previous dump's live bytes
 *       (13/8 = 1.62: a larger factor would skip it), and the held ones are
 *       below it (5/4 and 16/13 are about 1.23: a smaller factor would dump
 *       there). The holds outlast the 1 s rate limit, so a check deferred by
 *       it still sees the held level.
 *   trigger_peak drop
 *       creep to 2 MiB (await), jump to 8 MiB (await); at once (inside the
 *       1 s rate limit) a 6 MiB block is allocated and freed and the heap
 *       falls to 1 MiB; hold 1.5 s; creep to 3 MiB, hold 1.5 s; creep to 4
 *       MiB, hold 1.5 s. Nothing after the 8 MiB dump is a new peak.
 *   trigger_peak first
 *       spin 50 ms on the CPU, jump to 2 MiB and await the first dump, which
 *       starts at once (no rate limit yet), woken by the flush of that jump.
 *       (Run on one CPU, the spin makes the scheduler run the woken
 *       background thread before this one finishes the flush.)
 */
#define _GNU_SOURCE
#include <heapprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define MAX_BLOCKS 1024
static char *blocks[MAX_BLOCKS];
static int sizes[MAX_BLOCKS];
static int nblocks, total, dumps_seen;

static void level(int mib, int creep) {
    while (total > mib * MIB) {
        nblocks--;
        total -= sizes[nblocks];
        free(blocks[nblocks]);
    }
    while (total < mib * MIB) {
        int n = creep ? 16 * 1024 : mib * MIB - total;
        if (nblocks == MAX_BLOCKS) abort();
        sizes[nblocks] = n;
        blocks[nblocks] = malloc((size_t)n);
        memset(blocks[nblocks], 1, (size_t)n);
        total += n;
        nblocks++;
    }
}

static void hold(double seconds) {
    if (!heapprof_available()) return;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts)) {
    }
}

/* Waits for heapprof.<pid>.<n>.stats.json, n = dumps so far. */
static void await_dump(void) {
    if (!heapprof_available()) return;
    const char *out = getenv("HEAPPROF_OUT");
    char path[4096];
    snprintf(path, sizeof path, "%s/heapprof.%d.%d.stats.json", out ? out : ".", (int)getpid(),
             dumps_seen);
    for (int i = 0; i < 2000 && access(path, F_OK); i++)
        hold(0.005);
    if (access(path, F_OK)) fprintf(stderr, "trigger_peak: no dump %d after 10 s\n", dumps_seen);
    dumps_seen++;
    hold(0.1);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "steps";
    if (!strcmp(mode, "steps")) {
        static const struct {
            int mib, dump;
        } steps[] = {{4, 1}, {5, 0}, {8, 1}, {13, 1}, {16, 0}, {20, 1}};
        level(2, 1);
        printf("level 2 MiB\n");
        fflush(stdout);
        await_dump();
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
            level(steps[i].mib, 0);
            printf("level %d MiB\n", steps[i].mib);
            fflush(stdout);
            if (steps[i].dump)
                await_dump();
            else
                hold(1.2);
        }
    } else if (!strcmp(mode, "drop")) {
        level(2, 1);
        await_dump();
        level(8, 0);
        await_dump();
        char *spike = malloc(6 * MIB);
        memset(spike, 2, 6 * MIB);
        free(spike);
        level(1, 0);
        printf("spike to 14 MiB, fall to 1 MiB\n");
        hold(1.5);
        level(3, 1);
        printf("level 3 MiB\n");
        hold(1.5);
        level(4, 1);
        printf("level 4 MiB\n");
        hold(1.5);
    } else if (!strcmp(mode, "first")) {
        struct timespec a, b;
        volatile unsigned long x = 0;
        clock_gettime(CLOCK_MONOTONIC, &a);
        do {
            for (int i = 0; i < 10000; i++)
                x += (unsigned long)i;
            clock_gettime(CLOCK_MONOTONIC, &b);
        } while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 50);
        level(2, 0);
        printf("level 2 MiB\n");
        await_dump();
    } else {
        fprintf(stderr, "usage: %s steps|drop|first\n", argv[0]);
        return 2;
    }
    level(0, 0);
    printf("done\n");
    return 0;
}
