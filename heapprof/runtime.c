/*
 * Start-up and shut-down of the preloaded runtime, fork handling for the
 * profiler's locks, and the remaining public API. Allocation works before
 * this constructor runs (libraries initialised earlier allocate); it adds
 * configuration, sampling, triggers and the dump at exit.
 */
#define _GNU_SOURCE
#include "../alloc/counters.h"
#include "../alloc/mi_layout.h"
#include "../alloc/mi_tuning.h"
#include "../gpu/gpu.h"
#include "config.h"
#include "dump.h"
#include "exec_env.h"
#include "log.h"
#include "profile.h"
#include "sampler.h"
#include "stacks.h"
#include "tags.h"
#include "triggers.h"
#include "version.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static atomic_int exit_dumped;

/* Locks are taken in the order a dump takes them (dump, tags, profile);
 * the allocator's registry lock comes last because its handlers were
 * registered first and prepare handlers run in reverse. */
static void fork_prepare(void) {
    hp_dump_lock();
    hp_stacks_fork_prepare();
    hp_tags_lock();
    hp_profile_lock();
}

static void fork_parent(void) {
    hp_profile_unlock();
    hp_tags_unlock();
    hp_stacks_fork_parent();
    hp_dump_unlock();
}

static void fork_child(void) {
    hp_stacks_fork_child();
    hp_profile_reset_lock();
    hp_tags_reset_lock();
    hp_dump_after_fork_child();
    hp_triggers_after_fork_child();
}

__attribute__((constructor)) static void runtime_start(void) {
    hp_log_capture_stderr();
    hp_alloc_init();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    hp_config_load();
    hp_log_set_level(hp_cfg.log_level);
    hp_log(HP_LOG_DEBUG, "mimalloc %d: %s", mi_version(),
           hp_mi_layout_ok ? "page layout verified, free() reads block sizes from it"
                           : "page layout not verified, free() asks mi_usable_size()");
    hp_mi_tune(hp_cfg.thp_arena);
    hp_tags_start(hp_cfg.tag);
    if (!hp_cfg.follow_exec) hp_exec_env_drop_preload();
    hp_sampler_start();
    hp_triggers_start();
    hp_gpu_autostart(); /* gpu/: HEAPPROF_GPU=1 or CUDA_INJECTION64_PATH naming us */
}

/* Runs from exit() after the program's atexit handlers, on whichever thread
 * called exit; a program that ends with _exit or a fatal signal gets none. */
__attribute__((destructor)) static void runtime_stop(void) {
    if (atomic_exchange(&exit_dumped, 1)) return;
    hp_thread_stop_sampling();
    hp_dump("exit");
}

HP_EXPORT int heapprof_stats(heapprof_stats_t *out, size_t size) {
    if (!out) return -1;
    heapprof_stats_t s;
    hp_counters_read(&s);
    memcpy(out, &s, size < sizeof s ? size : sizeof s);
    return 0;
}

HP_EXPORT int heapprof_dump(const char *reason) {
    return hp_dump(reason) == 0 ? 0 : -1;
}

HP_EXPORT const char *heapprof_version(void) {
    return HEAPPROF_VERSION;
}
