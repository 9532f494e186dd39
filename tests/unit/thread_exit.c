/*
 * Thread-exit accounting. Threads allocate and free less than one flush
 * batch, so their deltas are still pending in their thread-local block when
 * they exit; after pthread_join the process counters must contain them
 * exactly (flushed at exit) and must stay exact when the exited threads'
 * stacks and TLS are reused by new threads or unmapped.
 *
 * Creating and joining threads costs glibc a few allocations (DTVs, stack
 * cache); every scenario first measures an idle round with the same thread
 * count and attributes and adds that to its expectation.
 *
 * Scenarios: exit with positive deltas (blocks handed to main), with negative
 * deltas (freeing main's blocks), after several flushes, via pthread_exit from
 * a nested call, from a C++-style thread_local destructor
 * (__cxa_thread_atexit_impl), with user-supplied stacks that are unmapped
 * after the join, and threads whose first heap operation happens inside a
 * pthread key destructor. A hang trips the alarm() watchdog.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NT 8
#define STACK (256 * 1024)
#define PER 64 /* blocks per thread: well below one flush batch in bytes */

extern void *__dso_handle;
int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);

typedef struct {
    int idx;
    void *handed[PER]; /* blocks left alive for main */
    int nhanded;
    void *to_free[PER]; /* main's blocks this thread frees */
    int nto_free;
    uint64_t alloc_ops, alloc_bytes, free_ops, free_bytes;
} job;

static job jobs[NT];
static const char *scenario = "start";

static void account_alloc(job *j, void *p) {
    j->alloc_ops++;
    j->alloc_bytes += malloc_usable_size(p);
}

static void account_free(job *j, void *p) {
    j->free_ops++;
    j->free_bytes += malloc_usable_size(p);
}

static heapprof_stats_t now(void) {
    heapprof_stats_t s;
    heapprof_stats(&s, sizeof s);
    return s;
}

typedef struct {
    int64_t live_b, live_o, alloc_b, alloc_o, freed_b, freed_o;
} deltas;

static deltas diff(heapprof_stats_t a, heapprof_stats_t b) {
    return (deltas){(int64_t)(b.live_bytes - a.live_bytes),
                    (int64_t)(b.live_objects - a.live_objects),
                    (int64_t)(b.alloc_bytes - a.alloc_bytes),
                    (int64_t)(b.alloc_objects - a.alloc_objects),
                    (int64_t)(b.freed_bytes - a.freed_bytes),
                    (int64_t)(b.freed_objects - a.freed_objects)};
}

static void expect_(int line, deltas got, deltas want) {
    const char *names[] = {"live_bytes", "live_objects", "alloc_bytes",
                           "alloc_objects", "freed_bytes", "freed_objects"};
    int64_t g[] = {got.live_b, got.live_o, got.alloc_b, got.alloc_o, got.freed_b, got.freed_o};
    int64_t w[] = {want.live_b, want.live_o, want.alloc_b, want.alloc_o, want.freed_b,
                   want.freed_o};
    for (int i = 0; i < 6; i++)
        if (g[i] != w[i]) {
            fprintf(stderr, "%s:%d [%s] %s delta: got %lld, want %lld\n", __FILE__, line, scenario,
                    names[i], (long long)g[i], (long long)w[i]);
            check_failures++;
        }
}
#define EXPECT(got, want) expect_(__LINE__, got, want)

/* Runs fn in NT threads (attr) and joins them; returns the counter deltas. */
static deltas round_of(void *(*fn)(void *), pthread_attr_t *attr) {
    pthread_t t[NT];
    heapprof_stats_t a = now();
    for (int i = 0; i < NT; i++) CHECK(pthread_create(&t[i], attr, fn, &jobs[i]) == 0);
    for (int i = 0; i < NT; i++) CHECK(pthread_join(t[i], NULL) == 0);
    return diff(a, now());
}

static void *idle(void *arg) { return arg; }

