/*
 * The GPU allocation table: every device allocation seen through CUPTI,
 * tracked exactly (GPU allocations are few and large, so nothing is
 * sampled). Live blocks are keyed by address, or by handle for VMM
 * allocations (cuMemCreate/cuMemRelease), whichever thread or stream frees
 * them. Aggregates: per device (and memory kind), per tag, per (device,
 * tag), and per site = (CPU stack, tag, labels, device, kind).
 *
 * One mutex guards it, taken only by CUDA allocation calls and dumps: never
 * on the malloc path.
 */
#ifndef HP_GPU_TABLE_H
#define HP_GPU_TABLE_H

#include "../heapprof/profile.h"
#include "../heapprof/stacks.h"

#include <stddef.h>
#include <stdint.h>

#define HP_GPU_TABLE_HIDDEN __attribute__((visibility("hidden")))

enum hp_gpu_kind {
    HP_GPU_DEVICE,      /* cuMemAlloc, cuMemAllocPitch, cudaMalloc, cudaMallocPitch, cudaMalloc3D */
    HP_GPU_MANAGED,     /* cuMemAllocManaged, cudaMallocManaged */
    HP_GPU_PINNED_HOST, /* cuMemAllocHost, cuMemHostAlloc, cudaMallocHost, cudaHostAlloc */
    HP_GPU_ASYNC_POOL,  /* cuMemAllocAsync, cuMemAllocFromPoolAsync and the cuda* versions */
    HP_GPU_VMM,         /* cuMemCreate (physical memory of the virtual memory management API) */
    HP_GPU_NKINDS
};

/* "device", "managed", "pinned_host", "async_pool", "vmm". */
const char *hp_gpu_kind_name(int kind) HP_GPU_TABLE_HIDDEN;

/* Blocks are keyed by address, except VMM allocations, keyed by handle:
 * the two are separate spaces. */
enum hp_gpu_key_space { HP_GPU_KEY_ADDR = 0, HP_GPU_KEY_HANDLE = 1 };

#define HP_GPU_UNKNOWN_DEVICE (-1)
/* Devices 0..HP_GPU_MAX_DEVICES-1 are told apart; others count as unknown. */
#define HP_GPU_MAX_DEVICES 64

typedef struct hp_gpu_alloc_event {
    int space;
    uint64_t key;
    uint64_t bytes;
    int32_t device; /* HP_GPU_UNKNOWN_DEVICE if it could not be found */
    int kind;
    uint32_t tag, labels;
    const hp_stack *stack; /* interned (depth 0 when no stack was captured) */
} hp_gpu_alloc_event;

/* A block taken out of the table while its free call runs. */
typedef struct hp_gpu_block {
    int space;
    uint64_t key, bytes, t_alloc_ns;
    struct gpu_site *site;
    struct gpu_row *dev_tag, *tag;
    uint32_t dev_index;
} hp_gpu_block;

/* Records an allocation. An address still recorded as live is first
 * forgotten as freed (its free went unseen). Returns -1 when out of memory
 * (the allocation is then not tracked). */
int hp_gpu_table_alloc(const hp_gpu_alloc_event *e, uint64_t now_ns) HP_GPU_TABLE_HIDDEN;

/* Frees go in two steps so that an address freed by one thread cannot be
 * handed out and recorded by another before the free is accounted: the
 * block is taken out of the table when the free call starts, then either
 * committed (the call succeeded) or put back (it failed). take returns 0 if
 * the key is not recorded (a free of an unknown pointer, to be ignored). */
int hp_gpu_table_take(int space, uint64_t key, hp_gpu_block *out) HP_GPU_TABLE_HIDDEN;
void hp_gpu_table_commit_free(const hp_gpu_block *b, uint64_t now_ns) HP_GPU_TABLE_HIDDEN;
void hp_gpu_table_put_back(const hp_gpu_block *b) HP_GPU_TABLE_HIDDEN;

/* Event counts for stats.json, so a run shows what was seen and skipped. */
enum hp_gpu_note {
    HP_GPU_NOTE_FAILED_CALL,  /* an allocation or free that returned an error */
    HP_GPU_NOTE_NESTED_CALL,  /* a driver call made by a runtime call already recorded */
    HP_GPU_NOTE_UNKNOWN_FREE, /* a successful free of an address or handle not recorded */
    HP_GPU_NOTE_REUSED,       /* an address allocated while still recorded: its free went unseen */
    HP_GPU_NOTE_DROPPED,      /* not recorded: out of memory or unreadable arguments */
    HP_GPU_NOTE_COUNT
};
void hp_gpu_table_note(enum hp_gpu_note what) HP_GPU_TABLE_HIDDEN;

/* Turns the snapshot on: from here on dumps carry GPU data. `route` and
 * `library` are copied. */
void hp_gpu_table_activate(const char *route, const char *library) HP_GPU_TABLE_HIDDEN;

/* ---- Snapshot (what the writers read) ---- */

typedef struct hp_gpu_counts {
    uint64_t live_bytes, live_objects, peak_bytes, peak_objects;
    uint64_t alloc_bytes, alloc_objects, freed_bytes, freed_objects;
} hp_gpu_counts;

typedef struct hp_gpu_device_counts {
    int32_t device;
    hp_gpu_counts all, kind[HP_GPU_NKINDS];
} hp_gpu_device_counts;

#define HP_GPU_ALL_DEVICES (-2)

typedef struct hp_gpu_tag_counts {
    int32_t device; /* HP_GPU_ALL_DEVICES: the tag over every device */
    uint32_t tag;
    hp_gpu_counts c;
} hp_gpu_tag_counts;

typedef struct hp_gpu_site_attr {
    int32_t device;
    int kind;
} hp_gpu_site_attr;

typedef struct hp_gpu_snapshot {
    hp_profile_snapshot profile; /* sites with exact values; no per-tag estimates */
    hp_gpu_site_attr *attrs;     /* device and kind of profile.sites[i] */
    hp_gpu_counts total;
    hp_gpu_device_counts *devices; /* devices that ever allocated, by device id */
    size_t ndevices;
    hp_gpu_tag_counts *tags; /* by tag over all devices first, then by (device, tag) */
    size_t ntags;
    uint64_t notes[HP_GPU_NOTE_COUNT];
    char route[32];
    char library[4096];
} hp_gpu_snapshot;

/* Device label for files: "0", "1", ... or "unknown". */
void hp_gpu_device_name(int32_t device, char *buf, size_t cap) HP_GPU_TABLE_HIDDEN;

#endif
