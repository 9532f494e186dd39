/* heapprof — run programs under the heap profiler and read what it wrote. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "../heapprof/version.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "run a program with the profiler preloaded and summarise its heap"},
    {"top", cmd_top, "functions ranked by allocated or live memory"},
    {"leaks", cmd_leaks, "what was still allocated, by site; exit 1 if over a threshold"},
    {"tags", cmd_tags, "memory per attribution tag"},
    {"diff", cmd_diff, "what grew or shrank between two profiles (e.g. two builds)"},
    {"convert", cmd_convert, "convert between pprof, DHAT and collapsed stacks"},
    {"push", cmd_push, "upload profiles to Grafana Pyroscope"},
    {"flame", cmd_flame, "flame graph of a profile as SVG or interactive HTML"},
    {"timeline", cmd_timeline, "live and peak memory over time from a run's stats files"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: heapprof <command> [options] [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'heapprof <command> --help' describes one command. Documentation: docs/.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("heapprof %s\n", HEAPPROF_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    cli_error("unknown command '%s'; run 'heapprof --help' for the list", argv[1]);
    return 2;
}
