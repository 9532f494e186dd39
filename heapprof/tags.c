/*
 * Tags: a name interned to a small id. Each thread has a stack of tags
 * (push/pop), its top is the thread's current tag, and every allocation's
 * bytes go to the current tag's exact lifetime totals (through the thread's
 * counter batch, so the fast path does nothing extra) while every sampled
 * block records it. Labels work the same way for a set of key/value pairs.
 */
#define _GNU_SOURCE
#include "tags.h"
#include "../alloc/counters.h"
#include "../alloc/sampler_hooks.h"
#include "internal_alloc.h"
#include "log.h"
#include "profile.h"
#include "sampler.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#define MAX_TAG_NAME 255
#define MAX_DEPTH 64
#define CHUNK 1024u

typedef struct tag_rec {
    const char *name;
    _Atomic uint64_t alloc_bytes, alloc_objs;
} tag_rec;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Records in chunks so a record never moves: readers need no lock. The first
 * chunk is static so the initial tag can be counted before start-up. */
static tag_rec first_chunk[CHUNK];
static tag_rec *_Atomic chunks[HP_MAX_TAGS / CHUNK] = {first_chunk};
static _Atomic uint32_t tag_count;
static uint32_t *name_index; /* open addressing: slot -> tag id */
static uint32_t name_cap;

static const hp_label_set *_Atomic *label_sets; /* id -> set; id 0 is the empty set */
static uint32_t label_count, label_cap;
static uint32_t *label_index;
static uint32_t label_index_cap;
static const hp_label_set empty_labels;

typedef struct thread_tags {
    uint32_t depth;
    uint32_t stack[MAX_DEPTH];
    hp_label_set labels; /* this thread's current pairs (owned strings) */
} thread_tags;
static __thread thread_tags tls __attribute__((tls_model("initial-exec")));


static tag_rec *rec(uint32_t id) {
    tag_rec *c = atomic_load_explicit(&chunks[id / CHUNK], memory_order_acquire);
    return c ? &c[id % CHUNK] : NULL;
}

static char *copy_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = hp_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int grow_index(uint32_t **index, uint32_t *cap, uint64_t (*hash_of)(uint32_t)) {
    uint32_t new_cap = *cap ? *cap * 2 : 256;
    uint32_t *t = hp_calloc(new_cap, sizeof *t);
    if (!t) return -1;
    for (uint32_t i = 0; i < *cap; i++) {
        uint32_t id = (*index)[i];
        if (!id) continue;
        uint32_t j = (uint32_t)hash_of(id) & (new_cap - 1);
        while (t[j]) j = (j + 1) & (new_cap - 1);
        t[j] = id;
    }
    hp_free(*index);
    *index = t;
    *cap = new_cap;
    return 0;
}

static uint64_t name_hash(const char *s) { return XXH3_64bits(s, strlen(s)); }
static uint64_t tag_hash_of(uint32_t id) { return name_hash(rec(id)->name); }

/* Adds a record; caller holds the lock. */
static uint32_t new_tag(const char *name) {
    uint32_t id = atomic_load(&tag_count) + 1;
    if (id >= HP_MAX_TAGS) return 0;
    if (!atomic_load(&chunks[id / CHUNK])) {
        tag_rec *c = hp_calloc(CHUNK, sizeof *c);
        if (!c) return 0;
        atomic_store_explicit(&chunks[id / CHUNK], c, memory_order_release);
    }
    char *copy = copy_str(name);
    if (!copy) return 0;
    rec(id)->name = copy;
    atomic_store(&tag_count, id);
    return id;
}

static void reindex_locked(void) {
    hp_free(name_index);
    name_index = NULL;
    name_cap = 0;
    if (grow_index(&name_index, &name_cap, tag_hash_of)) return;
    for (uint32_t id = 1; id <= atomic_load(&tag_count); id++) {
        uint32_t j = (uint32_t)tag_hash_of(id) & (name_cap - 1);
        while (name_index[j]) j = (j + 1) & (name_cap - 1);
        name_index[j] = id;
    }
}

