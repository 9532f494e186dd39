/* dlclose, interposed: a library's code addresses are resolved to names
 * before it is unloaded, so stacks through it stay readable in profiles,
 * and the stack walker forgets the unwind rules it read from it. */
#define _GNU_SOURCE
#include "../alloc/thread_state.h"
#include "sampler.h"
#include "symbolize.h"
#include "unwind.h"

#include <dlfcn.h>

HP_EXPORT int dlclose(void *handle) {
    static int (*real_dlclose)(void *);
    if (!real_dlclose) real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    if (hp_sampler_rate() > 0) hp_symbolize_before_unload(handle);
    int rc = real_dlclose ? real_dlclose(handle) : -1;
    /* The stack walker's cached rules for the unloaded code must not serve
     * whatever is mapped there next. */
    if (rc == 0) hp_unwind_forget();
    return rc;
}
