/*
 * The CUPTI callback (docs/gpu.md#what-is-seen). CUPTI calls it on the
 * thread making the CUDA call, at entry and at exit of every enabled API.
 *
 * Allocations are recorded at exit, and only when the call returned
 * success: only then are the pointer and size real. Frees take the block out
 * of the table at entry (so an address released by the driver cannot be
 * handed out and recorded by another thread before this free is accounted)
 * and commit at exit on success, or put it back on failure.
 *
 * A runtime call such as cudaMalloc makes a driver call (cuMemAlloc_v2)
 * that CUPTI reports too. Recording both would count the memory twice, so
 * a per-thread depth counts the enabled runtime calls in progress: driver
 * callbacks inside one are ignored, and a driver call the program makes
 * directly (depth 0) is recorded. The runtime level is the one kept because
 * it is what the program called (its stack starts at cudaMalloc).
 */
#define _GNU_SOURCE
#include "cupti_callback.h"
#include "gpu_frames.h"
#include "gpu_table.h"
#include "../alloc/thread_state.h"
#include "../heapprof/dump.h"
#include "../heapprof/tags.h"

#include <stdint.h>

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

static CUptiResult(CUPTIAPI *device_query)(CUcontext, uint32_t *);

void hp_gpu_set_device_query(CUptiResult(CUPTIAPI *fn)(CUcontext, uint32_t *)) {
    device_query = fn;
}

static __thread struct {
    int runtime_depth; /* enabled runtime calls in progress on this thread */
    int busy;          /* inside the callback: ignore anything it might cause */
    int pending;       /* a free in progress whose block is out of the table */
    hp_gpu_block block;
} tls;

static const hp_gpu_api *find_api(CUpti_CallbackDomain domain, CUpti_CallbackId cbid) {
    for (size_t i = 0; i < hp_gpu_napis; i++)
        if (hp_gpu_apis[i].cbid == cbid && hp_gpu_apis[i].domain == domain) return &hp_gpu_apis[i];
    return NULL;
}

typedef struct decoded {
    int space;
    uint64_t key, bytes;
    int32_t device; /* from the arguments, or HP_GPU_UNKNOWN_DEVICE */
} decoded;

#define OUT_PTR(pp) ((pp) ? (uint64_t)(uintptr_t) * (pp) : 0)

/* The key (and for an allocation, size and device) of a driver call.
 * Returns 0 when the arguments cannot be read. */
