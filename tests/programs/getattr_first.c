/*
 * New threads whose first heap call happens inside pthread_getattr_np:
 * glibc holds the thread's own lock there while it reallocs the CPU set,
 * as the JVM's threads do first thing. Under full mode the profiler takes
 * a stack on that very allocation; it must not ask glibc for the thread's
 * stack bounds then (that waits on the same lock: a hang). Prints the stack
 * sizes it saw, which do not depend on the profiler.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

static void *probe(void *arg) {
    pthread_attr_t a;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstacksize(&a, &size);
        pthread_attr_destroy(&a);
    }
    *(size_t *)arg = size;
    return NULL;
}

int main(void) {
    enum { THREADS = 8 };
    pthread_t t[THREADS];
    size_t sizes[THREADS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], &attr, probe, &sizes[i]);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        printf("thread %d: stack %zu KiB\n", i, sizes[i] >> 10);
    }
    pthread_attr_destroy(&attr);
    return 0;
}
