/*
 * A workload with a known shape for the flame graph and timeline tests.
 *
 *   flame_workload [CACHE_BLOCKS]
 *
 * Every block is 64 KiB, so under HEAPPROF_RATE=1 the graph's widths are
 * exact multiples of one block. Call paths and tags:
 *   main > stage_parse > parse_tokens                 48 blocks, tag "parser"
 *   main > stage_plan > plan_build                    32 blocks, tag "planner"
 *   main > stage_plan > plan_build > plan_index       16 blocks, tag "planner"
 *   main > stage_cache > cache_fill                   CACHE_BLOCKS (default 64),
 *                                                     tag "cache<&>" (markup
 *                                                     characters on purpose)
 * Phases are spaced by sleeps (about 1.3 s in all) so interval dumps see the
 * heap grow stage by stage; the parser's blocks are freed before the end, so
 * live bytes drop while the peak stays. Prints one line with the block
 * counts; the output never depends on timing.
 */
#define _GNU_SOURCE
#include <heapprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 65536
#define MAX_BLOCKS 4096

static void *blocks[MAX_BLOCKS];
static int nblocks;

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts)) {
    }
}

static void tag_push(const char *name) {
    if (heapprof_tag_push) heapprof_tag_push(name);
}

static void tag_pop(void) {
    if (heapprof_tag_pop) heapprof_tag_pop();
}

/* Keeps the block so the compiler cannot drop the allocation. */
static void keep(void *p) {
    if (!p || nblocks == MAX_BLOCKS) {
        fputs("flame_workload: out of memory\n", stderr);
        exit(1);
    }
    memset(p, 0x5a, 64);
    blocks[nblocks++] = p;
}

/* `n` blocks in `steps` steps with a pause after each. */
__attribute__((noinline)) void parse_tokens(int n, int steps) {
    for (int i = 0; i < n; i++) {
        keep(malloc(BLOCK));
        if ((i + 1) % (n / steps) == 0) pause_ms(50);
    }
}

__attribute__((noinline)) void plan_index(int n) {
    for (int i = 0; i < n; i++)
        keep(malloc(BLOCK));
}

__attribute__((noinline)) void plan_build(int n) {
    for (int i = 0; i < n; i++)
        keep(malloc(BLOCK));
    pause_ms(100);
    plan_index(n / 2);
    pause_ms(100);
}

__attribute__((noinline)) void cache_fill(int n, int steps) {
    for (int i = 0; i < n; i++) {
        keep(calloc(1, BLOCK));
        if ((i + 1) % (n / steps ? n / steps : 1) == 0) pause_ms(50);
    }
}

__attribute__((noinline)) void stage_parse(void) {
    tag_push("parser");
    parse_tokens(48, 6);
    tag_pop();
}

__attribute__((noinline)) void stage_plan(void) {
    tag_push("planner");
    plan_build(32);
    tag_pop();
}

__attribute__((noinline)) void stage_cache(int n) {
    tag_push("cache<&>");
    cache_fill(n, 8);
    tag_pop();
}

int main(int argc, char **argv) {
    int cache = argc > 1 ? atoi(argv[1]) : 64;
    if (cache < 1 || cache > 2048) {
        fputs("usage: flame_workload [CACHE_BLOCKS 1..2048]\n", stderr);
        return 2;
    }
    stage_parse();
    stage_plan();
    stage_cache(cache);
    pause_ms(100);
    for (int i = 0; i < 48; i++)
        free(blocks[i]); /* the parser's tokens */
    pause_ms(250);
    printf("flame_workload: parse 48, plan 32+16, cache %d blocks of %d bytes\n", cache, BLOCK);
    return 0;
}