/* The expectation: the calibration round plus what the jobs did. */
static deltas books(deltas calib) {
    deltas d = calib;
    for (int i = 0; i < NT; i++) {
        job *j = &jobs[i];
        d.alloc_o += (int64_t)j->alloc_ops;
        d.alloc_b += (int64_t)j->alloc_bytes;
        d.freed_o += (int64_t)j->free_ops;
        d.freed_b += (int64_t)j->free_bytes;
    }
    d.live_b += d.alloc_b - calib.alloc_b - (d.freed_b - calib.freed_b);
    d.live_o += d.alloc_o - calib.alloc_o - (d.freed_o - calib.freed_o);
    return d;
}

static void reset_jobs(void) {
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < NT; i++) jobs[i].idx = i;
}

/* Frees, from main, every block the threads handed over, exactly counted. */
static void free_handed(void) {
    heapprof_stats_t a = now();
    int64_t bytes = 0, n = 0;
    for (int i = 0; i < NT; i++)
        for (int k = 0; k < jobs[i].nhanded; k++) {
            bytes += (int64_t)malloc_usable_size(jobs[i].handed[k]);
            n++;
            free(jobs[i].handed[k]);
        }
    EXPECT(diff(a, now()), ((deltas){-bytes, -n, 0, 0, bytes, n}));
}

/* ---- the thread bodies --------------------------------------------------- */

/* allocate PER small blocks, free every other one, hand the rest to main */
static void mixed_work(job *j) {
    void *mine[PER];
    for (int k = 0; k < PER; k++) {
        size_t n = 16 + (size_t)((j->idx * 37 + k * 13) % 900);
        mine[k] = (k % 3) ? malloc(n) : calloc(1, n);
        CHECK(mine[k] != NULL);
        account_alloc(j, mine[k]);
    }
    for (int k = 0; k < PER; k++) {
        if (k % 2) {
            account_free(j, mine[k]);
            free(mine[k]);
        } else if (k % 4 == 0) { /* realloc: one free + one allocation */
            account_free(j, mine[k]);
            void *q = realloc(mine[k], 1200 + (size_t)k);
            CHECK(q != NULL);
            account_alloc(j, q);
            j->handed[j->nhanded++] = q;
        } else {
            j->handed[j->nhanded++] = mine[k];
        }
    }
}

static void *positive(void *arg) {
    mixed_work(arg);
    return NULL;
}

static void *negative(void *arg) { /* only frees main's blocks */
    job *j = arg;
    for (int k = 0; k < j->nto_free; k++) {
        account_free(j, j->to_free[k]);
        free(j->to_free[k]);
    }
    return NULL;
}

static void *many_batches(void *arg) { /* several flushes, then a remainder */
    job *j = arg;
    for (int r = 0; r < 40; r++) {
        void *p = malloc(100000 + (size_t)r);
        CHECK(p != NULL);
        account_alloc(j, p);
        if (r % 5 == 4) {
            j->handed[j->nhanded++] = p;
        } else {
            account_free(j, p);
            free(p);
        }
    }
    mixed_work(j);
    return NULL;
}

static __attribute__((noinline)) void exit_deep(job *j) {
    mixed_work(j);
    pthread_exit(NULL);
}

static __attribute__((noinline)) void exit_nested(job *j) {
    void *p = malloc(64); /* freed after the exit call would return: never */
    CHECK(p != NULL);
    account_alloc(j, p);
    j->handed[j->nhanded++] = p;
    exit_deep(j);
}

static void *via_pthread_exit(void *arg) {
    exit_nested(arg);
    return NULL;
}

static void tls_dtor(void *arg) { /* like a C++ thread_local destructor */
    job *j = arg;
    void *p = malloc(300);
    CHECK(p != NULL);
    account_alloc(j, p);
    j->handed[j->nhanded++] = p;
    void *q = malloc(5000);
    account_alloc(j, q);
    account_free(j, q);
    free(q);
}

static void noop_dtor(void *arg) { (void)arg; }

/* calibration for the scenario below: registering a thread_local destructor
 * costs glibc one small allocation of its own */
