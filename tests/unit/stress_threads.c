/*
 * 16 worker threads doing random malloc/calloc/realloc/free of 8 B .. 1 MiB
 * blocks, passing blocks to each other through a shared queue (so frees and
 * reallocs cross threads), while another thread fork()s over and over; each
 * child allocates and frees under its own exact accounting, frees blocks it
 * inherited from the parent, checks heapprof_stats, and _exit()s.
 *
 * The process counters must match the test's own bookkeeping exactly:
 *   - at the quiescent point (every worker parked at a barrier, nothing
 *     allocating): deltas from the baseline = what the workers did;
 *   - after the workers freed what they held, exited and were joined: back to
 *     the baseline, plus what creating and joining threads costs (measured in
 *     a calibration round with the same thread count and attributes);
 *   - a single-threaded phase afterwards: the peak is exact.
 * A hang (deadlock after fork, a lost thread) trips the alarm() watchdog;
 * a fork child still running after 30 s counts as deadlocked.
 *
 * Runs with HEAPPROF_RATE=4096 (re-executing itself) unless the environment
 * sets a rate: the counters must be exact through the sampled paths too
 * (sampled blocks freed and realloc'd by other threads and by fork
 * children), and forks then often meet threads that are capturing stacks.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NWORKERS 16
#define ITERS 25000
#define HOLD 96          /* blocks a worker holds at most */
#define QCAP 2048        /* shared queue capacity */
#define MIN_FORKS 24
#define STACK (256 * 1024) /* small stacks: glibc's stack cache keeps all of them */

typedef struct {
    void *p;
    size_t n; /* requested size: first and last byte hold tag(n) */
} block;

typedef struct {
    pthread_t tid;
    unsigned idx;
    uint64_t rng;
    block held[HOLD];
    int nheld;
    /* the test's own accounting of what this thread did */
    uint64_t alloc_ops, alloc_bytes, free_ops, free_bytes;
    int errors;
} worker;

static worker workers[NWORKERS];

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static block queue[QCAP];
static int qhead, qcount;

static pthread_barrier_t start_bar, end_bar, release_bar;
static atomic_int workers_done;
static atomic_int fork_failures, forks_done;

/* lower bound of the true live bytes, for the peak check: added after an
 * allocation succeeded, subtracted before a free */
static _Atomic int64_t own_live, own_live_max;

static void note_live(int64_t d) {
    int64_t v = atomic_fetch_add(&own_live, d) + d;
    int64_t m = atomic_load(&own_live_max);
    while (v > m && !atomic_compare_exchange_weak(&own_live_max, &m, v)) {
    }
}

