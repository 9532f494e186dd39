#define _GNU_SOURCE
#include "timeline_chart.h"
#include "cli.h"
#include "html_escape.h"
#include "model.h"

#include "../heapprof/id_map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Distinct on white and for the common color-vision deficiencies often
 * enough; a process's live and peak share one, peak dashed. */
static const char *const palette[] = {"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c",
                                      "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"};
#define NCOLORS (sizeof palette / sizeof palette[0])

static tl_series *add_series(tl_chart *c, size_t n, const char *label, size_t color) {
    tl_series *v = realloc(c->s, (c->n + 1) * sizeof *v);
    if (!v) return NULL;
    c->s = v;
    tl_series *s = &c->s[c->n];
    memset(s, 0, sizeof *s);
    s->label = strdup(label);
    s->x = calloc(n ? n : 1, sizeof *s->x);
    s->y = calloc(n ? n : 1, sizeof *s->y);
    s->color = palette[color % NCOLORS];
    c->n++;
    if (!s->label || !s->x || !s->y) return NULL;
    return s;
}

static double x_of(const tl_run *r, const tl_opts *o, const tl_dump *d) {
    if (o->uptime) return d->uptime_ns / 1e9;
    return (double)(d->wall_ns - r->procs[0].start_ns) / 1e9;
}

static const tl_tag *find_tag(const tl_dump *d, const char *name) {
    for (size_t i = 0; i < d->ntags; i++)
        if (d->tags[i].name == name) return &d->tags[i];
    return NULL;
}

/* A tag series over all dumps of p: 0 before the tag first allocated. */
static int tag_series(tl_chart *c, const tl_run *r, const tl_opts *o, const tl_proc *p,
                      const char *tag, int peak, const char *label, size_t color) {
    tl_series *s = add_series(c, p->n, label, color);
    if (!s || !(s->err = calloc(p->n ? p->n : 1, sizeof *s->err))) return -1;
    s->dashed = peak;
    s->thin = !o->tag;
    for (size_t k = 0; k < p->n; k++) {
        const tl_tag *t = find_tag(&p->dumps[k], tag);
        s->x[k] = x_of(r, o, &p->dumps[k]);
        s->y[k] = t ? (peak ? t->peak : t->live) : 0;
        s->err[k] = t && !peak ? t->live_err : 0;
    }
    s->n = p->n;
    return 0;
}

typedef struct ranked {
    const char *name;
    double max;
} ranked;

static int by_max(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->max != y->max) return x->max < y->max ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Every tag of the run with its largest live value, largest first. */
static ranked *rank_tags(const tl_run *r, size_t *n) {
    ranked *v = NULL;
    size_t cap = 0;
    hp_id_map ids = {0};
    *n = 0;
    for (size_t i = 0; i < r->n; i++)
        for (size_t k = 0; k < r->procs[i].n; k++)
            for (size_t t = 0; t < r->procs[i].dumps[k].ntags; t++) {
                const tl_tag *tg = &r->procs[i].dumps[k].tags[t];
                int added;
                uint32_t id = hp_id_map_get(&ids, (uint64_t)(uintptr_t)tg->name, &added);
                if (!id) goto oom;
                if (added) {
                    if (*n == cap) {
                        ranked *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
                        if (!nv) goto oom;
                        v = nv;
                    }
                    v[(*n)++] = (ranked){tg->name, 0};
                }
                if (tg->live > v[id - 1].max) v[id - 1].max = tg->live;
            }
    hp_id_map_free(&ids);
    if (*n) qsort(v, *n, sizeof *v, by_max);
    return v ? v : calloc(1, sizeof *v);
oom:
    hp_id_map_free(&ids);
    free(v);
    return NULL;
}

static int has_tag(const tl_proc *p, const char *tag) {
    for (size_t k = 0; k < p->n; k++)
        if (find_tag(&p->dumps[k], tag)) return 1;
    return 0;
}

static void label_for(char *buf, size_t cap, const char *what, const tl_proc *p, int many) {
    if (many)
        snprintf(buf, cap, "%s (pid %ld)", what, p->pid);
    else
        snprintf(buf, cap, "%s", what);
}

/* Spacing of about `target` ticks over [0, range]: 1, 2, 2.5 or 5 times a
 * power of ten. */
