/*
 * What heapprof reads from a CUPTI callback's functionParams: the allocation
 * and free callback ids it enables, and for each the block's key (address,
 * or handle for VMM), size and, when the arguments say, its device. The
 * structs are those of the CUPTI headers (generated_cuda_meta.h,
 * generated_cuda_runtime_api_meta.h).
 */
#define _GNU_SOURCE
#include "cupti_decode.h"
#include "gpu_table.h"

#define D(name, kind)                                                                              \
    { CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_##name, kind }
#define R(name, kind)                                                                              \
    { CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_##name, kind }

const hp_gpu_api hp_gpu_apis[] = {
    D(cuMemAlloc, HP_GPU_DEVICE),
    D(cuMemAlloc_v2, HP_GPU_DEVICE),
    D(cuMemAllocPitch, HP_GPU_DEVICE),
    D(cuMemAllocPitch_v2, HP_GPU_DEVICE),
    D(cuMemAllocManaged, HP_GPU_MANAGED),
    D(cuMemAllocHost, HP_GPU_PINNED_HOST),
    D(cuMemAllocHost_v2, HP_GPU_PINNED_HOST),
    D(cuMemHostAlloc, HP_GPU_PINNED_HOST),
    D(cuMemAllocAsync, HP_GPU_ASYNC_POOL),
    D(cuMemAllocAsync_ptsz, HP_GPU_ASYNC_POOL),
    D(cuMemAllocFromPoolAsync, HP_GPU_ASYNC_POOL),
    D(cuMemAllocFromPoolAsync_ptsz, HP_GPU_ASYNC_POOL),
    D(cuMemCreate, HP_GPU_VMM),
    D(cuMemFree, HP_GPU_FREE),
    D(cuMemFree_v2, HP_GPU_FREE),
    D(cuMemFreeHost, HP_GPU_FREE),
    D(cuMemFreeAsync, HP_GPU_FREE),
    D(cuMemFreeAsync_ptsz, HP_GPU_FREE),
    D(cuMemRelease, HP_GPU_FREE),
    R(cudaMalloc_v3020, HP_GPU_DEVICE),
    R(cudaMallocPitch_v3020, HP_GPU_DEVICE),
    R(cudaMalloc3D_v3020, HP_GPU_DEVICE),
    R(cudaMallocManaged_v6000, HP_GPU_MANAGED),
    R(cudaMallocHost_v3020, HP_GPU_PINNED_HOST),
    R(cudaHostAlloc_v3020, HP_GPU_PINNED_HOST),
    R(cudaMallocAsync_v11020, HP_GPU_ASYNC_POOL),
    R(cudaMallocAsync_ptsz_v11020, HP_GPU_ASYNC_POOL),
    R(cudaMallocFromPoolAsync_v11020, HP_GPU_ASYNC_POOL),
    R(cudaMallocFromPoolAsync_ptsz_v11020, HP_GPU_ASYNC_POOL),
    R(cudaFree_v3020, HP_GPU_FREE),
    R(cudaFreeHost_v3020, HP_GPU_FREE),
    R(cudaFreeAsync_v11020, HP_GPU_FREE),
    R(cudaFreeAsync_ptsz_v11020, HP_GPU_FREE),
};
const size_t hp_gpu_napis = sizeof hp_gpu_apis / sizeof hp_gpu_apis[0];

const hp_gpu_api *hp_gpu_find_api(CUpti_CallbackDomain domain, CUpti_CallbackId cbid) {
    for (size_t i = 0; i < hp_gpu_napis; i++)
        if (hp_gpu_apis[i].cbid == cbid && hp_gpu_apis[i].domain == domain) return &hp_gpu_apis[i];
    return NULL;
}

#define OUT_PTR(pp) ((pp) ? (uint64_t)(uintptr_t) * (pp) : 0)

/* The key (and for an allocation, size and device) of a driver call.
 * Returns 0 when the arguments cannot be read. */
static int decode_driver(CUpti_CallbackId cbid, const void *params, hp_gpu_decoded *o) {
    switch (cbid) {
    case CUPTI_DRIVER_TRACE_CBID_cuMemAlloc: {
        const cuMemAlloc_params *p = params;
        o->key = OUT_PTR(p->dptr), o->bytes = p->bytesize;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2: {
        const cuMemAlloc_v2_params *p = params;
        o->key = OUT_PTR(p->dptr), o->bytes = p->bytesize;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch: {
        const cuMemAllocPitch_params *p = params;
        o->key = OUT_PTR(p->dptr), o->bytes = p->pPitch ? (uint64_t)*p->pPitch * p->Height : 0;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch_v2: {
        const cuMemAllocPitch_v2_params *p = params;
        o->key = OUT_PTR(p->dptr), o->bytes = p->pPitch ? (uint64_t)*p->pPitch * p->Height : 0;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocManaged: {
        const cuMemAllocManaged_params *p = params;
        o->key = OUT_PTR(p->dptr), o->bytes = p->bytesize;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocHost: {
        const cuMemAllocHost_params *p = params;
        o->key = OUT_PTR(p->pp), o->bytes = p->bytesize;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocHost_v2: {
        const cuMemAllocHost_v2_params *p = params;
        o->key = OUT_PTR(p->pp), o->bytes = p->bytesize;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemHostAlloc: {
        const cuMemHostAlloc_params *p = params;
        o->key = OUT_PTR(p->pp), o->bytes = p->bytesize;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync:
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync_ptsz: { /* same layout */
        const cuMemAllocAsync_params *p = params;
        o->key = OUT_PTR(p->dptr), o->bytes = p->bytesize;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync:
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync_ptsz: {
        const cuMemAllocFromPoolAsync_params *p = params;
        o->key = OUT_PTR(p->dptr), o->bytes = p->bytesize;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemCreate: {
        const cuMemCreate_params *p = params;
        o->space = HP_GPU_KEY_HANDLE;
        o->key = OUT_PTR(p->handle), o->bytes = p->size;
        /* The physical memory's own location, whatever context is current. */
        if (p->prop && p->prop->location.type == CU_MEM_LOCATION_TYPE_DEVICE &&
            p->prop->location.id >= 0)
            o->device = p->prop->location.id;
        break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemFree:
        o->key = ((const cuMemFree_params *)params)->dptr;
        break;
    case CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2:
        o->key = ((const cuMemFree_v2_params *)params)->dptr;
        break;
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeHost:
        o->key = (uintptr_t)((const cuMemFreeHost_params *)params)->p;
        break;
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync:
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync_ptsz:
        o->key = ((const cuMemFreeAsync_params *)params)->dptr;
        break;
    case CUPTI_DRIVER_TRACE_CBID_cuMemRelease:
        o->space = HP_GPU_KEY_HANDLE;
        o->key = ((const cuMemRelease_params *)params)->handle;
        break;
    default:
        return 0;
    }
    return 1;
}

static int decode_runtime(CUpti_CallbackId cbid, const void *params, hp_gpu_decoded *o) {
    switch (cbid) {
    case CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020: {
        const cudaMalloc_v3020_params *p = params;
        o->key = OUT_PTR(p->devPtr), o->bytes = p->size;
        break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocPitch_v3020: {
        const cudaMallocPitch_v3020_params *p = params;
        o->key = OUT_PTR(p->devPtr), o->bytes = p->pitch ? (uint64_t)*p->pitch * p->height : 0;
        break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMalloc3D_v3020: {
        const cudaMalloc3D_v3020_params *p = params;
        if (!p->pitchedDevPtr) return 0;
        o->key = (uintptr_t)p->pitchedDevPtr->ptr;
        o->bytes = (uint64_t)p->pitchedDevPtr->pitch * p->extent.height * p->extent.depth;
        break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocManaged_v6000: {
        const cudaMallocManaged_v6000_params *p = params;
        o->key = OUT_PTR(p->devPtr), o->bytes = p->size;
        break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocHost_v3020: {
        const cudaMallocHost_v3020_params *p = params;
        o->key = OUT_PTR(p->ptr), o->bytes = p->size;
        break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaHostAlloc_v3020: {
        const cudaHostAlloc_v3020_params *p = params;
        o->key = OUT_PTR(p->pHost), o->bytes = p->size;
        break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_ptsz_v11020: {
        const cudaMallocAsync_v11020_params *p = params;
        o->key = OUT_PTR(p->devPtr), o->bytes = p->size;
        break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_ptsz_v11020: {
        const cudaMallocFromPoolAsync_v11020_params *p = params;
        o->key = OUT_PTR(p->ptr), o->bytes = p->size;
        break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaFree_v3020:
        o->key = (uintptr_t)((const cudaFree_v3020_params *)params)->devPtr;
        break;
    case CUPTI_RUNTIME_TRACE_CBID_cudaFreeHost_v3020:
        o->key = (uintptr_t)((const cudaFreeHost_v3020_params *)params)->ptr;
        break;
    case CUPTI_RUNTIME_TRACE_CBID_cudaFreeAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaFreeAsync_ptsz_v11020:
        o->key = (uintptr_t)((const cudaFreeAsync_v11020_params *)params)->devPtr;
        break;
    default:
        return 0;
    }
    return 1;
}

int hp_gpu_decode(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const CUpti_CallbackData *cb,
                  hp_gpu_decoded *o) {
    *o = (hp_gpu_decoded){HP_GPU_KEY_ADDR, 0, 0, HP_GPU_UNKNOWN_DEVICE};
    if (!cb->functionParams) return 0;
    return domain == CUPTI_CB_DOMAIN_DRIVER_API ? decode_driver(cbid, cb->functionParams, o)
                                                : decode_runtime(cbid, cb->functionParams, o);
}
