/* heapprof diff BASE NEW: per allocation site and per tag, how a metric
 * changed between two profiles — typically two builds, so sites are matched
 * by function and file names, never by address. Largest growth first.
 * --fail-over makes growth of the total beyond a threshold exit 1. */
#define _GNU_SOURCE
#include "cli.h"
#include "flame.h"
#include "sites.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_growth(const void *a, const void *b) {
    const site *x = a, *y = b;
    double dx = x->values[1] - x->values[0], dy = y->values[1] - y->values[0];
    if (dx != dy) return dx < dy ? 1 : -1;
    return 0;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: heapprof diff [options] BASE NEW\n\n"
            "How memory changed from BASE to NEW, by allocation site (matched by function\n"
            "and file names, so two builds line up) and by tag. Largest growth first.\n\n"
            "options:\n"
            "  --fail-over X     exit 1 if the total grew by more than X: bytes (1MiB)\n"
            "                    or a percentage of BASE's total (10%%)\n"
            "  -o OUT.pb.gz      also write NEW minus BASE as a pprof profile\n"
            "  --flame OUT       also draw a differential flame graph (.svg or .html)\n%s",
            view_help);
}

/* NEW minus BASE for every metric both have, one sample per site. */
static int write_difference(const site_table *t, const profile *now, const char *out) {
    profile d = {0};
    d.path = now->path;
    d.source = "heapprof diff";
    d.period = now->period;
    size_t keep[MODEL_MAX_METRICS], nkeep = 0;
    for (size_t k = 0; k < t->nnames; k++)
        if (t->has[0][k] && t->has[1][k]) {
            keep[nkeep++] = k;
            profile_add_metric(&d, t->names[k], t->units[k]);
        }
    d.samples = calloc(t->n + 1, sizeof *d.samples);
    if (!d.samples) return -1;
    for (size_t i = 0; i < t->n; i++) {
        sample *s = &d.samples[d.nsamples++];
        *s = *t->v[i].example;
        memset(s->values, 0, sizeof s->values);
        for (size_t m = 0; m < nkeep; m++)
            s->values[m] = t->v[i].all[1][keep[m]] - t->v[i].all[0][keep[m]];
    }
    int rc = profile_write_pprof(&d, out);
    free(d.samples);
    return rc;
}

int cmd_diff(int argc, char **argv) {
    view_opts o = {.nodes = 20};
    const char *paths[2] = {NULL, NULL}, *fail_over = NULL, *out = NULL, *flame = NULL;
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        int r = view_option(&o, &i, argc, argv);
        if (r < 0) return 2;
        if (r) continue;
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--fail-over") || !strcmp(a, "-o") || !strcmp(a, "--flame")) {
            if (i + 1 >= argc) {
                cli_error("diff: %s needs a value", a);
                return 2;
            }
            if (!strcmp(a, "--flame"))
                flame = argv[++i];
            else if (!strcmp(a, "-o"))
                out = argv[++i];
            else
                fail_over = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            cli_error("diff: unknown option '%s'; see 'heapprof diff --help'", a);
            return 2;
        } else if (npaths < 2) {
            paths[npaths++] = a;
        } else {
            cli_error("diff: give exactly two files, BASE and NEW");
            return 2;
        }
    }
    if (npaths != 2) {
        usage(stderr);
        return 2;
    }
    double threshold = 0;
    int percent = 0;
    if (fail_over) {
        size_t n = strlen(fail_over);
        percent = n && fail_over[n - 1] == '%';
        char *end;
        if (percent) threshold = strtod(fail_over, &end);
        if ((percent && (end == fail_over || *end != '%')) ||
            (!percent && parse_size(fail_over, &threshold))) {
            cli_error("diff: --fail-over %s: give bytes (e.g. 1MiB) or a percentage (e.g. 10%%)",
                      fail_over);
            return 2;
        }
    }
    profile *base = profile_read(paths[0]), *now = base ? profile_read(paths[1]) : NULL;
    if (!base || !now) {
        profile_free(base);
        return 2;
    }
    int mb = view_metric(base, &o, "inuse_space"),
        mn = mb >= 0 ? view_metric(now, &o, base->metrics[mb].name) : -1;
    if (mb < 0 || mn < 0) return 2;
    const metric *mt = &now->metrics[mn];
    int bytes = !strcmp(mt->unit, "bytes");
    site_table t = {0};
    if (sites_add(&t, base, &o, 0, mb, -1) || sites_add(&t, now, &o, 1, mn, -1)) {
        cli_error("diff: out of memory");
        return 2;
    }
    if (t.n) qsort(t.v, t.n, sizeof *t.v, by_growth); /* t.v: NULL if no sites */
    double total[2] = {0, 0};
    for (size_t i = 0; i < t.n; i++) {
        total[0] += t.v[i].values[0];
        total[1] += t.v[i].values[1];
    }
    double delta = total[1] - total[0];
    int failed =
        fail_over && (percent ? (total[0] > 0 ? delta * 100 / total[0] > threshold : delta > 0)
                              : delta > threshold);
    char a[32], b[32], c[32], desc[2048];