static uint64_t next(uint64_t *s) { /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static unsigned char tag(size_t n) { return (unsigned char)(n * 131u + 7u); }

static size_t pick_size(uint64_t *rng) {
    uint64_t r = next(rng) % 1000;
    if (r < 650) return 8 + next(rng) % 249;                /* 8 .. 256 */
    if (r < 930) return 257 + next(rng) % 16128;            /* .. 16 KiB */
    if (r < 990) return 16385 + next(rng) % 245760;         /* .. 256 KiB */
    return 262145 + next(rng) % (1048576 - 262144);         /* .. 1 MiB */
}

static void stamp(void *p, size_t n) {
    ((unsigned char *)p)[0] = tag(n);
    ((unsigned char *)p)[n - 1] = tag(n);
}

static int stamped(const void *p, size_t n) {
    return ((const unsigned char *)p)[0] == tag(n) && ((const unsigned char *)p)[n - 1] == tag(n);
}

static void report(worker *w, const char *what, size_t n) {
    char buf[160];
    int len = snprintf(buf, sizeof buf, "worker %u: %s (size %zu)\n", w->idx, what, n);
    if (write(2, buf, (size_t)len) < 0) {
    }
    w->errors++;
}

static void do_alloc(worker *w) {
    size_t n = pick_size(&w->rng);
    void *p;
    int kind = (int)(next(&w->rng) % 4);
    switch (kind) {
    case 0: p = malloc(n); break;
    case 1: p = calloc(1, n); break;
    case 2: p = calloc(n, 1); break;
    default: p = realloc(NULL, n); break;
    }
    if (!p) {
        report(w, "allocation failed", n);
        return;
    }
    if (kind == 1 || kind == 2) {
        const unsigned char *c = p;
        size_t check = n < 64 ? n : 64;
        for (size_t i = 0; i < check; i++)
            if (c[i]) {
                report(w, "calloc memory not zeroed", n);
                break;
            }
        if (c[n - 1]) report(w, "calloc memory not zeroed at the end", n);
    }
    size_t u = malloc_usable_size(p);
    if (u < n) report(w, "usable size below request", n);
    note_live((int64_t)u);
    stamp(p, n);
    w->alloc_ops++;
    w->alloc_bytes += u;
    w->held[w->nheld++] = (block){p, n};
}

static void do_free(worker *w, block b) {
    if (!stamped(b.p, b.n)) report(w, "block contents corrupted before free", b.n);
    size_t u = malloc_usable_size(b.p);
    note_live(-(int64_t)u);
    w->free_ops++;
    w->free_bytes += u;
    free(b.p);
}

static void do_realloc(worker *w, int i) {
    block b = w->held[i];
    if (!stamped(b.p, b.n)) report(w, "block contents corrupted before realloc", b.n);
    size_t m = pick_size(&w->rng);
    size_t old_u = malloc_usable_size(b.p);
    note_live(-(int64_t)old_u);
    void *q = realloc(b.p, m);
    if (!q) {
        report(w, "realloc failed", m);
        note_live((int64_t)old_u);
        return;
    }
    unsigned char *c = q;
    if (c[0] != tag(b.n) || (m >= b.n && c[b.n - 1] != tag(b.n)))
        report(w, "realloc lost the contents", m);
    size_t new_u = malloc_usable_size(q);
    note_live((int64_t)new_u);
    w->free_ops++; /* realloc = one free + one allocation */
    w->free_bytes += old_u;
    w->alloc_ops++;
    w->alloc_bytes += new_u;
    stamp(q, m);
    w->held[i] = (block){q, m};
}

static void *worker_main(void *arg) {
    worker *w = arg;
    pthread_barrier_wait(&start_bar);
    for (int it = 0; it < ITERS; it++) {
        uint64_t r = next(&w->rng) % 100;
        if (w->nheld == 0 || (r < 38 && w->nheld < HOLD)) {
            do_alloc(w);
            continue;
        }
        int i = (int)(next(&w->rng) % (uint64_t)w->nheld);
        if (r < 55) {
            do_realloc(w, i);
        } else if (r < 72) {
            do_free(w, w->held[i]);
            w->held[i] = w->held[--w->nheld];
        } else if (r < 88) { /* hand it to whichever thread pops it */
            pthread_mutex_lock(&qlock);
            if (qcount < QCAP) {
                queue[(qhead + qcount++) % QCAP] = w->held[i];
                w->held[i] = w->held[--w->nheld];
            }
            pthread_mutex_unlock(&qlock);
        } else { /* take one from another thread: free it or keep it */
            block b = {0, 0};
            pthread_mutex_lock(&qlock);
            if (qcount > 0) {
                b = queue[qhead];
                qhead = (qhead + 1) % QCAP;
                qcount--;
            }
            pthread_mutex_unlock(&qlock);
            if (b.p) {
                if ((r & 1) || w->nheld == HOLD) do_free(w, b);
                else w->held[w->nheld++] = b; /* may be realloc'd here later */
            }
        }
    }
    atomic_fetch_add(&workers_done, 1);
    pthread_barrier_wait(&end_bar);     /* quiescent: main measures */
    pthread_barrier_wait(&release_bar);
    /* free what is still held, then exit with these frees unflushed */
    while (w->nheld > 0) do_free(w, w->held[--w->nheld]);
    return NULL;
}

/* ---- fork ---------------------------------------------------------------- */

static void child_fail(int *fails, const char *what, long long a, long long b) {
    char buf[200];
    int len = snprintf(buf, sizeof buf, "fork child %d: %s (%lld vs %lld)\n", (int)getpid(), what,
                       a, b);
    if (write(2, buf, (size_t)len) < 0) {
    }
    (*fails)++;
}

static int sane(const heapprof_stats_t *s) {
    return s->freed_bytes == s->alloc_bytes - s->live_bytes &&
           s->freed_objects == s->alloc_objects - s->live_objects &&
           s->peak_bytes >= s->live_bytes && s->peak_objects >= s->live_objects &&
           s->live_bytes <= s->alloc_bytes && s->live_objects <= s->alloc_objects &&
           s->live_bytes < ((uint64_t)1 << 40) && s->live_objects < ((uint64_t)1 << 32);
}

/* Runs in the child: single-threaded, so its own deltas are exact. */
static void child_body(unsigned seed) {
    alarm(60);
    int fails = 0;
    heapprof_stats_t a, b;
    heapprof_stats(&a, sizeof a);
    if (!sane(&a)) child_fail(&fails, "counters not sane after fork", (long long)a.live_bytes,
                              (long long)a.alloc_bytes);
    enum { N = 48 };
    static void *v[N];
    uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
    uint64_t sum = 0;
    for (int i = 0; i < N; i++) {
        size_t n = pick_size(&rng);
        v[i] = (i & 1) ? calloc(1, n) : malloc(n);
        if (!v[i]) {
            child_fail(&fails, "malloc failed in child", (long long)n, 0);
            _exit(3);
        }
        memset(v[i], 0x11, n < 4096 ? n : 4096);
        sum += malloc_usable_size(v[i]);
    }
    heapprof_stats(&b, sizeof b);
    if (b.live_bytes - a.live_bytes != sum)
        child_fail(&fails, "live bytes delta", (long long)(b.live_bytes - a.live_bytes),
                   (long long)sum);
    if (b.live_objects - a.live_objects != N)
        child_fail(&fails, "live objects delta", (long long)(b.live_objects - a.live_objects), N);
    if (b.alloc_objects - a.alloc_objects != N)
        child_fail(&fails, "alloc objects delta", (long long)(b.alloc_objects - a.alloc_objects),
                   N);
    for (int i = 0; i < N; i++) free(v[i]);
    /* blocks inherited from the parent's threads (their owners do not exist
     * here); only if no thread held the queue lock at the fork */
    uint64_t freed = 0;
    int nfreed = 0;
    if (pthread_mutex_trylock(&qlock) == 0) {
        while (qcount > 0 && nfreed < 16) {
            block q = queue[qhead];
            qhead = (qhead + 1) % QCAP;
            qcount--;
            if (!stamped(q.p, q.n)) child_fail(&fails, "inherited block corrupted", 0, 0);
            freed += malloc_usable_size(q.p);
            free(q.p);
            nfreed++;
        }
        pthread_mutex_unlock(&qlock);
    }
    heapprof_stats(&b, sizeof b);
    if (!sane(&b)) child_fail(&fails, "counters not sane in child", 0, 0);
    if (a.live_bytes - b.live_bytes != freed)
        child_fail(&fails, "live bytes after frees", (long long)(a.live_bytes - b.live_bytes),
                   (long long)freed);
    if (b.freed_objects - a.freed_objects != (uint64_t)(N + nfreed))
        child_fail(&fails, "freed objects delta", (long long)(b.freed_objects - a.freed_objects),
                   N + nfreed);
    _exit(fails ? 1 : 0);
}

static void *forker_main(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start_bar);
    unsigned n = 0;
    while (atomic_load(&workers_done) < NWORKERS || n < MIN_FORKS) {
        pid_t pid = fork();
        if (pid == 0) child_body(n);
        if (pid < 0) {
            atomic_fetch_add(&fork_failures, 1);
            break;
        }
        /* wait for it, but do not hang on a deadlocked child */
        int status = 0, waited = 0;
        for (int ms = 0; ms < 30000; ms++) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid) {
                waited = 1;
                break;
            }
            if (r < 0 && errno != EINTR) break;
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (!waited) {
            static const char msg[] = "fork child still running after 30 s: deadlocked after fork\n";
            if (write(2, msg, sizeof msg - 1) < 0) {
            }
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            atomic_fetch_add(&fork_failures, 1);
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char buf[100];
            int len = snprintf(buf, sizeof buf, "fork child failed: status 0x%x\n", status);
            if (write(2, buf, (size_t)len) < 0) {
            }
            atomic_fetch_add(&fork_failures, 1);
        }
        n++;
        /* pace the forks: each one makes the workers' next writes copy-on-write faults */
        struct timespec pause = {0, 20 * 1000000};
        nanosleep(&pause, NULL);
    }
    atomic_store(&forks_done, (int)n);
    pthread_barrier_wait(&end_bar);
    pthread_barrier_wait(&release_bar);
    return NULL;
}

