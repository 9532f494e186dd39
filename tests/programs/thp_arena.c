/*
 * Allocates COUNT blocks of SIZE bytes one after the other (each freed
 * before the next), optionally under a lowered RLIMIT_AS, then prints
 * "arena" if the process has a 1 GiB mapping marked for transparent huge
 * pages (heapprof's arena for mimalloc, alloc/mi_tuning.c) and "no arena"
 * otherwise. Used by tests/integration/thp_arena.sh.
 *   thp_arena COUNT SIZE [limit]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int has_thp_arena(void) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    unsigned long kib = 0;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "Size: %lu kB", &kib) == 1) continue;
        if (!strncmp(line, "VmFlags:", 8) && kib == 1024 * 1024 && strstr(line, " hg")) found = 1;
    }
    fclose(f);
    return found;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    long count = atol(argv[1]);
    size_t size = (size_t)atol(argv[2]);
    if (argc > 3 && !strcmp(argv[3], "limit")) {
        struct rlimit r = {(rlim_t)64 << 30, RLIM_INFINITY};
        if (setrlimit(RLIMIT_AS, &r)) return 3;
    }
    for (long i = 0; i < count; i++) {
        char *p = malloc(size);
        if (!p) return 4;
        memset(p, (int)i, size);
        free(p);
    }
    puts(has_thp_arena() ? "arena" : "no arena");
    return 0;
}
