/*
 * A CUDA runtime program: links libcudart and asks for a device and 1 MiB of
 * device memory, reporting what CUDA answered. Without a driver or GPU every
 * call fails and it exits 3; the tests only check that heapprof changes none
 * of that (tests/integration/gpu_no_gpu.sh).
 */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    int n = -1;
    cudaError_t e = cudaGetDeviceCount(&n);
    printf("cudaGetDeviceCount: %s, %d device(s)\n", cudaGetErrorName(e), e == cudaSuccess ? n : 0);
    void *p = NULL;
    e = cudaMalloc(&p, 1 << 20);
    printf("cudaMalloc(1 MiB): %s\n", cudaGetErrorName(e));
    if (e == cudaSuccess) printf("cudaFree: %s\n", cudaGetErrorName(cudaFree(p)));
    char *host = malloc(4096); /* and some host memory, for the profiler to see */
    memset(host, 1, 4096);
    printf("host checksum %d\n", host[100] + host[4000]);
    free(host);
    return e == cudaSuccess ? 0 : 3;
}
