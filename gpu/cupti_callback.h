/* The CUPTI callback: turns driver and runtime allocation calls into GPU
 * table events. Needs the CUPTI headers (built only when they are found). */
#ifndef HP_GPU_CUPTI_CALLBACK_H
#define HP_GPU_CUPTI_CALLBACK_H

#include <cupti.h>
#include <stddef.h>

typedef struct hp_gpu_api {
    CUpti_CallbackDomain domain;
    CUpti_CallbackId cbid;
    int kind; /* enum hp_gpu_kind for an allocation, HP_GPU_FREE for a free */
} hp_gpu_api;

#define HP_GPU_FREE (-1)

/* Every callback id heapprof enables. */
extern const hp_gpu_api hp_gpu_apis[] __attribute__((visibility("hidden")));
extern const size_t hp_gpu_napis __attribute__((visibility("hidden")));

/* cuptiGetDeviceId of the loaded libcupti (NULL if it has none): the
 * device of a context, callable from inside callbacks. */
void hp_gpu_set_device_query(CUptiResult(CUPTIAPI *fn)(CUcontext, uint32_t *))
    __attribute__((visibility("hidden")));

void CUPTIAPI hp_gpu_cupti_callback(void *userdata, CUpti_CallbackDomain domain,
                                    CUpti_CallbackId cbid, const void *cbdata)
    __attribute__((visibility("hidden")));

#endif
