/*
 * The fast stack walker of unwind.h. In full mode a stack is captured for
 * every allocation, and libunwind's unw_backtrace spent ~860 instructions
 * on a 9-frame stack (context capture, cursor set-up, ~65 per frame in its
 * trace cache); this walk costs ~45 per frame. It handles exactly the
 * frames libunwind's own fast trace handles (x86-64 "standard" frames, read
 * from .eh_frame by eh_frame.c), and says so when it meets any other, so
 * stacks come out identical.
 *
 * Memory safety: a walk reads only the calling thread's own stack, between
 * the current stack pointer and the top of the stack (learnt once per
 * thread); a frame that would read outside it ends the walk with FAIL. So
 * a stale rule (code unloaded and other code mapped at the same address
 * before the next fill notices, via dl_iterate_phdr's unload count) can
 * produce a wrong stack but never a fault.
 */
#define _GNU_SOURCE
#include "unwind.h"
#include "eh_frame.h"
#include "internal_alloc.h"

#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_stack_end;

/* ---- the cache: open addressing, filled under fill_lock, read lock-free ---- */

typedef struct rule_slot {
    _Atomic uintptr_t pc; /* 0 = empty; written after rule, with release */
    _Atomic uint64_t rule;
} rule_slot;

typedef struct rule_table {
    unsigned shift; /* 64 - log2(slots) */
    uint32_t mask;
    struct rule_table *retired; /* the smaller tables before it: readers may still hold them */
    rule_slot slot[];
} rule_table;

static _Atomic(rule_table *) rules;
static uint32_t rules_used;
static pthread_mutex_t fill_lock = PTHREAD_MUTEX_INITIALIZER;
/* Odd while the cache is being cleared; a walk that saw it change retries. */
static _Atomic uint32_t flush_seq;
static unsigned long long seen_subs; /* dl_iterate_phdr's count of unloads */

static inline uint32_t slot_of(const rule_table *t, uintptr_t pc) {
    return (uint32_t)((pc * 0x9E3779B97F4A7C15ULL) >> t->shift);
}

static inline uint64_t lookup(const rule_table *t, uintptr_t pc) {
    for (uint32_t i = slot_of(t, pc);; i = (i + 1) & t->mask) {
        uintptr_t k = atomic_load_explicit(&t->slot[i].pc, memory_order_acquire);
        if (k == pc) return atomic_load_explicit(&t->slot[i].rule, memory_order_relaxed);
        if (!k) return 0;
    }
}

/* The table as a walk reads it: its fields in registers, since the walk's
 * own stores (into pcs) could otherwise alias them. */
typedef struct table_view {
    const rule_slot *slot;
    unsigned shift;
    uint32_t mask;
} table_view;

static inline uint64_t view_lookup(table_view v, uintptr_t pc) {
    for (uint32_t i = (uint32_t)((pc * 0x9E3779B97F4A7C15ULL) >> v.shift);; i = (i + 1) & v.mask) {
        uintptr_t k = atomic_load_explicit(&v.slot[i].pc, memory_order_acquire);
        if (k == pc) return atomic_load_explicit(&v.slot[i].rule, memory_order_relaxed);
        if (!k) return 0;
    }
}

static void put(rule_table *t, uintptr_t pc, uint64_t rule) {
    uint32_t i = slot_of(t, pc);
    while (atomic_load_explicit(&t->slot[i].pc, memory_order_relaxed))
        i = (i + 1) & t->mask;
    atomic_store_explicit(&t->slot[i].rule, rule, memory_order_relaxed);
    atomic_store_explicit(&t->slot[i].pc, pc, memory_order_release);
}