/* Forks while every worker is parked with unflushed deltas: the child must
 * see exactly the parent's counters (the fork handler folds the vanished
 * threads' pending deltas into the totals), and freeing the blocks those
 * threads held must bring it down by exactly their usable sizes. */
static void quiescent_fork(const heapprof_stats_t *parent, uint64_t held, uint64_t held_n) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(60);
        int fails = 0;
        heapprof_stats_t a, b;
        heapprof_stats(&a, sizeof a);
        if (a.live_bytes != parent->live_bytes)
            child_fail(&fails, "quiescent fork: live bytes differ from the parent's",
                       (long long)a.live_bytes, (long long)parent->live_bytes);
        if (a.live_objects != parent->live_objects)
            child_fail(&fails, "quiescent fork: live objects differ from the parent's",
                       (long long)a.live_objects, (long long)parent->live_objects);
        if (a.alloc_objects != parent->alloc_objects)
            child_fail(&fails, "quiescent fork: alloc objects differ from the parent's",
                       (long long)a.alloc_objects, (long long)parent->alloc_objects);
        if (a.alloc_bytes != parent->alloc_bytes)
            child_fail(&fails, "quiescent fork: alloc bytes differ from the parent's",
                       (long long)a.alloc_bytes, (long long)parent->alloc_bytes);
        for (int i = 0; i < NWORKERS; i++)
            for (int k = 0; k < workers[i].nheld; k++) free(workers[i].held[k].p);
        for (int k = 0; k < qcount; k++) free(queue[(qhead + k) % QCAP].p);
        heapprof_stats(&b, sizeof b);
        if (a.live_bytes - b.live_bytes != held)
            child_fail(&fails, "quiescent fork: freeing the threads' blocks",
                       (long long)(a.live_bytes - b.live_bytes), (long long)held);
        if (a.live_objects - b.live_objects != held_n)
            child_fail(&fails, "quiescent fork: freeing the threads' blocks (objects)",
                       (long long)(a.live_objects - b.live_objects), (long long)held_n);
        _exit(fails ? 1 : 0);
    }
    CHECK(pid > 0);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- calibration: what starting and joining the threads costs ---------- */

