/*
 * Frames in a library that is gone by the time of the dump, for
 * tests/integration/symbolize_dlclose.sh. One file, two roles:
 *
 *   cc -shared -fPIC -g -O2 -DSYMLIB_VARIANT=1 -> libsymone.so: symlib_one_alloc()
 *   cc -shared -fPIC -g -O2 -DSYMLIB_VARIANT=2 -> libsymtwo.so: symlib_two_alloc(),
 *        laid out differently (a padding function first)
 *   built without SYMLIB_VARIANT (as tests/tests.mk does): the program
 *
 *   symbolize_dlclose LIBONE [LIBTWO]
 *
 * dlopens LIBONE, allocates 50 blocks of 5000 bytes through
 * symlib_one_alloc (40 kept, 10 freed), dlcloses it; then, with LIBTWO,
 * dlopens it (usually at the address LIBONE had), allocates 30 blocks of
 * 7000 bytes through symlib_two_alloc (all kept) and dlcloses it too. The
 * exit dump then has to name frames of two unmapped libraries. Prints
 * "one at BASE", "two at BASE" and "done"; exit status 0.
 */
#define _GNU_SOURCE
#include <stdlib.h>

static void *volatile sink;

#if defined(SYMLIB_VARIANT) && SYMLIB_VARIANT == 1

__attribute__((noinline)) void *symlib_one_alloc(size_t n) {
    void *p = malloc(n); /* LINE:one_malloc */
    sink = p;
    return p;
}

#elif defined(SYMLIB_VARIANT) && SYMLIB_VARIANT == 2

__attribute__((noinline)) unsigned symlib_two_pad(unsigned x) {
    for (unsigned i = 0; i < 64; i++) x = x * 2654435761u + i * (x >> 7) + (x ^ (i << 3));
    return x;
}

__attribute__((noinline)) void *symlib_two_alloc(size_t n) {
    void *p = malloc(n + symlib_two_pad(0) % 1); /* LINE:two_malloc */
    sink = p;
    return p;
}

#else /* the program */

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>

typedef void *(*alloc_fn)(size_t);

static void *kept[128];
static int nkept;

static int use(const char *path, const char *sym, size_t size, int count, int nfree, const char *tag) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return -1;
    }
    alloc_fn fn = (alloc_fn)dlsym(h, sym);
    struct link_map *lm = NULL;
    if (!fn || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0) {
        fprintf(stderr, "dlsym %s: %s\n", sym, dlerror());
        return -1;
    }
    for (int i = 0; i < count; i++) {
        void *p = fn(size);
        if (!p) return -1;
        if (i < nfree) free(p);
        else kept[nkept++] = p;
    }
    printf("%s at %#lx\n", tag, (unsigned long)lm->l_addr);
    fflush(stdout);
    return dlclose(h);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: symbolize_dlclose LIBONE [LIBTWO]\n");
        return 2;
    }
    if (use(argv[1], "symlib_one_alloc", 5000, 50, 10, "one")) return 1;
    if (argc > 2 && use(argv[2], "symlib_two_alloc", 7000, 30, 0, "two")) return 1;
    puts("done");
    return 0;
}

#endif