static int insert_locked(uintptr_t pc, uint64_t rule) {
    rule_table *t = atomic_load_explicit(&rules, memory_order_relaxed);
    if (t && lookup(t, pc)) return 0;
    if (!t || (rules_used + 1) * 2 > t->mask + 1) {
        unsigned bits = t ? 64 - t->shift + 1 : 12;
        rule_table *n = hp_calloc(1, sizeof *n + (sizeof n->slot[0] << bits));
        if (!n) return -1;
        n->shift = 64 - bits;
        n->mask = (1u << bits) - 1;
        n->retired = t;
        if (t)
            for (uint32_t i = 0; i <= t->mask; i++) {
                uintptr_t k = atomic_load_explicit(&t->slot[i].pc, memory_order_relaxed);
                if (k) put(n, k, atomic_load_explicit(&t->slot[i].rule, memory_order_relaxed));
            }
        atomic_store_explicit(&rules, n, memory_order_release);
        t = n;
    }
    put(t, pc, rule);
    rules_used++;
    return 0;
}

static void flush_locked(void) {
    rule_table *t = atomic_load_explicit(&rules, memory_order_relaxed);
    if (!t) return;
    uint32_t s = atomic_load_explicit(&flush_seq, memory_order_relaxed);
    atomic_store_explicit(&flush_seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (uint32_t i = 0; i <= t->mask; i++)
        atomic_store_explicit(&t->slot[i].pc, 0, memory_order_relaxed);
    rules_used = 0;
    atomic_store_explicit(&flush_seq, s + 2, memory_order_release);
}

typedef struct find {
    uintptr_t pc;
    uint64_t rule;
    int found;
    unsigned long long subs, adds;
} find;

static unsigned long long seen_adds; /* dl_iterate_phdr's count of loads */
static unsigned forgets;             /* hp_unwind_forget calls; under fill_lock */

void hp_unwind_forget(void) {
    pthread_mutex_lock(&fill_lock);
    flush_locked();
    forgets++;
    pthread_mutex_unlock(&fill_lock);
}

/* dlclose's forget takes the fill lock outside the capture gate, so fork
 * holds it too: the child must not inherit it taken. */
void hp_unwind_fork_prepare(void) {
    pthread_mutex_lock(&fill_lock);
}
void hp_unwind_fork_parent(void) {
    pthread_mutex_unlock(&fill_lock);
}
void hp_unwind_fork_child(void) {
    pthread_mutex_init(&fill_lock, NULL);
}

/* Runs under glibc's loader lock, which keeps the module mapped while its
 * rule is read; it neither allocates nor takes a lock of ours. */
static int find_module(struct dl_phdr_info *info, size_t size, void *arg) {
    find *f = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        f->subs = info->dlpi_subs, f->adds = info->dlpi_adds;
    const ElfW(Phdr) *eh = NULL;
    int inside = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_EH_FRAME)
            eh = ph;
        else if (ph->p_type == PT_LOAD && f->pc >= info->dlpi_addr + ph->p_vaddr &&
                 f->pc < info->dlpi_addr + ph->p_vaddr + ph->p_memsz)
            inside = 1;
    }
    if (!inside) return 0;
    f->found = 1;
    f->rule = hp_eh_frame_rule(eh ? (const uint8_t *)(info->dlpi_addr + eh->p_vaddr) : NULL, f->pc);
    return 1;
}

/* The fill lock is not held across dl_iterate_phdr: a thread inside
 * dl_iterate_phdr (holding glibc's loader lock) whose callback allocates may
 * come here for the lock, and taking the two locks in the other order would
 * deadlock (Rust's backtrace capture does that, for one). A dlclose between
 * the lookup and the insert is seen through `forgets`, and the rule dropped. */
void hp_unwind_fill(uintptr_t pc) {
    pthread_mutex_lock(&fill_lock);
    unsigned forgets_before = forgets;
    pthread_mutex_unlock(&fill_lock);
    find f = {pc, 0, 0, 0, 0};
    dl_iterate_phdr(find_module, &f);
    if (!f.found) f.rule = hp_eh_frame_rule(NULL, pc);
    pthread_mutex_lock(&fill_lock);
    /* A module was unloaded (its rules may be stale) or loaded (where a
     * cached "no unwind info" may now have some): start afresh. dlclose
     * also flushes at once (unload.c), so an unloaded module's rules never
     * serve a library mapped at its address. */
    if (f.subs != seen_subs || f.adds != seen_adds) {
        flush_locked();
        seen_subs = f.subs, seen_adds = f.adds;
    }
    if (forgets == forgets_before) insert_locked(pc, f.rule);
    pthread_mutex_unlock(&fill_lock);
}

