/*
 * Built instead of gpu/cupti_*.c when no CUDA toolkit (cupti.h) was found at
 * build time: asking for GPU tracking then gets one line saying so, and
 * nothing else changes.
 */
#include "gpu.h"
#include "../heapprof/log.h"

#include <stdatomic.h>

int hp_gpu_start(const char *route) {
    static atomic_int reported;
    if (!atomic_exchange(&reported, 1))
        hp_info("GPU tracking is off (%s): this libheapprof was built without CUDA support "
                "(no cupti.h at build time; rebuild with CUDA_HOME set)",
                route);
    return 0;
}
