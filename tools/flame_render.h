/* What the flame graph writers (SVG, HTML) share: the tree and its labels. */
#ifndef HP_CLI_FLAME_RENDER_H
#define HP_CLI_FLAME_RENDER_H

#include "flame_tree.h"

#include "../heapprof/internal_alloc.h"

typedef struct flame_doc {
    const flame_tree *tree;
    const char *title, *subtitle;
    const char *metric, *unit; /* unit: "bytes", "count", ... */
    const char *tag;           /* the --tag the graph was restricted to, or NULL */
    int diff;                  /* value[FLAME_BASE] holds BASE */
} flame_doc;

/* Appends the whole document. Return 0, or -1 when out of memory. */
int flame_svg(hp_buf *b, const flame_doc *d, int width);
int flame_html(hp_buf *b, const flame_doc *d);

/* "1.50 MiB" for bytes, "1,234" for counts, "12.5 ms" style otherwise. */
const char *flame_value(char *buf, size_t cap, double v, const char *unit);

/* The stock palette: warm hues from a hash of the name; grey for unknown
 * frames. The diff palette: red for growth, blue for shrinkage, by the
 * change relative to `scale` (the largest change of any frame). */
void flame_color(char *buf, size_t cap, const char *name);
void flame_diff_color(char *buf, size_t cap, double delta, double scale);

/* The HTML page's stylesheet and script (html_flame.c). */
extern const char html_flame_css[], html_flame_js[];

#endif
