/*
 * The same number of requested bytes in blocks of very different sizes, one
 * tag per size class, for tests/integration/sampling_sizes.sh (no size bias
 * in the sampler's estimates).
 *
 *   sampling_sizes [MIB_PER_CLASS]   (default 144)
 *
 * Classes: 8 B, 100 B, 10 KiB, 1 MiB (tags "size:8", "size:100",
 * "size:10240", "size:1048576"). Each class requests MIB_PER_CLASS MiB in
 * total, in 64 interleaved rounds; every 8th block stays live, the others are
 * freed at once. The pattern does not depend on HEAPPROF_SEED.
 *
 * Output (stdout, one JSON document, written with write(2)): per class the
 * truth in usable bytes - lifetime and live bytes/objects - and the variance
 * the estimates should have at HEAPPROF_RATE (sum of (w-1)u^2 and of (w-1),
 * w = 1/(1-exp(-n/R)), over all blocks and over the live ones), and what
 * heapprof_tag_stats reports at the end.
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

#define NCLASSES 4
#define ROUNDS 64
#define KEEP_EVERY 8
static const size_t class_size[NCLASSES] = {8, 100, 10240, 1048576};
static const char *const class_tag[NCLASSES] = {"size:8", "size:100", "size:10240", "size:1048576"};

typedef struct truth {
    uint64_t alloc_bytes, alloc_objects, live_bytes, live_objects;
    double alloc_var_bytes, alloc_var_objects, live_var_bytes, live_var_objects;
} truth;

static void die(const char *msg) {
    (void)!write(2, msg, strlen(msg));
    _exit(3);
}

static char out[1 << 14];
static size_t out_len;
static void put(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + out_len, sizeof out - out_len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof out - out_len) die("sampling_sizes: output buffer full\n");
    out_len += (size_t)n;
}

int main(int argc, char **argv) {
    if (!heapprof_available()) die("sampling_sizes: run me with libheapprof.so preloaded\n");
    long mib = argc > 1 ? atol(argv[1]) : 144;
    if (mib < 1 || mib > 4096) die("usage: sampling_sizes [MIB_PER_CLASS]\n");
    const char *rate_env = getenv("HEAPPROF_RATE");
    double rate = rate_env ? atof(rate_env) : 524288;

    truth tr[NCLASSES];
    memset(tr, 0, sizeof tr);
    uint64_t count[NCLASSES], kept_max = 0;
    for (int c = 0; c < NCLASSES; c++) {
        count[c] = (uint64_t)mib * 1048576 / class_size[c];
        kept_max += count[c] / KEEP_EVERY + 1;
    }
    /* The program's own bookkeeping is mmap'd: not on the profiled heap. */
    void **kept = mmap(NULL, kept_max * sizeof *kept, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (kept == MAP_FAILED) die("sampling_sizes: mmap failed\n");
    uint64_t nkept = 0;

    for (int r = 0; r < ROUNDS; r++)
        for (int c = 0; c < NCLASSES; c++) {
            uint64_t from = count[c] * (uint64_t)r / ROUNDS,
                     to = count[c] * (uint64_t)(r + 1) / ROUNDS;
            if (from == to) continue;
            size_t n = class_size[c];
            double w = rate > 1 ? 1.0 / -expm1(-(double)n / rate) : 1.0;
            if (heapprof_tag_push(class_tag[c])) die("sampling_sizes: tag push failed\n");
            for (uint64_t i = from; i < to; i++) {
                char *p = malloc(n);
                if (!p) die("sampling_sizes: malloc failed\n");
                p[0] = (char)i;
                double u = (double)malloc_usable_size(p);
                tr[c].alloc_bytes += (uint64_t)u;
                tr[c].alloc_objects++;
                tr[c].alloc_var_bytes += (w - 1) * u * u;
                tr[c].alloc_var_objects += w - 1;
                if (i % KEEP_EVERY == 0) {
                    kept[nkept++] = p;
                    tr[c].live_bytes += (uint64_t)u;
                    tr[c].live_objects++;
                    tr[c].live_var_bytes += (w - 1) * u * u;
                    tr[c].live_var_objects += w - 1;
                } else {
                    free(p);
                }
            }
            if (heapprof_tag_pop()) die("sampling_sizes: tag pop failed\n");
        }

    heapprof_tag_stats_t got[NCLASSES];
    for (int c = 0; c < NCLASSES; c++)
        if (heapprof_tag_stats(class_tag[c], &got[c], sizeof got[c]))
            die("sampling_sizes: no tag stats\n");

    put("{\"rate\": %.0f, \"mib_per_class\": %ld,\n \"classes\": [", rate, mib);
    for (int c = 0; c < NCLASSES; c++)
        put("%s\n  {\"name\": \"%s\", \"size\": %zu, \"truth\": {\"alloc_bytes\": %" PRIu64
            ", \"alloc_objects\": %" PRIu64 ", \"live_bytes\": %" PRIu64
            ", \"live_objects\": %" PRIu64
            ", \"alloc_var_bytes\": %.17g, \"alloc_var_objects\": %.17g, \"live_var_bytes\": %.17g"
            ", \"live_var_objects\": %.17g}}",
            c ? "," : "", class_tag[c], class_size[c], tr[c].alloc_bytes, tr[c].alloc_objects,
            tr[c].live_bytes, tr[c].live_objects, tr[c].alloc_var_bytes, tr[c].alloc_var_objects,
            tr[c].live_var_bytes, tr[c].live_var_objects);
    put("],\n \"got\": [");
    for (int c = 0; c < NCLASSES; c++)
        put("%s\n  {\"name\": \"%s\", \"alloc_bytes\": %" PRIu64 ", \"alloc_objects\": %" PRIu64
            ", \"live_bytes\": %.17g, \"live_objects\": %.17g, \"live_bytes_stderr\": %.17g"
            ", \"live_objects_stderr\": %.17g, \"exact\": %d}",
            c ? "," : "", class_tag[c], got[c].alloc_bytes, got[c].alloc_objects, got[c].live_bytes,
            got[c].live_objects, got[c].live_bytes_stderr, got[c].live_objects_stderr,
            got[c].exact);
    put("]}\n");
    for (size_t off = 0; off < out_len;) {
        ssize_t w = write(1, out + off, out_len - off);
        if (w <= 0) die("sampling_sizes: write failed\n");
        off += (size_t)w;
    }
    return 0;
}
