/* heapprof push --url URL --app NAME [--label K=V]... FILE|DIR...: uploads
 * profiles to Grafana Pyroscope's /ingest (FORMATS.md §C; docs/pyroscope.md). */
#define _GNU_SOURCE
#include "../heapprof/pyroscope_wire.h"
#include "cli.h"
#include "progress.h"
#include "push_delta.h"
#include "push_files.h"
#include "push_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LABELS 32

typedef struct push_opts {
    const char *url, *app, *spy;
    hp_pyro_label labels[MAX_LABELS];
    size_t nlabels;
    int now, quiet;
    push_conn conn;
} push_opts;

static void usage(FILE *out) {
    fprintf(out,
            "usage: heapprof push --url URL --app NAME [options] FILE|DIR...\n\n"
            "Uploads heap profiles to Grafana Pyroscope (POST URL/ingest). FILE: a heapprof,\n"
            "Go or other pprof heap profile, or a heapprof/Valgrind/dhat-rs DHAT file; DIR: the\n"
            "dumps heapprof run wrote (heapprof.<pid>.<seq>.pb.gz). Dumps of one process are\n"
            "sent in order with alloc_* as the difference from the previous dump and inuse_*\n"
            "as they are; each sample's tag becomes the series label 'tag'.\n\n"
            "options:\n"
            "  --url URL          Pyroscope's base URL, e.g. http://localhost:4040\n"
            "  --app NAME         service name: letters, digits and _ . / -\n"
            "  --label KEY=VALUE  a series label (repeatable; keys: letters, digits, _ .)\n"
            "  --tenant ID        send X-Scope-OrgID: ID (multi-tenant servers)\n"
            "  --spy-name NAME    the spyName parameter (default %s)\n"
            "  --now              restamp the profiles so the newest is now, keeping their\n"
            "                     spacing (servers refuse profiles older than 1 h by default)\n"
            "  --retries N        retries after a 429, 5xx or connection error (default 4),\n"
            "                     waiting 0.5 s, 1 s, 2 s, ... in between\n"
            "  --timeout SECONDS  per attempt (default 30)\n"
            "  -q, --quiet        no summary line\n\n"
            "Exit status: 0 all sent, 1 some not sent, 2 bad arguments or files.\n",
            HP_PYRO_SPY_NAME);
}

static int parse_label(push_opts *o, char *arg) {
    char *eq = strchr(arg, '='), err[512];
    if (!eq) {
        cli_error("push: --label '%s': give KEY=VALUE", arg);
        return -1;
    }
    *eq = 0;
    const char *key = arg, *value = eq + 1;
    if (hp_pyro_check_label(key, value, err, sizeof err)) {
        cli_error("push: %s", err);
        return -1;
    }
    for (size_t i = 0; i < o->nlabels; i++) {
        if (strcmp(o->labels[i].key, key)) continue;
        cli_error("push: label '%s' given twice", key);
        return -1;
    }
    if (o->nlabels == MAX_LABELS) {
        cli_error("push: at most %d labels", MAX_LABELS);
        return -1;
    }
    o->labels[o->nlabels++] = (hp_pyro_label){key, value};
    return 0;
}

