#define _GNU_SOURCE
#include "profile.h"
#include "internal_alloc.h"
#include "lock.h"
#include "../alloc/counters.h"
#include "../alloc/sampled_pages.h"

#include <sched.h>
#include <string.h>
#include <sys/mman.h>

typedef struct site {
    const hp_stack *stack;
    uint32_t tag, labels;
    uint64_t peak_epoch; /* global peak epoch when gpeak_* was last brought up to date */
    hp_site_values v;
    double live_weighted_start; /* sum of w * t_alloc over live blocks */
} site;

typedef struct live_block {
    uintptr_t ptr; /* 0 = empty slot */
    site *site;
    double weight;
    uint64_t usable, requested;
    uint64_t t_alloc_ns;
} live_block;

/*
 * Locking. One lock guards the live table, the sites, the stack table's
 * inserts, the per-tag estimates and the totals, taken once per sampled
 * event for ~150 instructions: the slot of the live table to touch is
 * prefetched before (hp_profile_prefetch), and stack capture, hashing and
 * finding a known stack and site happen outside it. (Striping the live
 * table by page, with a lock per stripe, was measured: on two cores it was
 * slower for one thread and no faster for four, an extra lock per event
 * for contention that short critical sections do not have.)
 */
static hp_lock lock;

/* Sites: open addressing on (stack id, tag, labels). */
static site **sites;
static uint32_t site_cap, site_count;
/* Per-tag estimates, indexed by tag id. */
static hp_tag_estimate *tag_est;
static uint32_t tag_cap;

static double total_bytes, total_objs, peak_total_bytes;
static uint64_t peak_epoch, peak_at_ns, samples_taken, live_samples;

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static uint64_t site_hash(const hp_stack *st, uint32_t tag, uint32_t labels) {
    return mix(st->hash ^ ((uint64_t)tag << 32 | labels));
}

static int grow_sites(void) {
    uint32_t cap = site_cap ? site_cap * 2 : 1024;
    site **t = hp_calloc(cap, sizeof *t);
    if (!t) return -1;
    for (uint32_t i = 0; i < site_cap; i++) {
        site *s = sites[i];
        if (!s) continue;
        uint32_t j = (uint32_t)site_hash(s->stack, s->tag, s->labels) & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = s;
    }
    hp_free(sites);
    sites = t;
    site_cap = cap;
    return 0;
}

static site *find_site(const hp_stack *st, uint32_t tag, uint32_t labels) {
    if ((site_count + 1) * 2 > site_cap && grow_sites()) return NULL;
    uint32_t j = (uint32_t)site_hash(st, tag, labels) & (site_cap - 1);
    for (site *s; (s = sites[j]) != NULL; j = (j + 1) & (site_cap - 1))
        if (s->stack == st && s->tag == tag && s->labels == labels) return s;
    site *s = hp_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->stack = st;
    s->tag = tag;
    s->labels = labels;
    s->peak_epoch = peak_epoch;
    sites[j] = s;
    site_count++;
    return s;
}

static hp_tag_estimate *tag_slot(uint32_t tag) {
    if (tag >= tag_cap) {
        uint32_t cap = tag_cap ? tag_cap : 64;
        while (cap <= tag) cap *= 2;
        hp_tag_estimate *t = hp_realloc(tag_est, cap * sizeof *t);
        if (!t) return NULL;
        memset(t + tag_cap, 0, (cap - tag_cap) * sizeof *t);
        tag_est = t;
        tag_cap = cap;
    }
    return &tag_est[tag];
}

/* The stack this thread recorded last: allocations in a loop give the same
 * stack over and over, recognised by one comparison, before any hashing;
 * or without comparing, when the walker says its frames are those of the
 * walk last_stack was found for (last_walk, unwind.h). */
static __thread hp_stack *last_stack __attribute__((tls_model("initial-exec")));
static __thread uint64_t last_walk __attribute__((tls_model("initial-exec")));

static int same_pcs(const hp_stack *st, const uintptr_t *pcs, int depth) {
    if (st->depth != (uint32_t)depth) return 0;
    for (int i = 0; i < depth; i++) /* leaf first: where stacks differ */
        if (st->pcs[i] != pcs[i]) return 0;
    return 1;
}

