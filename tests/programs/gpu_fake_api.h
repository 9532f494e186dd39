/*
 * Simulated CUDA API for tests on machines without a GPU: each sim_* function
 * behaves like the CUDA function it is named after as CUPTI reports it —
 * the entry callback, the work (an address is made up), the exit callback
 * with the status — through the fake libcupti's fake_cupti_fire(). Runtime
 * functions call the driver function the real runtime calls, so the
 * callbacks nest as they do under libcudart.
 *
 * `fail`: SIM_OK succeeds; SIM_FAIL fails before doing anything (a runtime
 * function then makes no driver call); SIM_FAIL_AFTER (runtime only) fails
 * after its driver call succeeded.
 */
#ifndef GPU_FAKE_API_H
#define GPU_FAKE_API_H

#include <cupti.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline, unused))
enum { SIM_OK = 0, SIM_FAIL = 1, SIM_FAIL_AFTER = 2 };

/* The fake library's contexts: FAKE_CONTEXT_BASE + device number. */
#define FAKE_CONTEXT_BASE 0xC0DE00u
#define FAKE_CONTEXT(dev) ((CUcontext)(uintptr_t)(FAKE_CONTEXT_BASE + (dev)))
#define UNKNOWN_CONTEXT ((CUcontext)(uintptr_t)0xBAD000u)

static int (*fake_fire)(CUpti_CallbackDomain, CUpti_CallbackId, const CUpti_CallbackData *);
static int (*fake_enabled)(CUpti_CallbackDomain, CUpti_CallbackId);
static CUcontext sim_context = FAKE_CONTEXT(0);
static uint32_t sim_correlation;
static uint64_t sim_next_address = 0x7f0000000000ull, sim_forced_address;
static int sim_delivered; /* callbacks delivered, all threads */

/* Binds to the fake libcupti that heapprof loaded (HEAPPROF_CUPTI_PATH).
 * Returns 0, or -1 if it is not loaded. */
__attribute__((unused)) static int sim_init(void) {
    const char *path = getenv("HEAPPROF_CUPTI_PATH");
    void *h = path ? dlopen(path, RTLD_NOW | RTLD_NOLOAD) : NULL;
    if (!h) return -1;
    fake_fire = (int (*)(CUpti_CallbackDomain, CUpti_CallbackId, const CUpti_CallbackData *))dlsym(
        h, "fake_cupti_fire");
    fake_enabled = (int (*)(CUpti_CallbackDomain, CUpti_CallbackId))dlsym(h, "fake_cupti_enabled");
    return fake_fire && fake_enabled ? 0 : -1;
}

static uint64_t sim_address(void) {
    if (sim_forced_address) { /* single-threaded parts of tests only */
        uint64_t a = sim_forced_address;
        sim_forced_address = 0;
        return a;
    }
    return __atomic_add_fetch(&sim_next_address, 0x1000000, __ATOMIC_RELAXED);
}

typedef struct sim_call {
    CUpti_CallbackDomain domain;
    CUpti_CallbackId cbid;
    CUpti_CallbackData data;
    uint64_t correlation_data;
    union {
        CUresult driver;
        cudaError_t runtime;
    } result;
} sim_call;

NOINLINE static void sim_enter(sim_call *c, CUpti_CallbackDomain domain, CUpti_CallbackId cbid,
                               const char *name, const void *params) {
    memset(c, 0, sizeof *c);
    c->domain = domain;
    c->cbid = cbid;
    c->data.callbackSite = CUPTI_API_ENTER;
    c->data.functionName = name;
    c->data.functionParams = params;
    /* Not valid at entry: garbage that must not be read as a status. */
    c->result.driver = CUDA_ERROR_UNKNOWN;
    c->data.functionReturnValue = &c->result;
    c->data.context = sim_context;
    c->data.contextUid = (uint32_t)((uintptr_t)sim_context & 0xffff);
    c->data.correlationData = &c->correlation_data;
    c->data.correlationId = ++sim_correlation;
    __atomic_add_fetch(&sim_delivered, fake_fire(domain, cbid, &c->data), __ATOMIC_RELAXED);
}

NOINLINE static void sim_exit(sim_call *c, int status) {
    if (c->domain == CUPTI_CB_DOMAIN_DRIVER_API)
        c->result.driver = (CUresult)status;
    else
        c->result.runtime = (cudaError_t)status;
    c->data.callbackSite = CUPTI_API_EXIT;
    c->data.context = sim_context;
    __atomic_add_fetch(&sim_delivered, fake_fire(c->domain, c->cbid, &c->data), __ATOMIC_RELAXED);
}

/* ---- driver API ---- */

