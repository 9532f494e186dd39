/* heapprof convert IN -o OUT: any readable profile to pprof, DHAT JSON
 * (plain or zstd) or collapsed stacks, chosen by OUT's name or --to. */
#define _GNU_SOURCE
#include "cli.h"
#include "view.h"

#include <stdio.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int cmd_convert(int argc, char **argv) {
    view_opts o = {0};
    const char *in = NULL, *out = NULL, *to = NULL;
    for (int i = 1; i < argc; i++) {
        int r = view_option(&o, &i, argc, argv);
        if (r < 0) return 2;
        if (r) continue;
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: heapprof convert IN -o OUT [--to pprof|dhat|dhat.zst|collapsed] "
                   "[--metric M]\n\n"
                   "Converts any profile heapprof reads (heapprof, Valgrind DHAT, dhat-rs, Go\n"
                   "pprof) to pprof (.pb.gz), DHAT JSON (.json, .dhat.json, .json.zst) or collapsed\n"
                   "stacks for flamegraph.pl (.collapsed, .folded, .txt; --metric picks the value,\n"
                   "default alloc_space). OUT '-' writes to standard output (needs --to).\n");
            return 0;
        }
        if ((!strcmp(a, "-o") || !strcmp(a, "--to")) && i + 1 < argc) {
            if (!strcmp(a, "-o")) out = argv[++i];
            else to = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            cli_error("convert: unknown option '%s'; see 'heapprof convert --help'", a);
            return 2;
        } else {
            in = a;
        }
    }
    if (!in || !out) {
        cli_error("convert: usage: heapprof convert IN -o OUT");
        return 2;
    }
    if (!to) {
        if (ends_with(out, ".pb.gz") || ends_with(out, ".pb") || ends_with(out, ".pprof")) to = "pprof";
        else if (ends_with(out, ".json.zst") || ends_with(out, ".zst")) to = "dhat.zst";
        else if (ends_with(out, ".json")) to = "dhat";
        else if (ends_with(out, ".collapsed") || ends_with(out, ".folded") || ends_with(out, ".txt"))
            to = "collapsed";
        else {
            cli_error("convert: cannot tell the format from '%s'; name it .pb.gz, .json, .json.zst "
                      "or .collapsed, or pass --to", out);
            return 2;
        }
    }
    profile *p = profile_read(in);
    if (!p) return 2;
    int rc;
    if (!strcmp(to, "pprof")) rc = profile_write_pprof(p, out);
    else if (!strcmp(to, "dhat")) rc = profile_write_dhat(p, out, 0);
    else if (!strcmp(to, "dhat.zst")) rc = profile_write_dhat(p, out, 1);
    else if (!strcmp(to, "collapsed")) {
        int m = view_metric(p, &o, "alloc_space");
        rc = m < 0 ? -1 : profile_write_collapsed(p, out, m);
    } else {
        cli_error("convert: --to %s: give pprof, dhat, dhat.zst or collapsed", to);
        rc = -1;
    }
    profile_free(p);
    return rc ? 2 : 0;
}