/* The site of a sampled block. A stack remembers the site it was last
 * recorded in, so the usual case (same stack, same tag and labels) needs no
 * lock; sites never change their stack, tag or labels, nor go away. */
static site *site_for(const uintptr_t *pcs, int depth, uint64_t walk, uint32_t tag,
                      uint32_t labels) {
    hp_stack *st = last_stack;
    uint64_t h = 0;
    if (!st || ((!walk || walk != last_walk) && !same_pcs(st, pcs, depth))) {
        h = hp_stack_hash(pcs, depth);
        st = hp_stack_find(pcs, depth, h);
    }
    site *s = st ? atomic_load_explicit(&st->site_hint, memory_order_acquire) : NULL;
    if (s && s->tag == tag && s->labels == labels) {
        last_stack = st;
        last_walk = walk;
        return s;
    }
    hp_lock_acquire(&lock);
    if (!st) st = hp_stack_intern_hashed(pcs, depth, h);
    s = st ? find_site(st, tag, labels) : NULL;
    /* the per-tag slot exists from the first site of the tag on */
    if (s && !tag_slot(tag)) s = NULL;
    hp_lock_release(&lock);
    if (s) {
        atomic_store_explicit(&st->site_hint, s, memory_order_release);
        last_stack = st;
        last_walk = walk;
    }
    return s;
}

/* ---- the live table ---- */

/* Open addressing on the block address (Fibonacci hashing: the top bits of
 * address * 2^64/phi), deletion by backward shift. In full mode it holds
 * every live block of the program, and each event touches one random slot
 * of it: tables of 2 MiB and more are mapped on huge pages (where the
 * kernel allows them), which spares a TLB miss on most of those touches. */
static live_block *live;
static uint64_t live_cap, live_count;
static unsigned live_shift; /* 64 - log2(live_cap) */

#define HUGE_PAGE ((size_t)2 << 20)

static inline uint64_t home_of(uintptr_t ptr, unsigned shift) {
    return (ptr * 0x9E3779B97F4A7C15ULL) >> shift;
}

static live_block *table_alloc(size_t bytes) {
    if (bytes < HUGE_PAGE) return hp_calloc(1, bytes);
    char *m = mmap(NULL, bytes + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED) return NULL;
    char *a = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > m) munmap(m, (size_t)(a - m));
    munmap(a + bytes, (size_t)(m + bytes + HUGE_PAGE - (a + bytes)));
    madvise(a, bytes, MADV_HUGEPAGE);
    hp_profiler_bytes_add((int64_t)bytes);
    return (live_block *)a;
}

static void table_free(live_block *t, size_t bytes) {
    if (!t) return;
    if (bytes < HUGE_PAGE) {
        hp_free(t);
    } else {
        munmap(t, bytes);
        hp_profiler_bytes_add(-(int64_t)bytes);
    }
}

static int grow_live(void) {
    uint64_t cap = live_cap ? live_cap * 2 : 4096;
    unsigned shift = live_cap ? live_shift - 1 : 64 - 12;
    live_block *t = table_alloc(cap * sizeof *t);
    if (!t) return -1;
    for (uint64_t i = 0; i < live_cap; i++) {
        if (!live[i].ptr) continue;
        uint64_t j = home_of(live[i].ptr, shift);
        while (t[j].ptr) j = (j + 1) & (cap - 1);
        t[j] = live[i];
    }
    table_free(live, live_cap * sizeof *live);
    /* also read, without the lock, by hp_profile_prefetch */
    __atomic_store_n(&live, t, __ATOMIC_RELAXED);
    __atomic_store_n(&live_shift, shift, __ATOMIC_RELAXED);
    __atomic_store_n(&live_cap, cap, __ATOMIC_RELAXED);
    return 0;
}

/* The sampled-page count of ptr's page (alloc/sampled_pages.h), updated
 * here rather than through hp_sampled_pages_mark/unmark, which were a tenth
 * of a full-mode event: it is two loads and an atomic add. NULL if the
 * page's region has no table yet. An allocation marks its page at once,
 * before malloc returns (free() reads the count to decide whether to look
 * the block up); the count is taken back when the free is applied. */