/* ---- the walk ---- */

/* The calling thread's stack: [lo, hi); hi = 1 when it cannot be known. */
static __thread uintptr_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_hi __attribute__((tls_model("initial-exec")));

/* Parses a hex number at *p, advancing it. */
static uintptr_t parse_hex(const char **p, const char *end) {
    uintptr_t v = 0;
    for (; *p < end; (*p)++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) break;
        v = v << 4 | (uintptr_t)d;
    }
    return v;
}

/* Whether the maps line starting at line (text up to end) is a range
 * "start-stop" holding addr; if so, stores the range. */
static int range_holds(const char *line, const char *end, uintptr_t addr, uintptr_t *lo,
                       uintptr_t *hi) {
    const char *p = line;
    uintptr_t start = parse_hex(&p, end);
    if (p >= end || *p != '-') return 0;
    p++;
    uintptr_t stop = parse_hex(&p, end);
    if (p >= end || addr < start || addr >= stop) return 0;
    *lo = start, *hi = stop;
    return 1;
}

/* The mapping of /proc/self/maps that contains addr. Raw system calls into a
 * stack buffer: this runs inside malloc, possibly while glibc holds one of
 * its own locks (pthread_getattr_np, which would tell the stack's bounds,
 * takes the thread's lock and calls realloc under it: a self-deadlock seen
 * in the JVM), and must be neither a cancellation point nor allocate. */
static int mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[1024];
    size_t have = 0;
    int found = 0, skipping = 0; /* skipping: the rest of an over-long line */
    while (!found) {
        long n = syscall(SYS_read, fd, buf + have, sizeof buf - have);
        if (n <= 0) break;
        have += (size_t)n;
        const char *line = buf, *end = buf + have, *nl;
        while (!found && (nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
            found = !skipping && range_holds(line, nl, addr, lo, hi);
            skipping = 0;
            line = nl + 1;
        }
        have = (size_t)(end - line);
        if (have == sizeof buf) { /* no newline in a full buffer: read its start, skip the rest */
            found = found || (!skipping && range_holds(buf, end, addr, lo, hi));
            skipping = 1;
            have = 0;
        }
        memmove(buf, line, have);
    }
    syscall(SYS_close, fd);
    return found ? 0 : -1;
}

int hp_unwind_thread_init(void) {
    uintptr_t lo = 0, hi = 1;
    if (syscall(SYS_gettid) == getpid()) {
        /* The main thread: everything from the stack pointer up to the
         * arguments the kernel put at its top is mapped. Below the top, the
         * kernel keeps RLIMIT_STACK free of other mappings. */
        hi = ((uintptr_t)__libc_stack_end + 4095) & ~(uintptr_t)4095;
        struct rlimit rl;
        uintptr_t limit = (uintptr_t)1 << 30;
        if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur < limit)
            limit = rl.rlim_cur;
        lo = hi > limit ? hi - limit : 0;
    } else {
        /* Another thread: the mapping its stack pointer is in (glibc puts the
         * thread's descriptor and TLS at the top of the same mapping, so the
         * whole range is readable). */
        uintptr_t here = (uintptr_t)__builtin_frame_address(0);
        if (mapping_of(here, &lo, &hi) != 0) lo = 0, hi = 1;
    }
    stack_lo = lo;
    stack_hi = hi;
    return hi > 1 ? 0 : -1;
}

