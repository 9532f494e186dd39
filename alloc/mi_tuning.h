#ifndef HP_MI_TUNING_H
#define HP_MI_TUNING_H

#include <stddef.h>

/* When heapprof gives mimalloc its transparent-huge-page arena (see the
 * comment in mi_tuning.c for what and why). */
enum hp_thp_arena {
    HP_THP_ARENA_OFF = 0,
    HP_THP_ARENA_NOW = 1,  /* at start-up */
    HP_THP_ARENA_AUTO = 2, /* once the program has asked for several large blocks */
};

/* A request of at least this many bytes is "large"; the arena is added at the
 * HP_THP_ARENA_TRIGGER_COUNT-th one. */
#define HP_THP_ARENA_TRIGGER_BYTES ((size_t)4 << 20)
#define HP_THP_ARENA_TRIGGER_COUNT 8

/* Applies the mode; called once at start, after mimalloc's own init. */
void hp_mi_tune(int mode) __attribute__((visibility("hidden")));

/* Nonzero while the automatic mode still waits for large requests; each
 * one is reported with hp_mi_arena_large_request (memory_bound.h). */
extern int hp_mi_arena_waiting __attribute__((visibility("hidden")));
void hp_mi_arena_large_request(void) __attribute__((visibility("hidden")));

#endif
