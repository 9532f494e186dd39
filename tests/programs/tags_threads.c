/*
 * Tags under threads, with exact truth per tag. For tests/integration/tags_threads.sh.
 *
 *   tags_threads
 *
 * First the API's edges, checked in the program (exit status = failures):
 * heapprof_tag_current() through push/set/pop, pop on an empty stack, 64
 * levels allowed and the 65th refused, invalid names (NULL, "", 256 bytes)
 * refused by push, set and tag_stats, a 255-byte name accepted, a tag that
 * never existed, each thread starting at "main" whatever other threads
 * pushed, and a thread whose very first act is a push: its first block must
 * count under that tag.
 *
 * Then the workload: 8 threads, 1200 tags "tt/0000".."tt/1199", phases
 * separated by barriers so every tag's live count only rises or only falls
 * within a phase and its peak is known exactly:
 *   1 alloc   each thread runs 600 jobs; a job nests 1-5 tags (job j of
 *             thread i starts with tag (j*8+i), so all 1200 are used; deeper
 *             levels pick any tag, so tags are shared by threads running at
 *             the same time), allocates at every level before and after the
 *             inner levels (the pop must restore the outer tag), and
 *             sometimes replaces a level with heapprof_tag_set;
 *   2 free    thread i frees a random half of thread (i+1)%8's blocks while
 *             it has pushed some other tag: frees count against the tag the
 *             block was allocated under;
 *   3 alloc   "grower" tags (every 5th) get more blocks than they had, in
 *             bytes and objects, from two threads each, nested again: their
 *             peak moves to the end of this phase;
 *   4 free    thread i frees a third of thread (i+3)%8's blocks, and every
 *             block of the tags tt/xxx1 and tt/xx51 (which end at live 0).
 * The program mirrors each thread's tag stack itself, so the truth does not
 * rely on heapprof. Threads register with one malloc/free under "main"
 * before their first push, so that the workload's numbers are not blurred by
 * the first-push case, which is checked on its own above.
 *
 * Output (stdout, JSON, write(2)): per tag the truth (lifetime, live, peak,
 * in usable bytes) and heapprof_tag_stats's answer after the threads are
 * joined. tests/integration/lib/sampling_check.py compares them with each
 * other and with the stats.json of the exit dump.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NTHREADS 8
#define NTAGS 1200
#define JOBS 600
#define MAXDEPTH 5
#define NPHASES 4
#define MAXBLOCKS 200000

typedef struct block {
    void *p;
    uint32_t usable, requested;
    uint16_t tag;
    uint8_t live;
} block;

typedef struct worker {
    int id;
    uint64_t rng;
    block *blocks;
    uint32_t nblocks;
    int stack[64], depth; /* mirror of the thread's tag stack (-1 = "main") */
    int phase;
    uint64_t alloc_bytes[NTAGS], alloc_objs[NTAGS];
    int64_t d_bytes[NPHASES][NTAGS], d_objs[NPHASES][NTAGS];
    uint32_t max_req[NTAGS];
    int errors;
} worker;

static worker *workers; /* mmap'd: the program's bookkeeping stays off the heap */
static pthread_barrier_t barrier;
static char names[NTAGS][16];
static uint32_t p1_objs[NTAGS], p1_max_req[NTAGS];

static void die(const char *msg) {
    (void)!write(2, msg, strlen(msg));
    _exit(100);
}

static void *map(size_t bytes) {
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("tags_threads: mmap failed\n");
    return m;
}