/* Ids 1 and 2 are fixed: the initial tag and the overflow tag. */
static void init_locked(const char *initial_name) {
    if (atomic_load(&tag_count)) return;
    new_tag(initial_name);
    new_tag("[other]");
    reindex_locked();
}

static uint32_t intern_locked(const char *name) {
    init_locked("main");
    if ((atomic_load(&tag_count) + 1) * 2 > name_cap &&
        grow_index(&name_index, &name_cap, tag_hash_of))
        return HP_TAG_OVERFLOW;
    uint32_t j = (uint32_t)name_hash(name) & (name_cap - 1);
    for (uint32_t id; (id = name_index[j]) != 0; j = (j + 1) & (name_cap - 1))
        if (!strcmp(rec(id)->name, name)) return id;
    uint32_t id = new_tag(name);
    if (!id) {
        static int warned;
        if (!warned++)
            hp_info("more than %u distinct tags; further new tags are counted under \"[other]\"",
                    HP_MAX_TAGS - 1);
        return HP_TAG_OVERFLOW;
    }
    name_index[j] = id;
    return id;
}

static uint32_t intern(const char *name) {
    pthread_mutex_lock(&lock);
    uint32_t id = intern_locked(name);
    pthread_mutex_unlock(&lock);
    return id;
}

void hp_tags_start(const char *initial_name) {
    pthread_mutex_lock(&lock);
    if (!atomic_load(&tag_count)) {
        init_locked(initial_name);
    } else if (strcmp(rec(HP_TAG_INITIAL)->name, initial_name)) {
        char *copy = copy_str(initial_name);
        if (copy) rec(HP_TAG_INITIAL)->name = copy; /* the old name is a few bytes, kept */
        reindex_locked();
    }
    pthread_mutex_unlock(&lock);
}

uint32_t hp_tag_initial(void) { return HP_TAG_INITIAL; }

const char *hp_tag_name(uint32_t tag) {
    tag_rec *r = tag ? rec(tag) : NULL;
    return r && r->name ? r->name : "main";
}

uint32_t hp_tag_count(void) { return atomic_load(&tag_count); }

void hp_tag_account(uint32_t tag, uint64_t bytes, uint64_t objects) {
    tag_rec *r = rec(tag);
    if (!r) return; /* before hp_tags_start: only the initial tag exists */
    atomic_fetch_add_explicit(&r->alloc_bytes, bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->alloc_objs, objects, memory_order_relaxed);
}

void hp_tag_lifetime(uint32_t tag, uint64_t *bytes, uint64_t *objects) {
    tag_rec *r = rec(tag);
    *bytes = r ? atomic_load(&r->alloc_bytes) : 0;
    *objects = r ? atomic_load(&r->alloc_objs) : 0;
}

/* Switching tags closes the thread's counter batch so its bytes go to the
 * tag they were allocated under. */
static void switch_to(uint32_t tag) {
    hp_thread *t = &hp_self;
    if (t->tag == tag) return;
    if (!t->busy) hp_flush(t);
    t->tag = tag;
}

static uint32_t top(void) { return tls.depth ? tls.stack[tls.depth - 1] : HP_TAG_INITIAL; }

static int valid_name(const char *name) {
    if (!name) return 0;
    size_t n = strnlen(name, MAX_TAG_NAME + 1);
    return n > 0 && n <= MAX_TAG_NAME;
}

HP_EXPORT int heapprof_tag_push(const char *name) {
    if (!valid_name(name) || tls.depth >= MAX_DEPTH) return -1;
    uint32_t id = intern(name);
    tls.stack[tls.depth++] = id;
    switch_to(id);
    return 0;
}

HP_EXPORT int heapprof_tag_pop(void) {
    if (!tls.depth) return -1;
    tls.depth--;
    switch_to(top());
    return 0;
}

