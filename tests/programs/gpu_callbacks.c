/*
 * Drives heapprof's CUPTI callback through the fake libcupti (no GPU
 * needed), with the CUpti_CallbackData and *_params structs of the real
 * CUPTI headers. Run under LD_PRELOAD=libheapprof.so HEAPPROF_GPU=1
 * HEAPPROF_CUPTI_PATH=<fake libcupti.so>; tests/integration/gpu_callbacks.sh
 * checks the dumps it asks for against the numbers in tests/gpu/expect.py.
 *
 * Phases (each ends with heapprof_dump(<phase>)):
 *   allocs       every allocation callback id, each failing once then
 *                succeeding (tag "ids"); runtime calls wrap driver calls
 *   failed-frees every free callback id failing once: nothing changes
 *   freed        every free succeeding; async blocks freed on another stream
 *   devices-tags devices from contexts and from VMM properties, an unknown
 *                context, tags and labels, an async block freed by another
 *                thread, an unknown free, a runtime failure after its driver
 *                call succeeded, address and handle keys apart, a reused
 *                address, a callback id heapprof must not have enabled
 * The process then exits with three blocks alive (the exit dump).
 */
#define _GNU_SOURCE
#include "gpu_fake_api.h"
#include "check.h"
#include "heapprof.h"

#include <pthread.h>

static CUstream stream_a = (CUstream)(uintptr_t)0xA, stream_b = (CUstream)(uintptr_t)0xB;
static CUmemoryPool pool = (CUmemoryPool)(uintptr_t)0x9001;

typedef struct op {
    const char *name;
    int (*alloc)(struct op *, int fail);
    int (*free)(struct op *, int fail);
    uint64_t key; /* address or handle */
} op;

#define DEV(o) ((CUdeviceptr)(o)->key)
#define PTR(o) ((void *)(uintptr_t)(o)->key)

/* allocations: one wrapper per callback id, so each has a stack of its own */
NOINLINE static int a_cuMemAlloc(op *o, int fail) {
    CUdeviceptr_v1 d = 0;
    int r = sim_cuMemAlloc(&d, 1000, fail);
    o->key = d;
    return r;
}
NOINLINE static int a_cuMemAlloc_v2(op *o, int fail) {
    return sim_cuMemAlloc_v2((CUdeviceptr *)&o->key, 2000, fail);
}
NOINLINE static int a_cuMemAllocPitch(op *o, int fail) {
    CUdeviceptr_v1 d = 0;
    unsigned int pitch = 0;
    int r = sim_cuMemAllocPitch(&d, &pitch, 300, 10, 512, fail); /* 5120 bytes */
    o->key = d;
    return r;
}
NOINLINE static int a_cuMemAllocPitch_v2(op *o, int fail) {
    size_t pitch = 0; /* 7168 bytes */
    return sim_cuMemAllocPitch_v2((CUdeviceptr *)&o->key, &pitch, 1000, 7, 1024, fail);
}
NOINLINE static int a_cuMemAllocManaged(op *o, int fail) {
    return sim_cuMemAllocManaged((CUdeviceptr *)&o->key, 3000, fail);
}
NOINLINE static int a_cuMemAllocHost(op *o, int fail) {
    return sim_cuMemAllocHost((void **)&o->key, 4000, fail);
}
NOINLINE static int a_cuMemAllocHost_v2(op *o, int fail) {
    return sim_cuMemAllocHost_v2((void **)&o->key, 5000, fail);
}
NOINLINE static int a_cuMemHostAlloc(op *o, int fail) {
    return sim_cuMemHostAlloc((void **)&o->key, 6000, CU_MEMHOSTALLOC_PORTABLE, fail);
}
NOINLINE static int a_cuMemAllocAsync(op *o, int fail) {
    return sim_cuMemAllocAsync((CUdeviceptr *)&o->key, 7000, stream_a, fail);
}
NOINLINE static int a_cuMemAllocAsync_ptsz(op *o, int fail) {
    return sim_cuMemAllocAsync_ptsz((CUdeviceptr *)&o->key, 8000, stream_a, fail);
}
NOINLINE static int a_cuMemAllocFromPoolAsync(op *o, int fail) {
    return sim_cuMemAllocFromPoolAsync((CUdeviceptr *)&o->key, 9000, pool, stream_a, fail);
}
NOINLINE static int a_cuMemAllocFromPoolAsync_ptsz(op *o, int fail) {
    return sim_cuMemAllocFromPoolAsync_ptsz((CUdeviceptr *)&o->key, 10000, pool, stream_a, fail);
}
/* Physical memory on device 1 while device 0's context is current. */
NOINLINE static int a_cuMemCreate(op *o, int fail) {
    CUmemAllocationProp prop;
    memset(&prop, 0, sizeof prop);
    prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    prop.location.id = 1;
    return sim_cuMemCreate((CUmemGenericAllocationHandle *)&o->key, 2097152, &prop, fail);
}
NOINLINE static int a_cudaMalloc(op *o, int fail) {
    return sim_cudaMalloc((void **)&o->key, 11000, fail);
}
NOINLINE static int a_cudaMallocPitch(op *o, int fail) {
    size_t pitch = 0; /* 1536 bytes */
    return sim_cudaMallocPitch((void **)&o->key, &pitch, 100, 3, 512, fail);
}
NOINLINE static int a_cudaMalloc3D(op *o, int fail) {
    struct cudaPitchedPtr pp;
    memset(&pp, 0, sizeof pp);
    struct cudaExtent e = {200, 4, 6}; /* pitch 256: 6144 bytes */
    int r = sim_cudaMalloc3D(&pp, e, 256, fail);
    o->key = (uintptr_t)pp.ptr;
    return r;
}
NOINLINE static int a_cudaMallocManaged(op *o, int fail) {
    return sim_cudaMallocManaged((void **)&o->key, 12000, fail);
}
NOINLINE static int a_cudaMallocHost(op *o, int fail) {
    return sim_cudaMallocHost((void **)&o->key, 13000, fail);
}
NOINLINE static int a_cudaHostAlloc(op *o, int fail) {
    return sim_cudaHostAlloc((void **)&o->key, 14000, cudaHostAllocDefault, fail);
}
NOINLINE static int a_cudaMallocAsync(op *o, int fail) {
    return sim_cudaMallocAsync((void **)&o->key, 15000, stream_a, fail);
}
NOINLINE static int a_cudaMallocAsync_ptsz(op *o, int fail) {
    return sim_cudaMallocAsync_ptsz((void **)&o->key, 16000, stream_a, fail);
}
NOINLINE static int a_cudaMallocFromPoolAsync(op *o, int fail) {
    return sim_cudaMallocFromPoolAsync((void **)&o->key, 17000, (cudaMemPool_t)pool, stream_a,
                                       fail);
}
NOINLINE static int a_cudaMallocFromPoolAsync_ptsz(op *o, int fail) {
    return sim_cudaMallocFromPoolAsync_ptsz((void **)&o->key, 18000, (cudaMemPool_t)pool, stream_a,
                                            fail);
}