static uint16_t *page_count(uintptr_t ptr) {
    uint16_t *region = __atomic_load_n(
        &hp_sampled_pages[(ptr >> HP_REGION_SHIFT) & (HP_TOP_ENTRIES - 1)], __ATOMIC_ACQUIRE);
    return region ? &region[(ptr >> HP_PAGE_SHIFT) & (HP_REGION_PAGES - 1)] : NULL;
}

/* Creating a region's table (rare). No other count of the region can be
 * touched meanwhile: nothing in it was marked before. */
static hp_lock region_lock;

static int mark_page(uintptr_t ptr) {
    uint16_t *c = page_count(ptr);
    if (c && __libc_single_threaded) { /* no one to race: no lock prefix */
        __atomic_store_n(c, (uint16_t)(*c + 1), __ATOMIC_RELEASE);
        return 0;
    }
    if (c) {
        __atomic_add_fetch(c, 1, __ATOMIC_RELEASE);
        return 0;
    }
    hp_lock_acquire(&region_lock);
    int rc = (c = page_count(ptr)) ? (__atomic_add_fetch(c, 1, __ATOMIC_RELEASE), 0)
                                   : hp_sampled_pages_mark((void *)ptr);
    hp_lock_release(&region_lock);
    return rc;
}

static void unmark_page(uintptr_t ptr) {
    uint16_t *c = page_count(ptr);
    uint16_t v = c ? __atomic_load_n(c, __ATOMIC_RELAXED) : 0;
    if (v && __libc_single_threaded) {
        __atomic_store_n(c, (uint16_t)(v - 1), __ATOMIC_RELAXED);
        return;
    }
    while (v && !__atomic_compare_exchange_n(c, &v, (uint16_t)(v - 1), 1, __ATOMIC_RELAXED,
                                             __ATOMIC_RELAXED)) {
    }
}

void hp_profile_prefetch(uintptr_t ptr) {
    const live_block *t = __atomic_load_n(&live, __ATOMIC_RELAXED);
    unsigned shift = __atomic_load_n(&live_shift, __ATOMIC_RELAXED);
    /* A table being replaced only prefetches a wrong line: prefetches do
     * not fault. */
    uint64_t cap = __atomic_load_n(&live_cap, __ATOMIC_RELAXED);
    if (t) __builtin_prefetch(&t[home_of(ptr, shift) & (cap - 1)], 1);
}

/* Records b (its page is marked already). Profile lock held. */
static int live_insert(const live_block *b) {
    if ((live_count + 1) * 2 > live_cap && grow_live()) return -1;
    uint64_t mask = live_cap - 1, j = home_of(b->ptr, live_shift);
    while (live[j].ptr && live[j].ptr != b->ptr) j = (j + 1) & mask;
    if (live[j].ptr) return -1; /* cannot happen; stay consistent */
    live[j] = *b;
    live_count++;
    return 0;
}

static void remove_slot(uint64_t i) {
    uint64_t mask = live_cap - 1, j = i;
    live[i].ptr = 0;
    for (;;) { /* backward-shift deletion keeps probe chains intact */
        j = (j + 1) & mask;
        if (!live[j].ptr) break;
        uint64_t home = home_of(live[j].ptr, live_shift);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            live[i] = live[j];
            live[j].ptr = 0;
            i = j;
        }
    }
    live_count--;
}

/* Takes ptr's block out of the live table into *out; 0 if it is not there.
 * Profile lock held. */
static int live_take(uintptr_t ptr, live_block *out) {
    if (!live_cap) return 0;
    uint64_t mask = live_cap - 1, j = home_of(ptr, live_shift);
    while (live[j].ptr && live[j].ptr != ptr) j = (j + 1) & mask;
    if (!live[j].ptr) return 0;
    *out = live[j];
    remove_slot(j);
    unmark_page(ptr);
    return 1;
}

/* Blocks of the profiler's own (libunwind's caches), kept apart from the
 * live table: their free must be recognised at once (the allocator charges
 * it to the profiler), and they are few. */
static uintptr_t *own;
static uint64_t own_cap, own_count;
static unsigned own_shift;

