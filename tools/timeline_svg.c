/* The timeline as SVG: axes with ticks and grid, one polyline per series
 * (peaks dashed), point markers with <title> tooltips, and a legend below
 * the plot. The HTML page inlines this same SVG and adds hover and toggles. */
#include "cli.h"
#include "html_escape.h"
#include "timeline_chart.h"

#include <stdio.h>
#include <string.h>

enum { WIDTH = 960, LEFT = 86, RIGHT = 24, TOP = 72, PLOT_H = 340, LEGEND_ROW = 20 };
#define LEGEND_CHAR_W 6.8 /* 12px sans-serif, generously */

static double item_width(const tl_series *s) {
    return 34 + (double)html_utf8_chars(s->label) * LEGEND_CHAR_W + 18;
}

/* Position of legend item i; returns the number of rows used so far. */
static int legend_pos(const tl_chart *c, const tl_geom *g, size_t i, double *x, double *y) {
    double cx = g->left, right = g->left + g->plot_w;
    int row = 0;
    for (size_t k = 0; k <= i; k++) {
        double w = item_width(&c->s[k]);
        if (cx > g->left && cx + w > right) cx = g->left, row++;
        if (k == i) break;
        cx += w;
    }
    *x = cx;
    *y = g->legend_top + row * LEGEND_ROW;
    return row + 1;
}

void timeline_geom(const tl_chart *c, tl_geom *g) {
    g->width = WIDTH;
    g->left = LEFT;
    g->top = TOP;
    g->plot_w = WIDTH - LEFT - RIGHT;
    g->plot_h = PLOT_H;
    g->legend_top = TOP + PLOT_H + 58;
    double x, y;
    int rows = c->n ? legend_pos(c, g, c->n - 1, &x, &y) : 0;
    g->height = g->legend_top + rows * LEGEND_ROW + 10;
}

static double px(const tl_chart *c, const tl_geom *g, double x) {
    return g->left + x / c->xmax * g->plot_w;
}
static double py(const tl_chart *c, const tl_geom *g, double y) {
    return g->top + g->plot_h - y / c->ymax * g->plot_h;
}

static void axes(hp_buf *b, const tl_chart *c, const tl_geom *g) {
    char label[64];
    double bottom = g->top + g->plot_h, right = g->left + g->plot_w;
    hp_buf_printf(b, "<g class=\"grid\">\n");
    for (double v = 0; v <= c->ymax * (1 + 1e-9); v += c->ystep) {
        double y = py(c, g, v);
        timeline_bytes_label(label, sizeof label, c, v);
        hp_buf_printf(b,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                      g->left, y, right, y, g->left - 8, y + 4, label);
    }
    for (double v = 0; v <= c->xmax * (1 + 1e-9); v += c->xstep) {
        double x = px(c, g, v);
        timeline_time_label(label, sizeof label, v, c->xstep);
        hp_buf_printf(
            b,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
            x, g->top, x, bottom, x, bottom + 18, label);
    }
    hp_buf_printf(b, "</g>\n<path class=\"axis\" d=\"M%.1f %.1fV%.1fH%.1f\"/>\n", g->left, g->top,
                  bottom, right);
    hp_buf_printf(b, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                  g->left + g->plot_w / 2, bottom + 40);
    html_text(b, c->xlabel);
    hp_buf_printf(b,
                  "</text>\n<text class=\"label\" transform=\"translate(18 %.1f) rotate(-90)\" "
                  "text-anchor=\"middle\">heap bytes</text>\n",
                  g->top + g->plot_h / 2);
}

static void marker_title(hp_buf *b, const tl_chart *c, const tl_series *s, size_t k) {
    char t[64], v[64], e[64];
    timeline_time_label(t, sizeof t, s->x[k], c->xstep >= 60 ? c->xstep : 0.01);
    hp_buf_append(b, "<title>", 7);
    html_text(b, s->label);
    hp_buf_printf(b, "\n%s: %s", t, fmt_bytes(v, sizeof v, s->y[k]));
    if (s->err && s->err[k] > 0)
        hp_buf_printf(b, " \xC2\xB1 %s", fmt_bytes(e, sizeof e, s->err[k]));
    hp_buf_append(b, "</title>", 8);
}