static void *idle_main(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start_bar);
    pthread_barrier_wait(&end_bar);
    pthread_barrier_wait(&release_bar);
    return NULL;
}

static void run_threads(pthread_attr_t *attr, int real) {
    pthread_barrier_init(&start_bar, NULL, NWORKERS + 2);
    pthread_barrier_init(&end_bar, NULL, NWORKERS + 2);
    pthread_barrier_init(&release_bar, NULL, NWORKERS + 2);
    pthread_t forker;
    for (int i = 0; i < NWORKERS; i++)
        CHECK(pthread_create(&workers[i].tid, attr, real ? worker_main : idle_main,
                             &workers[i]) == 0);
    CHECK(pthread_create(&forker, attr, real ? forker_main : idle_main, NULL) == 0);

    heapprof_stats_t base, mid;
    heapprof_stats(&base, sizeof base); /* everyone is parked at start_bar */
    pthread_barrier_wait(&start_bar);
    pthread_barrier_wait(&end_bar);
    heapprof_stats(&mid, sizeof mid); /* everyone is parked at release_bar */

    if (real) {
        uint64_t ao = 0, ab = 0, fo = 0, fb = 0, held = 0, held_n = 0;
        int errors = 0;
        for (int i = 0; i < NWORKERS; i++) {
            worker *w = &workers[i];
            ao += w->alloc_ops;
            ab += w->alloc_bytes;
            fo += w->free_ops;
            fb += w->free_bytes;
            errors += w->errors;
            for (int k = 0; k < w->nheld; k++) held += malloc_usable_size(w->held[k].p);
            held_n += (uint64_t)w->nheld;
        }
        for (int k = 0; k < qcount; k++) held += malloc_usable_size(queue[(qhead + k) % QCAP].p);
        held_n += (uint64_t)qcount;
        CHECK(errors == 0);
        /* the test's own books balance */
        CHECK_EQ_U64(ab - fb, held);
        CHECK_EQ_U64(ao - fo, held_n);
        /* and heapprof agrees with them exactly */
        CHECK_EQ_U64(mid.live_bytes - base.live_bytes, held);
        CHECK_EQ_U64(mid.live_objects - base.live_objects, held_n);
        CHECK_EQ_U64(mid.alloc_objects - base.alloc_objects, ao);
        CHECK_EQ_U64(mid.alloc_bytes - base.alloc_bytes, ab);
        CHECK_EQ_U64(mid.freed_objects - base.freed_objects, fo);
        CHECK_EQ_U64(mid.freed_bytes - base.freed_bytes, fb);
        CHECK(mid.peak_bytes >= mid.live_bytes);
        CHECK(mid.peak_objects >= mid.live_objects);
        CHECK(mid.threads_seen >= base.threads_seen + NWORKERS);
        /* documented peak bound: short of the true peak by at most each other
         * thread's unflushed batch (< 256 KiB + one block); be generous */
        int64_t slack = (int64_t)NWORKERS * (2 << 20);
        CHECK((int64_t)mid.peak_bytes >=
              (int64_t)base.live_bytes + atomic_load(&own_live_max) - slack);
        CHECK(ao > (uint64_t)NWORKERS * ITERS / 4); /* the workload really ran */
        quiescent_fork(&mid, held, held_n);
        fprintf(stderr, "stress: %llu allocations, %llu frees, %d forks, %llu bytes held\n",
                (unsigned long long)ao, (unsigned long long)fo, atomic_load(&forks_done),
                (unsigned long long)held);
    } else {
        CHECK_EQ_U64(mid.live_bytes, base.live_bytes);
        CHECK_EQ_U64(mid.alloc_objects, base.alloc_objects);
    }
    pthread_barrier_wait(&release_bar);
    for (int i = 0; i < NWORKERS; i++) CHECK(pthread_join(workers[i].tid, NULL) == 0);
    CHECK(pthread_join(forker, NULL) == 0);
    pthread_barrier_destroy(&start_bar);
    pthread_barrier_destroy(&end_bar);
    pthread_barrier_destroy(&release_bar);
}

