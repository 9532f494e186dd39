/* The HTML flame graph: one page with the tree as JSON, the stylesheet and
 * the script inline (html_flame.c). The JSON:
 *   {"title", "subtitle", "metric", "unit", "diff": bool, "tag": string|null,
 *    "tags": [names], "root": NODE}
 *   NODE = {"n": function, "f": "file:line" (if known), "v": value,
 *           "b": BASE value (diff only), "t": [tag index, value(, BASE)]...,
 *           "c": [NODE...] (children by name, only those with a value)} */
#include "flame_render.h"
#include "html_escape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    hp_buf *b;
    const flame_doc *d;
    uint32_t *tv_of; /* per node: first index into order[] */
    uint32_t *order; /* tag values grouped by node */
} ctx;

static void number(hp_buf *b, double v) {
    /* %.15g prints whole numbers as such and keeps estimates exact enough;
     * JSON has no inf or nan */
    hp_buf_printf(b, "%.15g", isfinite(v) ? v : 0);
}

/* A node's own members: NODE above up to its children. */
static void node_head(const ctx *c, uint32_t id) {
    const flame_tree *t = c->d->tree;
    const flame_node *nd = &t->nodes[id];
    hp_buf *b = c->b;
    hp_buf_append(b, "{\"n\":", 5);
    html_json_string(b, nd->name);
    if (nd->file) {
        char loc[4200];
        if (nd->line)
            snprintf(loc, sizeof loc, "%s:%d", nd->file, nd->line);
        else
            snprintf(loc, sizeof loc, "%s", nd->file);
        hp_buf_append(b, ",\"f\":", 5);
        html_json_string(b, loc);
    }
    hp_buf_append(b, ",\"v\":", 5);
    number(b, nd->value[FLAME_NEW]);
    if (c->d->diff) {
        hp_buf_append(b, ",\"b\":", 5);
        number(b, nd->value[FLAME_BASE]);
    }
    if (c->tv_of[id] != c->tv_of[id + 1]) {
        hp_buf_append(b, ",\"t\":[", 6);
        for (uint32_t i = c->tv_of[id]; i < c->tv_of[id + 1]; i++) {
            const flame_tag_value *tv = &t->tv[c->order[i]];
            hp_buf_printf(b, "%s%u,", i == c->tv_of[id] ? "" : ",", tv->tag);
            number(b, tv->value[FLAME_NEW]);
            if (c->d->diff) {
                hp_buf_append(b, ",", 1);
                number(b, tv->value[FLAME_BASE]);
            }
        }
        hp_buf_append(b, "]", 1);
    }
}

typedef struct level {
    uint32_t id, next; /* next: the child to look at next */
    int open;          /* its "c" list is open */
} level;

/* The tree as nested NODEs, children (those with a value) in name order,
 * with a stack of the nodes being written instead of recursion: stacks can
 * be hundreds of thousands of frames deep. */
static int nodes(const ctx *c) {
    const flame_tree *t = c->d->tree;
    hp_buf *b = c->b;
    level *path = malloc(t->n * sizeof *path); /* a node is on the path once */
    if (!path) return -1;
    size_t n = 0;
    node_head(c, 0);
    path[n++] = (level){0, 0, 0};
    while (n) {
        level *l = &path[n - 1];
        const flame_node *nd = &t->nodes[l->id];
        uint32_t kid = 0;
        int found = 0;
        while (!found && l->next < nd->nkids) {
            kid = t->kids[nd->kids + l->next++];
            found = t->nodes[kid].value[FLAME_NEW] > 0; /* only in BASE: no width */
        }
        if (!found) {
            hp_buf_append(b, l->open ? "]}" : "}", l->open ? 2 : 1);
            n--;
            continue;
        }
        hp_buf_append(b, l->open ? "," : ",\"c\":[", l->open ? 1 : 6);
        l->open = 1;
        node_head(c, kid);
        path[n++] = (level){kid, 0, 0};
    }
    free(path);
    return 0;
}

