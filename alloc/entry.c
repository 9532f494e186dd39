/*
 * The C allocation entry points. Each routes to mimalloc and reports the
 * usable size of what it got or gave back to the per-thread counters.
 *
 * mimalloc 2.0.x returns NULL without setting errno; POSIX wants ENOMEM, so
 * every failing path here sets it. realloc(p, 0), aligned_alloc and memalign
 * follow glibc's documented behaviour, since that is what programs on this
 * platform were written against.
 */
#define _GNU_SOURCE
#include "fast_path.h"
#include "memory_bound.h"

#include <errno.h>
#include <mimalloc.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

void *hp_alloc_general(hp_thread *t, size_t n, size_t alignment, int zero) {
    if (hp_refuse_request(n)) return hp_alloc_refused();
    if (hp_alloc_is_slow(t, n)) return hp_alloc_slow(t, n, alignment, zero);
    void *p = alignment ? hp_mi_malloc_aligned(n, alignment)
              : zero    ? mi_zalloc(n)
                        : hp_mi_malloc_reusing(n);
    if (HP_UNLIKELY(p == NULL)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t usable = 0;
    if (!alignment && n <= HP_TABLE_MAX_REQUEST) usable = hp_usable_of_request(n);
    hp_count_alloc(t, usable ? usable : hp_usable_of_block(p));
    return p;
}

static inline int is_pow2(size_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}

static size_t page_size(void) {
    static size_t cached;
    if (!cached) cached = (size_t)sysconf(_SC_PAGESIZE);
    return cached;
}

/* The alignment glibc's memalign would use: powers of two as given, anything
 * else rounded up to the next power of two; too large fails with EINVAL. */
static size_t memalign_alignment(size_t alignment) {
    if (alignment <= sizeof(void *)) return sizeof(void *);
    if (alignment > SIZE_MAX / 2 + 1) return 0;
    if (!is_pow2(alignment)) alignment = (size_t)1 << (64 - __builtin_clzl(alignment));
    return alignment;
}

static void *aligned(size_t alignment, size_t size) {
    return hp_alloc_general(&hp_self, size, alignment, 0);
}

HP_EXPORT void *malloc(size_t size) {
    return hp_allocate(size);
}

HP_EXPORT void free(void *p) {
    hp_release(p);
}
HP_EXPORT void cfree(void *p) {
    hp_release(p);
}

HP_EXPORT void *calloc(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return hp_alloc_general(&hp_self, total, 0, 1);
}

HP_EXPORT void *realloc(void *p, size_t size) {
    if (p == NULL) return malloc(size);
    if (size == 0) { /* glibc frees and returns NULL */
        hp_release(p);
        return NULL;
    }
    hp_thread *t = &hp_self;
    if (hp_maybe_sampled(p) || hp_alloc_is_slow(t, size)) return hp_realloc_slow(t, p, size);
    size_t old_usable = hp_usable_of_block(p);
    /* mimalloc 2.0's own rule for keeping a block in place (checked by
     * tests/unit/realloc_in_place.c): decided here, it saves mimalloc
     * looking the usable size up again and us reading it for the result. */
    if (size <= old_usable && size >= old_usable / 2) {
        hp_count_realloc_in_place(t, old_usable);
        return p;
    }
    if (hp_refuse_request(size)) return hp_alloc_refused(); /* p stays as it is */
    void *q = mi_realloc(p, size);
    if (HP_UNLIKELY(q == NULL)) { /* p is untouched and still counted */
        errno = ENOMEM;
        return NULL;
    }
    if (hp_count_free(t, old_usable)) hp_free_slow(t);
    hp_count_alloc(t, hp_usable_of_block(q));
    return q;
}

HP_EXPORT void *reallocarray(void *p, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

HP_EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
    if (!is_pow2(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = aligned(alignment, size);
    errno = saved;
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

HP_EXPORT void *aligned_alloc(size_t alignment, size_t size) {
    if (!is_pow2(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(alignment, size);
}

HP_EXPORT void *memalign(size_t alignment, size_t size) {
    size_t a = memalign_alignment(alignment);
    if (a == 0) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(a, size);
}

HP_EXPORT void *valloc(size_t size) {
    return aligned(page_size(), size);
}

HP_EXPORT void *pvalloc(size_t size) {
    size_t page = page_size(), rounded;
    if (__builtin_add_overflow(size, page - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    rounded &= ~(page - 1);
    return aligned(page, rounded ? rounded : page);
}

HP_EXPORT size_t malloc_usable_size(void *p) {
    return p ? hp_usable_of_block(p) : 0;
}

/* C23. The size hints are not trusted: a wrong one must not corrupt the heap. */
HP_EXPORT void free_sized(void *p, size_t size) {
    (void)size;
    hp_release(p);
}

HP_EXPORT void free_aligned_sized(void *p, size_t alignment, size_t size) {
    (void)alignment, (void)size;
    hp_release(p);
}

/* glibc's internal names: some programs and libraries call them directly,
 * and a block from one family must be freeable by the other. */
HP_EXPORT void *__libc_malloc(size_t size) __attribute__((alias("malloc")));
HP_EXPORT void __libc_free(void *p) __attribute__((alias("free")));
HP_EXPORT void __libc_cfree(void *p) __attribute__((alias("free")));
HP_EXPORT void *__libc_calloc(size_t n, size_t size) __attribute__((alias("calloc")));
HP_EXPORT void *__libc_realloc(void *p, size_t size) __attribute__((alias("realloc")));
HP_EXPORT void *__libc_memalign(size_t alignment, size_t size) __attribute__((alias("memalign")));
HP_EXPORT void *__libc_valloc(size_t size) __attribute__((alias("valloc")));
HP_EXPORT void *__libc_pvalloc(size_t size) __attribute__((alias("pvalloc")));

/* Names libmimalloc.so also exports (BSD, macOS and Windows spellings).
 * mimalloc is loaded into every profiled process, so a program that calls
 * one of them would reach mimalloc behind our back; they are interposed too. */
HP_EXPORT int __posix_memalign(void **out, size_t alignment, size_t size) {
    return posix_memalign(out, alignment, size);
}

HP_EXPORT void *_aligned_malloc(size_t size, size_t alignment) {
    return aligned_alloc(alignment, size);
}

HP_EXPORT void vfree(void *p) {
    hp_release(p);
}

HP_EXPORT void *reallocf(void *p, size_t size) {
    void *q = realloc(p, size);
    if (!q && size) hp_release(p); /* BSD: the old block is freed on failure */
    return q;
}

HP_EXPORT int reallocarr(void *ptr_to_ptr, size_t n, size_t size) {
    void **slot = ptr_to_ptr;
    size_t total;
    int saved = errno;
    if (__builtin_mul_overflow(n, size, &total)) return EOVERFLOW;
    if (total == 0) { /* NetBSD: frees and stores NULL */
        hp_release(*slot);
        *slot = NULL;
        return 0;
    }
    void *q = realloc(*slot, total);
    if (!q) {
        int err = errno;
        errno = saved;
        return err;
    }
    *slot = q;
    errno = saved;
    return 0;
}

HP_EXPORT size_t malloc_size(const void *p) {
    return p ? hp_usable_of_block(p) : 0;
}
HP_EXPORT size_t malloc_good_size(size_t size) {
    return mi_good_size(size);
}

/* glibc's malloc_trim would trim glibc's own (unused) heap. Here it gives
 * back the big blocks kept for reuse (big_cache.h) and lets mimalloc return
 * what it holds; 1 when kept blocks were released, as glibc answers whether
 * memory went back. */
HP_EXPORT int malloc_trim(size_t pad) {
    (void)pad;
    size_t released = hp_big_release_all();
    mi_collect(true);
    return released > 0;
}
