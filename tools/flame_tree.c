#include "flame_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t flame_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static uint32_t new_node(flame_tree *t, uint32_t parent, const char *name) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        flame_node *v = realloc(t->nodes, cap * sizeof *v);
        if (!v) return 0;
        t->nodes = v;
        t->cap = cap;
    }
    flame_node *nd = &t->nodes[t->n];
    memset(nd, 0, sizeof *nd);
    nd->name = name;
    nd->parent = parent;
    nd->depth = t->n ? t->nodes[parent].depth + 1 : 0;
    if (nd->depth > t->max_depth) t->max_depth = nd->depth;
    return (uint32_t)t->n++;
}

static int add_root(flame_tree *t) {
    if (!t->n) new_node(t, 0, model_str("all"));
    return t->n ? 0 : -1;
}

/* Ids from hp_id_map are dense and exact for exact keys: names are interned
 * strings, so their address is their identity, and (parent, name id) packs
 * into 64 bits without collisions. */
static uint32_t child(flame_tree *t, uint32_t parent, const char *name) {
    int added;
    uint32_t name_id = hp_id_map_get(&t->name_ids, (uint64_t)(uintptr_t)name, &added);
    if (!name_id) return 0;
    uint32_t id = hp_id_map_get(&t->child_ids, (uint64_t)parent << 32 | name_id, &added);
    if (!id) return 0;
    if (added && new_node(t, parent, name) != id) return 0; /* ids are node indexes */
    return id;
}

static uint32_t tag_index(flame_tree *t, const char *tag) {
    int added;
    uint32_t id = hp_id_map_get(&t->tag_ids, (uint64_t)(uintptr_t)tag, &added);
    if (!id) return UINT32_MAX;
    if (added) {
        if (t->ntags == t->tags_cap) {
            size_t cap = t->tags_cap ? t->tags_cap * 2 : 16;
            const char **v = realloc(t->tags, cap * sizeof *v);
            if (!v) return UINT32_MAX;
            t->tags = v;
            t->tags_cap = cap;
        }
        t->tags[t->ntags++] = tag;
    }
    return id - 1;
}

static int add_tag_value(flame_tree *t, uint32_t node, uint32_t tag, int side, double v) {
    int added;
    uint32_t id = hp_id_map_get(&t->tv_ids, (uint64_t)node << 32 | tag, &added);
    if (!id) return -1;
    if (added) {
        if (t->ntv == t->tv_cap) {
            size_t cap = t->tv_cap ? t->tv_cap * 2 : 1024;
            flame_tag_value *nv = realloc(t->tv, cap * sizeof *nv);
            if (!nv) return -1;
            t->tv = nv;
            t->tv_cap = cap;
        }
        t->tv[t->ntv++] = (flame_tag_value){node, tag, {0, 0}};
    }
    t->tv[id - 1].value[side] += v;
    return 0;
}

/* The name a frame is merged by. Unknown functions keep their module apart,
 * so "??" in libc and "??" in the program stay two frames. */
static const char *frame_name(const frame *f) {
    if (f->function && f->function[0] && strcmp(f->function, "??")) return f->function;
    if (!f->module) return model_str("??");
    const char *base = strrchr(f->module, '/');
    char buf[512];
    snprintf(buf, sizeof buf, "?? (%s)", base ? base + 1 : f->module);
    return model_str(buf);
}

static void note_location(flame_node *nd, const frame *f, int first) {
    if (first) {
        nd->file = f->file;
        nd->line = f->line;
        return;
    }
    if (nd->file != f->file)
        nd->file = NULL, nd->line = 0;
    else if (nd->line != f->line)
        nd->line = 0;
}

/* Adds value v of one sample along its stack. -1: out of memory. */
static int add_stack(flame_tree *t, const view_opts *o, const sample *s, double v, int side) {
    static const frame no_stack = {.function = "[no stack]"};
    uint32_t tag = UINT32_MAX;
    if (s->tag && (tag = tag_index(t, s->tag)) == UINT32_MAX) return -1;
    size_t depth = view_depth(o, s);
    uint32_t node = 0;
    t->nodes[0].value[side] += v;
    if (s->tag && add_tag_value(t, 0, tag, side, v)) return -1;
    /* frames are leaf first: walk from the outermost one considered */
    for (size_t k = depth ? depth : 1; k-- > 0;) {
        const frame *f = depth ? &s->frames[k] : &no_stack;
        size_t before = t->n;
        node = child(t, node, depth ? frame_name(f) : model_str(f->function));
        if (!node) return -1;
        flame_node *nd = &t->nodes[node];
        note_location(nd, f, t->n > before);
        nd->value[side] += v;
        if (s->tag && add_tag_value(t, node, tag, side, v)) return -1;
    }
    return 0;
}

int flame_tree_add(flame_tree *t, const profile *p, const view_opts *o, int metric, int side) {
    if (add_root(t)) t->failed = 1;
    for (size_t i = 0; i < p->nsamples && !t->failed; i++) {
        const sample *s = &p->samples[i];
        if (!view_keep(o, s)) continue;
        double v = s->values[metric];
        if (v < 0) t->negative++;
        if (v <= 0) continue; /* a zero-width frame shows nothing */
        t->samples++;
        if (add_stack(t, o, s, v, side)) t->failed = 1;
    }
    return t->failed ? -1 : 0;
}

static const flame_tree *sort_tree;

static int by_name(const void *a, const void *b) {
    const flame_node *x = &sort_tree->nodes[*(const uint32_t *)a];
    const flame_node *y = &sort_tree->nodes[*(const uint32_t *)b];
    return strcmp(x->name, y->name);
}

int flame_tree_finish(flame_tree *t) {
    if (add_root(t)) return -1;
    free(t->kids);
    t->kids = malloc(t->n * sizeof *t->kids);
    if (!t->kids) return -1;
    for (size_t i = 0; i < t->n; i++)
        t->nodes[i].nkids = 0;
    for (size_t i = 1; i < t->n; i++)
        t->nodes[t->nodes[i].parent].nkids++;
    uint32_t at = 0;
    for (size_t i = 0; i < t->n; i++) {
        t->nodes[i].kids = at;
        at += t->nodes[i].nkids;
        t->nodes[i].nkids = 0;
    }
    for (size_t i = 1; i < t->n; i++) {
        flame_node *parent = &t->nodes[t->nodes[i].parent];
        t->kids[parent->kids + parent->nkids++] = (uint32_t)i;
    }
    sort_tree = t;
    for (size_t i = 0; i < t->n; i++)
        qsort(t->kids + t->nodes[i].kids, t->nodes[i].nkids, sizeof *t->kids, by_name);
    return 0;
}

void flame_tree_free(flame_tree *t) {
    free(t->nodes);
    free(t->kids);
    free(t->tags);
    free(t->tv);
    hp_id_map_free(&t->child_ids);
    hp_id_map_free(&t->name_ids);
    hp_id_map_free(&t->tag_ids);
    hp_id_map_free(&t->tv_ids);
    memset(t, 0, sizeof *t);
}
