#include "view.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char view_help[] =
    "  --metric NAME     alloc_space, alloc_objects, inuse_space, inuse_objects,\n"
    "                    peak_space, ... (what the file has; default depends on command)\n"
    "  --tag NAME        only allocations made under this tag\n"
    "  --focus REGEX     only stacks with a frame matching REGEX (function or file)\n"
    "  --depth N         consider only the innermost N frames of each stack\n"
    "  -n, --nodes N     rows to show (default 20)\n"
    "  --json            machine-readable output\n";

static const char *value_of(int *i, int argc, char **argv, const char *flag) {
    const char *a = argv[*i];
    size_t n = strlen(flag);
    if (a[n] == '=') return a + n + 1;
    if (*i + 1 >= argc) {
        cli_error("option %s needs a value", flag);
        return NULL;
    }
    return argv[++*i];
}

static int is(const char *arg, const char *flag) {
    size_t n = strlen(flag);
    return !strncmp(arg, flag, n) && (arg[n] == 0 || arg[n] == '=');
}

int view_option(view_opts *o, int *i, int argc, char **argv) {
    const char *a = argv[*i], *v;
    if (!strcmp(a, "--json")) {
        o->json = 1;
        return 1;
    }
    if (is(a, "--metric") || is(a, "--sample_index") || is(a, "--sample-index")) {
        if (!(v = value_of(i, argc, argv,
                           is(a, "--metric") ? "--metric"
                           : a[8] == '_'     ? "--sample_index"
                                             : "--sample-index")))
            return -1;
        o->metric = v;
        return 1;
    }
    if (is(a, "--tag")) {
        if (!(v = value_of(i, argc, argv, "--tag"))) return -1;
        o->tag = v;
        return 1;
    }
    if (is(a, "--focus")) {
        if (!(v = value_of(i, argc, argv, "--focus"))) return -1;
        if (regcomp(&o->focus_re, v, REG_EXTENDED | REG_NOSUB)) {
            cli_error("--focus %s: not a valid regular expression", v);
            return -1;
        }
        o->focus = v;
        return 1;
    }
    if (is(a, "--depth") || is(a, "--nodes") || (a[0] == '-' && a[1] == 'n' && !a[2])) {
        const char *flag = is(a, "--depth") ? "--depth" : is(a, "--nodes") ? "--nodes" : "-n";
        if (!(v = value_of(i, argc, argv, flag))) return -1;
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 0 || n > 1000000) {
            cli_error("%s %s: give a whole number", flag, v);
            return -1;
        }
        if (!strcmp(flag, "--depth"))
            o->depth = (int)n;
        else
            o->nodes = (int)n;
        return 1;
    }
    return 0;
}

int view_metric(const profile *p, const view_opts *o, const char *fallback) {
    const char *want = o->metric ? o->metric : fallback;
    int m = want ? profile_metric(p, want) : -1;
    if (m >= 0) return m;
    if (!o->metric && p->nmetrics) return (int)p->nmetrics - 1;
    if (!p->nmetrics) {
        cli_error("%s has no metrics (no sample types): not a heap profile, or a damaged one",
                  p->path);
        return -1;
    }
    char list[512] = "";
    for (size_t k = 0; k < p->nmetrics; k++) {
        strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, p->metrics[k].name, sizeof list - strlen(list) - 1);
    }
    cli_error("%s has no metric '%s'; it has: %s", p->path, want ? want : "?", list);
    return -1;
}

size_t view_depth(const view_opts *o, const sample *s) {
    return o->depth > 0 && (size_t)o->depth < s->nframes ? (size_t)o->depth : s->nframes;
}

int view_keep(const view_opts *o, const sample *s) {
    if (o->tag && (!s->tag || strcmp(o->tag, s->tag))) return 0;
    if (!o->focus) return 1;
    for (size_t f = 0; f < view_depth(o, s); f++) {
        if (!regexec(&o->focus_re, s->frames[f].function, 0, NULL, 0)) return 1;
        if (s->frames[f].file && !regexec(&o->focus_re, s->frames[f].file, 0, NULL, 0)) return 1;
    }
    return 0;
}
