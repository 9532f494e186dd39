#define _GNU_SOURCE
#include "symbolize_dw.h"
#include "log.h"

#include <dlfcn.h>
#include <stdatomic.h>

static hp_dw table;
static _Atomic int state; /* 0 not tried, 2 loading, 1 loaded, -1 failed */

/* Any thread may call this, without holding a lock of ours (dump.c calls it
 * before taking the dump lock: dlopen takes the loader lock, and a library
 * constructor running under that lock may itself want the dump lock). A
 * caller that finds another thread loading does not wait for it: that one
 * dump goes without names rather than risk waiting on a loader lock. */
const hp_dw *hp_dw_load(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&state, &expected, 2)) return expected == 1 ? &table : NULL;
    /* RTLD_LOCAL: libdw's symbols stay out of the program's lookups. Never
     * closed: the table points into it, and a later dump would only load it
     * again. */
    void *h = dlopen("libdw.so.1", RTLD_LAZY | RTLD_LOCAL);
    const char *missing = NULL;
    if (h) {
        /* libelf's functions come through the same handle: dlsym searches
         * the library's dependencies too, and libdw depends on libelf. */
#define HP_DW_RESOLVE(f)                                                                           \
    if (!missing && !(table.f = (__typeof__(f) *)dlsym(h, #f))) missing = #f;
        HP_DW_FUNCTIONS(HP_DW_RESOLVE)
#undef HP_DW_RESOLVE
    }
    if (!h || missing) {
        const char *why = h ? missing : dlerror();
        hp_info("cannot load libdw.so.1 (%s%s); profiles name functions from symbol tables, "
                "without files and lines (install libdw1)",
                h ? "no " : "", why ? why : "not found");
        atomic_store(&state, -1);
        return NULL;
    }
    atomic_store(&state, 1);
    return &table;
}

const hp_dw *hp_dw_loaded(void) {
    return atomic_load(&state) == 1 ? &table : NULL;
}
