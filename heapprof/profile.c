#define _GNU_SOURCE
#include "profile.h"
#include "internal_alloc.h"
#include "../alloc/sampled_pages.h"

#include <pthread.h>
#include <string.h>

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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Sites: open addressing on (stack id, tag, labels). */
static site **sites;
static uint32_t site_cap, site_count;
/* Live blocks: open addressing on the address, deletion by backward shift. */
static live_block *live;
static uint64_t live_cap, live_count, internal_count;
/* Per-tag estimates, indexed by tag id. */
static hp_tag_estimate *tag_est;
static uint32_t tag_cap;

static double total_bytes, total_objs, peak_total_bytes;
static uint64_t peak_epoch, peak_at_ns, samples_taken;

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

static int grow_live(void) {
    uint64_t cap = live_cap ? live_cap * 2 : 4096;
    live_block *t = hp_calloc(cap, sizeof *t);
    if (!t) return -1;
    for (uint64_t i = 0; i < live_cap; i++) {
        if (!live[i].ptr) continue;
        uint64_t j = mix(live[i].ptr) & (cap - 1);
        while (t[j].ptr) j = (j + 1) & (cap - 1);
        t[j] = live[i];
    }
    hp_free(live);
    live = t;
    live_cap = cap;
    return 0;
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

static void settle_peak(site *s) { hp_site_settle_peak(&s->v, &s->peak_epoch, peak_epoch); }

int hp_profile_add(uintptr_t ptr, const uintptr_t *pcs, int depth, uint32_t tag, uint32_t labels,
                   size_t usable, size_t requested, double w, uint64_t now_ns) {
    int rc = -1;
    pthread_mutex_lock(&lock);
    int internal = depth < 0;
    hp_stack *st = internal ? NULL : hp_stack_intern(pcs, depth);
    site *s = st ? find_site(st, tag, labels) : NULL;
    hp_tag_estimate *te = internal ? NULL : tag_slot(tag);
    if ((!internal && (!s || !te)) || ((live_count + 1) * 2 > live_cap && grow_live())) goto out;

    uint64_t j = mix(ptr) & (live_cap - 1);
    while (live[j].ptr && live[j].ptr != ptr) j = (j + 1) & (live_cap - 1);
    if (live[j].ptr || hp_sampled_pages_mark((void *)ptr)) goto out; /* cannot happen; stay consistent */
    live_count++;
    live[j] = (live_block){ptr, s, w, usable, requested, now_ns};
    if (internal) { /* the profiler's own block: tracked only to recognise its free */
        internal_count++;
        rc = 0;
        goto out;
    }

    double bytes = w * (double)usable, var_objs = w * w - w;
    double var_bytes = var_objs * (double)usable * (double)usable;
    settle_peak(s);
    s->v.alloc_objs += w;
    s->v.alloc_bytes += bytes;
    s->v.inuse_objs += w;
    s->v.inuse_bytes += bytes;
    s->v.inuse_var_bytes += var_bytes;
    s->v.inuse_var_objs += var_objs;
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
    te->inuse_objs += w;
    te->inuse_bytes += bytes;
    te->inuse_var_bytes += var_bytes;
    te->inuse_var_objs += var_objs;
    if (te->inuse_bytes > te->peak_bytes) {
        te->peak_bytes = te->inuse_bytes;
        te->peak_objs = te->inuse_objs;
    }
    total_bytes += bytes;
    total_objs += w;
    samples_taken++;
    if (total_bytes >= peak_total_bytes) { /* ties: the latest peak wins, as in DHAT */
        peak_total_bytes = total_bytes;
        peak_epoch++;
        peak_at_ns = now_ns;
    }
    rc = 0;
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

static void remove_slot(uint64_t i) {
    uint64_t mask = live_cap - 1, j = i;
    live[i].ptr = 0;
    for (;;) { /* backward-shift deletion keeps probe chains intact */
        j = (j + 1) & mask;
        if (!live[j].ptr) break;
        uint64_t home = mix(live[j].ptr) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            live[i] = live[j];
            live[j].ptr = 0;
            i = j;
        }
    }
    live_count--;
}

int hp_profile_remove(uintptr_t ptr, uint64_t now_ns) {
    int found = 0;
    pthread_mutex_lock(&lock);
    if (live_cap) {
        uint64_t j = mix(ptr) & (live_cap - 1);
        while (live[j].ptr && live[j].ptr != ptr) j = (j + 1) & (live_cap - 1);
        if (live[j].ptr && !live[j].site) {
            remove_slot(j);
            hp_sampled_pages_unmark((void *)ptr);
            internal_count--;
            found = 2;
        } else if (live[j].ptr) {
            live_block b = live[j];
            site *s = b.site;
            double bytes = b.weight * (double)b.usable, var_objs = b.weight * b.weight - b.weight;
            double var_bytes = var_objs * (double)b.usable * (double)b.usable;
            settle_peak(s);
            s->v.inuse_objs -= b.weight;
            s->v.inuse_bytes -= bytes;
            s->v.inuse_req_bytes -= b.weight * (double)b.requested;
            s->v.inuse_var_bytes -= var_bytes;
            s->v.inuse_var_objs -= var_objs;
            s->v.lifetime_ns += b.weight * (double)(now_ns - b.t_alloc_ns);
            s->live_weighted_start -= b.weight * (double)b.t_alloc_ns;
            hp_tag_estimate *te = &tag_est[s->tag];
            te->inuse_objs -= b.weight;
            te->inuse_bytes -= bytes;
            te->inuse_var_bytes -= var_bytes;
            te->inuse_var_objs -= var_objs;
            te->freed_objs += b.weight;
            te->freed_bytes += bytes;
            total_bytes -= bytes;
            total_objs -= b.weight;
            remove_slot(j);
            hp_sampled_pages_unmark((void *)ptr);
            found = 1;
        }
    }
    pthread_mutex_unlock(&lock);
    return found;
}

int hp_profile_snapshot_take(hp_profile_snapshot *out, uint64_t now_ns) {
    memset(out, 0, sizeof *out);
    out->taken_uptime_ns = now_ns;
    pthread_mutex_lock(&lock);
    out->sites = site_count ? hp_malloc(site_count * sizeof *out->sites) : NULL;
    out->tags = tag_cap ? hp_malloc(tag_cap * sizeof *out->tags) : NULL;
    if ((site_count && !out->sites) || (tag_cap && !out->tags)) {
        pthread_mutex_unlock(&lock);
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
    out->peak_uptime_ns = peak_at_ns;
    out->samples = samples_taken;
    out->live_samples = live_count - internal_count;
    out->stacks = hp_stack_count();
    pthread_mutex_unlock(&lock);
    return 0;
}

void hp_profile_snapshot_free(hp_profile_snapshot *s) {
    hp_free(s->sites);
    hp_free(s->tags);
    memset(s, 0, sizeof *s);
}

int hp_profile_tag_estimate(uint32_t tag, hp_tag_estimate *out) {
    int rc = -1;
    pthread_mutex_lock(&lock);
    if (tag < tag_cap) {
        *out = tag_est[tag];
        rc = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

uintptr_t *hp_profile_pcs_in_range(uintptr_t lo, uintptr_t hi, size_t *count) {
    pthread_mutex_lock(&lock);
    uintptr_t *pcs = hp_stack_pcs_in_range(lo, hi, count);
    pthread_mutex_unlock(&lock);
    return pcs;
}

void hp_profile_lock(void) { pthread_mutex_lock(&lock); }
void hp_profile_unlock(void) { pthread_mutex_unlock(&lock); }
void hp_profile_reset_lock(void) { pthread_mutex_init(&lock, NULL); }
