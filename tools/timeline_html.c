/* The timeline as an HTML page: the SVG of timeline_svg.c inline, the
 * series again as JSON for the script (html_timeline.c), which adds a hover
 * read-out of every visible series at the nearest dump and legend clicks
 * that hide or show a series. The JSON:
 *   {"xmax", "ymax", "xstep", "plot": {"left", "top", "width", "height"},
 *    "series": [{"label", "color", "x": [s...], "y": [bytes...],
 *                "e": [standard error...] (estimated tag values only)}]} */
#include "html_escape.h"
#include "timeline_chart.h"

#include <stdio.h>

static void numbers(hp_buf *b, const double *v, size_t n) {
    hp_buf_append(b, "[", 1);
    for (size_t k = 0; k < n; k++)
        hp_buf_printf(b, "%s%.15g", k ? "," : "", v[k]);
    hp_buf_append(b, "]", 1);
}

int timeline_html(hp_buf *b, const tl_chart *c) {
    tl_geom g;
    timeline_geom(c, &g);
    hp_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>");
    html_text(b, c->title);
    hp_buf_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<div id=\"wrap\">\n",
                  html_timeline_css);
    if (timeline_svg(b, c, 0)) return -1;
    hp_buf_printf(b, "</div>\n<p class=\"hint\">Hover the plot to read every series at the "
                     "nearest dump; click a legend entry to hide or show its series.</p>\n"
                     "<div id=\"tip\"></div>\n"
                     "<script type=\"application/json\" id=\"hp-data\">");
    hp_buf_printf(b,
                  "{\"xmax\":%.15g,\"ymax\":%.15g,\"xstep\":%.15g,\"plot\":{\"left\":%.15g,"
                  "\"top\":%.15g,\"width\":%.15g,\"height\":%.15g},\"series\":[",
                  c->xmax, c->ymax, c->xstep, g.left, g.top, g.plot_w, g.plot_h);
    for (size_t i = 0; i < c->n; i++) {
        const tl_series *s = &c->s[i];
        hp_buf_append(b, i ? ",{\"label\":" : "{\"label\":", i ? 10 : 9);
        html_json_string(b, s->label);
        hp_buf_append(b, ",\"color\":", 9);
        html_json_string(b, s->color);
        hp_buf_append(b, ",\"x\":", 5);
        numbers(b, s->x, s->n);
        hp_buf_append(b, ",\"y\":", 5);
        numbers(b, s->y, s->n);
        if (s->err) {
            hp_buf_append(b, ",\"e\":", 5);
            numbers(b, s->err, s->n);
        }
        hp_buf_append(b, "}", 1);
    }
    hp_buf_printf(b, "]}</script>\n<script>\n%s</script>\n</body>\n</html>\n", html_timeline_js);
    return b->failed ? -1 : 0;
}