static int decode_driver(CUpti_CallbackId cbid, const void *params, decoded *o) {
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

static int decode_runtime(CUpti_CallbackId cbid, const void *params, decoded *o) {
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

static int decode(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const CUpti_CallbackData *cb,
                  decoded *o) {
    *o = (decoded){HP_GPU_KEY_ADDR, 0, 0, HP_GPU_UNKNOWN_DEVICE};
    if (!cb->functionParams) return 0;
    return domain == CUPTI_CB_DOMAIN_DRIVER_API ? decode_driver(cbid, cb->functionParams, o)
                                                : decode_runtime(cbid, cb->functionParams, o);
}

/* A handle of 0 is a valid key; an address of 0 is no block (cudaFree(0)). */
static int has_key(const decoded *o) {
    return o->space == HP_GPU_KEY_HANDLE || o->key != 0;
}

static int succeeded(CUpti_CallbackDomain domain, const CUpti_CallbackData *cb) {
    if (!cb->functionReturnValue) return 0;
    if (domain == CUPTI_CB_DOMAIN_DRIVER_API)
        return *(const CUresult *)cb->functionReturnValue == CUDA_SUCCESS;
    return *(const cudaError_t *)cb->functionReturnValue == cudaSuccess;
}

/* The device of the call's context (CUPTI knows it without a driver call). */
static int32_t context_device(const CUpti_CallbackData *cb) {
    uint32_t id;
    if (device_query && device_query(cb->context, &id) == CUPTI_SUCCESS && id <= INT32_MAX)
        return (int32_t)id;
    return HP_GPU_UNKNOWN_DEVICE;
}

/* Entry of a call to record: a free takes its block out of the table. */
static void on_api_enter(const hp_gpu_api *a, CUpti_CallbackDomain domain, CUpti_CallbackId cbid,
                         const CUpti_CallbackData *cb) {
    decoded o;
    if (a->kind != HP_GPU_FREE || !decode(domain, cbid, cb, &o) || !has_key(&o)) return;
    if (tls.pending) hp_gpu_table_put_back(&tls.block); /* an exit never came */
    tls.pending = hp_gpu_table_take(o.space, o.key, &tls.block);
}

static void on_free_exit(int ok, const decoded *o, int decoded_ok) {
    int mine = tls.pending && decoded_ok && tls.block.space == o->space && tls.block.key == o->key;
    if (mine) {
        if (ok)
            hp_gpu_table_commit_free(&tls.block, hp_uptime_ns());
        else
            hp_gpu_table_put_back(&tls.block);
        tls.pending = 0;
    }
    if (!ok)
        hp_gpu_table_note(HP_GPU_NOTE_FAILED_CALL);
    else if (!mine && decoded_ok && has_key(o))
        hp_gpu_table_note(HP_GPU_NOTE_UNKNOWN_FREE);
}

static void on_api_exit(const hp_gpu_api *a, CUpti_CallbackDomain domain, CUpti_CallbackId cbid,
                        const CUpti_CallbackData *cb) {
    int ok = succeeded(domain, cb);
    decoded o;
    int decoded_ok = decode(domain, cbid, cb, &o);
    if (a->kind == HP_GPU_FREE) {
        on_free_exit(ok, &o, decoded_ok);
        return;
    }
    if (!ok) {
        hp_gpu_table_note(HP_GPU_NOTE_FAILED_CALL);
        return;
    }
    if (!decoded_ok) {
        hp_gpu_table_note(HP_GPU_NOTE_DROPPED);
        return;
    }
    if (!has_key(&o)) return; /* a zero-byte request: no block */
    const hp_stack *stack = hp_gpu_frames_here();
    if (!stack) {
        hp_gpu_table_note(HP_GPU_NOTE_DROPPED);
        return;
    }
    hp_gpu_alloc_event e = {
        .space = o.space,
        .key = o.key,
        .bytes = o.bytes,
        .device = o.device != HP_GPU_UNKNOWN_DEVICE ? o.device : context_device(cb),
        .kind = a->kind,
        /* a thread that never allocated has not been given the initial tag yet */
        .tag = hp_self.tag ? hp_self.tag : HP_TAG_INITIAL,
        .labels = hp_self.labels,
        .stack = stack,
    };
    hp_gpu_table_alloc(&e, hp_uptime_ns());
}

void CUPTIAPI hp_gpu_cupti_callback(void *userdata, CUpti_CallbackDomain domain,
                                    CUpti_CallbackId cbid, const void *cbdata) {
    (void)userdata;
    const CUpti_CallbackData *cb = cbdata;
    const hp_gpu_api *a = find_api(domain, cbid);
    if (!a || !cb || tls.busy) return;
    tls.busy = 1;
    int enter = cb->callbackSite == CUPTI_API_ENTER;
    if (domain == CUPTI_CB_DOMAIN_RUNTIME_API) {
        if (enter) {
            if (tls.runtime_depth++ == 0) on_api_enter(a, domain, cbid, cb);
        } else {
            if (tls.runtime_depth > 0) tls.runtime_depth--;
            if (tls.runtime_depth == 0)
                on_api_exit(a, domain, cbid, cb);
            else
                hp_gpu_table_note(HP_GPU_NOTE_NESTED_CALL);
        }
    } else if (tls.runtime_depth > 0) { /* made by the runtime call being recorded */
        if (!enter) hp_gpu_table_note(HP_GPU_NOTE_NESTED_CALL);
    } else if (enter) {
        on_api_enter(a, domain, cbid, cb);
    } else {
        on_api_exit(a, domain, cbid, cb);
    }
    tls.busy = 0;
}
