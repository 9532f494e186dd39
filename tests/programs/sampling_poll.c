/*
 * Reading the counters must not change what is sampled. For
 * tests/integration/sampling_poll.sh.
 *
 *   sampling_poll
 *
 * Three tags, each getting 20000 live blocks of 1000 bytes:
 *   poll:none       nothing between the allocations
 *   poll:stats      heapprof_stats() after every allocation
 *   poll:tag_stats  heapprof_tag_stats() after every allocation
 * The very first call of the program, before any allocation, is a
 * heapprof_stats(), as a program reading its baseline would do.
 * Output (stdout, JSON, written with write(2)): per tag the truth (usable
 * bytes), the variance the live estimate should have at HEAPPROF_RATE, and
 * what heapprof_tag_stats reports at the end.
 */
#define _GNU_SOURCE
#include "heapprof.h"

#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BLOCKS 20000
#define SIZE 1000

static void die(const char *msg) {
    (void)!write(2, msg, strlen(msg));
    _exit(3);
}

int main(void) {
    heapprof_stats_t ps;
    if (!heapprof_available()) die("sampling_poll: run me with libheapprof.so preloaded\n");
    heapprof_stats(&ps, sizeof ps);
    const char *rate_env = getenv("HEAPPROF_RATE");
    double rate = rate_env ? atof(rate_env) : 524288;
    double w = rate > 1 ? 1.0 / -expm1(-(double)SIZE / rate) : 1.0;
    static const char *const tags[] = {"poll:none", "poll:stats", "poll:tag_stats"};
    static char out[4096];
    size_t len = 0;
    len += (size_t)snprintf(out + len, sizeof out - len, "{\"rate\": %.0f, \"tags\": [", rate);
    for (int m = 0; m < 3; m++) {
        uint64_t bytes = 0;
        double var = 0;
        heapprof_tag_stats_t s;
        if (heapprof_tag_push(tags[m])) die("sampling_poll: push failed\n");
        for (int i = 0; i < BLOCKS; i++) {
            char *p = malloc(SIZE);
            if (!p) die("sampling_poll: malloc failed\n");
            p[0] = 1;
            double u = (double)malloc_usable_size(p);
            bytes += (uint64_t)u;
            var += (w - 1) * u * u;
            if (m == 1) heapprof_stats(&ps, sizeof ps);
            if (m == 2) heapprof_tag_stats(tags[m], &s, sizeof s);
        }
        heapprof_tag_pop();
        if (heapprof_tag_stats(tags[m], &s, sizeof s)) die("sampling_poll: no tag stats\n");
        len += (size_t)snprintf(
            out + len, sizeof out - len,
            "%s\n {\"name\": \"%s\", \"truth_bytes\": %llu, \"truth_objects\": %d"
            ", \"var_bytes\": %.17g, \"live_bytes\": %.17g, \"live_objects\": %.17g"
            ", \"alloc_bytes\": %llu, \"alloc_objects\": %llu}",
            m ? "," : "", tags[m], (unsigned long long)bytes, BLOCKS, var, s.live_bytes,
            s.live_objects, (unsigned long long)s.alloc_bytes, (unsigned long long)s.alloc_objects);
    }
    len += (size_t)snprintf(out + len, sizeof out - len, "]}\n");
    if (write(1, out, len) != (ssize_t)len) die("sampling_poll: write failed\n");
    return 0;
}