HP_EXPORT int heapprof_tag_set(const char *name) {
    if (!valid_name(name)) return -1;
    uint32_t id = intern(name);
    if (tls.depth) tls.stack[tls.depth - 1] = id;
    else tls.stack[tls.depth++] = id;
    switch_to(id);
    return 0;
}

HP_EXPORT const char *heapprof_tag_current(void) { return hp_tag_name(top()); }

static uint32_t lookup(const char *name) {
    uint32_t found = 0;
    pthread_mutex_lock(&lock);
    if (name_cap) {
        uint32_t j = (uint32_t)name_hash(name) & (name_cap - 1);
        for (uint32_t id; (id = name_index[j]) != 0; j = (j + 1) & (name_cap - 1))
            if (!strcmp(rec(id)->name, name)) {
                found = id;
                break;
            }
    }
    pthread_mutex_unlock(&lock);
    return found;
}

struct pending_one {
    uint32_t tag;
    uint64_t bytes, objects;
};

static void add_pending_one(uint32_t tag, uint64_t bytes, uint64_t objects, void *arg) {
    struct pending_one *one = arg;
    if (tag != one->tag) return;
    one->bytes += bytes;
    one->objects += objects;
}

HP_EXPORT int heapprof_tag_stats(const char *name, heapprof_tag_stats_t *out, size_t size) {
    if (!out || !valid_name(name)) return -1;
    uint32_t id = lookup(name);
    if (!id) return -1;
    heapprof_tag_stats_t s;
    memset(&s, 0, sizeof s);
    hp_thread *t = &hp_self;
    if (!t->busy) hp_flush(t);
    hp_tag_lifetime(id, &s.alloc_bytes, &s.alloc_objects);
    struct pending_one one = {id, 0, 0};
    hp_counters_each_pending(add_pending_one, &one);
    s.alloc_bytes += one.bytes;
    s.alloc_objects += one.objects;
    hp_tag_estimate e;
    if (hp_profile_tag_estimate(id, &e) == 0) {
        s.live_bytes = e.inuse_bytes;
        s.live_objects = e.inuse_objs;
        s.peak_bytes = e.peak_bytes;
        s.peak_objects = e.peak_objs;
        s.live_bytes_stderr = sqrt(e.inuse_var_bytes > 0 ? e.inuse_var_bytes : 0);
        s.live_objects_stderr = sqrt(e.inuse_var_objs > 0 ? e.inuse_var_objs : 0);
    }
    s.exact = hp_sampler_rate() == 1;
    memcpy(out, &s, size < sizeof s ? size : sizeof s);
    return 0;
}

/* ---- labels ---- */

static uint64_t label_hash(const hp_label_set *ls) {
    uint64_t h = ls->count;
    for (uint32_t i = 0; i < ls->count; i++) {
        h = XXH3_64bits_withSeed(ls->keys[i], strlen(ls->keys[i]), h);
        h = XXH3_64bits_withSeed(ls->values[i], strlen(ls->values[i]), h ^ 0x5bd1e995);
    }
    return h;
}

static uint64_t label_hash_of(uint32_t id) { return label_hash(label_sets[id]); }

static int same_labels(const hp_label_set *a, const hp_label_set *b) {
    if (a->count != b->count) return 0;
    for (uint32_t i = 0; i < a->count; i++)
        if (strcmp(a->keys[i], b->keys[i]) || strcmp(a->values[i], b->values[i])) return 0;
    return 1;
}

