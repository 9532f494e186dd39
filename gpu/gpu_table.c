/*
 * The GPU allocation table (see gpu_table.h). Values are exact: every
 * allocation has weight 1, so the per-site fields the host profile
 * estimates (hp_site_values) are plain sums here, and the writers that read
 * host sites read these unchanged.
 */
#define _GNU_SOURCE
#include "gpu_table.h"
#include "gpu.h"
#include "../heapprof/internal_alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gpu_site {
    const hp_stack *stack;
    uint32_t tag, labels;
    int32_t device;
    int kind;
    uint64_t hash;
    uint64_t peak_epoch; /* GPU peak epoch when gpeak_* was last brought up to date */
    hp_site_values v;
    double live_start_sum; /* sum of t_alloc over live blocks, for lifetimes */
} gpu_site;

typedef struct gpu_row {
    int32_t device; /* HP_GPU_ALL_DEVICES for a tag's total */
    uint32_t tag;
    hp_gpu_counts c;
} gpu_row;

typedef struct live_entry {
    uint64_t key, bytes, t_alloc_ns;
    gpu_site *site;
    gpu_row *dev_tag, *tag;
    uint32_t dev_index;
    uint8_t space, used;
} live_entry;

typedef struct device_counts {
    hp_gpu_counts all, kind[HP_GPU_NKINDS];
} device_counts;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int active;
static char route_name[32], library_path[4096];

static gpu_site **sites;
static uint32_t site_cap, site_count;
static gpu_row **rows;
static uint32_t row_cap, row_count;
static live_entry *live;
static uint64_t live_cap, live_count;
/* index 0: unknown device; i + 1: device i */
static device_counts devices[HP_GPU_MAX_DEVICES + 1];
static hp_gpu_counts total;
static uint64_t peak_epoch, peak_at_ns;
static uint64_t notes[HP_GPU_NOTE_COUNT];

static const char *const kind_names[HP_GPU_NKINDS] = {"device", "managed", "pinned_host",
                                                      "async_pool", "vmm"};

const char *hp_gpu_kind_name(int kind) {
    return kind >= 0 && kind < HP_GPU_NKINDS ? kind_names[kind] : "unknown";
}

void hp_gpu_device_name(int32_t device, char *buf, size_t cap) {
    if (device >= 0)
        snprintf(buf, cap, "%d", (int)device);
    else
        snprintf(buf, cap, "unknown");
}

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static void count_alloc(hp_gpu_counts *c, uint64_t n) {
    c->alloc_bytes += n;
    c->alloc_objects++;
    c->live_bytes += n;
    c->live_objects++;
    if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
    if (c->live_objects > c->peak_objects) c->peak_objects = c->live_objects;
}

static void count_free(hp_gpu_counts *c, uint64_t n) {
    c->live_bytes -= n;
    c->live_objects--;
    c->freed_bytes += n;
    c->freed_objects++;
}

/* ---- sites and rows: open addressing on their hash, at most half full ---- */

static uint64_t site_hash(const hp_gpu_alloc_event *e) {
    uint64_t h = e->stack->hash;
    h ^= mix((uint64_t)e->tag << 32 | e->labels);
    return mix(h ^ ((uint64_t)(uint32_t)e->device << 8 | (uint64_t)e->kind));
}

static int grow_ptrs(void ***table, uint32_t *cap, uint64_t (*hash_of)(const void *)) {
    uint32_t new_cap = *cap ? *cap * 2 : 256;
    void **t = hp_calloc(new_cap, sizeof *t);
    if (!t) return -1;
    for (uint32_t i = 0; i < *cap; i++) {
        void *p = (*table)[i];
        if (!p) continue;
        uint32_t j = (uint32_t)hash_of(p) & (new_cap - 1);
        while (t[j])
            j = (j + 1) & (new_cap - 1);
        t[j] = p;
    }
    hp_free(*table);
    *table = t;
    *cap = new_cap;
    return 0;
}

static uint64_t hash_of_site(const void *p) {
    return ((const gpu_site *)p)->hash;
}

static uint64_t row_hash(int32_t device, uint32_t tag) {
    return mix((uint64_t)(uint32_t)device << 32 | tag);
}

static uint64_t hash_of_row(const void *p) {
    const gpu_row *r = p;
    return row_hash(r->device, r->tag);
}