static void delta(heapprof_stats_t *d, const heapprof_stats_t *a, const heapprof_stats_t *b) {
    d->live_bytes = b->live_bytes - a->live_bytes;
    d->live_objects = b->live_objects - a->live_objects;
    d->alloc_bytes = b->alloc_bytes - a->alloc_bytes;
    d->alloc_objects = b->alloc_objects - a->alloc_objects;
    d->freed_bytes = b->freed_bytes - a->freed_bytes;
    d->freed_objects = b->freed_objects - a->freed_objects;
}

/* ---- single-threaded peak ----------------------------------------------- */

static void *peak_blocks[1 << 16];

static void exact_peak(void) {
    heapprof_stats_t s, t, u;
    heapprof_stats(&s, sizeof s);
    /* go past the old peak both in bytes and in objects */
    uint64_t need_b = s.peak_bytes - s.live_bytes + (3u << 20);
    uint64_t need_o = s.peak_objects - s.live_objects + 100;
    uint64_t sum = 0;
    size_t k = 0;
    while ((sum < need_b || k < need_o) && k < sizeof peak_blocks / sizeof *peak_blocks) {
        size_t n = sum < need_b ? 40000 + (k % 7) * 1000 : 16 + (k % 5) * 8;
        peak_blocks[k] = malloc(n);
        CHECK(peak_blocks[k] != NULL);
        sum += malloc_usable_size(peak_blocks[k]);
        k++;
    }
    CHECK(sum >= need_b && k >= need_o);
    heapprof_stats(&t, sizeof t);
    CHECK_EQ_U64(t.live_bytes, s.live_bytes + sum);
    CHECK_EQ_U64(t.peak_bytes, s.live_bytes + sum);
    CHECK_EQ_U64(t.peak_objects, s.live_objects + k);

    /* a peak reached and left again between two flushes still counts: the
     * read above started a fresh batch; go up by one block and a few small
     * ones, come back down, then read */
    void *up = malloc(100000);
    void *small[10];
    uint64_t up_bytes = malloc_usable_size(up);
    for (int i = 0; i < 10; i++) {
        small[i] = malloc(24);
        up_bytes += malloc_usable_size(small[i]);
    }
    for (int i = 0; i < 10; i++) free(small[i]);
    free(up);
    heapprof_stats(&u, sizeof u);
    CHECK_EQ_U64(u.live_bytes, t.live_bytes);
    CHECK_EQ_U64(u.peak_bytes, t.live_bytes + up_bytes);
    CHECK_EQ_U64(u.peak_objects, t.live_objects + 11);
    t = u;

    /* free half, allocate less than that again: the peak stays put */
    uint64_t half = 0;
    for (size_t i = 0; i < k; i += 2) {
        half += malloc_usable_size(peak_blocks[i]);
        free(peak_blocks[i]);
        peak_blocks[i] = NULL;
    }
    void *again = malloc(half / 2);
    heapprof_stats(&u, sizeof u);
    CHECK_EQ_U64(u.peak_bytes, t.peak_bytes);
    CHECK_EQ_U64(u.peak_objects, t.peak_objects);
    CHECK_EQ_U64(u.live_bytes, t.live_bytes - half + malloc_usable_size(again));
    free(again);
    /* one block over the top moves it to exactly the new live total */
    void *top = malloc(half + 200000);
    CHECK(top != NULL);
    heapprof_stats(&u, sizeof u);
    uint64_t want = t.live_bytes - half + malloc_usable_size(top);
    CHECK(want > t.peak_bytes);
    CHECK_EQ_U64(u.peak_bytes, want);
    free(top);

    for (size_t i = 0; i < k; i++) free(peak_blocks[i]);
    heapprof_stats(&u, sizeof u);
    CHECK_EQ_U64(u.live_bytes, s.live_bytes);
    CHECK_EQ_U64(u.live_objects, s.live_objects);
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "stress_threads: watchdog fired, something hung\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(98);
}

