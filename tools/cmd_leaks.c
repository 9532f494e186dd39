/* heapprof leaks FILE: what was still allocated when the profile was taken,
 * by allocation site, largest first. Exits 1 when anything over --min-bytes
 * remains after suppressions, so it can gate CI. */
#define _GNU_SOURCE
#include "cli.h"
#include "sites.h"

#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct patterns {
    char **v;
    size_t n;
} patterns;

/* LSan-style suppressions: "leak:PATTERN" lines, '#' comments; PATTERN is a
 * glob matched against each frame's function, file and module. */
static int load_suppressions(const char *path, patterns *out) {
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("leaks: --suppressions %s: cannot open it", path);
        return -1;
    }
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#') continue;
        if (strncmp(s, "leak:", 5) || !s[5]) {
            cli_error("leaks: %s:%d: \"%s\" is not a leak:PATTERN line", path, lineno, s);
            fclose(f);
            return -1;
        }
        char **t = realloc(out->v, (out->n + 1) * sizeof *t);
        if (!t || asprintf(&t[out->n], "*%s*", s + 5) < 0) {
            fclose(f);
            return -1;
        }
        out->v = t;
        out->n++;
    }
    fclose(f);
    return 0;
}

static int suppressed(const patterns *pats, const sample *s) {
    for (size_t k = 0; k < pats->n; k++)
        for (size_t f = 0; f < s->nframes; f++) {
            const frame *fr = &s->frames[f];
            if (!fnmatch(pats->v[k], fr->function, 0) ||
                (fr->file && !fnmatch(pats->v[k], fr->file, 0)) ||
                (fr->module && !fnmatch(pats->v[k], fr->module, 0)))
                return 1;
        }
    return 0;
}

static int by_bytes(const void *a, const void *b) {
    double x = ((const site *)a)->values[0], y = ((const site *)b)->values[0];
    return x < y ? 1 : x > y ? -1 : 0;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: heapprof leaks [options] FILE\n\n"
            "Memory still allocated when FILE was written (at exit, that is what leaked),\n"
            "grouped by allocation site, largest first. Exit status 1 if more than\n"
            "--min-bytes remain after suppressions, 0 otherwise.\n\noptions:\n"
            "  --min-bytes N        ignore sites holding N bytes or less (default 0)\n"
            "  --suppressions FILE  LSan-style file of leak:PATTERN lines\n%s",
            view_help);
}

int cmd_leaks(int argc, char **argv) {
    view_opts o = {.nodes = 20};
    double min_bytes = 0;
    const char *path = NULL, *supp = NULL;
    for (int i = 1; i < argc; i++) {
        int r = view_option(&o, &i, argc, argv);
        if (r < 0) return 2;
        if (r) continue;
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--min-bytes") || !strcmp(a, "--suppressions")) {
            if (i + 1 >= argc) {
                cli_error("leaks: %s needs a value", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--suppressions"))
                supp = v;
            else if (parse_size(v, &min_bytes)) {
                cli_error("leaks: --min-bytes %s: give a byte count such as 4096 or 1MiB", v);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            cli_error("leaks: unknown option '%s'; see 'heapprof leaks --help'", a);
            return 2;
        } else {
            path = a;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    patterns pats = {0};
    if (supp && load_suppressions(supp, &pats)) return 2;
    profile *p = profile_read(path);
    if (!p) return 2;
    int m = view_metric(p, &o, "inuse_space");
    int mo = profile_metric(p, "inuse_objects");
    if (m < 0) return 2;
    /* suppressed samples are dropped before grouping */
    size_t kept = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        if (!suppressed(&pats, &p->samples[i])) p->samples[kept++] = p->samples[i];
    size_t suppressed_count = p->nsamples - kept;
    p->nsamples = kept;
    site_table t = {0};
    sites_add(&t, p, &o, 0, m, mo);
    if (t.n) qsort(t.v, t.n, sizeof *t.v, by_bytes); /* t.v: NULL if no sites */
    double total = 0;
    size_t over = 0;
    for (size_t i = 0; i < t.n; i++)
        if (t.v[i].values[0] > min_bytes) {
            total += t.v[i].values[0];
            over++;
        }
    size_t shown = o.nodes && (size_t)o.nodes < over ? (size_t)o.nodes : over;
    int sampled = p->period > 1;
    char b1[32], c1[32], desc[2048];
    if (o.json) {
        cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "leaks");
        cJSON_AddStringToObject(doc, "file", path);
        cJSON_AddNumberToObject(doc, "total_bytes", total);
        cJSON_AddNumberToObject(doc, "sites", (double)over);
        cJSON_AddBoolToObject(doc, "estimated", sampled);
        for (size_t i = 0; i < shown; i++) {
            cJSON *r = cJSON_CreateObject(), *fr = cJSON_AddArrayToObject(r, "stack");
            cJSON_AddNumberToObject(r, "bytes", t.v[i].values[0]);
            cJSON_AddNumberToObject(r, "objects", t.v[i].objects[0]);
            if (t.v[i].example->tag) cJSON_AddStringToObject(r, "tag", t.v[i].example->tag);
            for (size_t f = 0; f < t.v[i].example->nframes; f++)
                cJSON_AddItemToArray(fr, cJSON_CreateString(frame_display(
                                             &t.v[i].example->frames[f], desc, sizeof desc)));
            cJSON_AddItemToArray(arr, r);
        }
        char *text = cJSON_Print(doc);
        puts(text);
        free(text);
        cJSON_Delete(doc);
    } else {
        printf("%s: %s in %zu site%s still allocated", path, fmt_bytes(b1, sizeof b1, total), over,
               over == 1 ? "" : "s");
        if (suppressed_count) printf(" (%zu suppressed)", suppressed_count);
        printf("\n");
        if (sampled)
            printf("Estimated from samples every %lld bytes: ± is a 95%% interval; sites under the "
                   "rate may be missed.\n",
                   (long long)p->period);
        for (size_t i = 0; i < shown; i++) {
            const site *s = &t.v[i];
            printf("\n%s in %s blocks", fmt_bytes(b1, sizeof b1, s->values[0]),
                   fmt_count(c1, sizeof c1, (uint64_t)llround(s->objects[0])));
            if (sampled) { /* about bytes/rate samples: relative error ~ 1/sqrt(n) */
                double n = s->values[0] / (double)p->period;
                printf(" ±%.0f%%", 196.0 / sqrt(n < 1 ? 1 : n));
            }
            if (s->example->tag) printf("  [tag %s]", s->example->tag);
            printf("\n");
            for (size_t f = 0; f < s->example->nframes && f < 12; f++)
                printf("    %s\n", frame_display(&s->example->frames[f], desc, sizeof desc));
            if (s->example->nframes > 12) printf("    ...\n");
        }
    }
    sites_free(&t);
    for (size_t k = 0; k < pats.n; k++)
        free(pats.v[k]);
    free(pats.v);
    profile_free(p);
    return over ? 1 : 0;
}
