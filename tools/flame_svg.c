/* The SVG flame graph: classic orientation (root at the bottom, callees
 * stacked above their callers), one <g> per frame with a <title> tooltip,
 * widths proportional to value. Static on purpose: no script, so it shows
 * the same in a browser, an <img> tag, a code review tool or Inkscape. */
#include "flame_render.h"
#include "html_escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROW = 16, TOP = 66, BOTTOM = 34, SIDE = 10 };
/* Monospace 12px advances about 7.2px per character; labels are cut to
 * what fits by that estimate. Frames under a tenth of a pixel are left out,
 * as no one can see or hover them. */
#define CHAR_W 7.2
#define MIN_W 0.1

typedef struct ctx {
    hp_buf *b;
    const flame_doc *d;
    double scale; /* px per unit of value */
    uint32_t rows;
    double diff_scale;
} ctx;

/* The deepest frame drawn: one whose ancestors are all drawn and that is
 * itself at least MIN_W wide (the root always is). Nodes come after their
 * parents, so one pass in index order does (no recursion: stacks can be
 * hundreds of thousands of frames deep). -1 when out of memory. */
static long visible_depth(const ctx *c) {
    const flame_tree *t = c->d->tree;
    unsigned char *shown = malloc(t->n);
    if (!shown) return -1;
    uint32_t deepest = 0;
    for (size_t i = 0; i < t->n; i++) {
        const flame_node *nd = &t->nodes[i];
        shown[i] = i == 0 || (shown[nd->parent] && nd->value[FLAME_NEW] * c->scale >= MIN_W);
        if (shown[i] && nd->depth > deepest) deepest = nd->depth;
    }
    free(shown);
    return deepest;
}

static void tooltip(const ctx *c, const flame_node *nd) {
    const flame_doc *d = c->d;
    double total = d->tree->nodes[0].value[FLAME_NEW], v = nd->value[FLAME_NEW];
    char a[64], b[64], e[64];
    hp_buf_append(c->b, "<title>", 7);
    html_text(c->b, nd->name);
    if (nd->file) {
        hp_buf_append(c->b, "\n", 1);
        html_text(c->b, nd->file);
        if (nd->line) hp_buf_printf(c->b, ":%d", nd->line);
    }
    double self = v;
    for (uint32_t k = 0; k < nd->nkids; k++)
        self -= d->tree->nodes[d->tree->kids[nd->kids + k]].value[FLAME_NEW];
    hp_buf_printf(c->b, "\n%s (%.2f%%), self %s", flame_value(a, sizeof a, v, d->unit),
                  total > 0 ? 100 * v / total : 0, flame_value(b, sizeof b, self, d->unit));
    if (d->diff) {
        double was = nd->value[FLAME_BASE], delta = v - was;
        hp_buf_printf(c->b, "\nBASE %s, change %s%s", flame_value(a, sizeof a, was, d->unit),
                      delta > 0 ? "+" : "", flame_value(e, sizeof e, delta, d->unit));
        if (was > 0)
            hp_buf_printf(c->b, " (%+.1f%%)", 100 * delta / was);
        else
            hp_buf_append(c->b, " (new)", 6);
    }
    hp_buf_append(c->b, "</title>", 8);
}

static void draw_frame(ctx *c, uint32_t id, double x, double w) {
    const flame_tree *t = c->d->tree;
    const flame_node *nd = &t->nodes[id];
    double y = TOP + (double)(c->rows - 1 - nd->depth) * ROW;
    char fill[32];
    if (c->d->diff)
        flame_diff_color(fill, sizeof fill, nd->value[FLAME_NEW] - nd->value[FLAME_BASE],
                         c->diff_scale);
    else
        flame_color(fill, sizeof fill, nd->name);
    hp_buf_append(c->b, "<g class=\"f\">", 13);
    tooltip(c, nd);
    hp_buf_printf(c->b, "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>", x,
                  y, w, ROW - 1, fill);
    size_t fit = w > 6 ? (size_t)((w - 6) / CHAR_W) : 0;
    if (fit >= 3) {
        size_t chars = html_utf8_chars(nd->name);
        hp_buf_printf(c->b, "<text x=\"%.2f\" y=\"%.0f\">", x + 3, y + ROW - 4);
        if (chars <= fit)
            html_text(c->b, nd->name);
        else {
            html_text_n(c->b, nd->name, html_utf8_prefix(nd->name, fit - 2));
            hp_buf_append(c->b, "..", 2);
        }
        hp_buf_append(c->b, "</text>", 7);
    }
    hp_buf_append(c->b, "</g>\n", 5);
}

