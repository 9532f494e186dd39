/*
 * dlopen_close LIB [ROUNDS]: dlopens and dlcloses LIB (built from
 * tests/programs/shlib/dlopen_close_lib.c) ROUNDS times (default 300). Each
 * round calls make_buffer(), uses dynamic TLS from the main thread and from a
 * short-lived thread, dlcloses, and only then reallocs and frees the buffer the
 * library returned. Prints a checksum; exits 0 when every round worked.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef char *(*make_fn)(int);
typedef int (*bump_fn)(void);

static void *thread_bump(void *arg) {
    bump_fn bump = (bump_fn)arg;
    long r = 0;
    for (int i = 0; i < 5; i++) r += bump();
    return (void *)r;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: dlopen_close LIB [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 300;
    unsigned long sum = 0;
    int errors = 0;
    for (int r = 0; r < rounds; r++) {
        void *h = dlopen(argv[1], RTLD_NOW | (r % 2 ? RTLD_LOCAL : RTLD_GLOBAL));
        if (!h) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        make_fn make = (make_fn)dlsym(h, "make_buffer");
        bump_fn bump = (bump_fn)dlsym(h, "tls_bump");
        if (!make || !bump) {
            fprintf(stderr, "dlsym: %s\n", dlerror());
            return 1;
        }
        char *buf = make(r);
        int t = bump() + bump();
        void *ret = NULL;
        if (r % 10 == 0) {
            pthread_t th;
            pthread_create(&th, NULL, thread_bump, (void *)bump);
            pthread_join(th, &ret);
        }
        if (dlclose(h)) {
            fprintf(stderr, "dlclose: %s\n", dlerror());
            return 1;
        }
        /* the library is gone (or at least closed): its memory is ours now */
        char expect[64];
        snprintf(expect, sizeof expect, "buffer-%d-lib-state", r);
        if (!buf || strcmp(buf, expect)) errors++;
        buf = realloc(buf, 100000 + (size_t)r);
        if (!buf) return 1;
        buf[99999 + r] = 1;
        for (const char *p = buf; *p; p++) sum = sum * 131 + (unsigned char)*p;
        sum += (unsigned long)t + (unsigned long)(long)ret;
        free(buf);
    }
    printf("rounds %d errors %d checksum %lu\n", rounds, errors, sum);
    /* after all that, the library loads again and works */
    void *h = dlopen(argv[1], RTLD_LAZY);
    char *(*make)(int) = h ? (make_fn)dlsym(h, "make_buffer") : NULL;
    char *last = make ? make(-1) : NULL;
    printf("last: %s\n", last ? last : "(none)");
    if (h) dlclose(h);
    free(last);
    return errors ? 1 : 0;
}