static uint64_t rng(worker *w) {
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Thread-safe failure report (stdio would allocate under the current tag). */
static void report(worker *w, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    __atomic_add_fetch(&w->errors, 1, __ATOMIC_RELAXED);
}

static void expect_current(worker *w, const char *where) {
    const char *want = w->depth ? names[w->stack[w->depth - 1]] : "main";
    const char *got = heapprof_tag_current();
    if (!got || strcmp(got, want))
        report(w, "thread %d, %s: heapprof_tag_current() = \"%s\", expected \"%s\"\n", w->id, where,
               got ? got : "(null)", want);
}

static void push(worker *w, int tag) {
    if (heapprof_tag_push(names[tag])) report(w, "thread %d: push(%s) failed\n", w->id, names[tag]);
    w->stack[w->depth++] = tag;
    expect_current(w, "after push");
}

static void set(worker *w, int tag) {
    if (heapprof_tag_set(names[tag])) report(w, "thread %d: set(%s) failed\n", w->id, names[tag]);
    w->stack[w->depth - 1] = tag;
    expect_current(w, "after set");
}

static void pop(worker *w) {
    if (heapprof_tag_pop()) report(w, "thread %d: pop failed\n", w->id);
    w->depth--;
    expect_current(w, "after pop");
}

static void alloc_block(worker *w, size_t n) {
    if (w->nblocks >= MAXBLOCKS) die("tags_threads: block table full\n");
    int tag = w->stack[w->depth - 1];
    char *p = malloc(n);
    if (!p) die("tags_threads: malloc failed\n");
    p[0] = (char)n;
    uint32_t u = (uint32_t)malloc_usable_size(p);
    w->blocks[w->nblocks++] = (block){p, u, (uint32_t)n, (uint16_t)tag, 1};
    w->alloc_bytes[tag] += u;
    w->alloc_objs[tag]++;
    w->d_bytes[w->phase][tag] += u;
    w->d_objs[w->phase][tag]++;
    if (n > w->max_req[tag]) w->max_req[tag] = (uint32_t)n;
}

static size_t random_size(worker *w) {
    uint64_t r = rng(w);
    return r % 50 == 0 ? 16384 + (size_t)(r >> 8) % 49153 : 8 + (size_t)(r >> 8) % 2041;
}

static void free_block(worker *freer, block *b) {
    if (!b->live) return;
    free(b->p);
    b->live = 0;
    freer->d_bytes[freer->phase][b->tag] -= b->usable;
    freer->d_objs[freer->phase][b->tag]--;
}

/* Phase 1: one job, nesting `levels` more tags below the current depth. */
static void job(worker *w, int first_tag, int levels) {
    push(w, first_tag);
    int k = 1 + (int)(rng(w) % 3);
    for (int i = 0; i < k; i++)
        alloc_block(w, random_size(w));
    if (levels > 1) {
        job(w, (int)(rng(w) % NTAGS), levels - 1);
        alloc_block(w, random_size(w)); /* back under this level's tag */
    }
    if (rng(w) % 8 == 0) { /* replace this level, allocate, and leave by pop */
        set(w, (int)(rng(w) % NTAGS));
        alloc_block(w, random_size(w));
    }
    pop(w);
}

static void *run(void *arg) {
    worker *w = arg;
    /* Register the thread under "main" (see the header comment). */
    free(malloc(1));
    expect_current(w, "at thread start");

    w->phase = 0;
    for (int j = 0; j < JOBS; j++)
        job(w, (j * NTHREADS + w->id) % NTAGS, 1 + (int)(rng(w) % MAXDEPTH));
    pthread_barrier_wait(&barrier);

    w->phase = 1;
    push(w, (int)(rng(w) % NTAGS)); /* free under some unrelated tag */
    worker *v = &workers[(w->id + 1) % NTHREADS];
    for (uint32_t i = 0; i < v->nblocks; i++)
        if (rng(w) % 2) free_block(w, &v->blocks[i]);
    pop(w);
    pthread_barrier_wait(&barrier); /* main computes phase 1's totals here */
    pthread_barrier_wait(&barrier);

    /* Phase 3: the growers owned by this thread and by the previous one;
     * each gets p1_objs+2 blocks of its largest phase-1 size in total, half
     * from each thread, nested five at a time. */
    w->phase = 2;
    int list[NTAGS], n = 0;
    for (int t = 0; t < NTAGS; t += 5) {
        int owner = (t / 5) % NTHREADS;
        if ((owner == w->id || (owner + 1) % NTHREADS == w->id) && p1_objs[t]) list[n++] = t;
    }
    for (int i = 0; i < n; i += MAXDEPTH) {
        int m = n - i < MAXDEPTH ? n - i : MAXDEPTH;
        for (int l = 0; l < m; l++) {
            int t = list[i + l];
            uint32_t total = p1_objs[t] + 2;
            int mine_first = (t / 5) % NTHREADS == w->id; /* the owner does the first half */
            uint32_t half = total / 2, count = mine_first ? half : total - half;
            push(w, t);
            for (uint32_t c = 0; c < count / 2; c++)
                alloc_block(w, p1_max_req[t]);
            list[i + l] = (int)(count - count / 2); /* what is left for after the inner levels */
        }
        for (int l = m - 1; l >= 0; l--) {
            for (int c = 0; c < list[i + l]; c++)
                alloc_block(w, p1_max_req[w->stack[w->depth - 1]]);
            pop(w);
        }
    }
    pthread_barrier_wait(&barrier);

    w->phase = 3;
    push(w, (int)(rng(w) % NTAGS));
    v = &workers[(w->id + 3) % NTHREADS];
    for (uint32_t i = 0; i < v->nblocks; i++) {
        block *b = &v->blocks[i];
        if (b->tag % 50 == 1 || rng(w) % 3 == 0) free_block(w, b);
    }
    pop(w);
    expect_current(w, "at the end");
    return NULL;
}

/* ---- the API's edges ---- */

static worker first_push_w;
static void *first_push_thread(void *arg) {
    (void)arg;
    /* This thread has not allocated anything yet. */
    CHECK(heapprof_tag_push("first-push") == 0);
    void *p = malloc(100);
    size_t u = malloc_usable_size(p);
    heapprof_tag_push("first-push/inner");
    void *q = malloc(200);
    heapprof_tag_pop();
    CHECK(heapprof_tag_pop() == 0);
    heapprof_tag_stats_t s;
    CHECK(heapprof_tag_stats("first-push", &s, sizeof s) == 0);
    if (s.alloc_objects != 1 || s.alloc_bytes != u) {
        report(&first_push_w,
               "a new thread's first push: 1 block of %zu bytes allocated under \"first-push\", "
               "heapprof_tag_stats says %" PRIu64 " objects, %" PRIu64 " bytes\n",
               u, s.alloc_objects, s.alloc_bytes);
    }
    free(p);
    free(q);
    return NULL;
}

static void *fresh_thread(void *arg) {
    (void)arg;
    const char *c = heapprof_tag_current();
    CHECK(c && !strcmp(c, "main")); /* the creator's pushed tags are not inherited */
    CHECK(heapprof_tag_pop() == -1);
    return NULL;
}

static void api_edges(void) {
    const char *c = heapprof_tag_current();
    CHECK(c && !strcmp(c, "main"));
    CHECK(heapprof_tag_pop() == -1); /* nothing pushed */
    CHECK(heapprof_tag_push("edge/a") == 0);
    CHECK(!strcmp(heapprof_tag_current(), "edge/a"));
    CHECK(heapprof_tag_push("edge/b") == 0);
    CHECK(!strcmp(heapprof_tag_current(), "edge/b"));
    CHECK(heapprof_tag_set("edge/c") == 0); /* replaces edge/b */
    CHECK(!strcmp(heapprof_tag_current(), "edge/c"));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fresh_thread, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(heapprof_tag_pop() == 0);
    CHECK(!strcmp(heapprof_tag_current(), "edge/a"));
    CHECK(heapprof_tag_pop() == 0);
    CHECK(!strcmp(heapprof_tag_current(), "main"));
    CHECK(heapprof_tag_pop() == -1);
    CHECK(!strcmp(heapprof_tag_current(), "main"));
    CHECK(heapprof_tag_set("edge/set") == 0); /* with nothing pushed: pushes */
    CHECK(!strcmp(heapprof_tag_current(), "edge/set"));
    CHECK(heapprof_tag_pop() == 0);
    CHECK(heapprof_tag_pop() == -1);

    /* Invalid names change nothing. */
    char long_name[257], max_name[256];
    memset(long_name, 'x', 256);
    long_name[256] = 0;
    memset(max_name, 'y', 255);
    max_name[255] = 0;
    heapprof_tag_stats_t s;
    CHECK(heapprof_tag_push(NULL) == -1);
    CHECK(heapprof_tag_push("") == -1);
    CHECK(heapprof_tag_push(long_name) == -1);
    CHECK(heapprof_tag_set(NULL) == -1);
    CHECK(heapprof_tag_set("") == -1);
    CHECK(heapprof_tag_set(long_name) == -1);
    CHECK(!strcmp(heapprof_tag_current(), "main"));
    CHECK(heapprof_tag_pop() == -1);
    CHECK(heapprof_tag_stats(NULL, &s, sizeof s) == -1);
    CHECK(heapprof_tag_stats("", &s, sizeof s) == -1);
    CHECK(heapprof_tag_stats(long_name, &s, sizeof s) == -1);
    CHECK(heapprof_tag_stats("edge/never-used", &s, sizeof s) == -1);
    CHECK(heapprof_tag_stats("main", NULL, sizeof s) == -1);
    CHECK(heapprof_tag_push(max_name) == 0);
    CHECK(!strcmp(heapprof_tag_current(), max_name));
    CHECK(heapprof_tag_pop() == 0);

    /* 64 levels, not 65. */
    char name[32];
    for (int i = 0; i < 64; i++) {
        snprintf(name, sizeof name, "edge/depth%d", i);
        if (heapprof_tag_push(name) != 0) {
            fprintf(stderr, "push at depth %d failed\n", i + 1);
            check_failures++;
        }
    }
    CHECK(heapprof_tag_push("edge/depth64") == -1);
    CHECK(heapprof_tag_set("edge/depth63-replaced") == 0); /* set at full depth is fine */
    CHECK(!strcmp(heapprof_tag_current(), "edge/depth63-replaced"));
    CHECK(heapprof_tag_pop() == 0);
    CHECK(!strcmp(heapprof_tag_current(), "edge/depth62"));
    for (int i = 0; i < 63; i++)
        CHECK(heapprof_tag_pop() == 0);
    CHECK(heapprof_tag_pop() == -1);
    CHECK(!strcmp(heapprof_tag_current(), "main"));

    CHECK(pthread_create(&t, NULL, first_push_thread, NULL) == 0);
    pthread_join(t, NULL);
    check_failures += first_push_w.errors;
}

/* ---- output ---- */

static char *out;
static size_t out_len, out_cap = 1 << 22;
static void put(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + out_len, out_cap - out_len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= out_cap - out_len) die("tags_threads: output buffer full\n");
    out_len += (size_t)n;
}

