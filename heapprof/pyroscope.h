/*
 * Continuous export to Grafana Pyroscope (docs/pyroscope.md): with
 * HEAPPROF_PYROSCOPE_URL set, the background thread (triggers.c) uploads a
 * profile of the current heap every HEAPPROF_INTERVAL seconds (15 when that
 * is 0), alloc_* since the last delivered upload and inuse_* as they are.
 * Uploads never run on the program's threads, time out (connect 2 s, total
 * 10 s), and are dropped with a counted warning when the server does not
 * take them; the count is reported at exit.
 */
#ifndef HP_PYROSCOPE_H
#define HP_PYROSCOPE_H

#include <stdint.h>

#define HP_PYRO_DEFAULT_INTERVAL_S 15

/* Nanoseconds between uploads; 0 when export is off. */
uint64_t hp_pyroscope_interval_ns(void) __attribute__((visibility("hidden")));

/* One upload; called on the background thread only. */
void hp_pyroscope_push(void) __attribute__((visibility("hidden")));

/* The child of a fork must not share the parent's connection. */
void hp_pyroscope_after_fork_child(void) __attribute__((visibility("hidden")));

#endif
