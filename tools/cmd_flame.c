/* heapprof flame FILE -o OUT.svg|OUT.html: a flame graph of one profile. */
#include "cli.h"
#include "flame.h"
#include "view.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: heapprof flame [options] FILE -o OUT.svg|OUT.html\n\n"
        "A flame graph of FILE: each frame is a function, as wide as the memory\n"
        "allocated in it and in what it called (by --metric, default inuse_space);\n"
        "callers below, callees above. The file is self-contained (no network).\n"
        "  .svg   static, with a tooltip per frame\n"
        "  .html  click a frame to zoom, search with highlight and matched share,\n"
        "         a menu to show one tag at a time\n"
        "FILE: a heapprof or Go pprof profile, a heapprof/Valgrind/dhat-rs DHAT file, or a text\n"
        "heap profile of gperftools, jemalloc or Go (debug=1).\n"
        "'heapprof diff BASE NEW --flame OUT' draws a differential one.\n\n"
        "options:\n"
        "  -o, --output OUT  where to write (.svg, .html or .htm)\n"
        "  --title TEXT      the graph's title (default: \"Flame graph: FILE\")\n"
        "  --metric NAME     alloc_space, alloc_objects, inuse_space, inuse_objects,\n"
        "                    peak_space, ... (what the file has)\n"
        "  --tag NAME        only allocations made under this tag\n"
        "  --focus REGEX     only stacks with a frame matching REGEX (function or file)\n"
        "  --depth N         only the innermost N frames of each stack\n");
}

int cmd_flame(int argc, char **argv) {
    view_opts o = {0};
    const char *path = NULL, *out = NULL, *title = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json") || !strcmp(a, "-n") || !strncmp(a, "--nodes", 7)) {
            cli_error("flame: %s does not apply to flame graphs; see 'heapprof flame --help'", a);
            return 2;
        }
        int r = view_option(&o, &i, argc, argv);
        if (r < 0) return 2;
        if (r) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--title")) {
            if (i + 1 >= argc) {
                cli_error("flame: %s needs a value", a);
                return 2;
            }
            if (!strcmp(a, "--title"))
                title = argv[++i];
            else
                out = argv[++i];
        } else if (!strncmp(a, "--output=", 9))
            out = a + 9;
        else if (!strncmp(a, "--title=", 8))
            title = a + 8;
        else if (a[0] == '-' && a[1]) {
            cli_error("flame: unknown option '%s'; see 'heapprof flame --help'", a);
            return 2;
        } else if (path) {
            cli_error("flame: one FILE at a time ('%s' and '%s' given)", path, a);
            return 2;
        } else
            path = a;
    }
    if (!path || !out) {
        if (path)
            cli_error("flame: say where to write the graph: -o OUT.svg or -o OUT.html");
        else
            usage(stderr);
        return 2;
    }
    profile *p = profile_read(path);
    if (!p) return 2;
    int m = view_metric(p, &o, "inuse_space");
    int rc = m < 0 || flame_write(p, &o, m, out, title) ? 2 : 0;
    profile_free(p);
    return rc;
}