static void *idle_with_tls_dtor(void *arg) {
    CHECK(__cxa_thread_atexit_impl(noop_dtor, arg, &__dso_handle) == 0);
    return NULL;
}

static void *idle_pthread_exit(void *arg) { pthread_exit(arg); }

static void *with_tls_dtor(void *arg) {
    job *j = arg;
    CHECK(__cxa_thread_atexit_impl(tls_dtor, j, &__dso_handle) == 0);
    mixed_work(j);
    return NULL;
}

/* pthread key destructors. The thread itself does no heap operation: its
 * first one is the destructor's free of a block main allocated. */
static pthread_key_t key_free, key_late;

static void free_in_dtor(void *p) {
    job *j = NULL;
    for (int i = 0; i < NT; i++)
        for (int k = 0; k < jobs[i].nto_free; k++)
            if (jobs[i].to_free[k] == p) j = &jobs[i];
    if (j) account_free(j, p); /* jobs[] is not changed concurrently here */
    free(p);
}

static void *first_heap_op_in_key_dtor(void *arg) {
    job *j = arg;
    CHECK(pthread_setspecific(key_free, j->to_free[0]) == 0);
    return NULL;
}

/* A destructor that re-arms itself: its first call (round 1) does nothing,
 * the second (round 2) is this thread's first heap operation. */
static void late_dtor(void *arg) {
    job *j = arg;
    static __thread int calls;
    if (++calls == 1) {
        pthread_setspecific(key_late, j);
        return;
    }
    void *p = malloc(700);
    CHECK(p != NULL);
    account_alloc(j, p);
    j->handed[j->nhanded++] = p;
}

static void *first_heap_op_in_round_2(void *arg) {
    CHECK(pthread_setspecific(key_late, arg) == 0);
    return NULL;
}

/* ---- scenarios ----------------------------------------------------------- */

static pthread_attr_t attr;

static deltas calibrate(pthread_attr_t *a) {
    round_of(idle, a);
    round_of(idle, a);
    return round_of(idle, a);
}

static void scenario_simple(const char *name, void *(*fn)(void *), deltas calib) {
    scenario = name;
    reset_jobs();
    deltas got = round_of(fn, &attr);
    EXPECT(got, books(calib));
    free_handed();
}

static void scenario_negative(deltas calib) {
    scenario = "negative deltas";
    reset_jobs();
    for (int i = 0; i < NT; i++) {
        for (int k = 0; k < PER; k++) jobs[i].to_free[k] = malloc(16 + (size_t)k * 40);
        jobs[i].nto_free = PER;
    }
    deltas got = round_of(negative, &attr);
    EXPECT(got, books(calib));
}

static void scenario_user_stacks(void) {
    scenario = "user stacks";
    pthread_attr_t ua[NT];
    void *stk[NT];
    /* calibrate with the same kind of stacks */
    deltas calib = {0, 0, 0, 0, 0, 0};
    for (int pass = 0; pass < 3; pass++) {
        reset_jobs();
        for (int i = 0; i < NT; i++) {
            stk[i] = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            CHECK(stk[i] != MAP_FAILED);
            pthread_attr_init(&ua[i]);
            pthread_attr_setstack(&ua[i], stk[i], STACK);
        }
        pthread_t t[NT];
        heapprof_stats_t a = now();
        for (int i = 0; i < NT; i++)
            CHECK(pthread_create(&t[i], &ua[i], pass < 2 ? idle : positive, &jobs[i]) == 0);
        for (int i = 0; i < NT; i++) CHECK(pthread_join(t[i], NULL) == 0);
        deltas got = diff(a, now());
        if (pass == 1) calib = got;
        if (pass == 2) EXPECT(got, books(calib));
        /* the exited threads' TLS lived in these stacks: gone now */
        for (int i = 0; i < NT; i++) {
            pthread_attr_destroy(&ua[i]);
            munmap(stk[i], STACK);
        }
        heapprof_stats_t b = now(); /* must not touch the unmapped TLS */
        CHECK(b.live_bytes == now().live_bytes);
        if (pass == 2) free_handed();
    }
}

