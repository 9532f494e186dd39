/* The sampler's configuration, applied at start-up (the allocator calls the
 * hooks of alloc/sampler_hooks.h). */
#ifndef HP_SAMPLER_H
#define HP_SAMPLER_H

#include <stdint.h>

/* Turns sampling on with the configured rate and seed. */
void hp_sampler_start(void) __attribute__((visibility("hidden")));

/* Mean requested bytes between samples in effect (0 = off, 1 = all). */
int64_t hp_sampler_rate(void) __attribute__((visibility("hidden")));

/* Weight of a sampled request of n bytes: 1 / P(sampled). */
double hp_sampler_weight(uint64_t n) __attribute__((visibility("hidden")));

#endif
