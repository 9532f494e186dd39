/* The CPU stack of a GPU allocation, captured inside the CUPTI callback. */
#ifndef HP_GPU_FRAMES_H
#define HP_GPU_FRAMES_H

#include "../heapprof/stacks.h"

#include <stdint.h>

/* Call once when tracking starts; `cupti_symbol` is any function of the
 * loaded libcupti, whose frames are dropped from captured stacks. */
void hp_gpu_frames_init(const void *cupti_symbol) __attribute__((visibility("hidden")));

/* The interned stack of the current call site, leaf first, starting at the
 * CUDA call the program (or a library such as libcudart) made: the frames
 * of heapprof, CUPTI's dispatcher and the driver's internals are dropped.
 * NULL when out of memory. */
const hp_stack *hp_gpu_frames_here(void) __attribute__((visibility("hidden")));

#endif