static gpu_site *find_site(const hp_gpu_alloc_event *e) {
    if ((site_count + 1) * 2 > site_cap && grow_ptrs((void ***)&sites, &site_cap, hash_of_site))
        return NULL;
    uint64_t h = site_hash(e);
    uint32_t j = (uint32_t)h & (site_cap - 1);
    for (gpu_site *s; (s = sites[j]) != NULL; j = (j + 1) & (site_cap - 1))
        if (s->hash == h && s->stack == e->stack && s->tag == e->tag && s->labels == e->labels &&
            s->device == e->device && s->kind == e->kind)
            return s;
    gpu_site *s = hp_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = (gpu_site){.stack = e->stack,
                    .tag = e->tag,
                    .labels = e->labels,
                    .device = e->device,
                    .kind = e->kind,
                    .hash = h,
                    .peak_epoch = peak_epoch};
    sites[j] = s;
    site_count++;
    return s;
}

static gpu_row *find_row(int32_t device, uint32_t tag) {
    if ((row_count + 1) * 2 > row_cap && grow_ptrs((void ***)&rows, &row_cap, hash_of_row))
        return NULL;
    uint32_t j = (uint32_t)row_hash(device, tag) & (row_cap - 1);
    for (gpu_row *r; (r = rows[j]) != NULL; j = (j + 1) & (row_cap - 1))
        if (r->device == device && r->tag == tag) return r;
    gpu_row *r = hp_calloc(1, sizeof *r);
    if (!r) return NULL;
    r->device = device;
    r->tag = tag;
    rows[j] = r;
    row_count++;
    return r;
}

/* ---- live blocks: open addressing on (space, key), backward-shift deletion ---- */

static uint64_t live_hash(int space, uint64_t key) {
    return mix(key ^ ((uint64_t)space << 63));
}

static int grow_live(void) {
    uint64_t cap = live_cap ? live_cap * 2 : 1024;
    live_entry *t = hp_calloc(cap, sizeof *t);
    if (!t) return -1;
    for (uint64_t i = 0; i < live_cap; i++) {
        if (!live[i].used) continue;
        uint64_t j = live_hash(live[i].space, live[i].key) & (cap - 1);
        while (t[j].used)
            j = (j + 1) & (cap - 1);
        t[j] = live[i];
    }
    hp_free(live);
    live = t;
    live_cap = cap;
    return 0;
}

static live_entry *find_live(int space, uint64_t key) {
    if (!live_cap) return NULL;
    uint64_t j = live_hash(space, key) & (live_cap - 1);
    for (; live[j].used; j = (j + 1) & (live_cap - 1))
        if (live[j].key == key && live[j].space == space) return &live[j];
    return NULL;
}

static void remove_live(live_entry *e) {
    uint64_t mask = live_cap - 1, i = (uint64_t)(e - live), j = i;
    live[i].used = 0;
    for (;;) {
        j = (j + 1) & mask;
        if (!live[j].used) break;
        uint64_t home = live_hash(live[j].space, live[j].key) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            live[i] = live[j];
            live[j].used = 0;
            i = j;
        }
    }
    live_count--;
}

/* Before a site changes: if the GPU total reached a new peak since the site
 * last changed, its current values are its values at that peak. */
static void settle_peak(gpu_site *s) { hp_site_settle_peak(&s->v, &s->peak_epoch, peak_epoch); }

static uint32_t device_index(int32_t device) {
    return device >= 0 && device < HP_GPU_MAX_DEVICES ? (uint32_t)device + 1 : 0;
}

/* Accounts a free of b (lock held). */
static void account_free(const hp_gpu_block *b, uint64_t now_ns) {
    double n = (double)b->bytes;
    gpu_site *s = b->site;
    settle_peak(s);
    s->v.inuse_objs -= 1;
    s->v.inuse_bytes -= n;
    s->v.inuse_req_bytes -= n;
    s->v.lifetime_ns += (double)(now_ns - b->t_alloc_ns);
    s->live_start_sum -= (double)b->t_alloc_ns;
    count_free(&devices[b->dev_index].all, b->bytes);
    count_free(&devices[b->dev_index].kind[s->kind], b->bytes);
    count_free(&b->dev_tag->c, b->bytes);
    count_free(&b->tag->c, b->bytes);
    count_free(&total, b->bytes);
}

static hp_gpu_block block_of(const live_entry *e) {
    return (hp_gpu_block){e->space, e->key,     e->bytes, e->t_alloc_ns,
                          e->site,  e->dev_tag, e->tag,   e->dev_index};
}

