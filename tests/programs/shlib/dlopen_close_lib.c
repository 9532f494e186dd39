/*
 * A small shared library for tests/programs/dlopen_close.c, built by
 * tests/integration/dlopen_close.sh (cc -shared -fPIC; it lives in a
 * subdirectory so tests/tests.mk does not build it as a program). Its
 * constructor and destructor allocate and free; make_buffer() returns memory
 * the caller frees after dlclose(); a dynamic TLS variable makes the loader
 * allocate per-thread blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *state;
static char **scratch;
static __thread int tls_counter;
static __thread char tls_name[200];

__attribute__((constructor)) static void lib_init(void) {
    state = malloc(4096);
    strcpy(state, "lib-state");
    scratch = calloc(64, sizeof *scratch);
    for (int i = 0; i < 64; i++) scratch[i] = malloc(16 + (size_t)i * 8);
    for (int i = 0; i < 64; i += 2) {
        free(scratch[i]);
        scratch[i] = NULL;
    }
}

__attribute__((destructor)) static void lib_fini(void) {
    for (int i = 0; i < 64; i++) free(scratch[i]);
    free(scratch);
    free(state);
    state = NULL;
}

char *make_buffer(int n) {
    size_t len = 64 + (size_t)n * 16;
    char *b = malloc(len);
    if (!b) return NULL;
    snprintf(b, len, "buffer-%d-%s", n, state);
    return b;
}

int tls_bump(void) {
    snprintf(tls_name, sizeof tls_name, "tls-%d", tls_counter);
    return ++tls_counter + (int)strlen(tls_name);
}
