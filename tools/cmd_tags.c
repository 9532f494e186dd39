/* heapprof tags FILE: memory per attribution tag. From a heapprof
 * stats.json (or the one written next to a heapprof profile) it shows exact
 * lifetime totals and live/peak with their standard errors; from any other
 * profile, the per-tag sums of its samples. */
#define _GNU_SOURCE
#include "cli.h"
#include "view.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *read_stats(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = n > 0 ? malloc((size_t)n + 1) : NULL;
    cJSON *doc = NULL;
    if (text && fread(text, 1, (size_t)n, f) == (size_t)n) {
        text[n] = 0;
        doc = cJSON_Parse(text);
    }
    free(text);
    fclose(f);
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(doc, "schema");
    if (!cJSON_IsString(schema) || strncmp(schema->valuestring, "heapprof-stats/", 15)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* heapprof.<pid>.<seq>.<ext> -> heapprof.<pid>.<seq>.stats.json */
static cJSON *sibling_stats(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* a GPU profile's tags are its own, not the host heap's in stats.json */
    if (strncmp(base, "heapprof.", 9) || strstr(base, ".gpu.")) return NULL;
    const char *dot = strchr(base + 9, '.');
    dot = dot ? strchr(dot + 1, '.') : NULL;
    if (!dot) return NULL;
    char sib[4096];
    snprintf(sib, sizeof sib, "%.*s.stats.json", (int)(dot - path), path);
    return read_stats(sib);
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A count from the file, as the unsigned integer fmt_count takes: a damaged
 * file's negative, NaN or huge number must not be converted as is
 * (undefined behaviour). */
static uint64_t count_of(double v) {
    if (!(v > 0)) return 0;
    return v < 0x1p64 ? (uint64_t)v : UINT64_MAX;
}

static int show_stats(const cJSON *doc, const char *path, int json) {
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(doc, "tags");
    if (json) {
        char *text = cJSON_Print(tags);
        puts(text ? text : "[]");
        free(text);
        return 0;
    }
    int exact = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "sampling"), "exact"));
    printf("%s: %d tag%s; lifetime totals exact, live and peak %s\n", path,
           cJSON_GetArraySize(tags), cJSON_GetArraySize(tags) == 1 ? "" : "s",
           exact ? "exact" : "estimated (± one standard error)");
    printf("%-28s %14s %12s %20s %12s\n", "tag", "allocated", "objects", "live", "peak");
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        char a[32], o[32], l[32], e[32], pk[32], live[64];
        fmt_bytes(l, sizeof l, num(t, "live_bytes"));
        if (exact)
            snprintf(live, sizeof live, "%s", l);
        else
            snprintf(live, sizeof live, "%s ±%s", l,
                     fmt_bytes(e, sizeof e, num(t, "live_bytes_stderr")));
        printf("%-28s %14s %12s %20s %12s\n", cJSON_IsString(name) ? name->valuestring : "?",
               fmt_bytes(a, sizeof a, num(t, "alloc_bytes")),
               fmt_count(o, sizeof o, count_of(num(t, "alloc_objects"))), live,
               fmt_bytes(pk, sizeof pk, num(t, "peak_bytes")));
    }
    return 0;
}

static int show_profile(const profile *p, int json) {
    int alloc = profile_metric(p, "alloc_space"), inuse = profile_metric(p, "inuse_space");
    const char *names[1024];
    double av[1024], iv[1024];
    size_t n = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const char *tag = p->samples[i].tag ? p->samples[i].tag : "(none)";
        size_t k = 0;
        while (k < n && names[k] != tag)
            k++;
        if (k == n) {
            if (n == 1024) continue;
            names[n] = tag;
            av[n] = iv[n] = 0;
            n++;
        }
        if (alloc >= 0) av[k] += p->samples[i].values[alloc];
        if (inuse >= 0) iv[k] += p->samples[i].values[inuse];
    }
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t k = 0; k < n; k++) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "name", names[k]);
            if (alloc >= 0) cJSON_AddNumberToObject(t, "alloc_bytes", av[k]);
            if (inuse >= 0) cJSON_AddNumberToObject(t, "live_bytes", iv[k]);
            cJSON_AddItemToArray(arr, t);
        }
        char *text = cJSON_Print(arr);
        puts(text);
        free(text);
        cJSON_Delete(arr);
        return 0;
    }
    printf("%s: %zu tag%s (sums of the profile's samples%s)\n", p->path, n, n == 1 ? "" : "s",
           p->period > 1 ? ", estimated" : "");
    printf("%-28s %14s %14s\n", "tag", "allocated", "live");
    for (size_t k = 0; k < n; k++) {
        char a[32], l[32];
        printf("%-28s %14s %14s\n", names[k], alloc >= 0 ? fmt_bytes(a, sizeof a, av[k]) : "-",
               inuse >= 0 ? fmt_bytes(l, sizeof l, iv[k]) : "-");
    }
    return 0;
}

int cmd_tags(int argc, char **argv) {
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: heapprof tags [--json] FILE\n\n"
                   "Memory per attribution tag. FILE: a heapprof stats.json, or any profile\n"
                   "(a heapprof profile's stats.json next to it is used when present).\n");
            return 0;
        }
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("tags: unknown option '%s'; see 'heapprof tags --help'", argv[i]);
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        cli_error("tags: no FILE given; usage: heapprof tags [--json] FILE");
        return 2;
    }
    cJSON *doc = read_stats(path);
    if (!doc) doc = sibling_stats(path);
    if (doc) {
        int rc = show_stats(doc, path, json);
        cJSON_Delete(doc);
        return rc;
    }
    profile *p = profile_read(path);
    if (!p) return 2;
    int rc = show_profile(p, json);
    profile_free(p);
    return rc;
}
