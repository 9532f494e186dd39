/* The CUPTI callback: turns driver and runtime allocation calls into GPU
 * table events. Needs the CUPTI headers (built only when they are found). */
#ifndef HP_GPU_CUPTI_CALLBACK_H
#define HP_GPU_CUPTI_CALLBACK_H

#include <cupti.h>

/* cuptiGetDeviceId of the loaded libcupti (NULL if it has none): the
 * device of a context, callable from inside callbacks. */
void hp_gpu_set_device_query(CUptiResult(CUPTIAPI *fn)(CUcontext, uint32_t *))
    __attribute__((visibility("hidden")));

void CUPTIAPI hp_gpu_cupti_callback(void *userdata, CUpti_CallbackDomain domain,
                                    CUpti_CallbackId cbid, const void *cbdata)
    __attribute__((visibility("hidden")));

#endif
