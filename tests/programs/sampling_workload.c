/*
 * A single-threaded allocation workload whose exact truth is known, for the
 * statistical acceptance tests of the sampler (tests/integration/sampling_*.sh).
 *
 *   sampling_workload [SCALE_PERCENT]     (default 100)
 *
 * The pattern is fixed (its own PRNG with a constant seed), so every run makes
 * the same requests whatever HEAPPROF_SEED is; only heapprof's sampling
 * differs between runs. Four tags, sized for HEAPPROF_RATE=16384 (R): small
 * blocks are far below R, medium ones R/16..R/4, large ones R..4R (the same
 * regime as 64-256 KiB at R=65536, at a quarter of the memory and time):
 *
 *   small   16-64 B, malloc
 *   medium  1-4 KiB, malloc
 *   large   16-64 KiB, malloc
 *   mixed   1-8 KiB through malloc, calloc, aligned_alloc, posix_memalign,
 *           memalign, realloc(NULL, n), plus reallocs of live blocks
 *
 * Phase 1 allocates every tag's first blocks, interleaved in rounds (so the
 * current tag changes often); phase 2 frees a random 40% of them, under the
 * initial tag; phase 3 allocates 20% more and reallocs some mixed blocks under
 * "mixed". Every tag's live bytes and objects are therefore highest together,
 * at the end of phase 1, and the per-tag peak is unambiguous.
 *
 * Truth is counted in usable bytes (malloc_usable_size) as the blocks are
 * made. The program's own bookkeeping lives in mmap'd memory, so the process
 * counters move only by the workload's blocks between the two heapprof_stats
 * snapshots. Output (stdout, written with write(2) so stdio allocates nothing):
 * one JSON document with, per tag, the truth, what heapprof_tag_stats reports
 * at the end, and the variance the estimates should have at HEAPPROF_RATE
 * (sum of (w-1)u^2 and (w-1) over the live blocks, w = 1/(1-exp(-n/R)));
 * the process snapshots; then, as the very last thing, one line "final ..."
 * with heapprof_stats taken after everything else, which the exit dump's
 * stats.json must repeat exactly.
 */
#define _GNU_SOURCE
#include "heapprof.h"

#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SMALL, MEDIUM, LARGE, MIXED, NTAGS };
static const char *const tag_names[NTAGS] = {"small", "medium", "large", "mixed"};
/* Phase-1 block counts at scale 100. Chosen so that at HEAPPROF_RATE=16384
 * each tag's live estimates (bytes and objects) have a relative standard
 * deviation of 2.5-4.5% per run (see tests/integration/sampling_stats.sh). */
static const uint32_t phase1_count[NTAGS] = {300000, 6250, 190, 3000};
#define ROUNDS 100

typedef struct block {
    void *p;
    uint32_t usable, requested;
    uint8_t tag, live;
} block;

typedef struct truth {
    uint64_t alloc_bytes, alloc_objects;
    int64_t live_bytes, live_objects;
    int64_t peak_bytes, objects_at_peak, max_objects;
} truth;

