/* Reading CUPTI callback arguments (needs the CUPTI headers). */
#ifndef HP_GPU_CUPTI_DECODE_H
#define HP_GPU_CUPTI_DECODE_H

#include <cupti.h>
#include <stddef.h>
#include <stdint.h>

#define HP_GPU_DECODE_HIDDEN __attribute__((visibility("hidden")))

typedef struct hp_gpu_api {
    CUpti_CallbackDomain domain;
    CUpti_CallbackId cbid;
    int kind; /* enum hp_gpu_kind for an allocation, HP_GPU_FREE for a free */
} hp_gpu_api;

#define HP_GPU_FREE (-1)

/* Every callback id heapprof enables. */
extern const hp_gpu_api hp_gpu_apis[] HP_GPU_DECODE_HIDDEN;
extern const size_t hp_gpu_napis HP_GPU_DECODE_HIDDEN;

/* The entry of hp_gpu_apis for this callback, or NULL. */
const hp_gpu_api *hp_gpu_find_api(CUpti_CallbackDomain domain,
                                  CUpti_CallbackId cbid) HP_GPU_DECODE_HIDDEN;

typedef struct hp_gpu_decoded {
    int space;      /* enum hp_gpu_key_space */
    uint64_t key;   /* the address or handle: at entry of a free, at exit of an allocation */
    uint64_t bytes; /* allocations: the size asked for */
    int32_t device; /* from the arguments (cuMemCreate), or HP_GPU_UNKNOWN_DEVICE */
} hp_gpu_decoded;

/* Reads the key (and for an allocation size and device) of one of
 * hp_gpu_apis. Returns 0 when the arguments cannot be read. */
int hp_gpu_decode(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const CUpti_CallbackData *cb,
                  hp_gpu_decoded *o) HP_GPU_DECODE_HIDDEN;

#endif
