/*
 * Labels: heapprof_label_set/clear. For tests/integration/tags_labels.sh.
 *
 *   tags_labels
 *
 * Checks (exit status = failures):
 *  - bad arguments are refused: the reserved key "tag", NULL or empty keys and
 *    values, keys or values over 1024 bytes (1024 is fine), clearing a key
 *    that is not set or NULL;
 *  - at most 16 labels per thread: the 17th distinct key is refused, while
 *    re-setting one of the 16 still works, and clearing one makes room;
 *  - the limit is per thread: another thread starts with none;
 *  - 8 threads set, replace and clear labels from a pool of 24 keys at random
 *    while allocating, freeing (also each other's blocks) and pushing tags;
 *    each thread predicts every return value from its own model of its label
 *    set (full at 16), and a dump (heapprof_dump) runs in the middle.
 * Whether labels reach the profiles is tested with the pprof writer.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 8
#define ITERS 20000
#define NKEYS 24
#define SLOTS 256

static pthread_barrier_t barrier;
static void *_Atomic shared_slots[SLOTS]; /* blocks handed between threads */

static void report(const char *msg, int thread, int iter, const char *key, int got, int want) {
    char buf[200];
    int n =
        snprintf(buf, sizeof buf, "thread %d, iteration %d: %s(\"%s\") returned %d, expected %d\n",
                 thread, iter, msg, key, got, want);
    (void)!write(2, buf, (size_t)n);
}

static int errors_in_threads;

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1);
    int have[NKEYS] = {0}, count = 0, errors = 0;
    char key[16], value[48], tag[16];
    for (int i = 0; i < ITERS; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        int k = (int)(rng % NKEYS), op = (int)((rng >> 8) % 4);
        snprintf(key, sizeof key, "key%02d", k);
        if (op < 2) { /* set or replace */
            snprintf(value, sizeof value, "thread%d-iteration%d", id, i);
            int want = have[k] || count < 16 ? 0 : -1;
            int got = heapprof_label_set(key, value);
            if (got != want) report("heapprof_label_set", id, i, key, got, want), errors++;
            if (got == 0 && !have[k]) have[k] = 1, count++;
        } else if (op == 2) {
            int want = have[k] ? 0 : -1;
            int got = heapprof_label_clear(key);
            if (got != want) report("heapprof_label_clear", id, i, key, got, want), errors++;
            if (got == 0 && have[k]) have[k] = 0, count--;
        } else {
            snprintf(tag, sizeof tag, "label/tag%d", (int)((rng >> 16) % 32));
            heapprof_tag_push(tag);
        }
        /* allocate, and free someone else's block */
        size_t n = 16 + (size_t)((rng >> 24) % 4000);
        void *p = malloc(n);
        if (p) memset(p, id, n < 32 ? n : 32);
        void *old = __atomic_exchange_n(&shared_slots[(rng >> 40) % SLOTS], p, __ATOMIC_ACQ_REL);
        free(old);
        if (op == 3) heapprof_tag_pop();
        if (i == ITERS / 2) pthread_barrier_wait(&barrier);
    }
    for (int k = 0; k < NKEYS; k++) {
        snprintf(key, sizeof key, "key%02d", k);
        int want = have[k] ? 0 : -1, got = heapprof_label_clear(key);
        if (got != want) report("heapprof_label_clear", id, ITERS, key, got, want), errors++;
    }
    __atomic_add_fetch(&errors_in_threads, errors, __ATOMIC_RELAXED);
    return NULL;
}

static void *fresh_thread(void *arg) {
    (void)arg;
    /* The creating thread holds 16 labels; this one has none. */
    char key[16];
    for (int i = 0; i < 16; i++) {
        snprintf(key, sizeof key, "fresh%02d", i);
        CHECK(heapprof_label_set(key, "v") == 0);
    }
    CHECK(heapprof_label_set("fresh16", "v") == -1);
    CHECK(heapprof_label_clear("k00") == -1); /* the creator's key is not ours */
    for (int i = 0; i < 16; i++) {
        snprintf(key, sizeof key, "fresh%02d", i);
        CHECK(heapprof_label_clear(key) == 0);
    }
    return NULL;
}

int main(void) {
    if (!heapprof_available()) {
        fprintf(stderr, "tags_labels: run me with libheapprof.so preloaded\n");
        return 100;
    }
    static char big[1026], max[1025];
    memset(big, 'b', 1025);
    memset(max, 'm', 1024);

    CHECK(heapprof_label_set("tag", "x") == -1);
    CHECK(heapprof_label_set(NULL, "x") == -1);
    CHECK(heapprof_label_set("", "x") == -1);
    CHECK(heapprof_label_set("k", NULL) == -1);
    CHECK(heapprof_label_set("k", "") == -1);
    CHECK(heapprof_label_set(big, "x") == -1);
    CHECK(heapprof_label_set("k", big) == -1);
    CHECK(heapprof_label_clear("k") == -1);
    CHECK(heapprof_label_clear(NULL) == -1);
    CHECK(heapprof_label_clear("tag") == -1);
    CHECK(heapprof_label_set(max, max) == 0); /* 1024 bytes each: fine */
    CHECK(heapprof_label_clear(max) == 0);
    CHECK(heapprof_label_clear(max) == -1);

    char key[16];
    for (int i = 0; i < 16; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        if (heapprof_label_set(key, "v1") != 0) {
            fprintf(stderr, "label %d of 16 refused\n", i + 1);
            check_failures++;
        }
    }
    CHECK(heapprof_label_set("k16", "v") == -1); /* the 17th */
    CHECK(heapprof_label_set("tag", "v") == -1);
    CHECK(heapprof_label_set("k07", "v2") == 0); /* replacing one of the 16 */
    void *p = malloc(1000);                      /* allocating with 16 labels */
    free(p);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fresh_thread, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(heapprof_label_set("k16", "v") == -1); /* still full */
    CHECK(heapprof_label_clear("k03") == 0);
    CHECK(heapprof_label_set("k16", "v") == 0); /* room again */
    CHECK(heapprof_label_set("k17", "v") == -1);
    CHECK(heapprof_label_clear("k03") == -1);
    for (int i = 0; i < 17; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        CHECK(heapprof_label_clear(key) == (i == 3 ? -1 : 0));
    }

    pthread_barrier_init(&barrier, NULL, NTHREADS + 1);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0);
    pthread_barrier_wait(&barrier); /* every thread is halfway and holds labels */
    CHECK(heapprof_dump("labels") == 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < SLOTS; i++)
        free(shared_slots[i]);
    check_failures += errors_in_threads;
    printf("tags_labels: %d failures\n", check_failures);
    return CHECK_DONE();
}
