/*
 * Reads the text heap profiles that predate profile.proto, which `go tool
 * pprof` and jeprof still read:
 *
 *   gperftools (HEAPPROFILE=...):   heap profile: A: B [C: D] @ heapprofile
 *   Go, /debug/pprof/heap?debug=1:  heap profile: A: B [C: D] @ heap/2R
 *   jemalloc (prof:true):           heap_v2/R
 *
 * then one record per stack: in-use objects and bytes, allocated objects and
 * bytes ("[C: D]"), and the stack as return addresses, leaf first. jemalloc
 * puts the stack first (`@ 0x.. 0x..`) and the counts on the `t*:` line
 * after it (per-thread `tN:` lines are summed already). Go follows each record
 * with `#	PC	function+off	file:line` lines, which name its frames; the others
 * end with MAPPED_LIBRARIES (the process's /proc/self/maps), from which the
 * addresses are resolved against the files on this machine
 * (legacy_symbols.c).
 *
 * Sampled profiles (Go, jemalloc: R bytes between samples on average) are
 * scaled up as pprof does: a record of n objects and s bytes stands for
 * n/(1 - exp(-(s/n)/R)) objects and as many times s bytes.
 */
#define _GNU_SOURCE
#include "legacy_symbols.h"
#include "read.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { INUSE_OBJS, INUSE_BYTES, ALLOC_OBJS, ALLOC_BYTES };

typedef struct record {
    double v[4];
    uint64_t *pcs;
    size_t npcs;
    frame *named; /* Go's comment lines, leaf first; NULL when none */
    size_t nnamed, named_cap;
} record;

typedef struct parse {
    record *recs;
    size_t n, cap;
    legacy_maps maps;
} parse;

int legacy_heap_detect(const char *text, size_t len) {
    static const char gperf[] = "heap profile:", jemalloc[] = "heap_v2/";
    return (len >= sizeof gperf - 1 && !strncasecmp(text, gperf, sizeof gperf - 1)) ||
           (len >= sizeof jemalloc - 1 && !strncmp(text, jemalloc, sizeof jemalloc - 1));
}

static record *new_record(parse *ps) {
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 256;
        record *t = realloc(ps->recs, cap * sizeof *t);
        if (!t) return NULL;
        ps->recs = t;
        ps->cap = cap;
    }
    record *r = &ps->recs[ps->n++];
    memset(r, 0, sizeof *r);
    return r;
}

/* "A: B [C: D]" at s; returns the text after it, or NULL. */
static const char *parse_counts(const char *s, double v[4]) {
    char *end;
    long long a, b, c, d;
    a = strtoll(s, &end, 10);
    if (end == s || *end != ':') return NULL;
    b = strtoll(end + 1, &end, 10);
    while (*end == ' ')
        end++;
    if (*end != '[') return NULL;
    c = strtoll(end + 1, &end, 10);
    if (*end != ':') return NULL;
    d = strtoll(end + 1, &end, 10);
    while (*end == ' ')
        end++;
    if (*end != ']') return NULL;
    v[INUSE_OBJS] = (double)a;
    v[INUSE_BYTES] = (double)b;
    v[ALLOC_OBJS] = (double)c;
    v[ALLOC_BYTES] = (double)d;
    return end + 1;
}

/* The hex addresses of "@ 0x1 0x2 ..." (s just past the '@'). */
static int parse_stack(const char *s, record *r) {
    size_t cap = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!isxdigit((unsigned char)*s)) break;
        char *end;
        uint64_t pc = strtoull(s, &end, 16);
        if (end == s) break;
        s = end;
        if (r->npcs == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *t = realloc(r->pcs, cap * sizeof *t);
            if (!t) return -1;
            r->pcs = t;
        }
        r->pcs[r->npcs++] = pc;
    }
    return 0;
}