static void series(hp_buf *b, const tl_chart *c, const tl_geom *g, size_t i) {
    const tl_series *s = &c->s[i];
    hp_buf_printf(b, "<g class=\"series%s\" data-series=\"%zu\" stroke=\"%s\" fill=\"%s\">",
                  s->thin ? " thin" : "", i, s->color, s->color);
    hp_buf_printf(b, "<polyline fill=\"none\"%s points=\"",
                  s->dashed ? " stroke-dasharray=\"7 4\"" : "");
    for (size_t k = 0; k < s->n; k++)
        hp_buf_printf(b, "%s%.1f,%.1f", k ? " " : "", px(c, g, s->x[k]), py(c, g, s->y[k]));
    hp_buf_append(b, "\"/>\n", 4);
    if (s->n <= 300) /* beyond that the markers only blot the line */
        for (size_t k = 0; k < s->n; k++) {
            hp_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" stroke=\"none\">",
                          px(c, g, s->x[k]), py(c, g, s->y[k]), s->thin ? "2" : "2.8");
            marker_title(b, c, s, k);
            hp_buf_append(b, "</circle>", 9);
        }
    hp_buf_append(b, "</g>\n", 5);
}

static void legend(hp_buf *b, const tl_chart *c, const tl_geom *g) {
    hp_buf_printf(b, "<g class=\"legend\">\n");
    for (size_t i = 0; i < c->n; i++) {
        const tl_series *s = &c->s[i];
        double x, y;
        legend_pos(c, g, i, &x, &y);
        hp_buf_printf(b,
                      "<g class=\"legend-item\" data-series=\"%zu\"><rect x=\"%.1f\" y=\"%.1f\" "
                      "width=\"%.1f\" height=\"18\" fill=\"transparent\"/>"
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                      "stroke-width=\"%s\"%s/><text x=\"%.1f\" y=\"%.1f\">",
                      i, x - 2, y - 13, item_width(s) - 14, x, y - 4, x + 26, y - 4, s->color,
                      s->thin ? "1.5" : "2.5", s->dashed ? " stroke-dasharray=\"7 4\"" : "", x + 32,
                      y);
        html_text(b, s->label);
        hp_buf_append(b, "</text></g>\n", 12);
    }
    hp_buf_printf(b, "</g>\n");
}

int timeline_svg(hp_buf *b, const tl_chart *c, int standalone) {
    tl_geom g;
    timeline_geom(c, &g);
    if (standalone)
        hp_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    hp_buf_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" id=\"timeline\" "
                  "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                  "font-family=\"sans-serif\" font-size=\"12\">\n",
                  g.width, g.height, g.width, g.height);
    hp_buf_printf(b, "<style>.grid line{stroke:#e3e3dc}.axis{stroke:#555;fill:none}"
                     "text{fill:#333}.title{font-size:17px}.sub{fill:#555}"
                     ".series polyline{stroke-width:2.2;stroke-linejoin:round}"
                     ".series.thin polyline{stroke-width:1.4}"
                     ".legend-item{cursor:pointer}.legend-item.off{opacity:0.35}</style>\n");
    hp_buf_printf(b,
                  "<rect width=\"100%%\" height=\"100%%\" fill=\"#fcfcf6\"/>\n"
                  "<text class=\"title\" x=\"%.1f\" y=\"28\" text-anchor=\"middle\">",
                  g.width / 2);
    html_text(b, c->title);
    hp_buf_printf(b, "</text>\n<text class=\"sub\" x=\"%.1f\" y=\"50\" text-anchor=\"middle\">",
                  g.width / 2);
    html_text(b, c->subtitle);
    hp_buf_append(b, "</text>\n", 8);
    axes(b, c, &g);
    hp_buf_printf(b, "<g class=\"plot\">\n");
    for (size_t i = 0; i < c->n; i++)
        series(b, c, &g, i);
    hp_buf_printf(b, "</g>\n");
    legend(b, c, &g);
    hp_buf_printf(b, "</svg>\n");
    return b->failed ? -1 : 0;
}
