/*
 * A library dlopen'd on first need instead of linked (libdw, libzstd): most
 * processes never use it, and a linked library is relocated and partly
 * resident in every one of them.
 *
 * Any thread may load, without holding a lock of ours (dlopen takes the
 * loader lock, and a library constructor running under that lock may itself
 * want one of ours: dump.c loads before taking the dump lock). A caller that
 * finds another thread loading does not wait for it and goes without. The
 * library is opened RTLD_LOCAL (its symbols stay out of the program's
 * lookups) and never closed (the caller's table points into it).
 */
#ifndef HP_LAZY_LIB_H
#define HP_LAZY_LIB_H

#include <stdatomic.h>

typedef struct hp_lazy_lib {
    const char *soname;
    /* Fills the caller's function table from the handle; returns the name of
     * a symbol it did not find, or NULL. */
    const char *(*resolve)(void *handle);
    /* What the program goes without, for the one message on failure. */
    const char *without;
    _Atomic int state; /* 0 not tried, 2 loading, 1 loaded, -1 failed */
} hp_lazy_lib;

/* 1 once the library is loaded (later calls give the same answer); 0 if it
 * cannot be (one "cannot load" message, the first time) or another thread
 * is loading it now. */
int hp_lazy_lib_load(hp_lazy_lib *lib) __attribute__((visibility("hidden")));

/* 1 if loaded; never loads. */
int hp_lazy_lib_loaded(hp_lazy_lib *lib) __attribute__((visibility("hidden")));

#endif
