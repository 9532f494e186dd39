/*
 * Allocations from functions the symbolizer has to work for, for
 * tests/integration/symbolize_frames.sh and symbolize_stripped.sh (which
 * build this file themselves with -O2 -g, and -rdynamic for the stripped
 * copies):
 *
 *   sym_static_alloc   a static function (GCC may clone it at -O2; the
 *                      profile must still show its source name)
 *   sym_inline_helper  an always_inline helper that calls malloc, inlined
 *                      into sym_inline_caller: the profile must show it as a
 *                      frame of its own, with its file:line, at the same
 *                      address as sym_inline_caller's frame
 *   sym_exported       an ordinary external function (in .dynsym when the
 *                      program is linked with -rdynamic)
 *
 * The tests find the expected line numbers by the LINE: markers below.
 * All blocks stay alive until exit. Prints "done"; exit status 0.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink;
static void *kept[1024];
static int nkept;

static void keep(void *p) {
    if (!p) abort();
    kept[nkept++] = p;
}

static __attribute__((noinline)) void *sym_static_alloc(size_t n) {
    void *p = malloc(n); /* LINE:static_malloc */
    sink = p;
    return p;
}

static inline __attribute__((always_inline)) void *sym_inline_helper(size_t n) {
    void *p = malloc(n * 2); /* LINE:inline_malloc */
    sink = p;
    return p;
}

__attribute__((noinline)) void *sym_inline_caller(size_t n) {
    char *p = sym_inline_helper(n); /* LINE:inline_call */
    p[0] = 1;
    return p;
}

__attribute__((noinline)) void *sym_exported(size_t n) {
    void *p = malloc(n + 16); /* LINE:exported_malloc */
    sink = p;
    return p;
}

int main(void) {
    for (int i = 0; i < 100; i++) keep(sym_static_alloc(3000));
    for (int i = 0; i < 100; i++) keep(sym_inline_caller(1000));
    for (int i = 0; i < 100; i++) keep(sym_exported(500));
    if (write(1, "done\n", 5) != 5) return 1;
    return 0;
}