static truth tr[NTAGS];
static block *blocks;
static uint32_t nblocks;
static int64_t proc_live, proc_objs, proc_peak, proc_peak_objs; /* process trajectory */
static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void) { /* splitmix64: fixed sequence, independent of heapprof */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint32_t range(uint32_t lo, uint32_t hi) {
    return lo + (uint32_t)(rng() % (hi - lo + 1));
}

static void die(const char *msg) {
    (void)!write(2, msg, strlen(msg));
    _exit(3);
}

static void *map(size_t bytes) {
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("sampling_workload: mmap failed\n");
    return m;
}

static void moved(int tag, int64_t bytes, int64_t objects) {
    truth *t = &tr[tag];
    t->live_bytes += bytes;
    t->live_objects += objects;
    if (t->live_bytes > t->peak_bytes) { /* first moment of the highest value */
        t->peak_bytes = t->live_bytes;
        t->objects_at_peak = t->live_objects;
    }
    if (t->live_objects > t->max_objects) t->max_objects = t->live_objects;
    proc_live += bytes;
    proc_objs += objects;
    if (proc_live > proc_peak) proc_peak = proc_live;
    if (proc_objs > proc_peak_objs) proc_peak_objs = proc_objs;
}

static void record(int tag, void *p, size_t requested) {
    if (!p) die("sampling_workload: allocation failed\n");
    size_t u = malloc_usable_size(p);
    memset(p, 0x5a, requested < 64 ? requested : 64);
    blocks[nblocks++] = (block){p, (uint32_t)u, (uint32_t)requested, (uint8_t)tag, 1};
    tr[tag].alloc_bytes += u;
    tr[tag].alloc_objects++;
    moved(tag, (int64_t)u, 1);
}

static void release(block *b) {
    moved(b->tag, -(int64_t)b->usable, -1);
    free(b->p);
    b->live = 0;
}

static void *mixed_alloc(size_t n) {
    void *p = NULL;
    switch (rng() % 6) {
    case 0:
        return malloc(n);
    case 1:
        return calloc(n / 8, 8) /* n is a multiple of 8 below */;
    case 2:
        return aligned_alloc(64, n);
    case 3:
        return posix_memalign(&p, 256, n) ? NULL : p;
    case 4:
        return memalign(32, n);
    default:
        return realloc(NULL, n);
    }
}

static void alloc_one(int tag) {
    size_t n;
    switch (tag) {
    case SMALL:
        n = range(16, 64);
        record(tag, malloc(n), n);
        break;
    case MEDIUM:
        n = range(1024, 4096);
        record(tag, malloc(n), n);
        break;
    case LARGE:
        n = range(16384, 65536);
        record(tag, malloc(n), n);
        break;
    default:
        n = range(128, 1024) * 8;
        record(tag, mixed_alloc(n), n);
        break;
    }
}

/* Allocates count[tag] blocks of every tag, in ROUNDS interleaved rounds. */
static void allocate_rounds(const uint32_t *count) {
    for (int r = 0; r < ROUNDS; r++)
        for (int tag = 0; tag < NTAGS; tag++) {
            uint32_t from = (uint32_t)((uint64_t)count[tag] * r / ROUNDS);
            uint32_t to = (uint32_t)((uint64_t)count[tag] * (r + 1) / ROUNDS);
            if (from == to) continue;
            if (heapprof_tag_push(tag_names[tag])) die("sampling_workload: tag push failed\n");
            for (uint32_t i = from; i < to; i++)
                alloc_one(tag);
            if (heapprof_tag_pop()) die("sampling_workload: tag pop failed\n");
        }
}

/* Output: a static buffer and write(2), so printing allocates nothing. */
static char out[1 << 16];
static size_t out_len;
static void put(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + out_len, sizeof out - out_len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof out - out_len) die("sampling_workload: output buffer full\n");
    out_len += (size_t)n;
}
static void flush_out(void) {
    for (size_t off = 0; off < out_len;) {
        ssize_t w = write(1, out + off, out_len - off);
        if (w <= 0) die("sampling_workload: write failed\n");
        off += (size_t)w;
    }
    out_len = 0;
}

static void put_stats(const char *name, const heapprof_stats_t *s) {
    put("\"%s\": {\"live_bytes\": %" PRIu64 ", \"live_objects\": %" PRIu64
        ", \"peak_bytes\": %" PRIu64 ", \"peak_objects\": %" PRIu64 ", \"alloc_bytes\": %" PRIu64
        ", \"alloc_objects\": %" PRIu64 ", \"freed_bytes\": %" PRIu64
        ", \"freed_objects\": %" PRIu64 "}",
        name, s->live_bytes, s->live_objects, s->peak_bytes, s->peak_objects, s->alloc_bytes,
        s->alloc_objects, s->freed_bytes, s->freed_objects);
}