static int own_insert(uintptr_t ptr) {
    if ((own_count + 1) * 2 > own_cap) {
        uint64_t cap = own_cap ? own_cap * 2 : 64;
        unsigned shift = own_cap ? own_shift - 1 : 64 - 6;
        uintptr_t *t = hp_calloc(cap, sizeof *t);
        if (!t) return -1;
        for (uint64_t i = 0; i < own_cap; i++) {
            if (!own[i]) continue;
            uint64_t j = home_of(own[i], shift);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = own[i];
        }
        hp_free(own);
        own = t;
        own_cap = cap;
        own_shift = shift;
    }
    uint64_t mask = own_cap - 1, j = home_of(ptr, own_shift);
    while (own[j] && own[j] != ptr) j = (j + 1) & mask;
    if (own[j] || mark_page(ptr)) return -1;
    own[j] = ptr;
    __atomic_store_n(&own_count, own_count + 1, __ATOMIC_RELEASE); /* read without the lock */
    return 0;
}

static int own_take(uintptr_t ptr) {
    if (!own_count) return 0;
    uint64_t mask = own_cap - 1, i = home_of(ptr, own_shift);
    while (own[i] && own[i] != ptr) i = (i + 1) & mask;
    if (!own[i]) return 0;
    own[i] = 0;
    for (uint64_t j = i;;) { /* backward shift */
        j = (j + 1) & mask;
        if (!own[j]) break;
        uint64_t home = home_of(own[j], own_shift);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            own[i] = own[j];
            own[j] = 0;
            i = j;
        }
    }
    __atomic_store_n(&own_count, own_count - 1, __ATOMIC_RELAXED);
    unmark_page(ptr);
    return 1;
}

/*
 * Sampled events, queued without the lock. Taking the profile lock for each
 * allocation and free made threads on two cores pass its cache line, and
 * the live table's, the site's and the totals' lines behind it, back and
 * forth on every event: producer/consumer took 3.8 s with both cores free
 * (1.0 s when its threads happened to share one core, 3.2 s under
 * heaptrack). Now an event reserves a slot with one atomic add (a plain one
 * in a single-threaded process), writes itself and publishes; whoever takes
 * the lock next applies the queued events first, in queue order, up to the
 * first slot not yet published: a thread finding the queue half full (so
 * events are applied in batches, on one core at a time), a snapshot, a
 * per-tag read, an allocation of the profiler's own. Queue order is a valid
 * order of the events: an allocation is published before malloc returns
 * the block, a free before mimalloc gets it back, so a block's allocation
 * comes before its free and its free before a reuse of its address, and
 * each event keeps its own time stamp. Readers see them all applied. The
 * page mark is the one thing an allocation does at once (free() reads it).
 *
 * Slot i is free for position pos when seq == pos - i, and holds pos's
 * event once seq == pos - i + 1 (so that zeroed memory is a ready queue).
 */
#define EVQ 1024
typedef struct event {
    _Atomic uint64_t seq;
    uintptr_t ptr; /* 0: nothing (a reservation lost to fork) */
    site *site;    /* NULL: a free */
    double weight;
    uint64_t usable, requested, now_ns;
} __attribute__((aligned(64))) event;
static event evq[EVQ];
static struct {
    _Atomic uint64_t tail; /* positions reserved */
} __attribute__((aligned(64))) eq;
static _Atomic uint64_t evq_head __attribute__((aligned(64))); /* next to apply (under the lock) */

static void account_alloc(site *s, double w, size_t usable, size_t requested, uint64_t now_ns);
static void account_free(const live_block *b, uint64_t now_ns);

static inline __attribute__((always_inline)) void apply(const event *e) {
    if (!e->ptr) return;
    if (e->site) {
        live_block b = {e->ptr, e->site, e->weight, e->usable, e->requested, e->now_ns};
        if (live_insert(&b) == 0)
            account_alloc(e->site, e->weight, e->usable, e->requested, e->now_ns);
        else
            unmark_page(e->ptr); /* untracked after all */
    } else {
        live_block b;
        if (live_take(e->ptr, &b)) account_free(&b, e->now_ns);
    }
}

/* While the process has one thread, its latest free waits here instead of
 * in the queue, to be applied at the next event (its live-table slot was
 * prefetched at the free, so it has arrived by then): a queue slot, its
 * sequence number and the batch loop cost ~200 instructions per free. Only
 * a single-threaded process sets it, and before any event is queued, so
 * applying it first keeps queue order. */