/*
 * Replaying the thread's previous walk. A walk is a function of where it
 * starts (the stack pointer, and rbp if a rule used it before reloading it
 * from the stack), of its parameters, of the rules (unchanged while
 * flush_seq is) and of the stack words it reads. Allocations in a loop walk
 * the same stack over and over: when every word the previous walk read
 * still holds what it read, the result is the same, confirmed at a load and
 * a compare per word instead of a rule lookup and a step per frame. The
 * words are kept in the thread's own TLS (~850 bytes; only this thread's stack
 * between its stack pointer and top, so the loads cannot fault); a walk
 * reading more than REPLAY_READS words is not kept.
 */
#define REPLAY_READS 32
typedef struct walk_record {
    uint64_t id, ids; /* id of the walk kept (0: none); ids handed out */
    uint32_t misses;  /* walks in a row that replay did not serve */
    uintptr_t sp, fp, skip_lo, skip_hi;
    uint32_t seq;
    int max, limit, n, nreads, fp_used;
    const uintptr_t *addr[REPLAY_READS];
    uintptr_t val[REPLAY_READS];
    uintptr_t pcs[REPLAY_READS]; /* its result: n <= the words read */
} walk_record;
static __thread walk_record last_walk __attribute__((tls_model("initial-exec")));

/* What the current walk read so far. rbp's value matters only where a
 * rule uses it (compilers that omit frame pointers keep anything in rbp,
 * which frames save and restore), so the word it was loaded from (or its
 * value at the start, fp_at 0) joins the key at its first use. */
typedef struct recorder {
    int k;           /* words kept */
    int fp_used;     /* the walk used rbp's starting value */
    int fp_kept;     /* rbp's current value is part of the key already */
    uintptr_t fp_at; /* where rbp's current value was read (0: at the start) */
} recorder;

/* (Callers stop keeping words two short of REPLAY_READS: a step keeps at
 * most two.) */
static inline __attribute__((always_inline)) void keep_word(recorder *rec, uintptr_t at,
                                                            uintptr_t v) {
    last_walk.addr[rec->k] = (const uintptr_t *)at;
    last_walk.val[rec->k] = v;
    rec->k++;
}

static inline __attribute__((always_inline)) void use_fp(recorder *rec, uintptr_t fp, int keep) {
    if (!keep || rec->fp_kept) return;
    rec->fp_kept = 1;
    if (rec->fp_at)
        keep_word(rec, rec->fp_at, fp);
    else
        rec->fp_used = 1;
}

/* One frame outwards: from the frame at *pc (stack pointer *sp, rbp *fp)
 * to its caller; *ra is the return address. Returns 1 on success, 0 at the
 * end of the chain, or FAIL / MISS. */
enum { STEP_END = 0, STEP_OK = 1 };
static inline __attribute__((always_inline)) int step(table_view t, uintptr_t *pc, uintptr_t *sp,
                                                      uintptr_t *fp, uintptr_t hi, uintptr_t *ra,
                                                      uintptr_t *miss, recorder *rec,
                                                      const int keep) {
    uint64_t r = view_lookup(t, *pc);
    if (__builtin_expect(HP_RULE_KIND(r) != HP_RULE_STANDARD, 0)) {
        if (!r) {
            *miss = *pc;
            return HP_UNWIND_MISS;
        }
        if (HP_RULE_KIND(r) == HP_RULE_LAST) return STEP_END;
        /* No unwind information: libunwind takes rbp = 0 as the end of the
         * chain (a _start without CFI), and guesses otherwise. */
        use_fp(rec, *fp, keep);
        if ((r & HP_RULE_NO_FDE) && *fp == 0) return STEP_END;
        return HP_UNWIND_FAIL;
    }
    if (r & HP_RULE_CFA_RBP) use_fp(rec, *fp, keep);
    uintptr_t cfa = ((r & HP_RULE_CFA_RBP) ? *fp : *sp) + (uintptr_t)HP_RULE_CFA_OFF(r);
    /* Strictly up the stack and inside it: sp < cfa <= hi, so the return
     * address at cfa - 8 lies in [sp, hi). */
    if (__builtin_expect(cfa <= *sp || cfa > hi, 0)) return HP_UNWIND_FAIL;
    uintptr_t a = *(const uintptr_t *)(cfa - 8);
    if (keep) keep_word(rec, cfa - 8, a);
    if (r & HP_RULE_RBP_SAVED) {
        uintptr_t at = cfa + (uintptr_t)HP_RULE_RBP_OFF(r);
        if (__builtin_expect(at < *sp || at > hi - 8, 0)) return HP_UNWIND_FAIL;
        *fp = *(const uintptr_t *)at;
        if (keep) {
            rec->fp_at = at;
            rec->fp_kept = 0;
        }
    }
    *sp = cfa;
    if (a < 0x4000) return STEP_END; /* as libunwind: a bogus address ends the trace */
    *ra = a;
    *pc = a - 1; /* the call instruction: a return address may begin another function */
    return STEP_OK;
}