/* frees: async blocks go back on another stream than they came from */
static int f_cuMemFree(op *o, int fail) {
    return sim_cuMemFree((CUdeviceptr_v1)o->key, fail);
}
static int f_cuMemFree_v2(op *o, int fail) {
    return sim_cuMemFree_v2(DEV(o), fail);
}
static int f_cuMemFreeHost(op *o, int fail) {
    return sim_cuMemFreeHost(PTR(o), fail);
}
static int f_cuMemFreeAsync(op *o, int fail) {
    return sim_cuMemFreeAsync(DEV(o), stream_b, fail);
}
static int f_cuMemFreeAsync_ptsz(op *o, int fail) {
    return sim_cuMemFreeAsync_ptsz(DEV(o), stream_b, fail);
}
static int f_cuMemRelease(op *o, int fail) {
    return sim_cuMemRelease(o->key, fail);
}
static int f_cudaFree(op *o, int fail) {
    return sim_cudaFree(PTR(o), fail);
}
static int f_cudaFreeHost(op *o, int fail) {
    return sim_cudaFreeHost(PTR(o), fail);
}
static int f_cudaFreeAsync(op *o, int fail) {
    return sim_cudaFreeAsync(PTR(o), (cudaStream_t)stream_b, fail);
}
static int f_cudaFreeAsync_ptsz(op *o, int fail) {
    return sim_cudaFreeAsync_ptsz(PTR(o), (cudaStream_t)stream_b, fail);
}