/* "#	0x4b6a3c	main.work+0x3c	/src/main.go:12" after a Go record. */
static int parse_go_frame(const char *s, record *r) {
    const char *f[3];
    size_t flen[3];
    for (int i = 0; i < 3; i++) {
        while (*s == '\t' || *s == ' ')
            s++;
        f[i] = s;
        while (*s && *s != '\t')
            s++;
        flen[i] = (size_t)(s - f[i]);
    }
    if (!flen[1]) return 0;
    size_t name_len = flen[1];
    for (size_t i = name_len; i > 0; i--) /* drop "+0x3c" */
        if (f[1][i - 1] == '+') {
            name_len = i - 1;
            break;
        }
    const char *colon = NULL;
    for (size_t i = flen[2]; i > 0; i--)
        if (f[2][i - 1] == ':') {
            colon = f[2] + i - 1;
            break;
        }
    if (r->nnamed == r->named_cap) {
        r->named_cap = r->named_cap ? r->named_cap * 2 : 8;
        frame *t = realloc(r->named, r->named_cap * sizeof *t);
        if (!t) return -1;
        r->named = t;
    }
    r->named[r->nnamed++] = (frame){
        model_strn(f[1], name_len),  colon ? model_strn(f[2], (size_t)(colon - f[2])) : NULL,
        colon ? atoi(colon + 1) : 0, NULL,
        strtoull(f[0], NULL, 16),
    };
    return 0;
}

/* pprof's scaling of a Poisson-sampled record (legacy_profile.go). */
static void unsample(double *objs, double *bytes, double rate) {
    if (*objs <= 0 || *bytes <= 0) {
        *objs = *bytes = 0;
        return;
    }
    if (rate <= 1) return;
    double scale = 1.0 / -expm1(-(*bytes / *objs) / rate);
    *objs *= scale;
    *bytes *= scale;
}

/* The first line: which profiler, and its sampling rate (0 for none);
 * -1 with *error set. */
static double parse_header(const char *line, int jemalloc, const char **error,
                           const char **source) {
    const char *at = jemalloc ? line + 7 : strchr(line, '@');
    if (!at) {
        *error = "damaged heap profile header (no '@')";
        return -1;
    }
    if (!jemalloc) {
        at++;
        while (*at == ' ')
            at++;
    }
    const char *slash = strchr(at, '/');
    double period = slash ? strtod(slash + 1, NULL) : 0;
    if (!(period >= 0 && period <= 0x1p62)) { /* also NaN */
        *error = "damaged heap profile header (the sampling period after '/' is not a "
                 "byte count)";
        return -1;
    }
    if (!strncmp(at, "heapprofile", 11)) {
        *source = "gperftools heap profile";
        return 0;
    }
    if (!strncmp(at, "heap_v2", 7) || jemalloc) {
        *source = jemalloc ? "jemalloc heap profile" : "text heap profile";
        return period;
    }
    if (!strncmp(at, "heap", 4)) {
        *source = "Go heap profile, text";
        return period / 2; /* Go writes 2 x its rate */
    }
    *error = "unknown heap profile kind after '@' (want heapprofile, heap/N or heap_v2/N)";
    return -1;
}

/* Splits the text into lines and fills ps; returns the sampling rate (0 for
 * none), or -1 with *error set. *source names the profiler. */
static double parse_text(char *text, parse *ps, const char **error, const char **source) {
    double rate = 0;
    int jemalloc = !strncmp(text, "heap_v2/", 8), in_maps = 0, first = 1;
    record *open_stack = NULL; /* jemalloc: a stack waiting for its t*: line */
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = 0;
        if (first) {
            first = 0;
            rate = parse_header(line, jemalloc, error, source);
            if (rate < 0) return -1;
            continue;
        }
        if (in_maps) {
            legacy_maps_add_line(&ps->maps, line);
            continue;
        }
        const char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s) continue;
        if (!strncmp(s, "MAPPED_LIBRARIES:", 17)) {
            in_maps = 1;
            continue;
        }
        if (*s == '#') {
            if (!jemalloc && ps->n && s[1] == '\t' && parse_go_frame(s + 1, &ps->recs[ps->n - 1]))
                return -1;
            continue;
        }
        if (jemalloc) {
            if (*s == '@') {
                open_stack = new_record(ps);
                if (!open_stack || parse_stack(s + 1, open_stack)) return -1;
            } else if (!strncmp(s, "t*:", 3) && open_stack) {
                if (!parse_counts(s + 3, open_stack->v)) {
                    *error = "damaged jemalloc record (want \"t*: A: B [C: D]\")";
                    return -1;
                }
                open_stack = NULL;
            }
            continue; /* the per-thread lines repeat what t*: sums */
        }
        record *r = new_record(ps);
        if (!r) return -1;
        const char *rest = parse_counts(s, r->v);
        while (rest && *rest == ' ')
            rest++;
        if (!rest || *rest != '@') {
            *error = "damaged heap profile record (want \"A: B [C: D] @ 0x...\")";
            return -1;
        }
        if (parse_stack(rest + 1, r)) return -1;
    }
    return rate;
}

