/*
 * C++ operator new/delete, every standard variant (C++14 sized, C++17
 * aligned, nothrow), defined under their Itanium-ABI names so that the
 * library needs no C++ runtime of its own: linking libstdc++ cost every
 * preloaded process, C programs included, about 3 M instructions of
 * relocation at start-up. The fast path is the same inline code as malloc
 * and free (fast_path.h).
 *
 * Failure follows the language rules: call the installed new-handler and
 * retry; without one, throw std::bad_alloc (or return NULL for nothrow).
 * Throwing needs the program's C++ runtime (libstdc++ or libc++), which is
 * loaded whenever C++ code calls these operators; it is found on the first
 * failure only. An
 * exception from a new-handler passes through these frames (the compiler
 * emits unwind tables for C on x86-64, and -fexceptions makes sure).
 * nothrow forms must swallow such an exception, which C cannot do, so with a
 * handler installed they hand over to the runtime's own nothrow operator,
 * which calls back into the throwing one here inside its try block. A program
 * whose runtime is linked in statically (-static-libstdc++) exports none of
 * this: an allocation failure there aborts, as an uncaught exception would.
 */
#define _GNU_SOURCE
#include "fast_path.h"

#include <dlfcn.h>
#include <stdlib.h>

typedef void (*hp_new_handler)(void);

/* Is f defined by the program's C++ runtime, rather than by this library or
 * by mimalloc (both export operators under the same names)? */
static int from_runtime(void *f) {
    Dl_info in_f, in_us, in_mi;
    return f && dladdr(f, &in_f) && dladdr((void *)from_runtime, &in_us) &&
           dladdr((void *)mi_malloc, &in_mi) && in_f.dli_fbase != in_us.dli_fbase &&
           in_f.dli_fbase != in_mi.dli_fbase;
}

/* A symbol of the program's C++ runtime: first where the global lookup
 * finds it, else in the runtime libraries themselves (libc++ keeps operator
 * new and std::get_new_handler in different objects, and our operators come
 * first in the global scope). Cached; NULL when the program has no exported
 * C++ runtime (a C program, or one linked with -static-libstdc++). What the
 * loader allocates here is the profiler's, not the program's. */
static void *runtime_symbol(void **cache, const char *name) {
    static const char *const runtimes[] = {"libstdc++.so.6", "libc++.so.1", "libc++abi.so.1"};
    void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
    if (f) return f;
    hp_internal_enter();
    f = dlsym(RTLD_DEFAULT, name);
    for (size_t i = 0; !from_runtime(f) && i < sizeof runtimes / sizeof runtimes[0]; i++) {
        void *h = dlopen(runtimes[i], RTLD_LAZY | RTLD_NOLOAD);
        f = h ? dlsym(h, name) : NULL;
        if (h) dlclose(h); /* NOLOAD took a reference; the program keeps its own */
    }
    hp_internal_leave();
    if (!from_runtime(f)) return NULL;
    __atomic_store_n(cache, f, __ATOMIC_RELEASE);
    return f;
}

static hp_new_handler current_handler(void) {
    static void *get;
    hp_new_handler (*get_handler)(void) =
        (hp_new_handler(*)(void))runtime_symbol(&get, "_ZSt15get_new_handlerv");
    return get_handler ? get_handler() : NULL;
}

/* libstdc++ and libc++ (from 14) both export std::__throw_bad_alloc();
 * older libc++ has it in its inline namespace. */
__attribute__((noreturn)) static void throw_bad_alloc(void) {
    static void *std_name, *inline_name;
    void (*thrower)(void) = (void (*)(void))runtime_symbol(&std_name, "_ZSt17__throw_bad_allocv");
    if (!thrower)
        thrower = (void (*)(void))runtime_symbol(&inline_name, "_ZNSt3__117__throw_bad_allocEv");
    if (thrower) thrower();
    abort(); /* no C++ runtime to throw with: what an uncaught exception would do */
}

static void *try_allocate(size_t n, size_t alignment) {
    if (!alignment) return hp_allocate(n);
    if (alignment & (alignment - 1)) return NULL; /* not a power of two: cannot succeed */
    if (alignment < sizeof(void *)) alignment = sizeof(void *);
    return hp_alloc_general(&hp_self, n, alignment, 0);
}

