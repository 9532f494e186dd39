#define _GNU_SOURCE
#include "timeline_read.h"
#include "cli.h"
#include "model.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 14, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        char *t = realloc(buf, cap *= 2);
        if (!t) free(buf);
        buf = t;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int number(const cJSON *obj, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) return -1;
    *out = v->valuedouble;
    return 0;
}

static tl_proc *proc_of(tl_run *r, long pid) {
    for (size_t i = 0; i < r->n; i++)
        if (r->procs[i].pid == pid) return &r->procs[i];
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        tl_proc *v = realloc(r->procs, cap * sizeof *v);
        if (!v) return NULL;
        r->procs = v;
        r->cap = cap;
    }
    tl_proc *p = &r->procs[r->n++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    return p;
}

static int read_tags(tl_dump *d, const cJSON *tags) {
    int n = cJSON_GetArraySize(tags);
    if (n <= 0) return 0;
    d->tags = calloc((size_t)n, sizeof *d->tags);
    if (!d->tags) return -1;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        tl_tag *tg = &d->tags[d->ntags];
        if (!cJSON_IsString(name) || number(t, "live_bytes", &tg->live)) continue;
        if (number(t, "peak_bytes", &tg->peak)) tg->peak = tg->live;
        if (number(t, "live_bytes_stderr", &tg->live_err)) tg->live_err = 0;
        tg->name = model_str(name->valuestring);
        d->ntags++;
    }
    return 0;
}

/* Whether a count or time from the file converts to int64 (NaN does not). */
static int in_range(double v) {
    return v >= 0 && v < 0x1p63;
}

/* One stats file into its process's timeline. 1: skipped (reported). */
static int read_stats(tl_run *r, const char *path) {
    size_t len;
    char *text = slurp(path, &len);
    if (!text) {
        cli_error("%s: cannot read: %s (skipped)", path, strerror(errno));
        return 1;
    }
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    const char *problem = NULL;
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(doc, "schema");
    const cJSON *process = cJSON_GetObjectItemCaseSensitive(doc, "process");
    double pid, seq, up, wall;
    tl_dump d = {0};
    if (!doc)
        problem = "not valid JSON";
    else if (!cJSON_IsString(schema) || strncmp(schema->valuestring, "heapprof-stats/", 15))
        problem = "not a heapprof stats file (no \"schema\": \"heapprof-stats/1\")";
    else if (strcmp(schema->valuestring + 15, "1")) {
        cli_error("%s: schema %s is newer than this heapprof reads (heapprof-stats/1); update "
                  "heapprof (skipped)",
                  path, schema->valuestring);
        cJSON_Delete(doc);
        return 1;
    } else if (number(doc, "pid", &pid) || number(doc, "seq", &seq) ||
               number(doc, "uptime_ns", &up) || number(doc, "time_unix_ns", &wall) ||
               number(process, "live_bytes", &d.live) || number(process, "peak_bytes", &d.peak))
        problem = "lacks pid, seq, uptime_ns, time_unix_ns or process.live_bytes/peak_bytes";
    else if (!in_range(pid) || !in_range(seq) || !in_range(up) || !in_range(wall))
        problem = "damaged: pid, seq, uptime_ns or time_unix_ns is negative or out of range";
    if (problem) {
        cli_error("%s: %s (skipped)", path, problem);
        cJSON_Delete(doc);
        return 1;
    }
    d.seq = (long)seq;
    d.uptime_ns = (int64_t)up;
    d.wall_ns = (int64_t)wall;
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(doc, "reason");
    d.reason = model_str(cJSON_IsString(reason) ? reason->valuestring : "?");
    tl_proc *p = proc_of(r, (long)pid);
    if (!p || read_tags(&d, cJSON_GetObjectItemCaseSensitive(doc, "tags"))) goto oom;
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(doc, "cmd");
    if (!p->cmd && cJSON_IsString(cmd)) p->cmd = model_str(cmd->valuestring);
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        tl_dump *v = realloc(p->dumps, cap * sizeof *v);
        if (!v) goto oom;
        p->dumps = v;
        p->cap = cap;
    }
    p->dumps[p->n++] = d;
    r->files++;
    cJSON_Delete(doc);
    return 0;
oom:
    free(d.tags);
    cJSON_Delete(doc);
    cli_error("timeline: out of memory reading %s", path);
    return -1;
}

/* heapprof.<pid>.<seq>.stats.json, digits only: leaves out the .final.
 * links and the writers' temporary files. */
static int is_dump_name(const char *name) {
    const char *s = name;
    if (strncmp(s, "heapprof.", 9)) return 0;
    s += 9;
    for (int part = 0; part < 2; part++) {
        if (*s < '0' || *s > '9') return 0;
        while (*s >= '0' && *s <= '9')
            s++;
        if (*s++ != '.') return 0;
    }
    return !strcmp(s, "stats.json");
}

int timeline_read(tl_run *r, const char *path) {
    struct stat st;
    if (stat(path, &st)) {
        cli_error("timeline: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return read_stats(r, path) < 0 ? -1 : 0;
    DIR *dir = opendir(path);
    if (!dir) {
        cli_error("timeline: cannot list %s: %s", path, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(dir))) {
        if (!is_dump_name(e->d_name)) continue;
        char *file;
        if (asprintf(&file, "%s/%s", path, e->d_name) < 0)
            rc = -1;
        else {
            rc = read_stats(r, file) < 0 ? -1 : 0;
            free(file);
        }
    }
    closedir(dir);
    return rc;
}

static int by_seq(const void *a, const void *b) {
    const tl_dump *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_start(const void *a, const void *b) {
    const tl_proc *x = a, *y = b;
    if (x->start_ns != y->start_ns) return x->start_ns < y->start_ns ? -1 : 1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int timeline_finish(tl_run *r, const char *what) {
    if (!r->files) {
        cli_error("timeline: no heapprof.<pid>.<seq>.stats.json files in %s; record some with "
                  "'heapprof run --interval 1 --out DIR -- CMD' (the stats format is on by "
                  "default)",
                  what);
        return -1;
    }
    for (size_t i = 0; i < r->n; i++) {
        tl_proc *p = &r->procs[i];
        qsort(p->dumps, p->n, sizeof *p->dumps, by_seq);
        size_t keep = 0; /* the same dump given twice (a directory and its file) */
        for (size_t k = 0; k < p->n; k++) {
            if (keep && p->dumps[keep - 1].seq == p->dumps[k].seq)
                free(p->dumps[k].tags);
            else
                p->dumps[keep++] = p->dumps[k];
        }
        p->n = keep;
        p->start_ns = p->n ? p->dumps[0].wall_ns - p->dumps[0].uptime_ns : INT64_MAX;
    }
    qsort(r->procs, r->n, sizeof *r->procs, by_start);
    return 0;
}

void timeline_free(tl_run *r) {
    for (size_t i = 0; i < r->n; i++) {
        for (size_t k = 0; k < r->procs[i].n; k++)
            free(r->procs[i].dumps[k].tags);
        free(r->procs[i].dumps);
    }
    free(r->procs);
    memset(r, 0, sizeof *r);
}
