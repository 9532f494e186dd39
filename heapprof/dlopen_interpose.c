/*
 * dlopen, interposed, for one flag: RTLD_DEEPBIND. A library opened with it
 * resolves its own references in its own scope first, so its malloc and free
 * bind to glibc's, not to the preloaded allocator: it frees mimalloc's
 * blocks with glibc's free and crashes (PHP opens every extension this way;
 * bare mimalloc crashes the same). heapprof drops the flag, as allocator and
 * sanitizer runtimes do, and tells so at debug level (not at the default
 * level: the program's stderr must not change).
 *
 * The call to glibc is a tail call: glibc's dlopen takes its caller's
 * return address to find the calling object (for its RUNPATH and $ORIGIN),
 * and a jump leaves that address as the program's.
 */
#define _GNU_SOURCE
#include "../alloc/thread_state.h"
#include "log.h"

#include <dlfcn.h>

typedef void *(*dlopen_fn)(const char *, int);

static dlopen_fn real_dlopen(void) {
    static dlopen_fn real;
    if (!real) real = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
    return real;
}

static void note_deepbind(const char *file) {
    static int told;
    if (__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED)) return;
    hp_debug("dlopen(\"%s\", RTLD_DEEPBIND): flag dropped, so the library's malloc and free "
             "stay heapprof's",
             file ? file : "(null)");
}

HP_EXPORT void *dlopen(const char *file, int mode) {
    dlopen_fn real = real_dlopen();
    if (!real) return NULL;
    if (__builtin_expect(mode & RTLD_DEEPBIND, 0)) {
        note_deepbind(file);
        mode &= ~RTLD_DEEPBIND;
    }
    return real(file, mode);
}