static int insert_live(const hp_gpu_block *b) {
    if ((live_count + 1) * 2 > live_cap && grow_live()) return -1;
    uint64_t j = live_hash(b->space, b->key) & (live_cap - 1);
    while (live[j].used)
        j = (j + 1) & (live_cap - 1);
    live[j] = (live_entry){b->key, b->bytes,     b->t_alloc_ns,     b->site, b->dev_tag,
                           b->tag, b->dev_index, (uint8_t)b->space, 1};
    live_count++;
    return 0;
}

int hp_gpu_table_alloc(const hp_gpu_alloc_event *e, uint64_t now_ns) {
    int rc = -1;
    pthread_mutex_lock(&lock);
    live_entry *old = find_live(e->space, e->key);
    if (old) { /* its free went unseen (e.g. a context destroyed with it) */
        hp_gpu_block b = block_of(old);
        remove_live(old);
        account_free(&b, now_ns);
        notes[HP_GPU_NOTE_REUSED]++;
    }
    uint32_t di = device_index(e->device);
    int32_t device = di ? e->device : HP_GPU_UNKNOWN_DEVICE;
    hp_gpu_alloc_event ev = *e;
    ev.device = device;
    gpu_site *s = find_site(&ev);
    gpu_row *dev_tag = s ? find_row(device, e->tag) : NULL;
    gpu_row *tag = dev_tag ? find_row(HP_GPU_ALL_DEVICES, e->tag) : NULL;
    hp_gpu_block b = {e->space, e->key, e->bytes, now_ns, s, dev_tag, tag, di};
    if (!tag || insert_live(&b)) {
        notes[HP_GPU_NOTE_DROPPED]++;
        goto out;
    }
    double n = (double)e->bytes;
    settle_peak(s);
    s->v.alloc_objs += 1;
    s->v.alloc_bytes += n;
    s->v.alloc_req_bytes += n;
    s->v.inuse_objs += 1;
    s->v.inuse_bytes += n;
    s->v.inuse_req_bytes += n;
    s->v.samples++;
    s->live_start_sum += (double)now_ns;
    if (s->v.inuse_bytes > s->v.peak_bytes) {
        s->v.peak_bytes = s->v.inuse_bytes;
        s->v.peak_objs = s->v.inuse_objs;
    }
    if (s->v.inuse_req_bytes > s->v.peak_req_bytes) {
        s->v.peak_req_bytes = s->v.inuse_req_bytes;
        s->v.peak_req_objs = s->v.inuse_objs;
    }
    count_alloc(&devices[di].all, e->bytes);
    count_alloc(&devices[di].kind[e->kind], e->bytes);
    count_alloc(&dev_tag->c, e->bytes);
    count_alloc(&tag->c, e->bytes);
    uint64_t before_peak = total.peak_bytes;
    count_alloc(&total, e->bytes);
    if (total.live_bytes >= before_peak) { /* ties: the latest peak wins, as in DHAT */
        peak_epoch++;
        peak_at_ns = now_ns;
    }
    rc = 0;
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

int hp_gpu_table_take(int space, uint64_t key, hp_gpu_block *out) {
    pthread_mutex_lock(&lock);
    live_entry *e = find_live(space, key);
    if (e) {
        *out = block_of(e);
        remove_live(e);
    }
    pthread_mutex_unlock(&lock);
    return e != NULL;
}

void hp_gpu_table_commit_free(const hp_gpu_block *b, uint64_t now_ns) {
    pthread_mutex_lock(&lock);
    account_free(b, now_ns);
    pthread_mutex_unlock(&lock);
}

void hp_gpu_table_put_back(const hp_gpu_block *b) {
    pthread_mutex_lock(&lock);
    /* The free failed, so the address was not released and nobody can have
     * recorded it meanwhile; if the table cannot grow, account it freed
     * rather than lose the block's bytes for good. */
    if (insert_live(b)) {
        account_free(b, b->t_alloc_ns);
        notes[HP_GPU_NOTE_DROPPED]++;
    }
    pthread_mutex_unlock(&lock);
}

void hp_gpu_table_note(enum hp_gpu_note what) {
    pthread_mutex_lock(&lock);
    if (what < HP_GPU_NOTE_COUNT) notes[what]++;
    pthread_mutex_unlock(&lock);
}

void hp_gpu_table_activate(const char *route, const char *library) {
    pthread_mutex_lock(&lock);
    snprintf(route_name, sizeof route_name, "%s", route ? route : "");
    snprintf(library_path, sizeof library_path, "%s", library ? library : "");
    __atomic_store_n(&active, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
}

/* ---- snapshot ---- */

static int by_device_tag(const void *a, const void *b) {
    const hp_gpu_tag_counts *x = a, *y = b;
    if (x->device != y->device) return x->device < y->device ? -1 : 1;
    return x->tag < y->tag ? -1 : x->tag > y->tag;
}

static int copy_sites(hp_gpu_snapshot *out, uint64_t now_ns) {
    out->profile.sites = site_count ? hp_malloc(site_count * sizeof *out->profile.sites) : NULL;
    out->attrs = site_count ? hp_malloc(site_count * sizeof *out->attrs) : NULL;
    if (site_count && (!out->profile.sites || !out->attrs)) return -1;
    for (uint32_t i = 0; i < site_cap; i++) {
        const gpu_site *s = sites[i];
        if (!s) continue;
        size_t k = out->profile.nsites++;
        hp_site_snapshot *o = &out->profile.sites[k];
        o->stack = s->stack;
        o->tag = s->tag;
        o->labels = s->labels;
        o->v = hp_site_values_at(&s->v, s->live_start_sum, s->peak_epoch, peak_epoch, now_ns);
        out->attrs[k] = (hp_gpu_site_attr){s->device, s->kind};
    }
    return 0;
}

static int copy_counts(hp_gpu_snapshot *out) {
    size_t nd = 0;
    for (uint32_t i = 0; i <= HP_GPU_MAX_DEVICES; i++)
        nd += devices[i].all.alloc_objects != 0;
    out->devices = nd ? hp_calloc(nd, sizeof *out->devices) : NULL;
    out->tags = row_count ? hp_malloc(row_count * sizeof *out->tags) : NULL;
    if ((nd && !out->devices) || (row_count && !out->tags)) return -1;
    for (uint32_t i = 0; i <= HP_GPU_MAX_DEVICES; i++) {
        if (!devices[i].all.alloc_objects) continue;
        hp_gpu_device_counts *d = &out->devices[out->ndevices++];
        d->device = i ? (int32_t)i - 1 : HP_GPU_UNKNOWN_DEVICE;
        d->all = devices[i].all;
        memcpy(d->kind, devices[i].kind, sizeof d->kind);
    }
    for (uint32_t i = 0; i < row_cap; i++)
        if (rows[i])
            out->tags[out->ntags++] =
                (hp_gpu_tag_counts){rows[i]->device, rows[i]->tag, rows[i]->c};
    /* HP_GPU_ALL_DEVICES (-2) sorts before the unknown device (-1) and 0.. */
    qsort(out->tags, out->ntags, sizeof *out->tags, by_device_tag);
    return 0;
}

struct hp_gpu_snapshot *hp_gpu_snapshot_take(uint64_t now_ns) {
    if (!__atomic_load_n(&active, __ATOMIC_ACQUIRE)) return NULL; /* the usual case: GPU off */
    hp_gpu_snapshot *out = hp_calloc(1, sizeof *out);
    if (!out) return NULL;
    pthread_mutex_lock(&lock);
    if (copy_sites(out, now_ns) || copy_counts(out)) {
        pthread_mutex_unlock(&lock);
        hp_gpu_snapshot_free(out);
        return NULL;
    }
    out->total = total;
    out->profile.taken_uptime_ns = now_ns;
    out->profile.inuse_bytes = (double)total.live_bytes;
    out->profile.inuse_objs = (double)total.live_objects;
    out->profile.peak_bytes = (double)total.peak_bytes;
    out->profile.peak_uptime_ns = peak_at_ns;
    out->profile.samples = total.alloc_objects;
    out->profile.live_samples = live_count;
    memcpy(out->notes, notes, sizeof notes);
    snprintf(out->route, sizeof out->route, "%s", route_name);
    snprintf(out->library, sizeof out->library, "%s", library_path);
    pthread_mutex_unlock(&lock);
    return out;
}

void hp_gpu_snapshot_free(struct hp_gpu_snapshot *s) {
    if (!s) return;
    hp_free(s->profile.sites);
    hp_free(s->attrs);
    hp_free(s->devices);
    hp_free(s->tags);
    hp_free(s);
}

/* Fork: registered before the runtime's own handlers (constructor priority
 * 102 runs before the default), so this prepare handler runs after theirs
 * and the lock order matches a dump's: dump lock, then this one. */
static void fork_prepare(void) {
    pthread_mutex_lock(&lock);
}
static void fork_release(void) {
    pthread_mutex_unlock(&lock);
}

__attribute__((constructor(102))) static void gpu_table_init(void) {
    pthread_atfork(fork_prepare, fork_release, fork_release);
}