/* The frames of one record: Go's own names when it wrote them, otherwise
 * the addresses resolved (return addresses: one byte back lands on the
 * call), with the allocator's own frames dropped from the leaf end. */
static int record_frames(const parse *ps, const record *r, sample *out) {
    if (r->nnamed) {
        out->frames = malloc(r->nnamed * sizeof *out->frames);
        if (!out->frames) return -1;
        memcpy(out->frames, r->named, r->nnamed * sizeof *out->frames);
        out->nframes = r->nnamed;
        return 0;
    }
    out->frames = r->npcs ? malloc(r->npcs * sizeof *out->frames) : NULL;
    if (r->npcs && !out->frames) return -1;
    int leaf = 1;
    for (size_t i = 0; i < r->npcs; i++) {
        frame f;
        legacy_maps_resolve(&ps->maps, r->pcs[i], i > 0, &f);
        if (leaf && legacy_is_allocator(f.module) && i + 1 < r->npcs) continue;
        leaf = 0;
        out->frames[out->nframes++] = f;
    }
    return 0;
}

profile *read_legacy_heap(char *text, const char *path) {
    parse ps;
    memset(&ps, 0, sizeof ps);
    const char *error = "out of memory";
    profile *p = calloc(1, sizeof *p);
    const char *source = NULL;
    double rate = p ? parse_text(text, &ps, &error, &source) : -1;
    int has_alloc = 0;
    for (size_t i = 0; i < ps.n; i++)
        if (ps.recs[i].v[ALLOC_OBJS] || ps.recs[i].v[ALLOC_BYTES]) has_alloc = 1;
    if (rate >= 0) {
        error = "out of memory";
        p->path = model_str(path);
        p->source = source;
        p->period = (int64_t)rate;
        if (has_alloc) {
            profile_add_metric(p, "alloc_objects", "count");
            profile_add_metric(p, "alloc_space", "bytes");
        }
        int io = profile_add_metric(p, "inuse_objects", "count");
        int ib = profile_add_metric(p, "inuse_space", "bytes");
        int ao = has_alloc ? profile_metric(p, "alloc_objects") : -1;
        int ab = has_alloc ? profile_metric(p, "alloc_space") : -1;
        legacy_maps_open(&ps.maps);
        size_t done = 0;
        for (; done < ps.n; done++) {
            record *r = &ps.recs[done];
            sample *s = profile_add_sample(p);
            if (!s || record_frames(&ps, r, s)) break;
            unsample(&r->v[INUSE_OBJS], &r->v[INUSE_BYTES], rate);
            unsample(&r->v[ALLOC_OBJS], &r->v[ALLOC_BYTES], rate);
            s->values[io] = r->v[INUSE_OBJS];
            s->values[ib] = r->v[INUSE_BYTES];
            if (has_alloc) {
                s->values[ao] = r->v[ALLOC_OBJS];
                s->values[ab] = r->v[ALLOC_BYTES];
            }
        }
        if (done == ps.n) error = NULL;
    }
    for (size_t i = 0; i < ps.n; i++) {
        free(ps.recs[i].pcs);
        free(ps.recs[i].named);
    }
    free(ps.recs);
    legacy_maps_free(&ps.maps);
    if (error) {
        fprintf(stderr, "heapprof: %s: %s\n", path, error);
        profile_free(p);
        return NULL;
    }
    return p;
}