static uintptr_t held_free;
static uint64_t held_free_ns;

static inline void apply_held_free(void) {
    if (!held_free) return;
    live_block b;
    if (live_take(held_free, &b)) account_free(&b, held_free_ns);
    held_free = 0;
}

/* Applies the published queued events, in order. Profile lock held. */
static void settle_pending(void) {
    apply_held_free();
    uint64_t h = atomic_load_explicit(&evq_head, memory_order_relaxed);
    for (;; h++) {
        event *e = &evq[h & (EVQ - 1)];
        uint64_t lap = h - (h & (EVQ - 1));
        if (atomic_load_explicit(&e->seq, memory_order_acquire) != lap + 1) break;
        /* the live-table slots of the next ones start loading meanwhile */
        uintptr_t ahead = __atomic_load_n(&evq[(h + 4) & (EVQ - 1)].ptr, __ATOMIC_RELAXED);
        if (ahead && live_cap) __builtin_prefetch(&live[home_of(ahead, live_shift)], 1);
        apply(e);
        atomic_store_explicit(&e->seq, lap + EVQ, memory_order_release);
    }
    atomic_store_explicit(&evq_head, h, memory_order_relaxed);
}

/* The same for a single-threaded process, whose queue is empty but for
 * what other threads left before they ended: the check inline. */
static inline void settle_one_thread(void) {
    apply_held_free();
    if (atomic_load_explicit(&eq.tail, memory_order_relaxed) !=
        atomic_load_explicit(&evq_head, memory_order_relaxed))
        settle_pending();
}

static void queue_event(uintptr_t ptr, site *s, double w, uint64_t usable, uint64_t requested,
                        uint64_t now_ns) {
    uint64_t pos;
    if (__libc_single_threaded) { /* as for the lock: nobody else to race */
        pos = atomic_load_explicit(&eq.tail, memory_order_relaxed);
        atomic_store_explicit(&eq.tail, pos + 1, memory_order_relaxed);
    } else {
        pos = atomic_fetch_add_explicit(&eq.tail, 1, memory_order_relaxed);
    }
    event *e = &evq[pos & (EVQ - 1)];
    uint64_t lap = pos - (pos & (EVQ - 1));
    while (atomic_load_explicit(&e->seq, memory_order_acquire) != lap) {
        /* Full: apply what is there. A slot ahead may still be in writing
         * by a thread that lost its core meanwhile: then let it run. */
        hp_lock_acquire(&lock);
        uint64_t before = atomic_load_explicit(&evq_head, memory_order_relaxed);
        settle_pending();
        int stuck = atomic_load_explicit(&evq_head, memory_order_relaxed) == before;
        hp_lock_release(&lock);
        if (stuck) sched_yield();
    }
    __atomic_store_n(&e->ptr, ptr, __ATOMIC_RELAXED); /* also peeked at by settle_pending */
    e->site = s;
    e->weight = w;
    e->usable = usable;
    e->requested = requested;
    e->now_ns = now_ns;
    atomic_store_explicit(&e->seq, lap + 1, memory_order_release);
    if (pos - atomic_load_explicit(&evq_head, memory_order_relaxed) >= EVQ / 2) {
        hp_lock_acquire(&lock);
        settle_pending();
        hp_lock_release(&lock);
    }
}

/* ---- the estimates ---- */

static void settle_peak(site *s) { hp_site_settle_peak(&s->v, &s->peak_epoch, peak_epoch); }

