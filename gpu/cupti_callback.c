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
#include "cupti_decode.h"
#include "gpu_frames.h"
#include "gpu_table.h"
#include "../alloc/thread_state.h"
#include "../heapprof/dump.h"
#include "../heapprof/tags.h"

#include <stdint.h>

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

/* A handle of 0 is a valid key; an address of 0 is no block (cudaFree(0)). */
static int has_key(const hp_gpu_decoded *o) {
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
    hp_gpu_decoded o;
    if (a->kind != HP_GPU_FREE || !hp_gpu_decode(domain, cbid, cb, &o) || !has_key(&o)) return;
    if (tls.pending) hp_gpu_table_put_back(&tls.block); /* an exit never came */
    tls.pending = hp_gpu_table_take(o.space, o.key, &tls.block);
}

static void on_free_exit(int ok, const hp_gpu_decoded *o, int decoded_ok) {
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
    hp_gpu_decoded o;
    int decoded_ok = hp_gpu_decode(domain, cbid, cb, &o);
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
    const hp_gpu_api *a = hp_gpu_find_api(domain, cbid);
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
