/*
 * Loads libheapprof as the CUDA driver does for CUDA_INJECTION64_PATH: with
 * dlopen, into a process that did not preload it, then calls
 * InitializeInjection. With --alloc (and HEAPPROF_CUPTI_PATH naming the
 * fake libcupti) it then makes three allocations through the fake CUPTI,
 * frees one and dumps; the exit dump follows from the library's destructor.
 *   gpu_inject /path/libheapprof.so [--alloc]
 */
#define _GNU_SOURCE
#include "gpu_fake_api.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: gpu_inject LIBHEAPPROF [--alloc]\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    int (*init)(void) = (int (*)(void))dlsym(h, "InitializeInjection");
    if (!init) {
        fprintf(stderr, "no InitializeInjection in %s\n", argv[1]);
        return 2;
    }
    printf("InitializeInjection() = %d\n", init());
    if (argc > 2 && !strcmp(argv[2], "--alloc")) {
        if (sim_init()) {
            fprintf(stderr, "gpu_inject: the fake libcupti is not loaded\n");
            return 2;
        }
        void *a, *b;
        CUdeviceptr c;
        if (sim_cudaMalloc(&a, 1 << 20, SIM_OK) || sim_cudaMallocManaged(&b, 65536, SIM_OK) ||
            sim_cuMemAlloc_v2(&c, 4096, SIM_OK) || sim_cuMemFree_v2(c, SIM_OK))
            return 4;
        int (*dump)(const char *) = (int (*)(const char *))dlsym(h, "heapprof_dump");
        if (!dump || dump("injected")) return 5;
        printf("delivered %d callbacks\n", sim_delivered);
    }
    return 0;
}