/* The previous walk's result, if it started here and every word it read
 * is unchanged: its frame count, else -1. */
static inline int replay(uintptr_t *pcs, int max, int limit, uintptr_t skip_lo, uintptr_t skip_hi,
                         uintptr_t sp, uintptr_t fp, uint32_t seq) {
    const walk_record *w = &last_walk;
    if (!w->id || w->sp != sp || w->seq != seq || w->max != max || w->limit != limit ||
        w->skip_lo != skip_lo || w->skip_hi != skip_hi || (w->fp_used && w->fp != fp))
        return -1;
    for (int i = 0; i < w->nreads; i++)
        if (*w->addr[i] != w->val[i]) return -1;
    memcpy(pcs, w->pcs, (size_t)w->n * sizeof pcs[0]);
    return w->n;
}

static int walk_plain(table_view t, uintptr_t pc, uintptr_t sp, uintptr_t fp, uintptr_t hi,
                      uintptr_t *pcs, int max, int limit, uintptr_t skip_lo, uintptr_t skip_hi,
                      uintptr_t *miss, uint32_t seq, uint64_t *walk_id);

/* The walk proper, from the state (pc, sp, fp). With keep, the words it
 * reads are kept in last_walk (up to REPLAY_READS of them) for replay. */
static inline __attribute__((always_inline)) int
walk(table_view t, uintptr_t pc, uintptr_t sp, uintptr_t fp, uintptr_t hi, uintptr_t *pcs, int max,
     int limit, uintptr_t skip_lo, uintptr_t skip_hi, uintptr_t *miss, uint32_t seq,
     uint64_t *walk_id, const int keep) {
    const uintptr_t sp0 = sp, fp0 = fp;
    recorder rec = {0, 0, 0, 0};
    uintptr_t ra = 0;
    int n = 0, rc, walked = 0;
    if (keep) last_walk.id = 0; /* its words are overwritten from here on */
    /* the leading frames to leave out, then the ones to record */
    do
        rc = step(t, &pc, &sp, &fp, hi, &ra, miss, &rec, keep);
    while (rc == STEP_OK && ++walked < limit && ra - skip_lo < skip_hi - skip_lo &&
           (!keep || rec.k <= REPLAY_READS - 2));
    if (keep && rc == STEP_OK && rec.k > REPLAY_READS - 2 && ra - skip_lo < skip_hi - skip_lo)
        return walk_plain(t, pc, sp, fp, hi, pcs, max, limit - walked, skip_lo, skip_hi, miss, seq,
                          walk_id);
    if (rc == STEP_OK && ra - skip_lo >= skip_hi - skip_lo) {
        do
            pcs[n++] = ra;
        while (n < max && (!keep || rec.k <= REPLAY_READS - 2) && ++walked < limit &&
               (rc = step(t, &pc, &sp, &fp, hi, &ra, miss, &rec, keep)) == STEP_OK);
        if (keep && rc == STEP_OK && n < max && rec.k > REPLAY_READS - 2) {
            /* too deep to keep: on without keeping */
            rec.k = REPLAY_READS + 1;
            while (n < max && ++walked < limit &&
                   (rc = step(t, &pc, &sp, &fp, hi, &ra, miss, &rec, 0)) == STEP_OK)
                pcs[n++] = ra;
        }
    }
    if (rc < 0) return rc;
    *walk_id = 0;
    if (keep && rec.k <= REPLAY_READS) { /* kept for the next walk from here */
        walk_record *w = &last_walk;
        w->sp = sp0, w->fp = fp0, w->skip_lo = skip_lo, w->skip_hi = skip_hi;
        w->seq = seq, w->max = max, w->limit = limit, w->n = n;
        w->nreads = rec.k, w->fp_used = rec.fp_used;
        memcpy(w->pcs, pcs, (size_t)n * sizeof pcs[0]);
        w->id = *walk_id = ++w->ids;
    }
    return n;
}

