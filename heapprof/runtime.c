/*
 * Start-up and shut-down of the preloaded runtime, and the public API.
 * Allocation works before this constructor runs (libraries initialised
 * earlier allocate); it only adds configuration and the dump at exit.
 */
#define _GNU_SOURCE
#include "../alloc/counters.h"
#include "../alloc/mi_tuning.h"
#include "config.h"
#include "dump.h"
#include "log.h"
#include "version.h"

#include <stdatomic.h>
#include <string.h>

void hp_dump_register_fork_handlers(void) __attribute__((visibility("hidden")));

static atomic_int exit_dumped;

__attribute__((constructor)) static void runtime_start(void) {
    hp_alloc_init();
    hp_dump_register_fork_handlers();
    hp_config_load();
    hp_log_set_level(hp_cfg.log_level);
    hp_mi_tune();
}

/* Runs from exit() after the program's atexit handlers, on whichever thread
 * called exit; a program that ends with _exit or a fatal signal gets none. */
__attribute__((destructor)) static void runtime_stop(void) {
    if (atomic_exchange(&exit_dumped, 1)) return;
    hp_dump("exit");
}

HP_EXPORT int heapprof_stats(heapprof_stats_t *out, size_t size) {
    if (!out) return -1;
    heapprof_stats_t s;
    hp_counters_read(&s);
    memcpy(out, &s, size < sizeof s ? size : sizeof s);
    return 0;
}

HP_EXPORT const char *heapprof_version(void) { return HEAPPROF_VERSION; }
