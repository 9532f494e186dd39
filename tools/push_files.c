#define _GNU_SOURCE
#include "push_files.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct entry {
    push_file f;
    char *real; /* realpath, to recognise .final links */
    int rank;   /* format preference: 0 pprof, 1 DHAT zstd, 2 DHAT, 3 other */
    int is_final;
} entry;

typedef struct list {
    entry *v;
    int n, cap;
} list;

/* Not profiles, although heapprof writes them next to the profiles. */
static int not_a_profile(const char *name) {
    size_t n = strlen(name);
    return (n >= 11 && !strcmp(name + n - 11, ".stats.json")) ||
           (n >= 5 && !strcmp(name + n - 5, ".prom"));
}

static int format_rank(const char *ext) {
    if (!strcmp(ext, "pb.gz") || !strcmp(ext, "pb")) return 0;
    if (!strcmp(ext, "dhat.json.zst")) return 1;
    if (!strcmp(ext, "dhat.json")) return 2;
    return 3;
}

/* heapprof.<pid>.<seq|final>.<ext>: returns 1 and fills pid/seq/ext. */
static int dump_name(const char *base, long *pid, long long *seq, int *is_final, const char **ext) {
    if (strncmp(base, "heapprof.", 9)) return 0;
    char *end;
    const char *p = base + 9;
    *pid = strtol(p, &end, 10);
    if (end == p || *end != '.') return 0;
    p = end + 1;
    *is_final = !strncmp(p, "final.", 6);
    if (*is_final) {
        *seq = LLONG_MAX;
        end = (char *)p + 5;
    } else {
        *seq = strtoll(p, &end, 10);
        if (end == p || *end != '.') return 0;
    }
    *ext = end + 1;
    return **ext != 0;
}

static int add(list *l, const char *path) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        entry *t = realloc(l->v, (size_t)l->cap * sizeof *t);
        if (!t) return -1;
        l->v = t;
    }
    entry *e = &l->v[l->n];
    memset(e, 0, sizeof *e);
    e->f.path = strdup(path);
    e->real = realpath(path, NULL);
    if (!e->f.path || !e->real) {
        cli_error("push: %s: %s", path, strerror(errno ? errno : ENOMEM));
        free(e->f.path);
        free(e->real);
        return -1;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    long pid;
    const char *ext;
    if (dump_name(base, &pid, &e->f.seq, &e->is_final, &ext)) {
        /* the directory of the file itself, not of a link's target */
        char *dir = strdup(path);
        char *cut = dir ? strrchr(dir, '/') : NULL;
        if (cut) *cut = 0;
        char *rdir = realpath(cut ? dir : ".", NULL);
        if (asprintf(&e->f.process, "%s/%ld", rdir ? rdir : "?", pid) < 0) e->f.process = NULL;
        free(dir);
        free(rdir);
        e->rank = format_rank(ext);
    } else {
        e->f.process = strdup(e->real);
        e->f.seq = 0;
        e->rank = 3;
    }
    if (!e->f.process) return -1;
    l->n++;
    return 0;
}

/* A directory stands for the dumps in it (heapprof run's output). */
static int add_dir(list *l, const char *dir, int *skipped) {
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("push: %s: %s", dir, strerror(errno));
        return -1;
    }
    int found = 0, rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        long pid;
        long long seq;
        int is_final;
        const char *ext;
        if (!dump_name(de->d_name, &pid, &seq, &is_final, &ext)) continue;
        if (is_final || not_a_profile(de->d_name) || format_rank(ext) == 3) {
            if (!is_final) ++*skipped;
            continue;
        }
        char *path;
        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
            rc = -1;
        else {
            rc = add(l, path);
            free(path);
            found++;
        }
    }
    closedir(d);
    if (rc == 0 && !found) {
        cli_error("push: %s has no heapprof profiles (heapprof.<pid>.<seq>.pb.gz); give the files "
                  "or the directory heapprof run printed",
                  dir);
        return -1;
    }
    return rc;
}

static int by_process_seq_rank(const void *a, const void *b) {
    const entry *x = a, *y = b;
    int c = strcmp(x->f.process, y->f.process);
    if (c) return c;
    if (x->f.seq != y->f.seq) return x->f.seq < y->f.seq ? -1 : 1;
    return x->rank - y->rank;
}

static void drop(entry *e) {
    free(e->f.path);
    free(e->f.process);
    e->f.path = e->f.process = NULL;
}

int push_files_collect(char **args, int nargs, push_file **out, int *skipped) {
    list l = {0};
    *skipped = 0;
    for (int i = 0; i < nargs; i++) {
        struct stat st;
        if (stat(args[i], &st)) {
            cli_error("push: %s: %s", args[i], strerror(errno));
            goto fail;
        }
        const char *base = strrchr(args[i], '/');
        base = base ? base + 1 : args[i];
        if (S_ISDIR(st.st_mode)) {
            if (add_dir(&l, args[i], skipped)) goto fail;
        } else if (not_a_profile(base)) {
            ++*skipped;
        } else if (add(&l, args[i])) {
            goto fail;
        }
    }
    /* .final links: the dump they point to, unless that is listed anyway */
    for (int i = 0; i < l.n; i++) {
        if (!l.v[i].is_final) continue;
        for (int j = 0; j < l.n; j++)
            if (j != i && !l.v[j].is_final && !strcmp(l.v[i].real, l.v[j].real)) {
                drop(&l.v[i]);
                ++*skipped;
                break;
            }
    }
    int n = 0;
    for (int i = 0; i < l.n; i++)
        if (l.v[i].f.path)
            l.v[n++] = l.v[i];
        else
            free(l.v[i].real);
    l.n = n;
    if (l.n) qsort(l.v, (size_t)l.n, sizeof *l.v, by_process_seq_rank);
    /* one format per dump: the first after sorting is the preferred one */
    push_file *files = calloc((size_t)l.n + 1, sizeof *files);
    if (!files) goto fail;
    n = 0;
    for (int i = 0; i < l.n; i++) {
        const push_file *last = n ? &files[n - 1] : NULL;
        if (last && !strcmp(l.v[i].f.process, last->process) && l.v[i].f.seq == last->seq) {
            drop(&l.v[i]);
            ++*skipped;
        } else {
            files[n++] = l.v[i].f;
        }
        free(l.v[i].real);
    }
    free(l.v);
    *out = files;
    return n;
fail:
    for (int i = 0; i < l.n; i++) {
        drop(&l.v[i]);
        free(l.v[i].real);
    }
    free(l.v);
    return -1;
}

void push_files_free(push_file *files, int n) {
    for (int i = 0; i < n; i++) {
        free(files[i].path);
        free(files[i].process);
    }
    free(files);
}