static op ops[] = {
    {"cuMemAlloc", a_cuMemAlloc, f_cuMemFree, 0},
    {"cuMemAlloc_v2", a_cuMemAlloc_v2, f_cuMemFree_v2, 0},
    {"cuMemAllocPitch", a_cuMemAllocPitch, f_cuMemFree, 0},
    {"cuMemAllocPitch_v2", a_cuMemAllocPitch_v2, f_cuMemFree_v2, 0},
    {"cuMemAllocManaged", a_cuMemAllocManaged, f_cuMemFree_v2, 0},
    {"cuMemAllocHost", a_cuMemAllocHost, f_cuMemFreeHost, 0},
    {"cuMemAllocHost_v2", a_cuMemAllocHost_v2, f_cuMemFreeHost, 0},
    {"cuMemHostAlloc", a_cuMemHostAlloc, f_cuMemFreeHost, 0},
    {"cuMemAllocAsync", a_cuMemAllocAsync, f_cuMemFreeAsync, 0},
    {"cuMemAllocAsync_ptsz", a_cuMemAllocAsync_ptsz, f_cuMemFreeAsync_ptsz, 0},
    {"cuMemAllocFromPoolAsync", a_cuMemAllocFromPoolAsync, f_cuMemFreeAsync, 0},
    {"cuMemAllocFromPoolAsync_ptsz", a_cuMemAllocFromPoolAsync_ptsz, f_cuMemFreeAsync_ptsz, 0},
    {"cuMemCreate", a_cuMemCreate, f_cuMemRelease, 0},
    {"cudaMalloc", a_cudaMalloc, f_cudaFree, 0},
    {"cudaMallocPitch", a_cudaMallocPitch, f_cudaFree, 0},
    {"cudaMalloc3D", a_cudaMalloc3D, f_cudaFree, 0},
    {"cudaMallocManaged", a_cudaMallocManaged, f_cudaFree, 0},
    {"cudaMallocHost", a_cudaMallocHost, f_cudaFreeHost, 0},
    {"cudaHostAlloc", a_cudaHostAlloc, f_cudaFreeHost, 0},
    {"cudaMallocAsync", a_cudaMallocAsync, f_cudaFreeAsync, 0},
    {"cudaMallocAsync_ptsz", a_cudaMallocAsync_ptsz, f_cudaFreeAsync_ptsz, 0},
    {"cudaMallocFromPoolAsync", a_cudaMallocFromPoolAsync, f_cudaFreeAsync, 0},
    {"cudaMallocFromPoolAsync_ptsz", a_cudaMallocFromPoolAsync_ptsz, f_cudaFreeAsync_ptsz, 0},
};
#define NOPS (sizeof ops / sizeof ops[0])

static void dump(const char *phase) {
    CHECK(heapprof_dump(phase) == 0);
}

NOINLINE static void phase_ids(void) {
    CHECK(heapprof_tag_push("ids") == 0);
    for (size_t i = 0; i < NOPS; i++) {
        uint64_t before = ops[i].key;
        CHECK(ops[i].alloc(&ops[i], SIM_FAIL) != 0);
        CHECK(ops[i].key == before); /* a failed call writes nothing */
        CHECK(ops[i].alloc(&ops[i], SIM_OK) == 0);
        printf("%-30s key 0x%llx\n", ops[i].name, (unsigned long long)ops[i].key);
    }
    dump("allocs");
    for (size_t i = 0; i < NOPS; i++)
        CHECK(ops[i].free(&ops[i], SIM_FAIL) != 0);
    dump("failed-frees");
    for (size_t i = 0; i < NOPS; i++)
        CHECK(ops[i].free(&ops[i], SIM_OK) == 0);
    dump("freed");
    CHECK(heapprof_tag_pop() == 0);
}

static void *async_block;

static void *free_on_other_thread(void *arg) {
    (void)arg;
    CHECK(heapprof_tag_push("worker") == 0);
    CHECK(sim_cudaFreeAsync(async_block, (cudaStream_t)stream_b, SIM_OK) == cudaSuccess);
    return NULL;
}

