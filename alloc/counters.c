/*
 * Exact process counters: per-thread deltas (thread_state.h) folded into
 * global atomics in batches of at most HP_FLUSH_BYTES, a registry of live
 * threads so a reader can add the deltas not yet flushed, thread-exit and
 * fork handling.
 */
#define _GNU_SOURCE
#include "counters.h"
#include "big_cache.h"
#include "memory_bound.h"
#include "mi_layout.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "sampler_hooks.h"
#include "usable_size.h"

__thread hp_thread hp_self __attribute__((tls_model("initial-exec")));

static struct {
    _Atomic int64_t live, live_objs, peak, peak_objs;
    _Atomic uint64_t alloc_bytes, alloc_objs;
    _Atomic int64_t profiler_bytes;
    _Atomic uint64_t threads_seen;
} g;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static hp_thread *registry;
static pthread_key_t exit_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void atomic_max(_Atomic int64_t *slot, int64_t v) {
    int64_t cur = atomic_load_explicit(slot, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(slot, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

/* Thresholds for the next batch. An active thread goes slow after
 * HP_FLUSH_BYTES requested or freed, or at its next sample point, whichever
 * comes first; in any other mode every call goes slow. */
void hp_consume_countdown(hp_thread *t) {
    t->sample_left -= t->period - t->countdown;
    t->period = t->countdown;
}

void hp_arm(hp_thread *t) {
    /* Requests since the last arm count toward the next sample point: a
     * re-arm must not push the point back (heapprof_stats() and tag
     * switches re-arm at any time). */
    hp_consume_countdown(t);
    if (t->mode == HP_THREAD_ACTIVE && !t->internal && !t->busy) {
        int64_t next = t->sample_left < HP_FLUSH_BYTES ? t->sample_left : HP_FLUSH_BYTES;
        /* The sampler was (re)configured since this thread drew its distance:
         * go slow at once to draw again. */
        if (t->sampler_gen != hp_sampler_generation) next = 0;
        t->period = t->countdown = next < 0 ? 0 : next;
        t->live_floor = -HP_FLUSH_BYTES;
    } else {
        t->period = t->countdown = 0;
        t->live_floor = INT64_MAX;
    }
}

/* Moves t's pending deltas into the totals and clears them. The peak
 * candidate is the flushed total plus the highest point this batch reached:
 * exact for one thread, short by at most the other threads' unflushed
 * deltas (each < HP_FLUSH_BYTES + one block) when several allocate at once. */
void hp_flush(hp_thread *t) {
    /* Take the deltas out of the thread first: a reader adding up registered
     * threads may then briefly miss them, but never counts them twice. */
    int64_t live = t->live, live_max = t->live_max, objs = t->live_objs,
            objs_max = t->live_objs_max;
    uint64_t alloc_bytes = t->alloc_bytes, alloc_objs = t->alloc_objs;
    __atomic_store_n(&t->live, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&t->live_objs, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&t->alloc_bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&t->alloc_objs, 0, __ATOMIC_RELAXED);
    t->live_max = t->live_objs_max = 0;
    if (t->internal) {
        atomic_fetch_add_explicit(&g.profiler_bytes, live, memory_order_relaxed);
        return;
    }
    int64_t before = atomic_fetch_add_explicit(&g.live, live, memory_order_relaxed);
    int64_t before_objs = atomic_fetch_add_explicit(&g.live_objs, objs, memory_order_relaxed);
    atomic_max(&g.peak, before + live_max);
    atomic_max(&g.peak_objs, before_objs + objs_max);
    atomic_fetch_add_explicit(&g.alloc_bytes, alloc_bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&g.alloc_objs, alloc_objs, memory_order_relaxed);
    if (alloc_objs) hp_tag_account(t->tag, alloc_bytes, alloc_objs);
    if (HP_UNLIKELY(before + live_max > __atomic_load_n(&hp_peak_trigger_at, __ATOMIC_RELAXED)))
        hp_trigger_peak();
}

static void registry_add(hp_thread *t) {
    pthread_mutex_lock(&registry_lock);
    t->prev = NULL;
    t->next = registry;
    if (registry) registry->prev = t;
    registry = t;
    pthread_mutex_unlock(&registry_lock);
}

static void registry_remove_locked(hp_thread *t) {
    if (t->prev)
        t->prev->next = t->next;
    else
        registry = t->next;
    if (t->next) t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

/* Runs at thread exit, after C++ thread_local destructors. The thread
 * leaves the registry at once (its TLS is about to be freed) and is marked
 * retired: whatever later destructors and glibc's own teardown still
 * allocate or free goes straight to the totals, so nothing is lost and no
 * pass counting is needed. (A thread whose very first heap call happens in
 * glibc's last destructor pass is never seen here; that needs a first
 * allocation after every other key's cleanup, which no known library does.) */
static void on_thread_exit(void *arg) {
    hp_thread *t = arg;
    t->busy++;
    t->no_sample = 1; /* libraries sampling relies on are tearing down too */
    hp_flush(t);
    pthread_mutex_lock(&registry_lock);
    registry_remove_locked(t);
    pthread_mutex_unlock(&registry_lock);
    t->mode = HP_THREAD_RETIRED;
    t->busy--;
    hp_arm(t);
}

static void fork_prepare(void) {
    pthread_mutex_lock(&registry_lock);
    hp_big_fork_prepare();
}
static void fork_parent(void) {
    hp_big_fork_parent();
    pthread_mutex_unlock(&registry_lock);
}

/* The other threads do not exist in the child, but the memory they counted
 * does: fold their pending deltas (their TLS is still mapped here) and drop
 * them from the registry. */
static void fork_child(void) {
    hp_thread *self = &hp_self;
    for (hp_thread *t = registry, *next; t; t = next) {
        next = t->next;
        if (t == self) continue;
        hp_flush(t);
        registry_remove_locked(t);
    }
    hp_big_fork_child();
    pthread_mutex_init(&registry_lock, NULL);
}

static void init_once_body(void) {
    hp_memory_bound_init();
    hp_usable_table_init();
    hp_mi_layout_init();
    pthread_key_create(&exit_key, on_thread_exit);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void hp_alloc_init(void) {
    pthread_once(&init_once, init_once_body);
}

/* Called from a thread's first slow path. */
void hp_register_thread(hp_thread *t) {
    hp_alloc_init();
    t->mode = HP_THREAD_ACTIVE;
    if (!t->tag) t->tag = hp_tag_initial(); /* unless a tag was pushed before its first malloc */
    atomic_fetch_add_explicit(&g.threads_seen, 1, memory_order_relaxed);
    registry_add(t);
    pthread_setspecific(exit_key, t);
}

void hp_thread_stop_sampling(void) {
    hp_self.no_sample = 1;
}

void hp_internal_enter(void) {
    hp_thread *t = &hp_self;
    hp_flush(t);
    t->internal++;
    hp_arm(t);
}

void hp_internal_leave(void) {
    hp_thread *t = &hp_self;
    hp_flush(t);
    t->internal--;
    hp_arm(t);
}

void hp_profiler_bytes_add(int64_t delta) {
    atomic_fetch_add_explicit(&g.profiler_bytes, delta, memory_order_relaxed);
}

static int64_t peek(const int64_t *field) {
    return __atomic_load_n(field, __ATOMIC_RELAXED);
}

void hp_counters_each_pending(void (*fn)(uint32_t tag, uint64_t bytes, uint64_t objects, void *arg),
                              void *arg) {
    pthread_mutex_lock(&registry_lock);
    for (hp_thread *t = registry; t; t = t->next) {
        if (t->internal) continue;
        uint64_t objects = __atomic_load_n(&t->alloc_objs, __ATOMIC_RELAXED);
        if (objects)
            fn(__atomic_load_n(&t->tag, __ATOMIC_RELAXED),
               __atomic_load_n(&t->alloc_bytes, __ATOMIC_RELAXED), objects, arg);
    }
    pthread_mutex_unlock(&registry_lock);
}

void hp_counters_read(heapprof_stats_t *out) {
    hp_thread *self = &hp_self;
    if (!self->busy) {
        hp_flush(self);
        hp_arm(self);
    }
    int64_t live = 0, live_objs = 0, allocated = 0, alloc_objs = 0;
    pthread_mutex_lock(&registry_lock);
    for (hp_thread *t = registry; t; t = t->next) {
        if (t->internal) continue;
        live += peek(&t->live);
        live_objs += peek(&t->live_objs);
        allocated += peek((const int64_t *)&t->alloc_bytes);
        alloc_objs += peek((const int64_t *)&t->alloc_objs);
    }
    live += atomic_load(&g.live);
    live_objs += atomic_load(&g.live_objs);
    allocated += (int64_t)atomic_load(&g.alloc_bytes);
    alloc_objs += (int64_t)atomic_load(&g.alloc_objs);
    pthread_mutex_unlock(&registry_lock);

    int64_t peak = atomic_load(&g.peak), peak_objs = atomic_load(&g.peak_objs);
    memset(out, 0, sizeof *out);
    out->live_bytes = (uint64_t)live;
    out->live_objects = (uint64_t)live_objs;
    out->peak_bytes = (uint64_t)(peak > live ? peak : live);
    out->peak_objects = (uint64_t)(peak_objs > live_objs ? peak_objs : live_objs);
    out->alloc_bytes = (uint64_t)allocated;
    out->alloc_objects = (uint64_t)alloc_objs;
    out->freed_bytes = (uint64_t)(allocated - live);
    out->freed_objects = (uint64_t)(alloc_objs - live_objs);
    out->profiler_bytes = (uint64_t)atomic_load(&g.profiler_bytes);
    out->threads_seen = atomic_load(&g.threads_seen);
}
