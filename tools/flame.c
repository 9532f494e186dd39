/* flame_write / flame_write_diff: build the tree, label it, render it in the
 * format OUT asks for and write it atomically. */
#define _GNU_SOURCE
#include "flame.h"
#include "cli.h"
#include "flame_render.h"
#include "output.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *flame_value(char *buf, size_t cap, double v, const char *unit) {
    if (!strcmp(unit, "bytes")) return fmt_bytes(buf, cap, v);
    if (!strcmp(unit, "count")) {
        char digits[40];
        fmt_count(digits, sizeof digits, (uint64_t)llround(fabs(v)));
        snprintf(buf, cap, "%s%s", v < 0 ? "-" : "", digits);
        return buf;
    }
    snprintf(buf, cap, "%.6g %s", v, unit);
    return buf;
}

static double hue_to_rgb(double p, double q, double t) {
    if (t < 0) t += 1;
    if (t > 1) t -= 1;
    if (t < 1.0 / 6) return p + (q - p) * 6 * t;
    if (t < 0.5) return q;
    if (t < 2.0 / 3) return p + (q - p) * (2.0 / 3 - t) * 6;
    return p;
}

/* The HTML page computes the same hsl() in its script, so both outputs of
 * one profile look alike. */
void flame_color(char *buf, size_t cap, const char *name) {
    if (!strncmp(name, "??", 2) || !strcmp(name, "[no stack]")) {
        snprintf(buf, cap, "rgb(190,190,190)");
        return;
    }
    uint32_t h = flame_hash(name);
    double hue = (h % 50) / 360.0, sat = (70 + (h >> 8) % 25) / 100.0,
           light = (52 + (h >> 16) % 14) / 100.0;
    double q = light < 0.5 ? light * (1 + sat) : light + sat - light * sat, p = 2 * light - q;
    snprintf(buf, cap, "rgb(%d,%d,%d)", (int)lround(255 * hue_to_rgb(p, q, hue + 1.0 / 3)),
             (int)lround(255 * hue_to_rgb(p, q, hue)),
             (int)lround(255 * hue_to_rgb(p, q, hue - 1.0 / 3)));
}

void flame_diff_color(char *buf, size_t cap, double delta, double scale) {
    double k = scale > 0 ? fabs(delta) / scale : 0;
    if (k > 1) k = 1;
    k = sqrt(k); /* small changes stay visible next to one large one */
    static const double zero[3] = {226, 226, 226}, red[3] = {215, 45, 40}, blue[3] = {45, 100, 215};
    const double *to = delta > 0 ? red : blue;
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = (int)lround(zero[i] + (to[i] - zero[i]) * k);
    snprintf(buf, cap, "rgb(%d,%d,%d)", c[0], c[1], c[2]);
}

/* 's' for SVG, 'h' for HTML, 0 after an error line. */
static char format_of(const char *out) {
    const char *dot = strrchr(out, '.');
    if (dot && !strcasecmp(dot, ".svg")) return 's';
    if (dot && (!strcasecmp(dot, ".html") || !strcasecmp(dot, ".htm"))) return 'h';
    cli_error("cannot tell which format to write to '%s': name it .svg (static, tooltips) or "
              ".html (zoom, search, tags)",
              out);
    return 0;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* "; tag T; focus RE; innermost N frames" for the subtitle. */
static void describe_filters(char *buf, size_t cap, const view_opts *o) {
    size_t n = 0;
    buf[0] = 0;
    if (o->tag) n += (size_t)snprintf(buf + n, cap - n, "; tag %s", o->tag);
    if (o->focus && n < cap) n += (size_t)snprintf(buf + n, cap - n, "; focus %s", o->focus);
    if (o->depth && n < cap) snprintf(buf + n, cap - n, "; innermost %d frames", o->depth);
}

static int render(const flame_doc *d, const char *out, char format) {
    hp_buf b = {0};
    int rc = format == 's' ? flame_svg(&b, d, 1200) : flame_html(&b, d);
    if (rc || b.failed) {
        cli_error("flame: out of memory while rendering %s", out);
        hp_buf_free(&b);
        return -1;
    }
    rc = output_write(out, b.data, b.len);
    hp_buf_free(&b);
    return rc;
}

static void warn_skipped(const flame_tree *t, const char *metric) {
    if (t->negative)
        cli_error("flame: skipped %zu samples with a negative %s (a difference profile? draw one "
                  "with 'heapprof diff BASE NEW --flame OUT')",
                  t->negative, metric);
    if (!t->samples)
        cli_error("flame: no sample has a positive %s here; the graph is empty (try another "
                  "--metric, or drop --tag/--focus)",
                  metric);
}

int flame_write(const profile *p, const view_opts *o, int m, const char *out, const char *title) {
    char format = format_of(out);
    if (!format) return -1;
    flame_tree t = {0};
    if (flame_tree_add(&t, p, o, m, FLAME_NEW) || flame_tree_finish(&t)) {
        cli_error("flame: out of memory reading the stacks of %s", p->path);
        flame_tree_free(&t);
        return -1;
    }
    warn_skipped(&t, p->metrics[m].name);
    const metric *mt = &p->metrics[m];
    char deftitle[512], sub[1024], total[64], filters[512];
    snprintf(deftitle, sizeof deftitle, "Flame graph: %s", base_name(p->path));
    describe_filters(filters, sizeof filters, o);
    snprintf(sub, sizeof sub, "%s, total %s; %s (%s)%s", mt->name,
             flame_value(total, sizeof total, t.nodes[0].value[FLAME_NEW], mt->unit), p->path,
             p->source, filters);
    flame_doc d = {&t, title ? title : deftitle, sub, mt->name, mt->unit, o->tag, 0};
    int rc = render(&d, out, format);
    flame_tree_free(&t);
    return rc;
}

int flame_write_diff(const profile *base, const profile *now, const view_opts *o, int mbase,
                     int mnew, const char *out) {
    char format = format_of(out);
    if (!format) return -1;
    flame_tree t = {0};
    if (flame_tree_add(&t, now, o, mnew, FLAME_NEW) ||
        flame_tree_add(&t, base, o, mbase, FLAME_BASE) || flame_tree_finish(&t)) {
        cli_error("flame: out of memory reading the stacks of %s and %s", base->path, now->path);
        flame_tree_free(&t);
        return -1;
    }
    warn_skipped(&t, now->metrics[mnew].name);
    const metric *mt = &now->metrics[mnew];
    char title[512], sub[1024], a[64], b[64], c[64], filters[512];
    double delta = t.nodes[0].value[FLAME_NEW] - t.nodes[0].value[FLAME_BASE];
    snprintf(title, sizeof title, "Differential flame graph: %s \xE2\x86\x92 %s",
             base_name(base->path), base_name(now->path));
    describe_filters(filters, sizeof filters, o);
    snprintf(sub, sizeof sub,
             "%s: BASE %s, NEW %s (%s%s)%s. Width: NEW; color: red grew, blue shrank since BASE",
             mt->name, flame_value(a, sizeof a, t.nodes[0].value[FLAME_BASE], mt->unit),
             flame_value(b, sizeof b, t.nodes[0].value[FLAME_NEW], mt->unit), delta >= 0 ? "+" : "",
             flame_value(c, sizeof c, delta, mt->unit), filters);
    flame_doc d = {&t, title, sub, mt->name, mt->unit, o->tag, 1};
    int rc = render(&d, out, format);
    flame_tree_free(&t);
    return rc;
}
