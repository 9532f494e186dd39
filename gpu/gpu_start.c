/*
 * The two ways GPU tracking starts (docs/gpu.md#activation):
 *   - HEAPPROF_GPU=1 in a process that preloads libheapprof: from the
 *     runtime's constructor;
 *   - CUDA_INJECTION64_PATH=/path/libheapprof.so: the CUDA driver loads the
 *     library when the program initialises CUDA (dlopen'd if it was not
 *     preloaded: the allocator is then not interposed, GPU tracking works
 *     all the same) and calls InitializeInjection. A preloaded library named
 *     by CUDA_INJECTION64_PATH starts from its constructor too, so that a
 *     machine without a driver, which never loads the injection, still
 *     reports why GPU tracking is off.
 * The constructor starts nothing when the library was dlopen'd: then it is
 * (most likely) the driver loading it in the middle of cuInit, and CUPTI is
 * only ready for a subscriber once the driver calls InitializeInjection.
 */
#define _GNU_SOURCE
#include "gpu.h"
#include "../alloc/thread_state.h"
#include "../heapprof/config.h"

#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define INJECTION_ROUTE "CUDA_INJECTION64_PATH"

static int injection_names_us(void) {
    const char *inj = getenv(INJECTION_ROUTE);
    Dl_info info;
    char a[PATH_MAX], b[PATH_MAX];
    return inj && *inj && dladdr((void *)injection_names_us, &info) && info.dli_fname &&
           realpath(inj, a) && realpath(info.dli_fname, b) && !strcmp(a, b);
}

/* Loaded with the program (LD_PRELOAD, or linked), so that its malloc is
 * the process's: such objects come before libc in the link map, while a
 * library dlopen'd later comes after it. (The address of "malloc" cannot
 * tell: in a non-PIE program it is the program's own PLT entry.) */
static int preloaded(void) {
    Dl_info mine;
    if (!dladdr((void *)preloaded, &mine) || !mine.dli_fname) return 0;
    for (const struct link_map *lm = _r_debug.r_map; lm; lm = lm->l_next) {
        if (lm->l_name && !strcmp(lm->l_name, mine.dli_fname)) return 1;
        const char *slash = lm->l_name ? strrchr(lm->l_name, '/') : NULL;
        if (slash && !strncmp(slash + 1, "libc.so", 7)) return 0;
    }
    return 0;
}

void hp_gpu_autostart(void) {
    if (!hp_cfg.gpu && !getenv(INJECTION_ROUTE)) return; /* the usual case: nothing to do */
    if (!preloaded()) return;
    if (hp_cfg.gpu)
        hp_gpu_start("HEAPPROF_GPU");
    else if (injection_names_us())
        hp_gpu_start(INJECTION_ROUTE);
}

/* Called by the CUDA driver during cuInit. The return value tells the driver
 * the injection loaded; it is 1 even when tracking is off, so the program's
 * CUDA initialisation goes on exactly as it would without heapprof. */
HP_EXPORT int InitializeInjection(void) {
    hp_gpu_start(INJECTION_ROUTE);
    return 1;
}
