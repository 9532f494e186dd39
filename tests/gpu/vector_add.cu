// A small CUDA program with known allocations, for tests/gpu/run_on_gpu.sh
// on a machine with an NVIDIA GPU:
//   cudaMallocHost     4 MiB  pinned host  (freed)
//   cudaMalloc     3 x 4 MiB  device       (a, b freed; c left allocated on purpose)
//   cudaMallocManaged  2 MiB  managed      (freed)
// It adds two vectors on the GPU, checks the result, asks heapprof for a
// dump while everything is allocated (when heapprof is preloaded) and prints
// what it allocated so the script can compare.
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#include "heapprof.h"

#define N (1 << 20)
#define CHECK(call)                                                                                \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "vector_add: %s: %s\n", #call, cudaGetErrorString(e_));                \
            exit(2);                                                                               \
        }                                                                                          \
    } while (0)

__global__ void add(const float *a, const float *b, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

int main(void) {
    const size_t bytes = N * sizeof(float), managed_bytes = 2 << 20;
    float *host, *a, *b, *c, *managed;
    CHECK(cudaMallocHost((void **)&host, bytes));
    CHECK(cudaMalloc((void **)&a, bytes));
    CHECK(cudaMalloc((void **)&b, bytes));
    CHECK(cudaMalloc((void **)&c, bytes));
    CHECK(cudaMallocManaged((void **)&managed, managed_bytes));

    for (int i = 0; i < N; i++) host[i] = (float)i;
    CHECK(cudaMemcpy(a, host, bytes, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(b, host, bytes, cudaMemcpyHostToDevice));
    add<<<(N + 255) / 256, 256>>>(a, b, c, N);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpy(host, c, bytes, cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int i = 0; i < N; i++) bad += host[i] != 2.0f * (float)i;
    printf("vector_add: c[i] = a[i] + b[i] for %d floats: %s\n", N, bad ? "WRONG" : "ok");

    if (heapprof_available()) heapprof_dump("kernel-done");

    CHECK(cudaFree(a));
    CHECK(cudaFree(b));
    CHECK(cudaFree(managed));
    CHECK(cudaFreeHost(host));
    // c stays allocated: heapprof's exit dump shows it alive.
    printf("expect: device alloc %zu live %zu; pinned_host alloc %zu live 0; "
           "managed alloc %zu live 0\n",
           3 * bytes, bytes, bytes, managed_bytes);
    return bad ? 1 : 0;
}
