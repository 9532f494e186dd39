#define _GNU_SOURCE
#include "zstd_load.h"
#include "log.h"

#include <dlfcn.h>
#include <stdatomic.h>

static hp_zstd table;
static _Atomic int state; /* 0 not tried, 2 loading, 1 loaded, -1 failed */

/* As hp_dw_load: whoever finds another thread loading does not wait, and
 * that dump goes without its .zst file. */
const hp_zstd *hp_zstd_load(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&state, &expected, 2)) return expected == 1 ? &table : NULL;
    /* RTLD_LOCAL: its symbols stay out of the program's lookups; never
     * closed, a later dump would only load it again. */
    void *h = dlopen("libzstd.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (h) {
        table.compress_bound = (size_t(*)(size_t))dlsym(h, "ZSTD_compressBound");
        table.compress =
            (size_t(*)(void *, size_t, const void *, size_t, int))dlsym(h, "ZSTD_compress");
        table.is_error = (unsigned (*)(size_t))dlsym(h, "ZSTD_isError");
    }
    if (!h || !table.compress_bound || !table.compress || !table.is_error) {
        const char *why = h ? "a symbol is missing" : dlerror();
        hp_info("cannot load libzstd.so.1 (%s); .zst files are skipped (install libzstd1, or "
                "use the dhat format)",
                why ? why : "not found");
        atomic_store(&state, -1);
        return NULL;
    }
    atomic_store(&state, 1);
    return &table;
}

const hp_zstd *hp_zstd_loaded(void) {
    return atomic_load(&state) == 1 ? &table : NULL;
}
