/* A program with known allocation sites for the CLI tests: churn() allocates
 * and frees, build_cache() keeps N blocks (leaks them). Compiled twice by the
 * tests (different optimisation, LEAK_MORE changes one function). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep[200000];
static int kept;

__attribute__((noinline)) void *make_node(size_t n) {
#ifdef LEAK_MORE
    n *= 4; /* the regression the diff test looks for */
#endif
    char *node = malloc(n);
    memset(node, 0, n); /* a real constructor (GCC may fuse this into calloc) */
    return node;
}

__attribute__((noinline)) void build_cache(int n) {
    for (int i = 0; i < n; i++) keep[kept++] = make_node(200);
}

__attribute__((noinline)) void churn(int n) {
    for (int i = 0; i < n; i++) {
        char *p = malloc(1000);
        memset(p, i, 1000);
        free(p);
    }
}

int main(int argc, char **argv) {
    int leak = argc > 1 ? atoi(argv[1]) : 1000;
    churn(20000);
    build_cache(leak);
    /* the allocator's block sizes, so tests can compute exact usable totals */
    char *probe = malloc(1000);
    printf("kept %d usable200 %zu usable1000 %zu\n", kept, kept ? malloc_usable_size(keep[0]) : 0,
           malloc_usable_size(probe));
    free(probe);
    return 0;
}
