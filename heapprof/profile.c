#define _GNU_SOURCE
#include "profile.h"
#include "internal_alloc.h"
#include "lock.h"
#include "../alloc/counters.h"
#include "../alloc/sampled_pages.h"

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
 * stack over and over, recognised by one comparison, before any hashing. */
static __thread hp_stack *last_stack __attribute__((tls_model("initial-exec")));

static int same_pcs(const hp_stack *st, const uintptr_t *pcs, int depth) {
    if (st->depth != (uint32_t)depth) return 0;
    for (int i = 0; i < depth; i++) /* leaf first: where stacks differ */
        if (st->pcs[i] != pcs[i]) return 0;
    return 1;
}

/* The site of a sampled block. A stack remembers the site it was last
 * recorded in, so the usual case (same stack, same tag and labels) needs no
 * lock; sites never change their stack, tag or labels, nor go away. */
static site *site_for(const uintptr_t *pcs, int depth, uint32_t tag, uint32_t labels) {
    hp_stack *st = last_stack;
    uint64_t h = 0;
    if (!st || !same_pcs(st, pcs, depth)) {
        h = hp_stack_hash(pcs, depth);
        st = hp_stack_find(pcs, depth, h);
    }
    site *s = st ? atomic_load_explicit(&st->site_hint, memory_order_acquire) : NULL;
    if (s && s->tag == tag && s->labels == labels) {
        last_stack = st;
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
 * of a full-mode event: it is two loads. NULL if the page's region has no
 * table yet. The profile lock serialises the updates. */
static uint16_t *page_count(uintptr_t ptr) {
    uint16_t *region = __atomic_load_n(
        &hp_sampled_pages[(ptr >> HP_REGION_SHIFT) & (HP_TOP_ENTRIES - 1)], __ATOMIC_ACQUIRE);
    return region ? &region[(ptr >> HP_PAGE_SHIFT) & (HP_REGION_PAGES - 1)] : NULL;
}

static int mark_page(uintptr_t ptr) {
    uint16_t *c = page_count(ptr);
    if (!c) return hp_sampled_pages_mark((void *)ptr); /* maps the region's table */
    __atomic_store_n(c, (uint16_t)(*c + 1), __ATOMIC_RELEASE);
    return 0;
}

static void unmark_page(uintptr_t ptr) {
    uint16_t *c = page_count(ptr);
    if (c && *c) __atomic_store_n(c, (uint16_t)(*c - 1), __ATOMIC_RELAXED);
}

void hp_profile_prefetch(uintptr_t ptr) {
    const live_block *t = __atomic_load_n(&live, __ATOMIC_RELAXED);
    unsigned shift = __atomic_load_n(&live_shift, __ATOMIC_RELAXED);
    /* A table being replaced only prefetches a wrong line: prefetches do
     * not fault. */
    uint64_t cap = __atomic_load_n(&live_cap, __ATOMIC_RELAXED);
    if (t) __builtin_prefetch(&t[home_of(ptr, shift) & (cap - 1)], 1);
}

/* Records b and marks its page. Profile lock held. */
static int live_insert(const live_block *b) {
    if ((live_count + 1) * 2 > live_cap && grow_live()) return -1;
    uint64_t mask = live_cap - 1, j = home_of(b->ptr, live_shift);
    while (live[j].ptr && live[j].ptr != b->ptr) j = (j + 1) & mask;
    if (live[j].ptr || mark_page(b->ptr)) return -1; /* cannot happen; stay consistent */
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
    own_count++;
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
    own_count--;
    unmark_page(ptr);
    return 1;
}

/* Frees waiting for their live-table slot to arrive in the cache. A free
 * needs the slot at once, and in a table of megabytes it is a cache miss
 * that nothing else in free() can overlap; so the slot is prefetched and
 * the block set aside, and taken out of the table a few events later, when
 * the line has arrived. Every allocation, snapshot and per-tag read first
 * settles them all, in order (an allocation may reuse a pending address),
 * so what anyone sees is as if each free had been applied when it
 * happened. Guarded by the profile lock. */
#define PENDING 8
static struct pending_free {
    uintptr_t ptr;
    uint64_t now_ns;
} pending[PENDING];
static unsigned pending_head, pending_count;

static void account_free(const live_block *b, uint64_t now_ns);

static void settle_oldest(void) {
    const struct pending_free *f = &pending[pending_head];
    live_block b;
    if (live_take(f->ptr, &b)) account_free(&b, f->now_ns);
    pending_head = (pending_head + 1) % PENDING;
    pending_count--;
}

static void settle_pending(void) {
    while (pending_count) settle_oldest();
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

int hp_profile_add(uintptr_t ptr, const uintptr_t *pcs, int depth, uint32_t tag, uint32_t labels,
                   size_t usable, size_t requested, double w, uint64_t now_ns) {
    site *s = NULL;
    if (depth >= 0 && !(s = site_for(pcs, depth, tag, labels))) return -1;
    live_block b = {ptr, s, w, usable, requested, now_ns};
    hp_lock_acquire(&lock);
    settle_pending();
    int rc = s ? live_insert(&b) : own_insert(ptr);
    if (!rc && s) account_alloc(s, w, usable, requested, now_ns);
    hp_lock_release(&lock);
    return rc;
}

int hp_profile_remove(uintptr_t ptr, uint64_t now_ns) {
    int kind = 1;
    hp_lock_acquire(&lock);
    if (own_take(ptr)) {
        kind = 2;
    } else {
        if (pending_count == PENDING) settle_oldest();
        pending[(pending_head + pending_count) % PENDING] = (struct pending_free){ptr, now_ns};
        pending_count++;
    }
    hp_lock_release(&lock);
    return kind;
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

void hp_profile_lock(void) { hp_lock_acquire(&lock); }
void hp_profile_unlock(void) { hp_lock_release(&lock); }
void hp_profile_reset_lock(void) { hp_lock_reset(&lock); }
