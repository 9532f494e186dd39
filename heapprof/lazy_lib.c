#define _GNU_SOURCE
#include "lazy_lib.h"
#include "log.h"

#include <dlfcn.h>
#include <stddef.h>

int hp_lazy_lib_load(hp_lazy_lib *lib) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&lib->state, &expected, 2)) return expected == 1;
    void *h = dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL);
    const char *missing = h ? lib->resolve(h) : NULL;
    if (!h || missing) {
        const char *why = h ? missing : dlerror();
        hp_info("cannot load %s (%s%s); %s", lib->soname, h ? "no " : "", why ? why : "not found",
                lib->without);
        atomic_store(&lib->state, -1);
        return 0;
    }
    atomic_store(&lib->state, 1);
    return 1;
}

int hp_lazy_lib_loaded(hp_lazy_lib *lib) {
    return atomic_load(&lib->state) == 1;
}