/* Returns the id of a set equal to ls (sorted by key), adding a copy if new. */
static uint32_t intern_labels(const hp_label_set *ls) {
    if (ls->count == 0) return 0;
    uint32_t id = 0;
    pthread_mutex_lock(&lock);
    if (label_count + 1 >= label_cap) {
        uint32_t cap = label_cap ? label_cap * 2 : 64;
        const hp_label_set *_Atomic *t = hp_realloc((void *)label_sets, cap * sizeof *t);
        if (!t) goto out;
        label_sets = t;
        label_sets[0] = &empty_labels;
        label_cap = cap;
    }
    if ((label_count + 1) * 2 > label_index_cap &&
        grow_index(&label_index, &label_index_cap, label_hash_of))
        goto out;
    uint32_t j = (uint32_t)label_hash(ls) & (label_index_cap - 1);
    for (uint32_t cand; (cand = label_index[j]) != 0; j = (j + 1) & (label_index_cap - 1))
        if (same_labels(label_sets[cand], ls)) {
            id = cand;
            goto out;
        }
    hp_label_set *copy = hp_calloc(1, sizeof *copy);
    if (!copy) goto out;
    for (uint32_t i = 0; i < ls->count; i++) {
        copy->keys[i] = copy_str(ls->keys[i]);
        copy->values[i] = copy_str(ls->values[i]);
        if (!copy->keys[i] || !copy->values[i]) goto out; /* a few bytes leak on OOM */
    }
    copy->count = ls->count;
    id = ++label_count;
    label_sets[id] = copy;
    label_index[j] = id;
out:
    pthread_mutex_unlock(&lock);
    return id;
}

const hp_label_set *hp_label_set_get(uint32_t id) {
    if (id == 0) return &empty_labels;
    const hp_label_set *ls = NULL;
    pthread_mutex_lock(&lock);
    if (id <= label_count) ls = label_sets[id];
    pthread_mutex_unlock(&lock);
    return ls;
}

static void apply_labels(void) {
    uint32_t id = intern_labels(&tls.labels);
    hp_self.labels = id;
}

static int valid_label_text(const char *s) {
    if (!s) return 0;
    size_t n = strnlen(s, 1025);
    return n > 0 && n <= 1024;
}

HP_EXPORT int heapprof_label_set(const char *key, const char *value) {
    if (!valid_label_text(key) || !valid_label_text(value) || !strcmp(key, "tag")) return -1;
    hp_label_set *ls = &tls.labels;
    uint32_t i = 0;
    while (i < ls->count && strcmp(ls->keys[i], key) < 0) i++;
    char *v = copy_str(value);
    if (!v) return -1;
    if (i < ls->count && !strcmp(ls->keys[i], key)) {
        hp_free((void *)ls->values[i]);
        ls->values[i] = v;
    } else {
        char *k = copy_str(key);
        if (!k || ls->count >= HP_MAX_LABELS) {
            hp_free(k);
            hp_free(v);
            return -1;
        }
        memmove(&ls->keys[i + 1], &ls->keys[i], (ls->count - i) * sizeof ls->keys[0]);
        memmove(&ls->values[i + 1], &ls->values[i], (ls->count - i) * sizeof ls->values[0]);
        ls->keys[i] = k;
        ls->values[i] = v;
        ls->count++;
    }
    apply_labels();
    return 0;
}

HP_EXPORT int heapprof_label_clear(const char *key) {
    if (!key) return -1;
    hp_label_set *ls = &tls.labels;
    for (uint32_t i = 0; i < ls->count; i++) {
        if (strcmp(ls->keys[i], key)) continue;
        hp_free((void *)ls->keys[i]);
        hp_free((void *)ls->values[i]);
        memmove(&ls->keys[i], &ls->keys[i + 1], (ls->count - i - 1) * sizeof ls->keys[0]);
        memmove(&ls->values[i], &ls->values[i + 1], (ls->count - i - 1) * sizeof ls->values[0]);
        ls->count--;
        apply_labels();
        return 0;
    }
    return -1;
}

void hp_tags_lock(void) { pthread_mutex_lock(&lock); }
void hp_tags_unlock(void) { pthread_mutex_unlock(&lock); }
void hp_tags_reset_lock(void) { pthread_mutex_init(&lock, NULL); }
