/* heapprof timeline DIR -o OUT.svg|OUT.html: live and peak heap over time
 * from the stats files of a run's dumps (e.g. `heapprof run --interval 1`). */
#define _GNU_SOURCE
#include "cli.h"
#include "output.h"
#include "timeline_chart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *out) {
    fprintf(out, "usage: heapprof timeline [options] DIR... -o OUT.svg|OUT.html\n\n"
                 "Live and peak heap bytes over time from the heapprof.<pid>.<seq>.stats.json\n"
                 "files of a run (one per dump: record with 'heapprof run --interval SECONDS').\n"
                 "Each process is a series of its own; the largest tags get a line each.\n"
                 "DIR may also be single stats files. The output is self-contained:\n"
                 "  .svg   axes, legend, a tooltip per dump\n"
                 "  .html  hover to read every series at a dump, click the legend to hide one\n\n"
                 "options:\n"
                 "  -o, --output OUT  where to write (.svg, .html or .htm)\n"
                 "  --tag NAME        only this tag: its live and peak bytes\n"
                 "  --tags N          how many of the largest tags to draw (default 8; 0: none)\n"
                 "  --procs N         how many processes to draw, highest peaks first (default 8)\n"
                 "  --x wall|uptime   x axis: time since the first process started (default), or\n"
                 "                    each process's own uptime\n"
                 "  --title TEXT      the chart's title\n");
}

static const char *value(int *i, int argc, char **argv) {
    const char *a = argv[*i], *eq = strchr(a, '=');
    if (a[1] == '-' && eq) return eq + 1;
    if (*i + 1 >= argc) {
        cli_error("timeline: %s needs a value", a);
        return NULL;
    }
    return argv[++*i];
}

static int is(const char *a, const char *flag) {
    size_t n = strlen(flag);
    return !strncmp(a, flag, n) && (a[n] == 0 || a[n] == '=');
}

int cmd_timeline(int argc, char **argv) {
    tl_opts o = {.max_tags = 8, .max_procs = 8};
    const char *out = NULL, *v;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    size_t npaths = 0;
    int rc = 2;
    if (!paths) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(paths);
            return 0;
        }
        if (!strcmp(a, "-o") || is(a, "--output")) {
            if (!(out = value(&i, argc, argv))) goto done;
        } else if (is(a, "--tag")) {
            if (!(o.tag = value(&i, argc, argv))) goto done;
        } else if (is(a, "--title")) {
            if (!(o.title = value(&i, argc, argv))) goto done;
        } else if (is(a, "--tags") || is(a, "--procs")) {
            int tags = is(a, "--tags");
            if (!(v = value(&i, argc, argv))) goto done;
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || end == v || n < !tags || n > 1000) {
                cli_error("timeline: %s %s: give a whole number from %d to 1000",
                          tags ? "--tags" : "--procs", v, !tags);
                goto done;
            }
            *(tags ? &o.max_tags : &o.max_procs) = (int)n;
        } else if (is(a, "--x")) {
            if (!(v = value(&i, argc, argv))) goto done;
            if (strcmp(v, "wall") && strcmp(v, "uptime")) {
                cli_error("timeline: --x %s: give 'wall' or 'uptime'", v);
                goto done;
            }
            o.uptime = !strcmp(v, "uptime");
        } else if (a[0] == '-' && a[1]) {
            cli_error("timeline: unknown option '%s'; see 'heapprof timeline --help'", a);
            goto done;
        } else
            paths[npaths++] = a;
    }
    if (!npaths || !out) {
        if (npaths)
            cli_error("timeline: say where to write the chart: -o OUT.svg or -o OUT.html");
        else
            usage(stderr);
        goto done;
    }
    const char *dot = strrchr(out, '.');
    int svg = dot && !strcasecmp(dot, ".svg");
    if (!svg && !(dot && (!strcasecmp(dot, ".html") || !strcasecmp(dot, ".htm")))) {
        cli_error("cannot tell which format to write to '%s': name it .svg or .html", out);
        goto done;
    }
    tl_run run = {0};
    tl_chart chart = {0};
    int ok = 1;
    for (size_t i = 0; i < npaths && ok; i++)
        ok = !timeline_read(&run, paths[i]);
    if (ok) ok = !timeline_finish(&run, npaths == 1 ? paths[0] : "the paths given");
    if (ok) ok = !timeline_chart(&chart, &run, &o);
    if (ok) {
        hp_buf b = {0};
        if ((svg ? timeline_svg(&b, &chart, 1) : timeline_html(&b, &chart)) || b.failed)
            cli_error("timeline: out of memory while rendering %s", out);
        else if (!output_write(out, b.data, b.len))
            rc = 0;
        hp_buf_free(&b);
    }
    timeline_chart_free(&chart);
    timeline_free(&run);
done:
    free(paths);
    return rc;
}