/* The throwing forms after a failed first attempt. */
__attribute__((noinline)) static void *retry_or_throw(size_t n, size_t alignment) {
    if (alignment & (alignment - 1)) throw_bad_alloc(); /* no handler can make it valid */
    for (;;) {
        hp_new_handler handler = current_handler();
        if (!handler) throw_bad_alloc();
        handler();
        void *p = try_allocate(n, alignment);
        if (p) return p;
    }
}

static inline void *new_throwing(size_t n, size_t alignment) {
    if (n == 0) n = 1; /* distinct non-null pointers for zero-size requests */
    void *p = try_allocate(n, alignment);
    return p ? p : retry_or_throw(n, alignment);
}

/* The nothrow forms after a failed first attempt: with a handler, the
 * runtime's own nothrow operator (`name`) runs the retry loop
 * inside a try block; ours would otherwise let the handler's exception out. */
static const char nothrow_tag; /* stands for the std::nothrow argument (an empty object) */

__attribute__((noinline)) static void *retry_nothrow(void **cache, const char *name, size_t n,
                                                     size_t alignment) {
    if ((alignment & (alignment - 1)) || !current_handler()) return NULL;
    void *runtime = runtime_symbol(cache, name);
    if (runtime && alignment)
        return ((void *(*)(size_t, size_t, const void *))runtime)(n, alignment, &nothrow_tag);
    if (runtime) return ((void *(*)(size_t, const void *))runtime)(n, &nothrow_tag);
    for (int tries = 0; tries < 16; tries++) { /* no runtime operator: retry without catching */
        hp_new_handler handler = current_handler();
        if (!handler) return NULL;
        handler();
        void *p = try_allocate(n, alignment);
        if (p) return p;
    }
    return NULL;
}

#define NOTHROW(cache_name, mangled, n, alignment)                                                 \
    do {                                                                                           \
        static void *cache_name;                                                                   \
        size_t size_ = (n) ? (n) : 1;                                                              \
        void *p_ = try_allocate(size_, (alignment));                                               \
        return p_ ? p_ : retry_nothrow(&cache_name, mangled, size_, (alignment));                  \
    } while (0)

/* operator new(size_t), new[](size_t) */
HP_EXPORT void *_Znwm(size_t n) {
    return new_throwing(n, 0);
}
HP_EXPORT void *_Znam(size_t n) {
    return new_throwing(n, 0);
}
/* operator new(size_t, align_val_t), new[] */
HP_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t a) {
    return new_throwing(n, a ? a : 1);
}
HP_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t a) {
    return new_throwing(n, a ? a : 1);
}

/* operator new(size_t, const nothrow_t&), new[] (the reference is unused) */
HP_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt) {
    (void)nt;
    NOTHROW(plain, "_ZnwmRKSt9nothrow_t", n, 0);
}
HP_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt) {
    (void)nt;
    NOTHROW(array, "_ZnamRKSt9nothrow_t", n, 0);
}
/* operator new(size_t, align_val_t, const nothrow_t&), new[] */
HP_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *nt) {
    (void)nt;
    NOTHROW(aligned, "_ZnwmSt11align_val_tRKSt9nothrow_t", n, a ? a : 1);
}
HP_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *nt) {
    (void)nt;
    NOTHROW(aligned_array, "_ZnamSt11align_val_tRKSt9nothrow_t", n, a ? a : 1);
}

/* Every operator delete: the size and alignment hints are not trusted (a
 * wrong one must not corrupt the heap); mimalloc knows the block. */
HP_EXPORT void _ZdlPv(void *p) {
    hp_release(p);
}
HP_EXPORT void _ZdaPv(void *p) {
    hp_release(p);
}
HP_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt) {
    (void)nt, hp_release(p);
}
HP_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt) {
    (void)nt, hp_release(p);
}
HP_EXPORT void _ZdlPvm(void *p, size_t n) {
    (void)n, hp_release(p);
}
HP_EXPORT void _ZdaPvm(void *p, size_t n) {
    (void)n, hp_release(p);
}
HP_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t a) {
    (void)a, hp_release(p);
}
HP_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t a) {
    (void)a, hp_release(p);
}
HP_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) {
    (void)n, (void)a, hp_release(p);
}
HP_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) {
    (void)n, (void)a, hp_release(p);
}
HP_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *nt) {
    (void)a, (void)nt, hp_release(p);
}
HP_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *nt) {
    (void)a, (void)nt, hp_release(p);
}
