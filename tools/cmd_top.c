/* heapprof top FILE: functions ranked by a metric, flat (where the memory was
 * allocated) and cumulative (allocated by it or anything it called). */
#define _GNU_SOURCE
#include "../heapprof/id_map.h"
#include "cli.h"
#include "view.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
    const char *function, *file;
    double flat, cum;
    size_t last_sample; /* counts cum once per sample */
} row;

static int by_flat(const void *a, const void *b) {
    const row *x = a, *y = b;
    if (x->flat != y->flat) return x->flat < y->flat ? 1 : -1;
    return x->cum < y->cum ? 1 : x->cum > y->cum ? -1 : strcmp(x->function, y->function);
}

static int by_cum(const void *a, const void *b) {
    const row *x = a, *y = b;
    if (x->cum != y->cum) return x->cum < y->cum ? 1 : -1;
    return by_flat(a, b);
}

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: heapprof top [options] FILE\n\n"
        "Functions ranked by a metric (default inuse_space): flat is memory allocated\n"
        "directly in the function, cum also counts what its callees allocated.\n"
        "FILE: a heapprof or Go pprof profile, a heapprof/Valgrind/dhat-rs DHAT file, or a text\n"
        "heap profile of gperftools, jemalloc or Go (debug=1).\n\n"
        "options:\n%s  --cum             sort by cumulative value\n",
        view_help);
}

int cmd_top(int argc, char **argv) {
    view_opts o = {.nodes = 20};
    int sort_cum = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        int r = view_option(&o, &i, argc, argv);
        if (r < 0) return 2;
        if (r) continue;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--cum"))
            sort_cum = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("top: unknown option '%s'; see 'heapprof top --help'", argv[i]);
            return 2;
        } else if (path) {
            cli_error("top: one FILE at a time ('%s' and '%s' given)", path, argv[i]);
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    profile *p = profile_read(path);
    if (!p) return 2;
    int m = view_metric(p, &o, "inuse_space");
    if (m < 0) {
        profile_free(p);
        return 2;
    }
    hp_id_map ids = {0}, names = {0};
    row *rows = NULL;
    size_t nrows = 0, cap = 0;
    double total = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const sample *s = &p->samples[i];
        if (!view_keep(&o, s)) continue;
        double v = s->values[m];
        total += v;
        size_t depth = view_depth(&o, s);
        for (size_t f = 0; f < depth || (f == 0 && depth == 0); f++) {
            const char *fn = depth ? s->frames[f].function : "[no stack]";
            const char *file = depth ? s->frames[f].file : NULL;
            /* (function, file) as a pair of dense string ids: exact, where
             * fn * 31 + file made different pairs collide (and merged rows)
             * whenever the strings' addresses lined up */
            int added;
            uint32_t fn_id = hp_id_map_get(&names, (uint64_t)(uintptr_t)fn, &added);
            uint32_t file_id = file ? hp_id_map_get(&names, (uint64_t)(uintptr_t)file, &added) : 0;
            if (!fn_id || (file && !file_id)) break;
            uint32_t id = hp_id_map_get(&ids, (uint64_t)fn_id << 32 | file_id, &added);
            if (!id) break;
            if (added) {
                if (nrows == cap) {
                    cap = cap ? cap * 2 : 256;
                    row *t = realloc(rows, cap * sizeof *t);
                    if (!t) break;
                    rows = t;
                }
                rows[nrows++] = (row){fn, file, 0, 0, (size_t)-1};
            }
            row *r = &rows[id - 1];
            if (f == 0) r->flat += v;
            if (r->last_sample != i) r->cum += v;
            r->last_sample = i;
        }
    }
    if (nrows)
        qsort(rows, nrows, sizeof *rows, sort_cum ? by_cum : by_flat); /* rows: NULL if none */
    size_t shown = o.nodes && (size_t)o.nodes < nrows ? (size_t)o.nodes : nrows;
    const metric *mt = &p->metrics[m];
    int bytes = !strcmp(mt->unit, "bytes");
    if (o.json) {
        cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "functions");
        cJSON_AddStringToObject(doc, "file", path);
        cJSON_AddStringToObject(doc, "metric", mt->name);
        cJSON_AddStringToObject(doc, "unit", mt->unit);
        cJSON_AddNumberToObject(doc, "total", total);
        for (size_t i = 0; i < shown; i++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "function", rows[i].function);
            if (rows[i].file) cJSON_AddStringToObject(r, "file", rows[i].file);
            cJSON_AddNumberToObject(r, "flat", rows[i].flat);
            cJSON_AddNumberToObject(r, "cum", rows[i].cum);
            cJSON_AddItemToArray(arr, r);
        }
        char *text = cJSON_Print(doc);
        puts(text);
        free(text);
        cJSON_Delete(doc);
    } else {
        char t[32], a[32], b[32];
        printf("File: %s (%s)\nMetric: %s, total %s", path, p->source, mt->name,
               bytes ? fmt_bytes(t, sizeof t, total) : fmt_count(t, sizeof t, (uint64_t)total));
        if (p->period > 1)
            printf(" (estimated from samples every %lld bytes)", (long long)p->period);
        printf("\nShowing %zu of %zu functions\n", shown, nrows);
        printf("%12s %6s %6s %12s %6s  %s\n", "flat", "flat%", "sum%", "cum", "cum%", "function");
        double sum = 0;
        for (size_t i = 0; i < shown; i++) {
            const row *r = &rows[i];
            sum += r->flat;
            double pct = total ? 100 / total : 0;
            printf(
                "%12s %5.1f%% %5.1f%% %12s %5.1f%%  %s%s%s\n",
                bytes ? fmt_bytes(a, sizeof a, r->flat) : fmt_count(a, sizeof a, (uint64_t)r->flat),
                r->flat * pct, sum * pct,
                bytes ? fmt_bytes(b, sizeof b, r->cum) : fmt_count(b, sizeof b, (uint64_t)r->cum),
                r->cum * pct, r->function, r->file ? "  " : "", r->file ? r->file : "");
        }
    }
    free(rows);
    hp_id_map_free(&ids);
    hp_id_map_free(&names);
    profile_free(p);
    return 0;
}
