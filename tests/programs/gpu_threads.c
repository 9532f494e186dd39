/*
 * GPU allocations from several threads at once, through the fake libcupti:
 * THREADS threads, each under its own tag "t<k>", make ROUNDS cudaMalloc
 * calls of 1000 + 10k + (i % 7) bytes, freeing each block on the next round
 * (the last one at the end). tests/integration/gpu_activation.sh checks that
 * the counters come out exact.
 */
#define _GNU_SOURCE
#include "gpu_fake_api.h"
#include "heapprof.h"

#include <pthread.h>

#define THREADS 4
#define ROUNDS 500

static void *worker(void *arg) {
    int k = (int)(intptr_t)arg;
    char tag[8];
    snprintf(tag, sizeof tag, "t%d", k);
    if (heapprof_tag_push(tag)) return (void *)1;
    void *prev = NULL;
    for (int i = 0; i < ROUNDS; i++) {
        void *p;
        if (sim_cudaMalloc(&p, 1000 + 10 * (size_t)k + (size_t)(i % 7), SIM_OK)) return (void *)1;
        if (prev && sim_cudaFree(prev, SIM_OK)) return (void *)1;
        prev = p;
    }
    return sim_cudaFree(prev, SIM_OK) ? (void *)1 : NULL;
}

int main(void) {
    if (sim_init()) {
        fprintf(stderr, "gpu_threads: the fake libcupti is not loaded\n");
        return 2;
    }
    pthread_t t[THREADS];
    for (int k = 0; k < THREADS; k++)
        if (pthread_create(&t[k], NULL, worker, (void *)(intptr_t)k)) return 3;
    int bad = 0;
    for (int k = 0; k < THREADS; k++) {
        void *r;
        pthread_join(t[k], &r);
        bad += r != NULL;
    }
    printf("delivered %d callbacks\n", sim_delivered);
    return bad || heapprof_dump("threads") ? 1 : 0;
}
