/*
 * Debian's libmimalloc.so.2 (a dependency of libheapprof.so, so it sits in
 * the global symbol scope of every preloaded process) exports allocation
 * functions of its own besides the glibc names libheapprof interposes:
 * reallocf, reallocarr, vfree, __posix_memalign, _aligned_malloc. Whatever
 * a program can reach through the normal symbol lookup must be counted, or
 * the exact counters drift (a block allocated uncounted and then freed with
 * free() even drives live_bytes below the truth).
 *
 * For every such name that dlsym(RTLD_DEFAULT) finds, the allocation or free
 * through it must move the counters by exactly the usable size. A name that
 * is not visible at all passes.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>

static heapprof_stats_t now(void) {
    heapprof_stats_t s;
    heapprof_stats(&s, sizeof s);
    return s;
}

static void *find(const char *name) {
    void *f = dlsym(RTLD_DEFAULT, name);
    Dl_info di;
    if (f && dladdr(f, &di))
        fprintf(stderr, "%s is provided by %s\n", name, di.dli_fname ? di.dli_fname : "?");
    return f;
}

static void expect_(int line, const char *what, heapprof_stats_t a, heapprof_stats_t b,
                    int64_t live_b, int64_t live_o) {
    int64_t gb = (int64_t)(b.live_bytes - a.live_bytes);
    int64_t go = (int64_t)(b.live_objects - a.live_objects);
    if (gb != live_b || go != live_o) {
        fprintf(stderr, "%s:%d: %s: live delta %lld bytes / %lld objects, want %lld / %lld\n",
                __FILE__, line, what, (long long)gb, (long long)go, (long long)live_b,
                (long long)live_o);
        check_failures++;
    }
}
#define EXPECT(what, a, b, bytes, objs) expect_(__LINE__, what, a, b, bytes, objs)

int main(void) {
    if (!heapprof_available()) {
        fprintf(stderr, "libheapprof.so is not preloaded\n");
        return 1;
    }
    heapprof_stats_t a, b;

    void *(*reallocf_fn)(void *, size_t) = (void *(*)(void *, size_t))(uintptr_t)find("reallocf");
    if (reallocf_fn) {
        a = now();
        char *p = reallocf_fn(NULL, 1000);
        b = now();
        CHECK(p != NULL);
        EXPECT("reallocf(NULL, 1000)", a, b, (int64_t)malloc_usable_size(p), 1);
        memset(p, 3, 1000);
        size_t old_u = malloc_usable_size(p);
        a = now();
        char *q = reallocf_fn(p, 100000);
        b = now();
        CHECK(q != NULL && q[999] == 3);
        EXPECT("reallocf(p, 100000)", a, b,
               (int64_t)malloc_usable_size(q) - (int64_t)old_u, 0);
        size_t new_u = q ? malloc_usable_size(q) : 0;
        a = now();
        free(q);
        b = now();
        EXPECT("free of a reallocf block", a, b, -(int64_t)new_u, -1);
    }

    int (*reallocarr_fn)(void *, size_t, size_t) =
        (int (*)(void *, size_t, size_t))(uintptr_t)find("reallocarr");
    if (reallocarr_fn) {
        void *p = NULL;
        a = now();
        int rc = reallocarr_fn(&p, 10, 100);
        b = now();
        CHECK(rc == 0 && p != NULL);
        if (p) EXPECT("reallocarr(&NULL, 10, 100)", a, b, (int64_t)malloc_usable_size(p), 1);
        size_t u = p ? malloc_usable_size(p) : 0;
        a = now();
        free(p);
        b = now();
        EXPECT("free of a reallocarr block", a, b, -(int64_t)u, -1);
    }

    int (*pm_fn)(void **, size_t, size_t) =
        (int (*)(void **, size_t, size_t))(uintptr_t)find("__posix_memalign");
    if (pm_fn) {
        void *p = NULL;
        a = now();
        int rc = pm_fn(&p, 64, 500);
        b = now();
        CHECK(rc == 0 && p != NULL && ((uintptr_t)p & 63) == 0);
        if (p) EXPECT("__posix_memalign(64, 500)", a, b, (int64_t)malloc_usable_size(p), 1);
        size_t u = p ? malloc_usable_size(p) : 0;
        a = now();
        free(p);
        b = now();
        EXPECT("free of a __posix_memalign block", a, b, -(int64_t)u, -1);
    }

    void *(*am_fn)(size_t, size_t) = (void *(*)(size_t, size_t))(uintptr_t)find("_aligned_malloc");
    if (am_fn) {
        /* Windows has (size, alignment), mimalloc's export (alignment, size):
         * equal arguments are valid either way */
        a = now();
        void *p = am_fn(64, 64);
        b = now();
        CHECK(p != NULL && ((uintptr_t)p & 63) == 0);
        if (p) {
            EXPECT("_aligned_malloc(64, 64)", a, b, (int64_t)malloc_usable_size(p), 1);
            size_t u = malloc_usable_size(p);
            a = now();
            free(p);
            b = now();
            EXPECT("free of an _aligned_malloc block", a, b, -(int64_t)u, -1);
        }
    }

    void (*vfree_fn)(void *) = (void (*)(void *))(uintptr_t)find("vfree");
    if (vfree_fn) {
        void *p = malloc(700);
        size_t u = malloc_usable_size(p);
        a = now();
        vfree_fn(p);
        b = now();
        EXPECT("vfree of a malloc block", a, b, -(int64_t)u, -1);
    }
    return CHECK_DONE();
}