NOINLINE static void phase_devices_tags(void) {
    void *p;
    CUdeviceptr d;
    /* device 1 from the context; tag and label */
    sim_context = FAKE_CONTEXT(1);
    CHECK(heapprof_tag_push("model") == 0);
    CHECK(heapprof_label_set("trace_id", "t-1") == 0);
    CHECK(sim_cudaMalloc(&p, 100000, SIM_OK) == cudaSuccess);
    CHECK(heapprof_label_clear("trace_id") == 0);
    CHECK(heapprof_tag_pop() == 0);
    /* a context CUPTI cannot place on a device */
    sim_context = UNKNOWN_CONTEXT;
    CHECK(sim_cuMemAlloc_v2(&d, 200000, SIM_OK) == CUDA_SUCCESS);
    sim_context = FAKE_CONTEXT(0);
    /* allocated under "cache" here, freed on another stream by a thread under "worker" */
    CHECK(heapprof_tag_push("cache") == 0);
    CHECK(sim_cudaMallocAsync(&async_block, 300000, (cudaStream_t)stream_a, SIM_OK) == cudaSuccess);
    CHECK(heapprof_tag_pop() == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_on_other_thread, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    /* frees heapprof must ignore: an unknown address, and NULL */
    CHECK(sim_cudaFree((void *)(uintptr_t)0xdead0000, SIM_OK) == cudaSuccess);
    CHECK(sim_cudaFree(NULL, SIM_OK) == cudaSuccess);
    /* the driver call succeeds but cudaMalloc reports failure: nothing to record */
    CHECK(sim_cudaMalloc(&p, 500000, SIM_FAIL_AFTER) != cudaSuccess);
    /* an address and a VMM handle with the same value are different blocks */
    sim_forced_address = 0x5000000;
    CHECK(sim_cuMemAlloc_v2(&d, 400000, SIM_OK) == CUDA_SUCCESS);
    CHECK(d == 0x5000000);
    CUmemAllocationProp prop;
    memset(&prop, 0, sizeof prop);
    prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    prop.location.id = 0;
    CUmemGenericAllocationHandle h;
    sim_forced_address = 0x5000000;
    CHECK(sim_cuMemCreate(&h, 2097152, &prop, SIM_OK) == CUDA_SUCCESS);
    CHECK(h == 0x5000000);
    CHECK(sim_cuMemRelease(h, SIM_OK) == CUDA_SUCCESS);
    /* the address comes back while still recorded: its free went unseen */
    sim_forced_address = 0x5000000;
    CHECK(sim_cuMemAlloc_v2(&d, 50000, SIM_OK) == CUDA_SUCCESS);
    /* not an allocation call: never enabled, so never delivered */
    CHECK(sim_cuCtxSynchronize_delivered() == 0);
    dump("devices-tags");
}

int main(void) {
    if (sim_init()) {
        fprintf(stderr, "gpu_callbacks: the fake libcupti is not loaded (HEAPPROF_CUPTI_PATH=%s)\n",
                getenv("HEAPPROF_CUPTI_PATH") ? getenv("HEAPPROF_CUPTI_PATH") : "unset");
        return 2;
    }
    /* heapprof enabled every allocation and free callback id */
    static const CUpti_CallbackId driver[] = {CUPTI_DRIVER_TRACE_CBID_cuMemAlloc,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch_v2,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAllocManaged,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAllocHost,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAllocHost_v2,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemHostAlloc,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync_ptsz,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync_ptsz,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemCreate,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemFree,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemFreeHost,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync_ptsz,
                                              CUPTI_DRIVER_TRACE_CBID_cuMemRelease};
    static const CUpti_CallbackId runtime[] = {
        CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020,
        CUPTI_RUNTIME_TRACE_CBID_cudaMallocPitch_v3020,
        CUPTI_RUNTIME_TRACE_CBID_cudaMalloc3D_v3020,
        CUPTI_RUNTIME_TRACE_CBID_cudaMallocManaged_v6000,
        CUPTI_RUNTIME_TRACE_CBID_cudaMallocHost_v3020,
        CUPTI_RUNTIME_TRACE_CBID_cudaHostAlloc_v3020,
        CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_v11020,
        CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_ptsz_v11020,
        CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_v11020,
        CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_ptsz_v11020,
        CUPTI_RUNTIME_TRACE_CBID_cudaFree_v3020,
        CUPTI_RUNTIME_TRACE_CBID_cudaFreeHost_v3020,
        CUPTI_RUNTIME_TRACE_CBID_cudaFreeAsync_v11020,
        CUPTI_RUNTIME_TRACE_CBID_cudaFreeAsync_ptsz_v11020};
    for (size_t i = 0; i < sizeof driver / sizeof driver[0]; i++)
        CHECK(fake_enabled(CUPTI_CB_DOMAIN_DRIVER_API, driver[i]));
    for (size_t i = 0; i < sizeof runtime / sizeof runtime[0]; i++)
        CHECK(fake_enabled(CUPTI_CB_DOMAIN_RUNTIME_API, runtime[i]));
    CHECK(!fake_enabled(CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel));
    CHECK(!fake_enabled(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaMemcpy_v3020));
    phase_ids();
    phase_devices_tags();
    printf("delivered %d callbacks\n", sim_delivered);
    return CHECK_DONE();
}