int main(int argc, char **argv) {
    (void)argc;
    if (!heapprof_available()) {
        fprintf(stderr, "libheapprof.so is not preloaded\n");
        return 1;
    }
    /* Sample often (one sample per 4 KiB instead of 512 KiB), so that the
     * counters are checked through the sampled slow paths too, and forks
     * happen while other threads capture stacks. The library reads the
     * variable at start-up: re-execute once. An explicit HEAPPROF_RATE in
     * the environment is respected. */
    if (!getenv("HEAPPROF_RATE") && !getenv("HP_STRESS_REEXEC")) {
        setenv("HP_STRESS_REEXEC", "1", 1);
        setenv("HEAPPROF_RATE", "4096", 1);
        execv("/proc/self/exe", argv);
        perror("stress_threads: re-exec");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    alarm(400);
    for (int i = 0; i < NWORKERS; i++) {
        workers[i].idx = (unsigned)i;
        workers[i].rng = 0x243f6a8885a308d3ull * (uint64_t)(i + 1);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK);

    /* calibration: twice with idle threads (the first fills glibc's stack
     * cache), the second measured */
    heapprof_stats_t c0, c1, c, r0, r1, r;
    run_threads(&attr, 0);
    heapprof_stats(&c0, sizeof c0);
    run_threads(&attr, 0);
    heapprof_stats(&c1, sizeof c1);
    delta(&c, &c0, &c1);

    heapprof_stats(&r0, sizeof r0);
    run_threads(&attr, 1);
    heapprof_stats(&r1, sizeof r1);
    delta(&r, &r0, &r1);

    /* after the join: everything the workers held was freed by them at the
     * end, so the run differs from the idle round only by its own ops */
    uint64_t ao = 0, ab = 0, fo = 0, fb = 0;
    for (int i = 0; i < NWORKERS; i++) {
        ao += workers[i].alloc_ops;
        ab += workers[i].alloc_bytes;
        fo += workers[i].free_ops;
        fb += workers[i].free_bytes;
    }
    uint64_t q_bytes = 0, q_n = (uint64_t)qcount;
    for (int k = 0; k < qcount; k++) q_bytes += malloc_usable_size(queue[(qhead + k) % QCAP].p);
    CHECK_EQ_U64(r.live_bytes, c.live_bytes + q_bytes);
    CHECK_EQ_U64(r.live_objects, c.live_objects + q_n);
    CHECK_EQ_U64(r.alloc_objects, c.alloc_objects + ao);
    CHECK_EQ_U64(r.alloc_bytes, c.alloc_bytes + ab);
    CHECK_EQ_U64(r.freed_objects, c.freed_objects + fo);
    CHECK_EQ_U64(r.freed_bytes, c.freed_bytes + fb);
    CHECK_EQ_U64(atomic_load(&fork_failures), 0);
    CHECK(atomic_load(&forks_done) >= MIN_FORKS);

    /* the queue's leftovers, freed by main (their allocating threads are gone) */
    heapprof_stats(&r0, sizeof r0);
    while (qcount > 0) {
        free(queue[qhead].p);
        qhead = (qhead + 1) % QCAP;
        qcount--;
    }
    heapprof_stats(&r1, sizeof r1);
    CHECK_EQ_U64(r0.live_bytes - r1.live_bytes, q_bytes);
    CHECK_EQ_U64(r1.freed_objects - r0.freed_objects, q_n);

    exact_peak();
    pthread_attr_destroy(&attr);
    return CHECK_DONE();
}