#define DRIVER_CALL(api, params, fail, work)                                                       \
    do {                                                                                           \
        sim_call c_;                                                                               \
        sim_enter(&c_, CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_##api, #api, &params);  \
        CUresult r_ = (fail) ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_SUCCESS;                            \
        if (r_ == CUDA_SUCCESS) {                                                                  \
            work;                                                                                  \
        }                                                                                          \
        sim_exit(&c_, r_);                                                                         \
        return r_;                                                                                 \
    } while (0)

NOINLINE static CUresult sim_cuMemAlloc(CUdeviceptr_v1 *dptr, unsigned int bytesize, int fail) {
    cuMemAlloc_params p = {dptr, bytesize};
    DRIVER_CALL(cuMemAlloc, p, fail, *dptr = (CUdeviceptr_v1)(sim_address() >> 20));
}
NOINLINE static CUresult sim_cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize, int fail) {
    cuMemAlloc_v2_params p = {dptr, bytesize};
    DRIVER_CALL(cuMemAlloc_v2, p, fail, *dptr = sim_address());
}
NOINLINE static CUresult sim_cuMemAllocPitch(CUdeviceptr_v1 *dptr, unsigned int *pitch,
                                             unsigned int width, unsigned int height,
                                             unsigned int pitch_to_use, int fail) {
    cuMemAllocPitch_params p = {dptr, pitch, width, height, 4};
    DRIVER_CALL(cuMemAllocPitch, p, fail, *dptr = (CUdeviceptr_v1)(sim_address() >> 20);
                *pitch = pitch_to_use);
}
NOINLINE static CUresult sim_cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pitch, size_t width,
                                                size_t height, size_t pitch_to_use, int fail) {
    cuMemAllocPitch_v2_params p = {dptr, pitch, width, height, 4};
    DRIVER_CALL(cuMemAllocPitch_v2, p, fail, *dptr = sim_address(); *pitch = pitch_to_use);
}
NOINLINE static CUresult sim_cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize, int fail) {
    cuMemAllocManaged_params p = {dptr, bytesize, CU_MEM_ATTACH_GLOBAL};
    DRIVER_CALL(cuMemAllocManaged, p, fail, *dptr = sim_address());
}
NOINLINE static CUresult sim_cuMemAllocHost(void **pp, unsigned int bytesize, int fail) {
    cuMemAllocHost_params p = {pp, bytesize};
    DRIVER_CALL(cuMemAllocHost, p, fail, *pp = (void *)(uintptr_t)sim_address());
}
NOINLINE static CUresult sim_cuMemAllocHost_v2(void **pp, size_t bytesize, int fail) {
    cuMemAllocHost_v2_params p = {pp, bytesize};
    DRIVER_CALL(cuMemAllocHost_v2, p, fail, *pp = (void *)(uintptr_t)sim_address());
}
NOINLINE static CUresult sim_cuMemHostAlloc(void **pp, size_t bytesize, unsigned int flags,
                                            int fail) {
    cuMemHostAlloc_params p = {pp, bytesize, flags};
    DRIVER_CALL(cuMemHostAlloc, p, fail, *pp = (void *)(uintptr_t)sim_address());
}
NOINLINE static CUresult sim_cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize, CUstream s,
                                             int fail) {
    cuMemAllocAsync_params p = {dptr, bytesize, s};
    DRIVER_CALL(cuMemAllocAsync, p, fail, *dptr = sim_address());
}
NOINLINE static CUresult sim_cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUstream s,
                                                  int fail) {
    cuMemAllocAsync_ptsz_params p = {dptr, bytesize, s};
    DRIVER_CALL(cuMemAllocAsync_ptsz, p, fail, *dptr = sim_address());
}
NOINLINE static CUresult sim_cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytesize,
                                                     CUmemoryPool pool, CUstream s, int fail) {
    cuMemAllocFromPoolAsync_params p = {dptr, bytesize, pool, s};
    DRIVER_CALL(cuMemAllocFromPoolAsync, p, fail, *dptr = sim_address());
}
NOINLINE static CUresult sim_cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr, size_t bytesize,
                                                          CUmemoryPool pool, CUstream s, int fail) {
    cuMemAllocFromPoolAsync_ptsz_params p = {dptr, bytesize, pool, s};
    DRIVER_CALL(cuMemAllocFromPoolAsync_ptsz, p, fail, *dptr = sim_address());
}
/* The handle is a made-up number, or sim_forced_address when set. */
NOINLINE static CUresult sim_cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size,
                                         const CUmemAllocationProp *prop, int fail) {
    cuMemCreate_params p = {handle, size, prop, 0};
    DRIVER_CALL(cuMemCreate, p, fail, *handle = sim_address());
}
NOINLINE static CUresult sim_cuMemFree(CUdeviceptr_v1 dptr, int fail) {
    cuMemFree_params p = {dptr};
    DRIVER_CALL(cuMemFree, p, fail, (void)0);
}
NOINLINE static CUresult sim_cuMemFree_v2(CUdeviceptr dptr, int fail) {
    cuMemFree_v2_params p = {dptr};
    DRIVER_CALL(cuMemFree_v2, p, fail, (void)0);
}
NOINLINE static CUresult sim_cuMemFreeHost(void *ptr, int fail) {
    cuMemFreeHost_params p = {ptr};
    DRIVER_CALL(cuMemFreeHost, p, fail, (void)0);
}
NOINLINE static CUresult sim_cuMemFreeAsync(CUdeviceptr dptr, CUstream s, int fail) {
    cuMemFreeAsync_params p = {dptr, s};
    DRIVER_CALL(cuMemFreeAsync, p, fail, (void)0);
}
NOINLINE static CUresult sim_cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream s, int fail) {
    cuMemFreeAsync_ptsz_params p = {dptr, s};
    DRIVER_CALL(cuMemFreeAsync_ptsz, p, fail, (void)0);
}
NOINLINE static CUresult sim_cuMemRelease(CUmemGenericAllocationHandle handle, int fail) {
    cuMemRelease_params p = {handle};
    DRIVER_CALL(cuMemRelease, p, fail, (void)0);
}
/* Not an allocation: heapprof must not have enabled it. */
NOINLINE static int sim_cuCtxSynchronize_delivered(void) {
    sim_call c;
    cuCtxSynchronize_v2_params p;
    memset(&p, 0, sizeof p);
    int before = sim_delivered;
    sim_enter(&c, CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuCtxSynchronize_v2,
              "cuCtxSynchronize_v2", &p);
    sim_exit(&c, CUDA_SUCCESS);
    return sim_delivered - before;
}