/* Profile lock held. */
static void account_alloc(site *s, double w, size_t usable, size_t requested, uint64_t now_ns) {
    double bytes = w * (double)usable;
    /* the variance terms w^2 - w vanish at w = 1: full mode skips them */
    double var_objs = w != 1.0 ? w * w - w : 0;
    double var_bytes = var_objs * (double)usable * (double)usable;
    settle_peak(s);
    s->v.alloc_objs += w;
    s->v.alloc_bytes += bytes;
    s->v.inuse_objs += w;
    s->v.inuse_bytes += bytes;
    if (w != 1.0) {
        s->v.inuse_var_bytes += var_bytes;
        s->v.inuse_var_objs += var_objs;
    }
    s->v.samples++;
    s->live_weighted_start += w * (double)now_ns;
    s->v.alloc_req_bytes += w * (double)requested;
    s->v.inuse_req_bytes += w * (double)requested;
    if (s->v.inuse_bytes > s->v.peak_bytes) {
        s->v.peak_bytes = s->v.inuse_bytes;
        s->v.peak_objs = s->v.inuse_objs;
    }
    if (s->v.inuse_req_bytes > s->v.peak_req_bytes) {
        s->v.peak_req_bytes = s->v.inuse_req_bytes;
        s->v.peak_req_objs = s->v.inuse_objs;
    }
    hp_tag_estimate *te = &tag_est[s->tag];
    te->inuse_objs += w;
    te->inuse_bytes += bytes;
    if (w != 1.0) {
        te->inuse_var_bytes += var_bytes;
        te->inuse_var_objs += var_objs;
    }
    if (te->inuse_bytes > te->peak_bytes) {
        te->peak_bytes = te->inuse_bytes;
        te->peak_objs = te->inuse_objs;
    }
    total_bytes += bytes;
    total_objs += w;
    samples_taken++;
    live_samples++;
    if (total_bytes >= peak_total_bytes) { /* ties: the latest peak wins, as in DHAT */
        peak_total_bytes = total_bytes;
        peak_epoch++;
        peak_at_ns = now_ns;
    }
}

/* Profile lock held. */
static void account_free(const live_block *b, uint64_t now_ns) {
    site *s = b->site;
    const double w = b->weight, bytes = w * (double)b->usable;
    double var_objs = w != 1.0 ? w * w - w : 0;
    double var_bytes = var_objs * (double)b->usable * (double)b->usable;
    settle_peak(s);
    s->v.inuse_objs -= w;
    s->v.inuse_bytes -= bytes;
    s->v.inuse_req_bytes -= w * (double)b->requested;
    if (w != 1.0) {
        s->v.inuse_var_bytes -= var_bytes;
        s->v.inuse_var_objs -= var_objs;
    }
    /* stamps from two threads may be a hair out of order (clock.h) */
    uint64_t lifetime = now_ns > b->t_alloc_ns ? now_ns - b->t_alloc_ns : 0;
    s->v.lifetime_ns += b->weight * (double)lifetime;
    s->live_weighted_start -= b->weight * (double)b->t_alloc_ns;
    hp_tag_estimate *te = &tag_est[s->tag];
    te->inuse_objs -= w;
    te->inuse_bytes -= bytes;
    if (w != 1.0) {
        te->inuse_var_bytes -= var_bytes;
        te->inuse_var_objs -= var_objs;
    }
    te->freed_objs += b->weight;
    te->freed_bytes += bytes;
    total_bytes -= bytes;
    total_objs -= b->weight;
    live_samples--;
}

int hp_profile_add(uintptr_t ptr, const uintptr_t *pcs, int depth, uint64_t walk, uint32_t tag,
                   uint32_t labels, size_t usable, size_t requested, double w, uint64_t now_ns) {
    if (depth < 0) { /* the profiler's own block: tracked only to recognise its free */
        hp_lock_acquire(&lock);
        settle_pending(); /* its address may be a queued free's */
        int rc = own_insert(ptr);
        hp_lock_release(&lock);
        return rc;
    }
    site *s = site_for(pcs, depth, walk, tag, labels);
    if (!s || mark_page(ptr)) return -1;
    if (!__libc_single_threaded) {
        queue_event(ptr, s, w, usable, requested, now_ns);
        return 0;
    }
    /* One thread: no one to share the lock with, so the allocation is
     * applied at once (its slot prefetched before the stack walk), after
     * the frees queued since the last one (their slots prefetched by them). */
    live_block b = {ptr, s, w, usable, requested, now_ns};
    hp_lock_acquire(&lock);
    settle_one_thread();
    if (live_insert(&b) == 0)
        account_alloc(s, w, usable, requested, now_ns);
    else
        unmark_page(ptr);
    hp_lock_release(&lock);
    return 0;
}