int main(int argc, char **argv) {
    if (!heapprof_available()) die("sampling_workload: run me with libheapprof.so preloaded\n");
    int scale = argc > 1 ? atoi(argv[1]) : 100;
    if (scale < 1 || scale > 1000) die("usage: sampling_workload [SCALE_PERCENT]\n");
    const char *rate_env = getenv("HEAPPROF_RATE");
    double rate = rate_env ? atof(rate_env) : 524288;

    uint32_t p1[NTAGS], p3[NTAGS], total = 0;
    for (int t = 0; t < NTAGS; t++) {
        p1[t] = (uint32_t)((uint64_t)phase1_count[t] * (uint64_t)scale / 100);
        if (p1[t] < 10) p1[t] = 10;
        p3[t] = p1[t] / 5;
        total += p1[t] + p3[t];
    }
    total += p1[MIXED]; /* room for the reallocated mixed blocks */
    blocks = map((size_t)total * sizeof *blocks);
    uint32_t *order = map((size_t)total * sizeof *order);

    heapprof_stats_t base, end, final;
    heapprof_stats(&base, sizeof base);
    proc_live = (int64_t)base.live_bytes;
    proc_objs = (int64_t)base.live_objects;
    proc_peak = (int64_t)base.peak_bytes;
    proc_peak_objs = (int64_t)base.peak_objects;

    /* Phase 1: ramp up. */
    allocate_rounds(p1);
    uint32_t n1 = nblocks;
    for (int t = 0; t < NTAGS; t++) /* the workload's design: both highest here */
        if (tr[t].live_bytes != tr[t].peak_bytes || tr[t].live_objects != tr[t].max_objects)
            die("sampling_workload: phase 1 does not end at the peak\n");

    /* Phase 2: free a random 40% of the blocks, in random order, under the
     * initial tag (each free must come off the block's own tag). */
    for (uint32_t i = 0; i < n1; i++)
        order[i] = i;
    for (uint32_t i = n1 - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(rng() % (i + 1)), x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    for (uint32_t i = 0; i < n1 * 2 / 5; i++)
        release(&blocks[order[i]]);

    /* Phase 3: 20% more blocks; some live mixed blocks reallocated. */
    allocate_rounds(p3);
    heapprof_tag_push("mixed");
    for (uint32_t i = 0; i < n1; i++) {
        block *b = &blocks[i];
        if (!b->live || b->tag != MIXED || rng() % 8) continue;
        size_t n = range(128, 1024) * 8;
        moved(MIXED, -(int64_t)b->usable, -1);
        b->live = 0;
        void *q = realloc(b->p, n);
        if (!q) die("sampling_workload: realloc failed\n");
        record(MIXED, q, n);
    }
    heapprof_tag_pop();
    for (int t = 0; t < NTAGS; t++)
        if (tr[t].objects_at_peak != tr[t].max_objects)
            die("sampling_workload: bytes and objects peak at different moments\n");

    /* What heapprof reports now, and the variance its estimates should have. */
    heapprof_tag_stats_t got[NTAGS];
    double var_b[NTAGS] = {0}, var_o[NTAGS] = {0};
    for (int t = 0; t < NTAGS; t++)
        if (heapprof_tag_stats(tag_names[t], &got[t], sizeof got[t]))
            die("sampling_workload: no tag stats\n");
    for (uint32_t i = 0; i < nblocks; i++) {
        const block *b = &blocks[i];
        if (!b->live || rate <= 1) continue;
        double w = 1.0 / -expm1(-(double)b->requested / rate);
        var_b[b->tag] += (w - 1) * (double)b->usable * (double)b->usable;
        var_o[b->tag] += w - 1;
    }
    heapprof_stats(&end, sizeof end);

    put("{\"rate\": %.0f, \"scale\": %d,\n \"tags\": [", rate, scale);
    for (int t = 0; t < NTAGS; t++) {
        const truth *x = &tr[t];
        const heapprof_tag_stats_t *g = &got[t];
        put("%s\n  {\"name\": \"%s\", \"truth\": {\"alloc_bytes\": %" PRIu64
            ", \"alloc_objects\": %" PRIu64 ", \"live_bytes\": %" PRId64
            ", \"live_objects\": %" PRId64 ", \"peak_bytes\": %" PRId64
            ", \"peak_objects\": %" PRId64 ", \"var_bytes\": %.17g, \"var_objects\": %.17g},\n"
            "   \"got\": {\"alloc_bytes\": %" PRIu64 ", \"alloc_objects\": %" PRIu64
            ", \"live_bytes\": %.17g, \"live_objects\": %.17g, \"peak_bytes\": %.17g"
            ", \"peak_objects\": %.17g, \"live_bytes_stderr\": %.17g, \"live_objects_stderr\": "
            "%.17g"
            ", \"exact\": %d}}",
            t ? "," : "", tag_names[t], x->alloc_bytes, x->alloc_objects, x->live_bytes,
            x->live_objects, x->peak_bytes, x->objects_at_peak, var_b[t], var_o[t], g->alloc_bytes,
            g->alloc_objects, g->live_bytes, g->live_objects, g->peak_bytes, g->peak_objects,
            g->live_bytes_stderr, g->live_objects_stderr, g->exact);
    }
    put("],\n \"process\": {\"truth\": {\"peak_bytes\": %" PRId64 ", \"peak_objects\": %" PRId64
        ", \"live_bytes\": %" PRId64 ", \"live_objects\": %" PRId64 "},\n  ",
        proc_peak, proc_peak_objs, proc_live, proc_objs);
    put_stats("base", &base);
    put(",\n  ");
    put_stats("end", &end);
    put("}}\n");
    flush_out();

    /* The last thing the program does: what the exit dump must repeat. */
    heapprof_stats(&final, sizeof final);
    put("final {");
    put_stats("process", &final);
    put("}\n");
    flush_out();
    return 0;
}
