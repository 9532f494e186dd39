/*
 * dl_iterate_phdr callbacks that allocate (as Rust's backtrace capture
 * does), in several threads, while other threads allocate from new code
 * (dlopen/dlclose of a library in a loop, so the profiler's stack walker
 * keeps learning unwind rules, which it looks up with dl_iterate_phdr).
 * glibc holds its loader lock around each callback; under full mode the
 * callback's allocation takes a stack. Must finish, not deadlock.
 *   phdr_alloc LIBRARY SECONDS
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *library;
static double seconds;
static volatile int stop;

static int collect(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    char **names = arg;
    size_t n = strlen(info->dlpi_name) + 1 + (size_t)(rand() % 64);
    char *copy = malloc(n);
    if (copy) {
        strcpy(copy, info->dlpi_name);
        free(*names);
        *names = copy;
    }
    return 0;
}

static void *iterate(void *arg) {
    (void)arg;
    char *last = NULL;
    long rounds = 0;
    while (!stop) {
        dl_iterate_phdr(collect, &last);
        rounds++;
    }
    free(last);
    return (void *)rounds;
}

static void *load_unload(void *arg) {
    (void)arg;
    long rounds = 0;
    while (!stop) {
        void *h = dlopen(library, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "dlopen %s: %s\n", library, dlerror());
            exit(2);
        }
        char *(*dup)(const char *) = (char *(*)(const char *))dlsym(h, "phdr_alloc_dup");
        for (int i = 0; dup && i < 50; i++) free(dup("allocated by code just loaded"));
        dlclose(h);
        rounds++;
    }
    return (void *)rounds;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    library = argv[1];
    seconds = atof(argv[2]);
    pthread_t t[4];
    pthread_create(&t[0], NULL, iterate, NULL);
    pthread_create(&t[1], NULL, iterate, NULL);
    pthread_create(&t[2], NULL, load_unload, NULL);
    pthread_create(&t[3], NULL, load_unload, NULL);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    stop = 1;
    long total = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        total += (long)r;
    }
    printf("done: %s\n", total > 0 ? "some rounds" : "no rounds");
    return 0;
}
