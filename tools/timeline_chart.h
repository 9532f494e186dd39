/* From a run's dumps to what a timeline chart draws: the series (process
 * live and peak bytes, per-tag live bytes), axis ranges and ticks, labels,
 * and the plot geometry the SVG and the HTML page's script share. */
#ifndef HP_CLI_TIMELINE_CHART_H
#define HP_CLI_TIMELINE_CHART_H

#include "timeline_read.h"

#include "../heapprof/internal_alloc.h"

typedef struct tl_series {
    char *label;
    const char *color;
    int dashed, thin;
    size_t n;
    double *x, *y, *err; /* seconds, bytes, standard error in bytes (NULL: exact) */
} tl_series;

typedef struct tl_opts {
    const char *tag;   /* only this tag's live and peak */
    const char *title; /* NULL: default */
    int uptime;        /* x = each process's uptime rather than time since the first started */
    int max_tags;      /* tags drawn without --tag: the largest ones by live bytes */
    int max_procs;     /* processes drawn: those with the highest peaks */
} tl_opts;

typedef struct tl_chart {
    tl_series *s;
    size_t n;
    double xmax, ymax;          /* axis ends, rounded up to a tick */
    double xstep, ystep, yunit; /* tick spacing; yunit: 1024^k of the tick labels */
    const char *yunit_name;
    char title[512], subtitle[1024], xlabel[160];
} tl_chart;

/* Where the plot sits in the SVG, in SVG user units. */
typedef struct tl_geom {
    double width, height, left, top, plot_w, plot_h, legend_top;
} tl_geom;

/* Returns 0, or -1 after an error line (unknown --tag, out of memory). */
int timeline_chart(tl_chart *c, const tl_run *r, const tl_opts *o);
void timeline_chart_free(tl_chart *c);

/* Tick label of a time (seconds) or a byte count, per the chart's steps. */
void timeline_time_label(char *buf, size_t cap, double seconds, double step);
void timeline_bytes_label(char *buf, size_t cap, const tl_chart *c, double bytes);

/* Legend layout decides the height, so the SVG writer and the HTML writer
 * ask here. */
void timeline_geom(const tl_chart *c, tl_geom *g);

/* The whole SVG; `standalone` adds the XML declaration (left out when the
 * SVG is inlined into the HTML page). Return 0 or -1 (out of memory). */
int timeline_svg(hp_buf *b, const tl_chart *c, int standalone);
int timeline_html(hp_buf *b, const tl_chart *c);

/* The HTML page's stylesheet and script (html_timeline.c). */
extern const char html_timeline_css[], html_timeline_js[];

#endif