static double nice_step(double range, int target) {
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/* Decimals that print every multiple of step exactly (2.5 needs one). */
static int decimals_for(double step) {
    for (int d = 0; d < 3; d++, step *= 10)
        if (fabs(step - round(step)) < 1e-6 * fmax(step, 1)) return d;
    return 3;
}

static void scale_axes(tl_chart *c) {
    double xmax = 0, ymax = 0;
    for (size_t i = 0; i < c->n; i++)
        for (size_t k = 0; k < c->s[i].n; k++) {
            if (c->s[i].x[k] > xmax) xmax = c->s[i].x[k];
            double top = c->s[i].y[k] + (c->s[i].err ? c->s[i].err[k] : 0);
            if (top > ymax) ymax = top;
        }
    if (xmax <= 0) xmax = 1;
    if (ymax <= 0) ymax = 1024;
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    c->yunit = 1;
    while (ymax / c->yunit >= 1024 && u < 4)
        c->yunit *= 1024, u++;
    c->yunit_name = units[u];
    c->ystep = nice_step(ymax / c->yunit, 5) * c->yunit;
    c->ymax = ceil(ymax / c->ystep - 1e-9) * c->ystep;
    if (xmax <= 180)
        c->xstep = nice_step(xmax, 8);
    else { /* minutes and hours read better on round minute marks */
        static const double steps[] = {60,   120,  300,   600,   900,   1800,
                                       3600, 7200, 10800, 21600, 43200, 86400};
        size_t i = 0;
        while (i + 1 < sizeof steps / sizeof *steps && xmax / steps[i] > 10)
            i++;
        c->xstep = steps[i];
    }
    c->xmax = ceil(xmax / c->xstep - 1e-9) * c->xstep;
}

void timeline_time_label(char *buf, size_t cap, double s, double step) {
    if (step >= 60) {
        long t = lround(s);
        if (t >= 3600)
            snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
        else
            snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
        return;
    }
    snprintf(buf, cap, "%.*f s", decimals_for(step), s);
}

void timeline_bytes_label(char *buf, size_t cap, const tl_chart *c, double bytes) {
    if (bytes == 0)
        snprintf(buf, cap, "0");
    else
        snprintf(buf, cap, "%.*f %s", decimals_for(c->ystep / c->yunit), bytes / c->yunit,
                 c->yunit_name);
}

/* Marks the max_procs processes with the highest peak; returns how many
 * others there are. */
static size_t pick_procs(const tl_run *r, const tl_opts *o, char *drawn) {
    size_t left = 0;
    for (size_t i = 0; i < r->n; i++) {
        double peak_i = r->procs[i].n ? r->procs[i].dumps[r->procs[i].n - 1].peak : -1;
        size_t higher = 0; /* processes ranked before i: higher peak, or equal and earlier */
        for (size_t j = 0; j < r->n; j++) {
            double peak_j = r->procs[j].n ? r->procs[j].dumps[r->procs[j].n - 1].peak : -1;
            higher += peak_j > peak_i || (peak_j == peak_i && j < i);
        }
        drawn[i] = r->procs[i].n && higher < (size_t)o->max_procs;
        left += r->procs[i].n && !drawn[i];
    }
    return left;
}

static void describe(tl_chart *c, const tl_run *r, const tl_opts *o, size_t left_out,
                     size_t procs_left) {
    size_t dumps = 0;
    double span = 0;
    for (size_t i = 0; i < r->n; i++) {
        dumps += r->procs[i].n;
        for (size_t k = 0; k < r->procs[i].n; k++)
            if (x_of(r, o, &r->procs[i].dumps[k]) > span) span = x_of(r, o, &r->procs[i].dumps[k]);
    }
    char when[64] = "?", cmd[256] = "";
    time_t start = (time_t)(r->procs[0].start_ns / 1000000000);
    struct tm tm;
    if (gmtime_r(&start, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    const char *pc = r->procs[0].cmd ? r->procs[0].cmd : "?";
    size_t cut = html_utf8_prefix(pc, 80);
    snprintf(cmd, sizeof cmd, "%.*s%s", (int)cut, pc, pc[cut] ? "..." : "");
    size_t n = 0, cap = sizeof c->subtitle;
    if (r->n == 1)
        n = (size_t)snprintf(c->subtitle, cap, "pid %ld: %s; %zu dumps over %.1f s from %s",
                             r->procs[0].pid, cmd, dumps, span, when);
    else
        n = (size_t)snprintf(c->subtitle, cap, "%zu processes, %zu dumps over %.1f s from %s", r->n,
                             dumps, span, when);
    if (procs_left && n < cap)
        n += (size_t)snprintf(c->subtitle + n, cap - n,
                              "; %zu process%s with smaller peaks not drawn (see --procs)",
                              procs_left, procs_left > 1 ? "es" : "");
    if (left_out && n < cap)
        snprintf(c->subtitle + n, cap - n, "; %zu smaller tag%s not drawn (--tag NAME shows one)",
                 left_out, left_out > 1 ? "s" : "");
    if (o->title)
        snprintf(c->title, sizeof c->title, "%s", o->title);
    else if (o->tag)
        snprintf(c->title, sizeof c->title, "Heap over time: tag %s", o->tag);
    else
        snprintf(c->title, sizeof c->title, "Heap over time");
    snprintf(c->xlabel, sizeof c->xlabel, "%s%s",
             o->uptime  ? "time since each process started"
             : r->n > 1 ? "time since the first process started"
                        : "time since start",
             c->xstep >= 60 ? " (h:)m:ss" : "");
}

int timeline_chart(tl_chart *c, const tl_run *r, const tl_opts *o) {
    memset(c, 0, sizeof *c);
    size_t nranked, left_out = 0, procs_left;
    char *drawn = calloc(r->n ? r->n : 1, 1);
    ranked *tags = drawn ? rank_tags(r, &nranked) : NULL;
    if (!tags) goto oom;
    procs_left = pick_procs(r, o, drawn);
    const char *only = o->tag ? model_str(o->tag) : NULL;
    if (only) {
        size_t j = 0;
        while (j < nranked && tags[j].name != only)
            j++;
        if (j == nranked) {
            char list[512] = "";
            for (size_t k = 0; k < nranked && strlen(list) < 400; k++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                         tags[k].name);
            cli_error("timeline: no dump has the tag '%s'; tags seen: %s", o->tag,
                      nranked ? list : "none");
            free(tags);
            free(drawn);
            return -1;
        }
    }
    size_t ntags = only ? 0 : nranked < (size_t)o->max_tags ? nranked : (size_t)o->max_tags;
    if (!only) left_out = nranked - ntags;
    int many = r->n > 1;
    size_t color = 0;
    char label[512], what[300];
    for (size_t i = 0; i < r->n; i++) {
        const tl_proc *p = &r->procs[i];
        if (!drawn[i]) continue;
        if (only) {
            if (!has_tag(p, only)) continue;
            snprintf(what, sizeof what, "%s live", only);
            label_for(label, sizeof label, what, p, many);
            if (tag_series(c, r, o, p, only, 0, label, color)) goto oom;
            snprintf(what, sizeof what, "%s peak", only);
            label_for(label, sizeof label, what, p, many);
            if (tag_series(c, r, o, p, only, 1, label, color++)) goto oom;
            continue;
        }
        for (int peak = 0; peak < 2; peak++) {
            label_for(label, sizeof label, peak ? "peak" : "live", p, many);
            tl_series *s = add_series(c, p->n, label, color);
            if (!s) goto oom;
            s->dashed = peak;
            for (size_t k = 0; k < p->n; k++) {
                s->x[k] = x_of(r, o, &p->dumps[k]);
                s->y[k] = peak ? p->dumps[k].peak : p->dumps[k].live;
            }
            s->n = p->n;
        }
        color++;
        for (size_t t = 0; t < ntags; t++) {
            if (!has_tag(p, tags[t].name)) continue;
            snprintf(what, sizeof what, "tag %s", tags[t].name);
            label_for(label, sizeof label, what, p, many);
            if (tag_series(c, r, o, p, tags[t].name, 0, label, color++)) goto oom;
        }
    }
    free(tags);
    free(drawn);
    scale_axes(c);
    describe(c, r, o, left_out, procs_left);
    return 0;
oom:
    free(tags);
    free(drawn);
    cli_error("timeline: out of memory");
    return -1;
}

void timeline_chart_free(tl_chart *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->s[i].label);
        free(c->s[i].x);
        free(c->s[i].y);
        free(c->s[i].err);
    }
    free(c->s);
    memset(c, 0, sizeof *c);
}