int main(void) {
    if (!heapprof_available()) die("tags_threads: run me with libheapprof.so preloaded\n");
    out = map(out_cap);
    api_edges();

    workers = map(sizeof(worker) * NTHREADS);
    for (int t = 0; t < NTAGS; t++)
        snprintf(names[t], sizeof names[t], "tt/%04d", t);
    pthread_barrier_init(&barrier, NULL, NTHREADS + 1);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        workers[i].id = i;
        workers[i].rng = 0x1234567ULL * (uint64_t)(i + 1);
        workers[i].blocks = map(sizeof(block) * MAXBLOCKS);
        if (pthread_create(&th[i], NULL, run, &workers[i]))
            die("tags_threads: pthread_create failed\n");
    }
    pthread_barrier_wait(&barrier); /* phase 1 done */
    pthread_barrier_wait(&barrier); /* phase 2 done */
    for (int t = 0; t < NTAGS; t++) {
        uint32_t objs = 0, mx = 0;
        for (int i = 0; i < NTHREADS; i++) {
            objs += (uint32_t)workers[i].d_objs[0][t];
            if (workers[i].max_req[t] > mx) mx = workers[i].max_req[t];
        }
        p1_objs[t] = objs;
        p1_max_req[t] = mx;
    }
    pthread_barrier_wait(&barrier); /* phase 3 may start */
    pthread_barrier_wait(&barrier); /* phase 3 done */
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);

    int errors = check_failures;
    for (int i = 0; i < NTHREADS; i++)
        errors += workers[i].errors;

    put("{\"threads\": %d, \"api_failures\": %d,\n \"tags\": [", NTHREADS, errors);
    int used = 0, shared = 0;
    for (int t = 0; t < NTAGS; t++) {
        uint64_t ab = 0, ao = 0;
        int64_t lb = 0, lo = 0, pb = 0, po = 0, mo = 0;
        int pb_phase = -1, mo_phase = -1, threads_using = 0;
        for (int i = 0; i < NTHREADS; i++) {
            ab += workers[i].alloc_bytes[t];
            ao += workers[i].alloc_objs[t];
            threads_using += workers[i].alloc_objs[t] > 0;
        }
        for (int ph = 0; ph < NPHASES; ph++) {
            for (int i = 0; i < NTHREADS; i++) {
                lb += workers[i].d_bytes[ph][t];
                lo += workers[i].d_objs[ph][t];
            }
            if (lb > pb) pb = lb, po = lo, pb_phase = ph;
            if (lo > mo) mo = lo, mo_phase = ph;
        }
        /* The workload's design: bytes and objects peak together. */
        if (pb_phase != mo_phase || po != mo)
            die("tags_threads: a tag's bytes and objects peak apart\n");
        used += ao > 0;
        shared += threads_using > 1;
        heapprof_tag_stats_t s;
        memset(&s, 0, sizeof s);
        int rc = heapprof_tag_stats(names[t], &s, sizeof s);
        put("%s\n  {\"name\": \"%s\", \"threads\": %d, \"truth\": {\"alloc_bytes\": %" PRIu64
            ", \"alloc_objects\": %" PRIu64 ", \"live_bytes\": %" PRId64
            ", \"live_objects\": %" PRId64 ", \"peak_bytes\": %" PRId64
            ", \"peak_objects\": %" PRId64 ", \"peak_phase\": %d},"
            " \"rc\": %d, \"got\": {\"alloc_bytes\": %" PRIu64 ", \"alloc_objects\": %" PRIu64
            ", \"live_bytes\": %.17g, \"live_objects\": %.17g, \"peak_bytes\": %.17g"
            ", \"peak_objects\": %.17g, \"live_bytes_stderr\": %.17g, \"live_objects_stderr\": "
            "%.17g"
            ", \"exact\": %d}}",
            t ? "," : "", names[t], threads_using, ab, ao, lb, lo, pb, po, pb_phase + 1, rc,
            s.alloc_bytes, s.alloc_objects, s.live_bytes, s.live_objects, s.peak_bytes,
            s.peak_objects, s.live_bytes_stderr, s.live_objects_stderr, s.exact);
    }
    put("],\n \"tags_used\": %d, \"tags_shared\": %d}\n", used, shared);
    for (size_t off = 0; off < out_len;) {
        ssize_t n = write(1, out + off, out_len - off);
        if (n <= 0) die("tags_threads: write failed\n");
        off += (size_t)n;
    }
    return errors > 100 ? 100 : errors;
}
