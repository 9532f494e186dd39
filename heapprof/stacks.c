#define _GNU_SOURCE
#include "stacks.h"
#include "fd_high.h"
#include "../alloc/counters.h"
#include "internal_alloc.h"
#include "log.h"
#include "pipe_interpose.h"
#include "unwind.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

static uintptr_t self_lo, self_hi;

static int find_self(struct dl_phdr_info *info, size_t size, void *base) {
    (void)size;
    if ((void *)info->dlpi_addr != base) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (!self_lo || lo < self_lo) self_lo = lo;
        if (hi > self_hi) self_hi = hi;
    }
    return 1;
}

/*
 * libunwind opens a pipe the first time it runs and validates addresses by
 * write(2)ing through it (when it falls back from its fast path). Left
 * alone, that pipe takes the lowest free descriptors — 3 and 4 in most
 * programs — at whatever moment the first sample happens, and a program
 * that later closes all its descriptors could reuse those numbers for its
 * own files, which libunwind would then write into.
 *
 * So libunwind is started here, once, and the pipe it creates is moved to
 * just below 1024 (or the descriptor limit), out of the program's way,
 * close-on-exec (pipe_interpose.c). Before each capture the pipe is checked
 * (one fstat): if the program closed it, a fresh pipe is put back on the
 * same numbers; if it reused them, captures stop rather than write into the
 * program's files.
 */
static int pipe_fds[2] = {-1, -1};
static ino_t pipe_ino;
static int unwinder_ok = 1;

static int is_fifo(int fd, ino_t *ino) {
    struct stat st;
    if (fstat(fd, &st) || !S_ISFIFO(st.st_mode)) return 0;
    if (ino) *ino = st.st_ino;
    return 1;
}

static void start_unwinder_out_of_the_way(void) {
    long top = hp_fd_top();
    /* unw_init_local starts libunwind (and opens its pipe, moved up by
     * pipe_interpose.c) without unw_backtrace's per-thread trace cache,
     * 256 KiB resident in every sampling process. */
    hp_pipe_relocate_begin((int)(top > 2 * HP_FD_PIPE_SLOTS ? top - HP_FD_PIPE_SLOTS : 3));
    unw_context_t context;
    unw_cursor_t cursor;
    if (unw_getcontext(&context) == 0) unw_init_local(&cursor, &context);
    hp_pipe_relocate_end(pipe_fds);
    if (pipe_fds[0] >= 0 && !is_fifo(pipe_fds[0], &pipe_ino)) pipe_fds[0] = pipe_fds[1] = -1;
}

/* Puts a new pipe on the numbers libunwind remembers, if they are free. */
static int restore_pipe(void) {
    if (fcntl(pipe_fds[0], F_GETFD) != -1 || fcntl(pipe_fds[1], F_GETFD) != -1) return -1;
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) return -1;
    int ok = dup3(p[0], pipe_fds[0], O_CLOEXEC) == pipe_fds[0] &&
             dup3(p[1], pipe_fds[1], O_CLOEXEC) == pipe_fds[1];
    close(p[0]);
    close(p[1]);
    if (!ok) return -1;
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK);
    return is_fifo(pipe_fds[0], &pipe_ino) ? 0 : -1;
}

/* False once the program has taken libunwind's descriptors for itself.
 * Checked on every 64th capture: an fstat is a system call, and in full mode
 * a capture happens per allocation. The window this leaves needs a program
 * that closes descriptors near 1024 and reopens files on exactly those
 * numbers within 64 samples, while libunwind is off its fast path. */
static int unwinder_intact(void) {
    static _Atomic unsigned captures;
    if (pipe_fds[0] < 0 || !unwinder_ok) return unwinder_ok;
    if (atomic_fetch_add_explicit(&captures, 1, memory_order_relaxed) % 64) return 1;
    ino_t ino;
    if (is_fifo(pipe_fds[1], &ino) && ino == pipe_ino) return 1;
    if (restore_pipe() == 0) return 1;
    unwinder_ok = 0;
    hp_info("the program reused the descriptors of libunwind's pipe (%d, %d); stack capture "
            "is off from now on", pipe_fds[0], pipe_fds[1]);
    return 0;
}