/* Two copies, so that the one not keeping words carries none of it (noinline:
 * otherwise the compiler merges them back into one with keep a variable). */
static __attribute__((noinline)) int walk_plain(table_view t, uintptr_t pc, uintptr_t sp,
                                                uintptr_t fp, uintptr_t hi, uintptr_t *pcs, int max,
                                                int limit, uintptr_t skip_lo, uintptr_t skip_hi,
                                                uintptr_t *miss, uint32_t seq, uint64_t *walk_id) {
    return walk(t, pc, sp, fp, hi, pcs, max, limit, skip_lo, skip_hi, miss, seq, walk_id, 0);
}

static __attribute__((noinline)) int walk_kept(table_view t, uintptr_t pc, uintptr_t sp,
                                               uintptr_t fp, uintptr_t hi, uintptr_t *pcs, int max,
                                               int limit, uintptr_t skip_lo, uintptr_t skip_hi,
                                               uintptr_t *miss, uint32_t seq, uint64_t *walk_id) {
    return walk(t, pc, sp, fp, hi, pcs, max, limit, skip_lo, skip_hi, miss, seq, walk_id, 1);
}

__attribute__((noinline)) int hp_unwind(uintptr_t *pcs, int max, int limit, uintptr_t skip_lo,
                                        uintptr_t skip_hi, uintptr_t *miss, uint64_t *walk_id) {
    const uintptr_t lo = stack_lo, hi = stack_hi;
    if (!hi) return HP_UNWIND_NO_BOUNDS;
    if (max <= 0) return 0;
    uintptr_t pc, sp, fp;
    /* This frame's own state; its rule is looked up at this very pc (not a
     * return address, so no minus one). */
    __asm__ volatile("leaq 0(%%rip), %0\n\tmovq %%rsp, %1\n\tmovq %%rbp, %2"
                     : "=r"(pc), "=r"(sp), "=r"(fp));
    if (sp < lo || sp >= hi) return HP_UNWIND_FAIL;
    uint32_t seq = atomic_load_explicit(&flush_seq, memory_order_acquire);
    const rule_table *rt = atomic_load_explicit(&rules, memory_order_acquire);
    if ((seq & 1) || !rt) {
        *miss = pc;
        return (seq & 1) ? HP_UNWIND_FAIL : HP_UNWIND_MISS;
    }
    walk_record *w = &last_walk;
    int n = replay(pcs, max, limit, skip_lo, skip_hi, sp, fp, seq);
    if (n >= 0) {
        w->misses = 0;
        *walk_id = w->id;
    } else {
        const table_view t = {rt->slot, rt->shift, rt->mask};
        /* Where consecutive walks keep differing, keeping them is wasted:
         * then only every 8th is kept, enough to catch the next loop. */
        if (w->misses < 2 || !(w->misses & 15))
            n = walk_kept(t, pc, sp, fp, hi, pcs, max, limit, skip_lo, skip_hi, miss, seq, walk_id);
        else
            n = walk_plain(t, pc, sp, fp, hi, pcs, max, limit, skip_lo, skip_hi, miss, seq,
                           walk_id);
        if (n < 0) return n; /* the retry after a fill is the same walk */
        w->misses++;
    }
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&flush_seq, memory_order_relaxed) != seq) return HP_UNWIND_FAIL;
    return n;
}