/* ---- runtime API: each makes the driver call libcudart makes ---- */

#define RUNTIME_CALL(api, name, params, fail, driver_call, work)                                   \
    do {                                                                                           \
        sim_call c_;                                                                               \
        sim_enter(&c_, CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_##api, name,          \
                  &params);                                                                        \
        cudaError_t r_ = cudaErrorMemoryAllocation;                                                \
        if ((fail) != SIM_FAIL && (driver_call) == CUDA_SUCCESS) {                                 \
            r_ = (fail) == SIM_FAIL_AFTER ? cudaErrorMemoryAllocation : cudaSuccess;               \
            if (r_ == cudaSuccess) {                                                               \
                work;                                                                              \
            }                                                                                      \
        }                                                                                          \
        sim_exit(&c_, r_);                                                                         \
        return r_;                                                                                 \
    } while (0)

NOINLINE static cudaError_t sim_cudaMalloc(void **devPtr, size_t size, int fail) {
    cudaMalloc_v3020_params p = {devPtr, size};
    CUdeviceptr d = 0;
    RUNTIME_CALL(cudaMalloc_v3020, "cudaMalloc", p, fail, sim_cuMemAlloc_v2(&d, size, 0),
                 *devPtr = (void *)(uintptr_t)d);
}
NOINLINE static cudaError_t sim_cudaMallocPitch(void **devPtr, size_t *pitch, size_t width,
                                                size_t height, size_t pitch_to_use, int fail) {
    cudaMallocPitch_v3020_params p = {devPtr, pitch, width, height};
    CUdeviceptr d = 0;
    size_t dp = 0;
    RUNTIME_CALL(cudaMallocPitch_v3020, "cudaMallocPitch", p, fail,
                 sim_cuMemAllocPitch_v2(&d, &dp, width, height, pitch_to_use, 0),
                 *devPtr = (void *)(uintptr_t)d;
                 *pitch = dp);
}
NOINLINE static cudaError_t sim_cudaMalloc3D(struct cudaPitchedPtr *out, struct cudaExtent extent,
                                             size_t pitch_to_use, int fail) {
    cudaMalloc3D_v3020_params p = {out, extent};
    CUdeviceptr d = 0;
    RUNTIME_CALL(cudaMalloc3D_v3020, "cudaMalloc3D", p, fail,
                 sim_cuMemAlloc_v2(&d, pitch_to_use * extent.height * extent.depth, 0),
                 out->ptr = (void *)(uintptr_t)d;
                 out->pitch = pitch_to_use; out->xsize = extent.width; out->ysize = extent.height);
}
NOINLINE static cudaError_t sim_cudaMallocManaged(void **devPtr, size_t size, int fail) {
    cudaMallocManaged_v6000_params p = {devPtr, size, cudaMemAttachGlobal};
    CUdeviceptr d = 0;
    RUNTIME_CALL(cudaMallocManaged_v6000, "cudaMallocManaged", p, fail,
                 sim_cuMemAllocManaged(&d, size, 0), *devPtr = (void *)(uintptr_t)d);
}
NOINLINE static cudaError_t sim_cudaMallocHost(void **ptr, size_t size, int fail) {
    cudaMallocHost_v3020_params p = {ptr, size};
    void *h = NULL;
    RUNTIME_CALL(cudaMallocHost_v3020, "cudaMallocHost", p, fail,
                 sim_cuMemAllocHost_v2(&h, size, 0), *ptr = h);
}
NOINLINE static cudaError_t sim_cudaHostAlloc(void **ptr, size_t size, unsigned int flags,
                                              int fail) {
    cudaHostAlloc_v3020_params p = {ptr, size, flags};
    void *h = NULL;
    RUNTIME_CALL(cudaHostAlloc_v3020, "cudaHostAlloc", p, fail,
                 sim_cuMemHostAlloc(&h, size, flags, 0), *ptr = h);
}
NOINLINE static cudaError_t sim_cudaMallocAsync(void **devPtr, size_t size, cudaStream_t s,
                                                int fail) {
    cudaMallocAsync_v11020_params p = {devPtr, size, s};
    CUdeviceptr d = 0;
    RUNTIME_CALL(cudaMallocAsync_v11020, "cudaMallocAsync", p, fail,
                 sim_cuMemAllocAsync(&d, size, s, 0), *devPtr = (void *)(uintptr_t)d);
}
NOINLINE static cudaError_t sim_cudaMallocAsync_ptsz(void **devPtr, size_t size, cudaStream_t s,
                                                     int fail) {
    cudaMallocAsync_ptsz_v11020_params p = {devPtr, size, s};
    CUdeviceptr d = 0;
    RUNTIME_CALL(cudaMallocAsync_ptsz_v11020, "cudaMallocAsync_ptsz", p, fail,
                 sim_cuMemAllocAsync_ptsz(&d, size, s, 0), *devPtr = (void *)(uintptr_t)d);
}
NOINLINE static cudaError_t sim_cudaMallocFromPoolAsync(void **ptr, size_t size, cudaMemPool_t pool,
                                                        cudaStream_t s, int fail) {
    cudaMallocFromPoolAsync_v11020_params p = {ptr, size, pool, s};
    CUdeviceptr d = 0;
    RUNTIME_CALL(cudaMallocFromPoolAsync_v11020, "cudaMallocFromPoolAsync", p, fail,
                 sim_cuMemAllocFromPoolAsync(&d, size, pool, s, 0), *ptr = (void *)(uintptr_t)d);
}
NOINLINE static cudaError_t sim_cudaMallocFromPoolAsync_ptsz(void **ptr, size_t size,
                                                             cudaMemPool_t pool, cudaStream_t s,
                                                             int fail) {
    cudaMallocFromPoolAsync_ptsz_v11020_params p = {ptr, size, pool, s};
    CUdeviceptr d = 0;
    RUNTIME_CALL(cudaMallocFromPoolAsync_ptsz_v11020, "cudaMallocFromPoolAsync_ptsz", p, fail,
                 sim_cuMemAllocFromPoolAsync_ptsz(&d, size, pool, s, 0),
                 *ptr = (void *)(uintptr_t)d);
}
/* cudaFree(NULL) returns at once, without a driver call. */
NOINLINE static cudaError_t sim_cudaFree(void *devPtr, int fail) {
    cudaFree_v3020_params p = {devPtr};
    RUNTIME_CALL(cudaFree_v3020, "cudaFree", p, fail,
                 devPtr ? sim_cuMemFree_v2((CUdeviceptr)(uintptr_t)devPtr, 0) : CUDA_SUCCESS,
                 (void)0);
}
NOINLINE static cudaError_t sim_cudaFreeHost(void *ptr, int fail) {
    cudaFreeHost_v3020_params p = {ptr};
    RUNTIME_CALL(cudaFreeHost_v3020, "cudaFreeHost", p, fail, sim_cuMemFreeHost(ptr, 0), (void)0);
}
NOINLINE static cudaError_t sim_cudaFreeAsync(void *devPtr, cudaStream_t s, int fail) {
    cudaFreeAsync_v11020_params p = {devPtr, s};
    RUNTIME_CALL(cudaFreeAsync_v11020, "cudaFreeAsync", p, fail,
                 sim_cuMemFreeAsync((CUdeviceptr)(uintptr_t)devPtr, s, 0), (void)0);
}
NOINLINE static cudaError_t sim_cudaFreeAsync_ptsz(void *devPtr, cudaStream_t s, int fail) {
    cudaFreeAsync_ptsz_v11020_params p = {devPtr, s};
    RUNTIME_CALL(cudaFreeAsync_ptsz_v11020, "cudaFreeAsync_ptsz", p, fail,
                 sim_cuMemFreeAsync_ptsz((CUdeviceptr)(uintptr_t)devPtr, s, 0), (void)0);
}

#endif