void hp_stacks_init(void) {
    Dl_info info;
    if (dladdr((void *)hp_stacks_init, &info) && info.dli_fbase)
        dl_iterate_phdr(find_self, info.dli_fbase);
    start_unwinder_out_of_the_way();
}

static int is_ours(uintptr_t pc) { return pc >= self_lo && pc < self_hi; }

/* libunwind keeps process-wide caches under its own locks. A fork while
 * another thread is inside unw_backtrace would leave them locked in the
 * child, whose first sample would then hang; so fork waits for captures in
 * flight (writers first, so a busy full-mode process cannot starve it). */
static pthread_rwlock_t capture_gate;
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;

static void gate_init(void) {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&capture_gate, &attr);
    pthread_rwlockattr_destroy(&attr);
}

void hp_stacks_fork_prepare(void) {
    pthread_once(&gate_once, gate_init);
    pthread_rwlock_wrlock(&capture_gate);
    hp_unwind_fork_prepare();
}

void hp_stacks_fork_parent(void) {
    hp_unwind_fork_parent();
    pthread_rwlock_unlock(&capture_gate);
}

void hp_stacks_fork_child(void) {
    hp_unwind_fork_child();
    gate_init();
}

void hp_stacks_hold_fork(void) {
    pthread_once(&gate_once, gate_init);
    pthread_rwlock_rdlock(&capture_gate);
}

void hp_stacks_release_fork(void) { pthread_rwlock_unlock(&capture_gate); }

/* libunwind, for the stacks the fast walker leaves to it. What it
 * allocates while capturing (its caches) is the profiler's. */
static int capture_libunwind(uintptr_t *pcs, int max) {
    if (!unwinder_intact()) return 0;
    hp_internal_enter();
    pthread_once(&gate_once, gate_init);
    pthread_rwlock_rdlock(&capture_gate);
    int n = unw_backtrace((void **)pcs, max);
    pthread_rwlock_unlock(&capture_gate);
    hp_internal_leave();
    return n;
}

/* The fast walker (unwind.c), taught the rules it misses as it meets them.
 * A miss costs a module lookup and an .eh_frame parse, once per return
 * address in the life of the process. */
static int capture_fast(uintptr_t *pcs, int max, uint64_t *walk) {
    for (int tries = 0; tries < max + HP_OWN_FRAMES_MAX + 8; tries++) {
        uintptr_t miss = 0;
        int n = hp_unwind(pcs, max, max + HP_OWN_FRAMES_MAX, self_lo, self_hi, &miss, walk);
        if (n >= 0 || n == HP_UNWIND_FAIL) return n;
        pthread_once(&gate_once, gate_init);
        pthread_rwlock_rdlock(&capture_gate); /* fills walk the loader's list */
        if (n == HP_UNWIND_MISS) {
            hp_unwind_fill(miss);
        } else {
            hp_internal_enter(); /* glibc may allocate to describe the thread */
            hp_unwind_thread_init();
            hp_internal_leave();
        }
        pthread_rwlock_unlock(&capture_gate);
    }
    return HP_UNWIND_FAIL;
}

/* libunwind's stack, without the profiler's leading frames. */
static int capture_slow(uintptr_t *pcs, int max) {
    int n = capture_libunwind(pcs, max + HP_OWN_FRAMES_MAX);
    int skip = 0;
    while (skip < n && is_ours(pcs[skip])) skip++;
    int depth = n - skip < max ? n - skip : max;
    memmove(pcs, pcs + skip, (size_t)depth * sizeof pcs[0]);
    return depth;
}

int hp_stack_capture(uintptr_t *pcs, int max, uint64_t *walk) {
    uint64_t w = 0;
    int n = capture_fast(pcs, max, &w);
    if (n < 0) {
        w = 0;
        n = capture_slow(pcs, max);
    }
    if (walk) *walk = w;
    return n;
}

/* Open addressing, linear probing, power-of-two capacity, at most half
 * full. Lookups take no lock: a slot, once set, never changes, and a grown
 * table is published whole. The smaller tables stay readable, since a reader
 * may still be in one (together they are smaller than the current one).
 * Inserts happen under the profile lock. */