/* Groups the tree's per-tag values by node (a counting sort). */
static int index_tags(ctx *c) {
    const flame_tree *t = c->d->tree;
    c->tv_of = calloc(t->n + 1, sizeof *c->tv_of);
    c->order = malloc((t->ntv ? t->ntv : 1) * sizeof *c->order);
    if (!c->tv_of || !c->order) return -1;
    for (size_t i = 0; i < t->ntv; i++)
        c->tv_of[t->tv[i].node + 1]++;
    for (size_t i = 0; i < t->n; i++)
        c->tv_of[i + 1] += c->tv_of[i];
    uint32_t *fill = calloc(t->n ? t->n : 1, sizeof *fill);
    if (!fill) return -1;
    for (size_t i = 0; i < t->ntv; i++) {
        uint32_t nd = t->tv[i].node;
        c->order[c->tv_of[nd] + fill[nd]++] = (uint32_t)i;
    }
    free(fill);
    return 0;
}

int flame_html(hp_buf *b, const flame_doc *d) {
    ctx c = {b, d, NULL, NULL};
    if (index_tags(&c)) {
        free(c.tv_of);
        free(c.order);
        return -1;
    }
    hp_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>");
    html_text(b, d->title);
    hp_buf_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>",
                  html_flame_css);
    html_text(b, d->title);
    hp_buf_append(b, "</h1>\n<div class=\"sub\">", 23);
    html_text(b, d->subtitle);
    hp_buf_printf(b, "</div>\n<div class=\"controls\">\n"
                     "<label id=\"tagbox\" hidden>Tag <select id=\"tag\"></select></label>\n"
                     "<input id=\"search\" type=\"search\" placeholder=\"Search functions "
                     "(regex)\" aria-label=\"Search functions\">\n"
                     "<button id=\"reset\" type=\"button\" disabled>Reset zoom</button>\n"
                     "<span id=\"matched\"></span>\n");
    if (d->diff)
        hp_buf_printf(b, "<span class=\"legend\"><span style=\"background:rgb(215,45,40);"
                         "color:#fff\">grew</span><span style=\"background:rgb(45,100,215);"
                         "color:#fff\">shrank</span>width: NEW</span>\n");
    hp_buf_printf(
        b, "</div>\n<div id=\"details\" class=\"mono\">Click a frame to zoom in, Esc or Reset "
           "zoom to go back.</div>\n</header>\n<div id=\"view\"><div "
           "id=\"chart\"></div></div>\n"
           "<div id=\"tip\" class=\"mono\"></div>\n<noscript>This flame graph needs JavaScript; "
           "the SVG output (heapprof flame -o FILE.svg) does not.</noscript>\n"
           "<script type=\"application/json\" id=\"hp-data\">{\"title\":");
    html_json_string(b, d->title);
    hp_buf_append(b, ",\"subtitle\":", 12);
    html_json_string(b, d->subtitle);
    hp_buf_append(b, ",\"metric\":", 10);
    html_json_string(b, d->metric);
    hp_buf_append(b, ",\"unit\":", 8);
    html_json_string(b, d->unit);
    hp_buf_printf(b, ",\"diff\":%s,\"tag\":", d->diff ? "true" : "false");
    if (d->tag)
        html_json_string(b, d->tag);
    else
        hp_buf_append(b, "null", 4);
    hp_buf_append(b, ",\"tags\":[", 9);
    for (size_t i = 0; i < d->tree->ntags; i++) {
        if (i) hp_buf_append(b, ",", 1);
        html_json_string(b, d->tree->tags[i]);
    }
    hp_buf_append(b, "],\"root\":", 9);
    if (nodes(&c)) b->failed = 1;
    hp_buf_printf(b, "}</script>\n<script>\n%s</script>\n</body>\n</html>\n", html_flame_js);
    free(c.tv_of);
    free(c.order);
    return b->failed ? -1 : 0;
}