#define FMT(buf, v)                                                                                \
    (bytes ? fmt_bytes(buf, sizeof buf, v) : fmt_count(buf, sizeof buf, (uint64_t)fabs(v)))
    if (o.json) {
        cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "sites");
        cJSON_AddStringToObject(doc, "metric", mt->name);
        cJSON_AddNumberToObject(doc, "base_total", total[0]);
        cJSON_AddNumberToObject(doc, "new_total", total[1]);
        cJSON_AddNumberToObject(doc, "delta", delta);
        cJSON_AddBoolToObject(doc, "failed", failed);
        for (size_t i = 0; i < t.n && (!o.nodes || i < (size_t)o.nodes); i++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "site", site_describe(&t.v[i], 8, desc, sizeof desc));
            cJSON_AddNumberToObject(r, "base", t.v[i].values[0]);
            cJSON_AddNumberToObject(r, "new", t.v[i].values[1]);
            cJSON_AddNumberToObject(r, "delta", t.v[i].values[1] - t.v[i].values[0]);
            cJSON_AddItemToArray(arr, r);
        }
        char *text = cJSON_Print(doc);
        puts(text);
        free(text);
        cJSON_Delete(doc);
    } else {
        printf("%s: %s -> %s (%s%s", mt->name, FMT(a, total[0]), FMT(b, total[1]),
               delta >= 0 ? "+" : "-", FMT(c, fabs(delta)));
        if (total[0] > 0) printf(", %+.1f%%", delta * 100 / total[0]);
        printf(")\n%14s %12s %12s  site\n", "change", "base", "new");
        size_t shown = 0;
        for (size_t i = 0; i < t.n && (!o.nodes || shown < (size_t)o.nodes); i++) {
            double d = t.v[i].values[1] - t.v[i].values[0];
            if (d == 0) continue;
            shown++;
            printf("%s%13s %12s %12s  %s\n", d >= 0 ? "+" : "-", FMT(a, fabs(d)),
                   FMT(b, t.v[i].values[0]), FMT(c, t.v[i].values[1]),
                   site_describe(&t.v[i], 6, desc, sizeof desc));
        }
        if (!shown) printf("(no site changed)\n");
        /* per tag */
        const char *tags[256];
        double tv[256][2];
        size_t ntags = 0;
        for (size_t i = 0; i < t.n; i++) {
            const char *tag = t.v[i].example->tag;
            if (!tag) continue;
            size_t k = 0;
            while (k < ntags && tags[k] != tag)
                k++;
            if (k == ntags && ntags < 256) {
                tags[ntags] = tag;
                tv[ntags][0] = tv[ntags][1] = 0;
                ntags++;
            }
            if (k < 256) {
                tv[k][0] += t.v[i].values[0];
                tv[k][1] += t.v[i].values[1];
            }
        }
        if (ntags) printf("\n%14s %12s %12s  tag\n", "change", "base", "new");
        for (size_t k = 0; k < ntags; k++) {
            double d = tv[k][1] - tv[k][0];
            printf("%s%13s %12s %12s  %s\n", d >= 0 ? "+" : "-", FMT(a, fabs(d)), FMT(b, tv[k][0]),
                   FMT(c, tv[k][1]), tags[k]);
        }
        if (failed) printf("\nFAIL: %s grew by more than %s\n", mt->name, fail_over);
    }
    int rc = failed ? 1 : 0;
    if (out && write_difference(&t, now, out)) rc = 2;
    if (flame && flame_write_diff(base, now, &o, mb, mn, flame)) rc = 2;
    sites_free(&t);
    profile_free(base);
    profile_free(now);
    return rc;
}