/* Threads whose first heap operation happens in a pthread key destructor,
 * then new threads that reuse their stacks and TLS. Runs in a child process
 * of its own so that a hang or crash is reported and the other variant still
 * runs. */
static void key_dtor_variant(void *(*fn)(void *), int frees_main_block, deltas calib) {
    for (int rep = 0; rep < 3; rep++) {
        reset_jobs();
        if (frees_main_block)
            for (int i = 0; i < NT; i++) {
                jobs[i].to_free[0] = malloc(1000 + (size_t)i);
                jobs[i].nto_free = 1;
            }
        deltas got = round_of(fn, &attr);
        EXPECT(got, books(calib));
        free_handed();
        /* new threads reuse the exited threads' stacks and TLS */
        reset_jobs();
        got = round_of(positive, &attr);
        EXPECT(got, books(calib));
        free_handed();
    }
}

static void isolated(const char *name, void *(*fn)(void *), int frees_main_block, deltas calib) {
    scenario = name;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        key_dtor_variant(fn, frees_main_block, calib);
        fflush(NULL);
        _exit(CHECK_DONE());
    }
    CHECK(pid > 0);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "[%s] failed: %s %d\n", name,
                WIFSIGNALED(status) ? "killed by signal" : "exit status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        check_failures++;
    }
}

static void scenario_key_dtor(deltas calib) {
    isolated("first heap op in a key destructor (round 1)", first_heap_op_in_key_dtor, 1, calib);
    isolated("first heap op in a key destructor (round 2)", first_heap_op_in_round_2, 0, calib);
}

static void on_alarm(int sig) {
    (void)sig;
    char buf[200];
    int n = snprintf(buf, sizeof buf, "thread_exit: watchdog fired in scenario '%s' (hang)\n",
                     scenario);
    if (write(2, buf, (size_t)n) < 0) {
    }
    _exit(97);
}

int main(void) {
    if (!heapprof_available()) {
        fprintf(stderr, "libheapprof.so is not preloaded\n");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    alarm(90);
    CHECK(pthread_key_create(&key_free, free_in_dtor) == 0);
    CHECK(pthread_key_create(&key_late, late_dtor) == 0);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK);

    scenario = "calibration";
    reset_jobs();
    /* the first pthread_exit makes glibc load its unwinder: once, and not
     * the library's business */
    round_of(idle_pthread_exit, &attr);
    deltas calib = calibrate(&attr);
    /* creating and joining idle threads allocates nothing net once glibc's
     * stack cache is warm; a leak here would be charged to every scenario */
    CHECK(calib.live_b == 0 && calib.live_o == 0);

    heapprof_stats_t before = now();
    scenario_simple("positive deltas", positive, calib);
    scenario_negative(calib);
    scenario_simple("several batches", many_batches, calib);
    scenario_simple("pthread_exit", via_pthread_exit, calib);
    round_of(idle_with_tls_dtor, &attr);
    deltas calib_tls = round_of(idle_with_tls_dtor, &attr);
    CHECK(calib_tls.live_b == 0 && calib_tls.live_o == 0);
    scenario_simple("thread_local destructor", with_tls_dtor, calib_tls);
    scenario_user_stacks();
    scenario = "threads_seen";
    heapprof_stats_t after = now();
    CHECK(after.threads_seen > before.threads_seen);

    /* 200 short-lived threads, NT at a time, each round exact */
    scenario = "many short threads";
    for (int r = 0; r < 200 / NT; r++) {
        reset_jobs();
        deltas got = round_of(positive, &attr);
        EXPECT(got, books(calib));
        free_handed();
    }

    /* last, each in a child process: these corrupt the thread registry if an
     * exiting thread is left in it (a hang in heapprof_stats, or a crash) */
    scenario_key_dtor(calib);

    pthread_attr_destroy(&attr);
    return CHECK_DONE();
}