typedef struct pending {
    uint32_t id;
    double x, w;
} pending;

/* Every frame wide enough, parents before children and children from the
 * left edge in name order (what is left of a parent is its self value),
 * with a stack of frames still to draw instead of recursion. */
static int draw_frames(ctx *c, double x, double w) {
    const flame_tree *t = c->d->tree;
    pending *todo = malloc(t->n * sizeof *todo); /* each node at most once */
    if (!todo) return -1;
    size_t n = 0;
    todo[n++] = (pending){0, x, w};
    while (n) {
        pending p = todo[--n];
        draw_frame(c, p.id, p.x, p.w);
        const flame_node *nd = &t->nodes[p.id];
        size_t first = n;
        for (uint32_t k = 0; k < nd->nkids; k++) {
            uint32_t kid = t->kids[nd->kids + k];
            double kw = t->nodes[kid].value[FLAME_NEW] * c->scale;
            if (kw >= MIN_W) todo[n++] = (pending){kid, p.x, kw};
            p.x += kw;
        }
        for (size_t i = first, j = n; i + 1 < j; i++, j--) { /* leftmost on top */
            pending swap = todo[i];
            todo[i] = todo[j - 1];
            todo[j - 1] = swap;
        }
    }
    free(todo);
    return 0;
}

int flame_svg(hp_buf *b, const flame_doc *d, int width) {
    const flame_tree *t = d->tree;
    double total = t->nodes[0].value[FLAME_NEW];
    ctx c = {b, d, total > 0 ? (width - 2 * SIDE) / total : 0, 1, 0};
    long deepest = visible_depth(&c);
    if (deepest < 0) return -1;
    c.rows = (uint32_t)deepest + 1;
    for (size_t i = 1; d->diff && i < t->n; i++) {
        double delta = t->nodes[i].value[FLAME_NEW] - t->nodes[i].value[FLAME_BASE];
        if (delta < 0) delta = -delta;
        if (delta > c.diff_scale) c.diff_scale = delta;
    }
    int height = TOP + (int)c.rows * ROW + BOTTOM;
    hp_buf_printf(b,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans Mono, Menlo, "
                  "Consolas, monospace\" font-size=\"12\">\n",
                  width, height, width, height);
    hp_buf_printf(b, "<style>g.f:hover rect{stroke:#000;stroke-width:0.7}"
                     "g.f text{pointer-events:none;fill:#000}"
                     "text.t{font-size:17px;font-family:sans-serif}"
                     "text.s{fill:#555;font-family:sans-serif}</style>\n");
    hp_buf_printf(b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fcfcf6\"/>\n");
    hp_buf_printf(b, "<text class=\"t\" x=\"%d\" y=\"26\" text-anchor=\"middle\">", width / 2);
    html_text(b, d->title);
    hp_buf_printf(b, "</text>\n<text class=\"s\" x=\"%d\" y=\"48\" text-anchor=\"middle\">",
                  width / 2);
    html_text(b, d->subtitle);
    hp_buf_append(b, "</text>\n", 8);
    hp_buf_printf(b, "<g id=\"frames\">\n");
    if (total > 0 && draw_frames(&c, SIDE, width - 2 * SIDE)) return -1;
    hp_buf_printf(b, "</g>\n<text class=\"s\" x=\"%d\" y=\"%d\">", SIDE, height - 12);
    hp_buf_printf(b, "Hover a frame for its function, source and value. Open the .html "
                     "output for zoom and search.");
    hp_buf_printf(b, "</text>\n</svg>\n");
    return b->failed ? -1 : 0;
}
