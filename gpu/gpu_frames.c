/*
 * A GPU allocation is reported from inside the driver: the callback runs on
 * the calling thread, below CUPTI's dispatcher and libcuda's internals.
 * Those frames are the same for every allocation and say nothing about who
 * allocated, so the leading frames that lie in libcupti or libcuda are
 * dropped (after libheapprof's own, which hp_stack_capture drops), and a
 * stack starts at the CUDA API call: cudaMalloc inside libcudart, or the
 * program's own call of a driver function.
 */
#define _GNU_SOURCE
#include "gpu_frames.h"
#include "../alloc/counters.h"
#include "../heapprof/config.h"
#include "../heapprof/profile.h"
#include "../heapprof/sampler.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

typedef struct range {
    uintptr_t lo, hi;
} range;

#define MAX_RANGES 8
static range skip[MAX_RANGES];
static int nskip;
static pthread_once_t driver_once = PTHREAD_ONCE_INIT;

struct find {
    uintptr_t base;     /* match by load address, or */
    const char *prefix; /* by file name prefix */
};

static int add_object(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    const struct find *f = arg;
    if (f->prefix) {
        const char *name = info->dlpi_name, *slash = name ? strrchr(name, '/') : NULL;
        const char *base = slash ? slash + 1 : name;
        if (!base || strncmp(base, f->prefix, strlen(f->prefix))) return 0;
    } else if (info->dlpi_addr != f->base) {
        return 0;
    }
    range r = {UINTPTR_MAX, 0};
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (lo < r.lo) r.lo = lo;
        if (hi > r.hi) r.hi = hi;
    }
    if (r.hi && nskip < MAX_RANGES) skip[nskip++] = r;
    return 0; /* keep going: libcuda may be mapped under two names */
}

/* libcuda is loaded by the time the driver reports anything. */
static void find_driver(void) {
    struct find f = {0, "libcuda.so"};
    dl_iterate_phdr(add_object, &f);
}

void hp_gpu_frames_init(const void *cupti_symbol) {
    /* With sampling off the sampler has not set up stack capture. */
    if (hp_sampler_rate() <= 0) hp_stacks_init();
    Dl_info info;
    if (cupti_symbol && dladdr(cupti_symbol, &info) && info.dli_fbase) {
        struct find f = {(uintptr_t)info.dli_fbase, NULL};
        dl_iterate_phdr(add_object, &f);
    }
}

static int skipped(uintptr_t pc) {
    for (int i = 0; i < nskip; i++)
        if (pc >= skip[i].lo && pc < skip[i].hi) return 1;
    return 0;
}

const hp_stack *hp_gpu_frames_here(void) {
    pthread_once(&driver_once, find_driver);
    uintptr_t pcs[HP_MAX_DEPTH + HP_OWN_FRAMES_MAX];
    int max = hp_cfg.depth + 2 * HP_OWN_FRAMES_MAX; /* room for the frames dropped below */
    if (max > HP_MAX_DEPTH) max = HP_MAX_DEPTH;
    /* As when the sampler captures inside malloc's slow path: what libunwind
     * allocates meanwhile is the profiler's, and is recorded as such (busy
     * marks the thread as inside a slow path), so that its later free is not
     * taken off the program's counters. */
    hp_thread *t = &hp_self;
    t->busy++;
    hp_internal_enter();
    int n = hp_stack_capture(pcs, max, NULL);
    hp_internal_leave();
    t->busy--;
    hp_arm(t);
    int drop = 0;
    while (drop < n && skipped(pcs[drop]))
        drop++;
    int depth = n - drop < hp_cfg.depth ? n - drop : hp_cfg.depth;
    hp_profile_lock(); /* the stack table is the host profile's */
    const hp_stack *st = hp_stack_intern(pcs + drop, depth);
    hp_profile_unlock();
    return st;
}