static int parse_whole(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        cli_error("push: %s '%s': give a whole number from %ld to %ld", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns the index of the first FILE, or -1 (exit 2), or -2 (--help). */
static int parse_args(push_opts *o, int argc, char **argv) {
    long n;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return -2;
        if (!strcmp(a, "--")) return i + 1;
        if (a[0] != '-' || !a[1]) return i;
        if (!strcmp(a, "--now")) {
            o->now = 1;
            continue;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        static const char *const valued[] = {"--url",      "--app",     "--label",  "--tenant",
                                             "--spy-name", "--retries", "--timeout"};
        const char *name = NULL;
        for (size_t k = 0; k < sizeof valued / sizeof *valued && !name; k++) {
            size_t len = strlen(valued[k]);
            if (strncmp(a, valued[k], len)) continue;
            if (a[len] == '=')
                v = a + len + 1;
            else if (a[len])
                continue;
            else if (i + 1 < argc)
                v = argv[++i];
            else {
                cli_error("push: %s needs a value; see 'heapprof push --help'", a);
                return -1;
            }
            name = valued[k];
        }
        if (!name) {
            cli_error("push: unknown option '%s'; see 'heapprof push --help'", a);
            return -1;
        }
        if (!strcmp(name, "--url"))
            o->url = v;
        else if (!strcmp(name, "--app"))
            o->app = v;
        else if (!strcmp(name, "--spy-name"))
            o->spy = v;
        else if (!strcmp(name, "--tenant"))
            o->conn.tenant = v;
        else if (!strcmp(name, "--label")) {
            if (parse_label(o, v)) return -1;
        } else if (!strcmp(name, "--retries")) {
            if (parse_whole(name, v, 0, 20, &n)) return -1;
            o->conn.tries = (int)n + 1;
        } else if (!strcmp(name, "--timeout")) {
            if (parse_whole(name, v, 1, 3600, &n)) return -1;
            o->conn.timeout_ms = n * 1000;
        }
    }
    return argc;
}

static int check_opts(const push_opts *o) {
    char err[512];
    if (!o->url || !o->app) {
        cli_error("push: give --url URL and --app NAME; see 'heapprof push --help'");
        return -1;
    }
    if (hp_pyro_check_url(o->url, err, sizeof err) || hp_pyro_check_app(o->app, err, sizeof err) ||
        hp_pyro_check_spy(o->spy, err, sizeof err)) {
        cli_error("push: %s", err);
        return -1;
    }
    if (o->conn.tenant) {
        const char *t = o->conn.tenant;
        size_t n = strlen(t);
        if (!n || n > 150 || strcspn(t, " \t\r\n\"\\") != n) {
            cli_error("push: --tenant '%s': give a tenant ID without spaces or quotes", t);
            return -1;
        }
    }
    return 0;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* When the profile was taken: its own time, else the file's mtime (DHAT
 * files carry no wall-clock time). */
static int64_t profile_time(const profile *p, const char *path) {
    if (p->time_nanos > 0) return p->time_nanos;
    struct stat st;
    if (stat(path, &st)) return now_ns();
    return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* --now: how far to move every profile so the newest lands at now. */
static int64_t restamp_shift(const push_file *files, int n) {
    int64_t newest = 0;
    for (int i = 0; i < n; i++) {
        profile *p = profile_read(files[i].path);
        if (!p) continue;
        int64_t t = profile_time(p, files[i].path);
        if (t > newest) newest = t;
        profile_free(p);
    }
    return newest ? now_ns() - newest : 0;
}

/* The pprof bytes of p. model_write.c writes files, so the profile goes
 * through a file in a private temporary directory. */
static int encode(const profile *p, const char *dir, hp_buf *out) {
    char path[4200];
    snprintf(path, sizeof path, "%s/profile.pb.gz", dir);
    if (profile_write_pprof(p, path)) return -1;
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t got;
    out->len = 0;
    while (f && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        hp_buf_append(out, chunk, got);
    if (f) fclose(f);
    unlink(path);
    if (!f || out->failed) {
        cli_error("push: cannot read back the encoded profile %s", path);
        return -1;
    }
    return 0;
}

typedef struct push_run {
    push_opts *o;
    const char *tmpdir;
    hp_buf name, url, pprof, body;
    int64_t shift;
    push_cumul base; /* alloc values of the process's last profile sent */
    int have_base;
    int sent, failed, processes;
    int stop; /* a failure that every further upload would repeat */
} push_run;

static void push_one(push_run *r, const push_file *f, int new_process) {
    if (new_process) {
        push_cumul_free(&r->base);
        r->have_base = 0;
        r->processes++;
    }
    profile *p = profile_read(f->path); /* prints why it cannot */
    if (!p) {
        r->failed++;
        return;
    }
    p->time_nanos = profile_time(p, f->path) + r->shift;
    push_cumul cur;
    char err[1024];
    int ok = 0;
    if (push_cumul_of(p, &cur)) {
        cli_error("push: %s: out of memory", f->path);
    } else if (push_to_delta(p, r->have_base ? &r->base : NULL, err, sizeof err)) {
        cli_error("push: %s: %s", f->path, err);
    } else if (encode(p, r->tmpdir, &r->pprof) == 0) {
        int64_t until = p->time_nanos / 1000000000,
                from = (p->time_nanos - p->duration_nanos) / 1000000000;
        r->url.len = 0;
        hp_pyro_ingest_url(&r->url, r->o->url, r->name.data, r->o->spy, from, until);
        char boundary[64], type[128];
        hp_pyro_multipart(&r->body, boundary, r->pprof.data, r->pprof.len, (uint64_t)now_ns());
        snprintf(type, sizeof type, "multipart/form-data; boundary=%s", boundary);
        hp_pyro_response rs;
        int attempts;
        if (r->url.failed || r->body.failed) {
            cli_error("push: %s: out of memory", f->path);
        } else if (push_send(&r->o->conn, r->url.data, type, r->body.data, r->body.len, &rs,
                             &attempts) == HP_PYRO_SENT) {
            ok = 1;
        } else {
            push_explain(&rs, attempts, err, sizeof err);
            cli_error("push: %s: not sent: %s", f->path, err);
            r->stop = push_failure_is_global(&rs);
        }
    }
    if (ok) { /* the next dump of this process is sent relative to this one */
        push_cumul_free(&r->base);
        r->base = cur;
        r->base.time_nanos = p->time_nanos;
        r->have_base = 1;
        r->sent++;
    } else {
        push_cumul_free(&cur);
        r->failed++;
    }
    profile_free(p);
}

int cmd_push(int argc, char **argv) {
    push_opts o = {.spy = HP_PYRO_SPY_NAME, .conn = {.tries = 5, .timeout_ms = 30000}};
    int first = parse_args(&o, argc, argv);
    if (first == -2) {
        usage(stdout);
        return 0;
    }
    if (first < 0 || check_opts(&o)) return 2;
    if (first >= argc) {
        cli_error(
            "push: give the profiles to upload (files, or the directory heapprof run printed)");
        return 2;
    }
    push_file *files;
    int skipped, n = push_files_collect(argv + first, argc - first, &files, &skipped);
    if (n < 0) return 2;
    if (n == 0) {
        cli_error(
            "push: none of the files given is a profile (stats.json and .prom files are not)");
        push_files_free(files, n);
        return 2;
    }
    char tmpdir[] = "/tmp/heapprof-push.XXXXXX";
    const char *env_tmp = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/heapprof-push.XXXXXX", env_tmp && *env_tmp ? env_tmp : "/tmp");
    char *dir = mkdtemp(tmpl);
    if (!dir) dir = mkdtemp(tmpdir);
    if (!dir) {
        cli_error("push: cannot create a temporary directory: %s", strerror(errno));
        push_files_free(files, n);
        return 2;
    }
    push_run r = {.o = &o, .tmpdir = dir};
    hp_pyro_name(&r.name, o.app, o.labels, o.nlabels);
    if (o.now) r.shift = restamp_shift(files, n);
    int rc = 2;
    if (push_conn_open(&o.conn) == 0) {
        /* progress.h shows a bar from 8 MiB of work on: counting a file as
         * 1 MiB makes it appear from 8 files on */
        progress bar;
        progress_start(&bar, "pushing", (uint64_t)n << 20);
        int i;
        for (i = 0; i < n && !r.stop; i++) {
            push_one(&r, &files[i], i == 0 || strcmp(files[i].process, files[i - 1].process));
            progress_update(&bar, (uint64_t)(i + 1) << 20);
        }
        progress_end(&bar);
        if (i < n) cli_error("push: stopped; %d more file(s) not sent", n - i);
        push_conn_close(&o.conn);
        if (!o.quiet)
            fprintf(
                stderr, "heapprof: pushed %d of %d profile(s) from %d process(es) to %s as %s%s\n",
                r.sent, n, r.processes, o.url, r.name.data,
                skipped ? " (other files skipped: stats, .prom, a second format of a dump)" : "");
        rc = r.sent == n ? 0 : 1;
    }
    push_cumul_free(&r.base);
    hp_buf_free(&r.name);
    hp_buf_free(&r.url);
    hp_buf_free(&r.pprof);
    hp_buf_free(&r.body);
    rmdir(dir);
    push_files_free(files, n);
    return rc;
}
