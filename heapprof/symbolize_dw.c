#define _GNU_SOURCE
#include "symbolize_dw.h"
#include "lazy_lib.h"

#include <dlfcn.h>

static hp_dw table;

static const char *resolve(void *h) {
    /* libelf's functions come through the same handle: dlsym searches the
     * library's dependencies too, and libdw depends on libelf. */
#define HP_DW_RESOLVE(f)                                                                           \
    if (!(table.f = (__typeof__(f) *)dlsym(h, #f))) return #f;
    HP_DW_FUNCTIONS(HP_DW_RESOLVE)
#undef HP_DW_RESOLVE
    return NULL;
}

/* A dump that finds another thread loading goes without names. */
static hp_lazy_lib lib = {
    "libdw.so.1", resolve,
    "profiles name functions from symbol tables, without files and lines (install libdw1)", 0};

const hp_dw *hp_dw_load(void) {
    return hp_lazy_lib_load(&lib) ? &table : NULL;
}

const hp_dw *hp_dw_loaded(void) {
    return hp_lazy_lib_loaded(&lib) ? &table : NULL;
}