typedef struct stack_table {
    uint32_t cap;
    struct stack_table *retired;
    _Atomic(hp_stack *) slot[];
} stack_table;

static _Atomic(stack_table *) table;
static uint32_t count;

static int grow(void) {
    stack_table *old = atomic_load_explicit(&table, memory_order_relaxed);
    uint32_t new_cap = old ? old->cap * 2 : 4096;
    stack_table *t = hp_calloc(1, sizeof *t + new_cap * sizeof t->slot[0]);
    if (!t) return -1;
    t->cap = new_cap;
    t->retired = old;
    for (uint32_t i = 0; old && i < old->cap; i++) {
        hp_stack *s = atomic_load_explicit(&old->slot[i], memory_order_relaxed);
        if (!s) continue;
        uint32_t j = (uint32_t)s->hash & (new_cap - 1);
        while (atomic_load_explicit(&t->slot[j], memory_order_relaxed)) j = (j + 1) & (new_cap - 1);
        atomic_store_explicit(&t->slot[j], s, memory_order_relaxed);
    }
    atomic_store_explicit(&table, t, memory_order_release);
    return 0;
}

uint64_t hp_stack_hash(const uintptr_t *pcs, int depth) {
    return XXH3_64bits(pcs, (size_t)depth * sizeof pcs[0]);
}

static hp_stack *probe(const stack_table *t, const uintptr_t *pcs, int depth, uint64_t h,
                       uint32_t *empty) {
    size_t bytes = (size_t)depth * sizeof pcs[0];
    uint32_t j = (uint32_t)h & (t->cap - 1);
    for (hp_stack *s; (s = atomic_load_explicit(&t->slot[j], memory_order_acquire)) != NULL;
         j = (j + 1) & (t->cap - 1))
        if (s->hash == h && s->depth == (uint32_t)depth && !memcmp(s->pcs, pcs, bytes)) return s;
    if (empty) *empty = j;
    return NULL;
}

hp_stack *hp_stack_find(const uintptr_t *pcs, int depth, uint64_t h) {
    const stack_table *t = atomic_load_explicit(&table, memory_order_acquire);
    return t ? probe(t, pcs, depth, h, NULL) : NULL;
}

hp_stack *hp_stack_intern_hashed(const uintptr_t *pcs, int depth, uint64_t h) {
    stack_table *t = atomic_load_explicit(&table, memory_order_relaxed);
    uint32_t j = 0;
    hp_stack *s = t ? probe(t, pcs, depth, h, &j) : NULL;
    if (s) return s;
    if (!t || (count + 1) * 2 > t->cap) {
        if (grow()) return NULL;
        t = atomic_load_explicit(&table, memory_order_relaxed);
        probe(t, pcs, depth, h, &j);
    }
    size_t bytes = (size_t)depth * sizeof pcs[0];
    s = hp_malloc(sizeof *s + bytes);
    if (!s) return NULL;
    s->hash = h;
    s->id = ++count;
    s->depth = (uint32_t)depth;
    atomic_init(&s->site_hint, NULL);
    memcpy(s->pcs, pcs, bytes);
    atomic_store_explicit(&t->slot[j], s, memory_order_release);
    return s;
}

hp_stack *hp_stack_intern(const uintptr_t *pcs, int depth) {
    return hp_stack_intern_hashed(pcs, depth, hp_stack_hash(pcs, depth));
}

uint32_t hp_stack_count(void) { return count; }

uintptr_t *hp_stack_pcs_in_range(uintptr_t lo, uintptr_t hi, size_t *count) {
    size_t n = 0, cap = 0;
    uintptr_t *out = NULL;
    const stack_table *t = atomic_load_explicit(&table, memory_order_relaxed);
    for (uint32_t i = 0; t && i < t->cap; i++) {
        const hp_stack *s = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (!s) continue;
        for (uint32_t f = 0; f < s->depth; f++) {
            if (s->pcs[f] < lo || s->pcs[f] >= hi) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                uintptr_t *t = hp_realloc(out, cap * sizeof *t);
                if (!t) {
                    *count = n;
                    return out;
                }
                out = t;
            }
            out[n++] = s->pcs[f];
        }
    }
    *count = n;
    return out;
}
