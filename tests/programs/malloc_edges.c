/*
 * The C allocation API at its edges, as a program sees it: results, errno and
 * alignment for impossible sizes, bad alignments, zero sizes, NULL; printed
 * so that a run under heapprof can be compared with a plain (glibc) run.
 * Left out: aligned_alloc with an alignment that is not a power of two, where
 * glibc 2.36 returns memory and C17 (and glibc >= 2.38) allow NULL/EINVAL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void show(const char *what, void *p) {
    printf("%-28s %s errno=%s\n", what, p ? "non-null" : "NULL", errno ? strerrorname_np(errno) : "0");
    free(p);
}

int main(void) {
    volatile size_t big = SIZE_MAX - 4096, half = SIZE_MAX / 2, huge = (size_t)1 << 62;
    void *p = NULL;
    int r;
    errno = 0; show("malloc(SIZE_MAX-4096)", malloc(big));
    errno = 0; show("malloc(2^62)", malloc(huge));
    errno = 0; show("calloc(SIZE_MAX/2, 4)", calloc(half, 4));
    errno = 0; show("calloc(2^62, 1)", calloc(huge, 1));
    errno = 0; show("realloc(NULL, SIZE_MAX-4096)", realloc(NULL, big));
    char *q = malloc(10);
    strcpy(q, "keep");
    errno = 0; p = realloc(q, big);
    printf("%-28s %s errno=%s old block intact=%d\n", "realloc(p, SIZE_MAX-4096)", p ? "non-null" : "NULL",
           errno ? strerrorname_np(errno) : "0", !strcmp(q, "keep"));
    free(q);
    errno = 0; show("reallocarray(NULL, half, 4)", reallocarray(NULL, half, 4));
    errno = 0; show("aligned_alloc(64, huge)", aligned_alloc(64, big));
    errno = 0; show("memalign(64, huge)", memalign(64, big));
    errno = 0; show("valloc(huge)", valloc(big));
    errno = 0; show("pvalloc(huge)", pvalloc(big));
    p = NULL; r = posix_memalign(&p, 64, big); printf("%-28s %d %s\n", "posix_memalign(64, huge)", r, p ? "set" : "NULL");
    r = posix_memalign(&p, 3, 10); printf("%-28s %d\n", "posix_memalign(3, 10)", r);
    r = posix_memalign(&p, 0, 10); printf("%-28s %d\n", "posix_memalign(0, 10)", r);
    r = posix_memalign(&p, sizeof(void *), 0); printf("%-28s %d %s\n", "posix_memalign(8, 0)", r, p ? "non-null" : "NULL");
    free(p);

    /* zero sizes and NULL */
    p = malloc(0); printf("%-28s %s\n", "malloc(0)", p ? "non-null" : "NULL"); free(p);
    p = calloc(0, 0); printf("%-28s %s\n", "calloc(0, 0)", p ? "non-null" : "NULL"); free(p);
    errno = 0; p = realloc(malloc(5), 0); printf("%-28s %s errno=%d\n", "realloc(p, 0)", p ? "non-null" : "NULL", errno); free(p);
    p = realloc(NULL, 0); printf("%-28s %s\n", "realloc(NULL, 0)", p ? "non-null" : "NULL"); free(p);
    free(NULL);
    printf("%-28s %zu\n", "malloc_usable_size(NULL)", malloc_usable_size(NULL));

    /* alignment and usable size */
    int ok = 1;
    for (size_t a = 8; a <= 65536; a *= 2) {
        void *m = memalign(a, 24), *al = aligned_alloc(a, a * 3), *pm = NULL;
        if (posix_memalign(&pm, a, 100)) ok = 0;
        if (!m || !al || !pm || (uintptr_t)m % a || (uintptr_t)al % a || (uintptr_t)pm % a) ok = 0;
        if (malloc_usable_size(m) < 24 || malloc_usable_size(al) < a * 3 || malloc_usable_size(pm) < 100) ok = 0;
        free(m), free(al), free(pm);
    }
    printf("%-28s %d\n", "alignments 8..64K", ok);
    p = valloc(1); printf("%-28s %d\n", "valloc page aligned", (int)((uintptr_t)p % 4096 == 0)); free(p);
    p = pvalloc(1); printf("%-28s %d\n", "pvalloc whole page", malloc_usable_size(p) >= 4096); free(p);
    ok = 1;
    for (size_t n = 0; n < 5000; n += 7) {
        unsigned char *c = calloc(n, 3);
        for (size_t i = 0; i < n * 3; i++) if (c[i]) ok = 0;
        memset(c, 0xff, n * 3);
        free(c);
    }
    printf("%-28s %d\n", "calloc zeroed", ok);
    char *s = malloc(1);
    s[0] = 7;
    ok = 1;
    for (size_t n = 2; n < 3000000; n = n * 3 / 2 + 1) {
        s = realloc(s, n);
        if (s[0] != 7) ok = 0;
        s[n - 1] = 1;
    }
    for (size_t n = 3000000; n > 1; n /= 3) {
        s = realloc(s, n);
        if (s[0] != 7) ok = 0;
    }
    free(s);
    printf("%-28s %d\n", "realloc grow/shrink keeps", ok);
    return 0;
}
