/* Which files `heapprof push` uploads, and in what order: the dumps of one
 * process (heapprof.<pid>.<seq>.*) in sequence order, so alloc_* can be sent
 * as differences between consecutive dumps. */
#ifndef HP_CLI_PUSH_FILES_H
#define HP_CLI_PUSH_FILES_H

typedef struct push_file {
    char *path;
    char
        *process; /* "<directory>/<pid>" for heapprof dumps; else the path (a process of its own) */
    long long seq; /* order within the process; the .final link sorts last */
} push_file;

/* Expands the arguments (a directory stands for the dumps in it), drops what
 * is not a profile (stats.json, .prom), a second format of the same dump
 * (pprof is preferred) and .final links to a dump already listed, and sorts
 * by process, then seq. Returns the number of files, or -1 after an error
 * line. *skipped counts what was dropped. */
int push_files_collect(char **args, int nargs, push_file **out, int *skipped);
void push_files_free(push_file *files, int n);

#endif