int hp_profile_remove(uintptr_t ptr, uint64_t now_ns) {
    /* The profiler's own blocks are few, and usually none: then no lock. */
    if (__atomic_load_n(&own_count, __ATOMIC_ACQUIRE)) {
        hp_lock_acquire(&lock);
        int own = own_take(ptr);
        hp_lock_release(&lock);
        if (own) return 2;
    }
    if (__libc_single_threaded) {
        hp_lock_acquire(&lock);
        settle_one_thread(); /* the free held before, and anything queued */
        held_free = ptr;
        held_free_ns = now_ns;
        hp_lock_release(&lock);
        return 1;
    }
    queue_event(ptr, NULL, 0, 0, 0, now_ns);
    return 1;
}

int hp_profile_snapshot_take(hp_profile_snapshot *out, uint64_t now_ns) {
    memset(out, 0, sizeof *out);
    out->taken_uptime_ns = now_ns;
    hp_lock_acquire(&lock);
    settle_pending();
    out->sites = site_count ? hp_malloc(site_count * sizeof *out->sites) : NULL;
    out->tags = tag_cap ? hp_malloc(tag_cap * sizeof *out->tags) : NULL;
    if ((site_count && !out->sites) || (tag_cap && !out->tags)) {
        hp_lock_release(&lock);
        hp_profile_snapshot_free(out);
        return -1;
    }
    for (uint32_t i = 0; i < site_cap; i++) {
        site *s = sites[i];
        if (!s) continue;
        hp_site_snapshot *o = &out->sites[out->nsites++];
        o->stack = s->stack;
        o->tag = s->tag;
        o->labels = s->labels;
        o->v = hp_site_values_at(&s->v, s->live_weighted_start, s->peak_epoch, peak_epoch, now_ns);
    }
    if (tag_cap) memcpy(out->tags, tag_est, tag_cap * sizeof *tag_est);
    out->ntags = tag_cap;
    out->inuse_bytes = total_bytes;
    out->inuse_objs = total_objs;
    out->peak_bytes = peak_total_bytes;
    out->peak_uptime_ns = peak_at_ns < now_ns ? peak_at_ns : now_ns; /* clock.h */
    out->samples = samples_taken;
    out->live_samples = live_samples;
    out->stacks = hp_stack_count();
    hp_lock_release(&lock);
    return 0;
}

void hp_profile_snapshot_free(hp_profile_snapshot *s) {
    hp_free(s->sites);
    hp_free(s->tags);
    memset(s, 0, sizeof *s);
}

int hp_profile_tag_estimate(uint32_t tag, hp_tag_estimate *out) {
    int rc = -1;
    hp_lock_acquire(&lock);
    settle_pending();
    if (tag < tag_cap) {
        *out = tag_est[tag];
        rc = 0;
    }
    hp_lock_release(&lock);
    return rc;
}

uintptr_t *hp_profile_pcs_in_range(uintptr_t lo, uintptr_t hi, size_t *count) {
    hp_lock_acquire(&lock);
    uintptr_t *pcs = hp_stack_pcs_in_range(lo, hi, count);
    hp_lock_release(&lock);
    return pcs;
}

void hp_profile_lock(void) {
    hp_lock_acquire(&lock);
    hp_lock_acquire(&region_lock); /* after: own_insert marks under the lock */
}

void hp_profile_unlock(void) {
    hp_lock_release(&region_lock);
    hp_lock_release(&lock);
}

/* In the child. The other threads are gone, and any event they had reserved
 * a queue slot for but not yet written never will be: the queue is emptied
 * here, in order, applying what was published and passing over the rest. */
void hp_profile_reset_lock(void) {
    hp_lock_reset(&lock);
    hp_lock_reset(&region_lock);
    apply_held_free(); /* it came before anything queued */
    uint64_t h = atomic_load_explicit(&evq_head, memory_order_relaxed);
    for (uint64_t tail = atomic_load_explicit(&eq.tail, memory_order_relaxed); h != tail; h++) {
        event *e = &evq[h & (EVQ - 1)];
        uint64_t lap = h - (h & (EVQ - 1));
        if (atomic_load_explicit(&e->seq, memory_order_relaxed) == lap + 1) apply(e);
        atomic_store_explicit(&e->seq, lap + EVQ, memory_order_relaxed);
    }
    atomic_store_explicit(&evq_head, h, memory_order_relaxed);
}
