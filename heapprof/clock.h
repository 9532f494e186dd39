/*
 * The time stamps of sampled events, on hp_uptime_ns's time line. Full
 * mode stamps every allocation and free; clock_gettime costs 30-50 ns a call
 * on kvm-clock virtual machines, the TSC about 10. Where the TSC is
 * invariant, it is read and scaled by a rate measured against
 * CLOCK_MONOTONIC (first after 20 ms, then at doubling intervals, slewed so
 * the time line stays continuous); elsewhere, and before the first
 * measurement, hp_uptime_ns is used. Values from different threads may be
 * out of order by a few nanoseconds: differences must be clamped at 0.
 */
#ifndef HP_CLOCK_H
#define HP_CLOCK_H

#include <stdint.h>

/* Starts the clock (the sampler's start-up, single-threaded). */
void hp_clock_start(void) __attribute__((visibility("hidden")));

/* Nanoseconds since the process started. Async-signal-safe. */
uint64_t hp_clock_ns(void) __attribute__((visibility("hidden")));

#endif
