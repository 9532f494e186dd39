/*
 * Reference points for bench/run.sh: the least any LD_PRELOAD wrapper around
 * Debian's shared libmimalloc can cost, to read heapprof's overhead against.
 *
 *   floor-null.so   (built without FLOOR_COUNT) forwards every entry point to
 *                   mimalloc and does nothing else: the price of the wrapper's
 *                   extra call alone.
 *   floor-count.so  (-DFLOOR_COUNT) also keeps the exact per-thread counters
 *                   heapprof keeps (live and lifetime bytes by usable size,
 *                   objects), asking mi_usable_size() for the size, with no
 *                   peak, no batching, no sampling and no reader: the
 *                   simplest way to meet heapprof's counting contract.
 *
 * Neither is usable as a product (the counters are never read); they exist
 * to be timed beside heapprof.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <mimalloc.h>
#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

#ifdef FLOOR_COUNT
static __thread struct {
    int64_t live_bytes, live_objs;
    uint64_t alloc_bytes, alloc_objs;
} counters __attribute__((tls_model("initial-exec")));

static void *counted(void *p) {
    if (p) {
        size_t n = mi_usable_size(p);
        counters.live_bytes += (int64_t)n;
        counters.live_objs += 1;
        counters.alloc_bytes += n;
        counters.alloc_objs += 1;
    }
    return p;
}

static void uncount(void *p) {
    if (p) {
        counters.live_bytes -= (int64_t)mi_usable_size(p);
        counters.live_objs -= 1;
    }
}
/* realloc: the old block's count moves to the new one. */
static size_t size_before(void *p) {
    return p ? mi_usable_size(p) : 0;
}
static void *moved(void *old, size_t old_size, void *q) {
    counters.live_bytes -= (int64_t)old_size;
    counters.live_objs -= old != NULL;
    return counted(q);
}
#else
#define counted(p) (p)
#define uncount(p) ((void)(p))
#define size_before(p) ((void)(p), (size_t)0)
#define moved(old, old_size, q) ((void)(old), (void)(old_size), (q))
#endif

/* mimalloc 2.0.9 leaves errno alone on failure (DESIGN.md §6). */
static void *or_enomem(void *p) {
    if (!p) errno = ENOMEM;
    return p;
}

EXPORT void *malloc(size_t n) {
    return or_enomem(counted(mi_malloc(n)));
}
EXPORT void *calloc(size_t k, size_t n) {
    return or_enomem(counted(mi_calloc(k, n)));
}
EXPORT void free(void *p) {
    uncount(p);
    mi_free(p);
}
EXPORT void *realloc(void *p, size_t n) {
    if (p && n == 0) {
        free(p);
        return NULL;
    }
    size_t old_size = size_before(p);
    void *q = mi_realloc(p, n);
    if (!q) return or_enomem(NULL); /* p stays, still counted */
    return moved(p, old_size, q);
}
EXPORT void *reallocarray(void *p, size_t k, size_t n) {
    size_t bytes;
    if (__builtin_mul_overflow(k, n, &bytes)) return or_enomem(NULL);
    return realloc(p, bytes);
}
EXPORT size_t malloc_usable_size(void *p) {
    return p ? mi_usable_size(p) : 0;
}
EXPORT int posix_memalign(void **out, size_t align, size_t n) {
    if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
    void *p = counted(mi_malloc_aligned(n, align));
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
EXPORT void *aligned_alloc(size_t align, size_t n) {
    return or_enomem(counted(mi_malloc_aligned(n, align)));
}
EXPORT void *memalign(size_t align, size_t n) {
    return or_enomem(counted(mi_malloc_aligned(n, align)));
}
EXPORT void *valloc(size_t n) {
    return or_enomem(counted(mi_malloc_aligned(n, 4096)));
}
EXPORT void *pvalloc(size_t n) {
    return or_enomem(counted(mi_malloc_aligned((n + 4095) & ~(size_t)4095, 4096)));
}
