/*
 * A workload for the Pyroscope push tests: phases of allocations under two
 * tags, some blocks kept (in use) and many freed at once (allocated only),
 * with a pause after each phase so interval dumps and uploads fall between
 * them. Its output depends only on the arguments.
 *
 *   push_workload PHASES PAUSE_MS [--wait] [--curl-report FILE]
 *
 * Phase i allocates under tag "parser" (even i) or "render" (odd i) in
 * kept_blocks() (100 blocks kept) and churn_blocks() (1000 blocks freed at
 * once), prints "phase i: ..." and pauses. Then half the kept blocks are
 * freed and "done" is printed. --wait then reads stdin to EOF (so a test can
 * decide when the program ends); --curl-report writes "libcurl mapped: yes"
 * or "no" to FILE (from /proc/self/maps) just before exit.
 */
#define _GNU_SOURCE
#include <heapprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEPT_PER_PHASE 100
#define MAX_PHASES 64

static char *kept[KEPT_PER_PHASE * MAX_PHASES];
static size_t nkept;

__attribute__((noinline)) static void kept_blocks(int phase) {
    for (int i = 0; i < KEPT_PER_PHASE; i++) {
        char *p = malloc(1000 + (size_t)phase * 16);
        if (!p) exit(3);
        memset(p, phase, 1000);
        kept[nkept++] = p;
    }
}

__attribute__((noinline)) static unsigned churn_blocks(int phase) {
    unsigned sum = 0;
    for (int i = 0; i < 1000; i++) {
        unsigned char *p = malloc(64 + (size_t)(i % 7) * 8);
        if (!p) exit(3);
        p[0] = (unsigned char)(i + phase);
        sum += p[0];
        free(p);
    }
    return sum;
}

static void tag(const char *name) {
    if (heapprof_available()) heapprof_tag_set(name);
}

static void curl_report(const char *path) {
    FILE *maps = fopen("/proc/self/maps", "r"), *out = fopen(path, "w");
    char line[4096];
    int found = 0;
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "libcurl")) found = 1;
    if (out) fprintf(out, "libcurl mapped: %s\n", found ? "yes" : "no");
    if (maps) fclose(maps);
    if (out) fclose(out);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: push_workload PHASES PAUSE_MS [--wait] [--curl-report FILE]\n");
        return 2;
    }
    int phases = atoi(argv[1]), pause_ms = atoi(argv[2]), wait = 0;
    const char *report = NULL;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--wait"))
            wait = 1;
        else if (!strcmp(argv[i], "--curl-report") && i + 1 < argc)
            report = argv[++i];
    }
    if (phases < 1 || phases > MAX_PHASES) phases = 1;
    for (int i = 0; i < phases; i++) {
        tag(i % 2 ? "render" : "parser");
        kept_blocks(i);
        unsigned sum = churn_blocks(i);
        tag("main");
        printf("phase %d: %d blocks kept, checksum %u\n", i, KEPT_PER_PHASE, sum);
        fflush(stdout);
        usleep((useconds_t)pause_ms * 1000);
    }
    for (size_t i = 0; i < nkept; i += 2) {
        free(kept[i]);
        kept[i] = NULL;
    }
    printf("done: %zu blocks still kept\n", nkept / 2);
    fflush(stdout);
    if (wait) {
        char buf[256];
        while (fread(buf, 1, sizeof buf, stdin) > 0) {
        }
    }
    if (report) curl_report(report);
    return 0;
}
