/* The call tree behind a flame graph: samples merged by function name at
 * each level from the outermost frame inward, so every distinct path from
 * the root is one node whose value is everything allocated at or below it.
 * Two sides let a differential graph keep BASE beside NEW. */
#ifndef HP_CLI_FLAME_TREE_H
#define HP_CLI_FLAME_TREE_H

#include "../heapprof/id_map.h"
#include "model.h"
#include "view.h"

#include <stdint.h>

enum { FLAME_NEW = 0, FLAME_BASE = 1 };

typedef struct flame_node {
    const char *name; /* function (interned) */
    const char *file; /* NULL when unknown or when merged frames disagree */
    int line;         /* 0 when unknown or when merged frames disagree */
    uint32_t parent, depth;
    uint32_t kids, nkids; /* children: t->kids[kids .. kids+nkids), sorted by name */
    double value[2];      /* inclusive, per side: [FLAME_NEW] (or the only one), [FLAME_BASE] */
} flame_node;

/* Value of one node under one tag (the HTML graph's tag selector). */
typedef struct flame_tag_value {
    uint32_t node, tag;
    double value[2];
} flame_tag_value;

typedef struct flame_tree {
    flame_node *nodes; /* nodes[0] is the root, "all" */
    size_t n, cap;
    uint32_t *kids;
    const char **tags; /* tag names seen, by index */
    size_t ntags, tags_cap;
    flame_tag_value *tv;
    size_t ntv, tv_cap;
    uint32_t max_depth;
    size_t negative; /* samples skipped because their value was negative */
    size_t samples;  /* samples added */
    int failed;      /* out of memory */
    hp_id_map child_ids, name_ids, tag_ids, tv_ids;
} flame_tree;

/* Adds the samples of p that pass o (tag, focus, depth) with their value of
 * `metric` to `side`. Returns 0 or -1 (out of memory). */
int flame_tree_add(flame_tree *t, const profile *p, const view_opts *o, int metric, int side);
/* Sorts children by name and fills kids; call once after the last add. */
int flame_tree_finish(flame_tree *t);
void flame_tree_free(flame_tree *t);

/* Stable 32-bit hash of a name (FNV-1a over its bytes): the flame colors. */
uint32_t flame_hash(const char *s);

#endif
