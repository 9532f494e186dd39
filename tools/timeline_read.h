/* The series of stats files one run leaves behind (heapprof.<pid>.<seq>
 * .stats.json, written at every interval, peak, signal, API and exit dump),
 * read into one timeline per process. */
#ifndef HP_CLI_TIMELINE_READ_H
#define HP_CLI_TIMELINE_READ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tl_tag {
    const char *name; /* interned */
    double live, peak, live_err;
} tl_tag;

typedef struct tl_dump {
    long seq;
    int64_t uptime_ns, wall_ns; /* since the process started; Unix time */
    double live, peak;          /* process.live_bytes, process.peak_bytes */
    const char *reason;
    tl_tag *tags;
    size_t ntags;
} tl_dump;

typedef struct tl_proc {
    long pid;
    const char *cmd;
    int64_t start_ns; /* Unix time the process started: wall - uptime */
    tl_dump *dumps;   /* by seq */
    size_t n, cap;
} tl_proc;

typedef struct tl_run {
    tl_proc *procs; /* by start time */
    size_t n, cap;
    size_t files; /* stats files read */
} tl_run;

/* Adds a directory's heapprof.<pid>.<seq>.stats.json files (the .final.
 * links are the same dumps and are left out), or one stats file. Files that
 * are not valid stats are reported on one line each and skipped. Returns 0,
 * or -1 after an error line when path cannot be read. */
int timeline_read(tl_run *r, const char *path);
/* Sorts dumps and processes and drops duplicates; -1 after an error line if
 * nothing was read. `what` names the inputs for that message. */
int timeline_finish(tl_run *r, const char *what);
void timeline_free(tl_run *r);

#endif
