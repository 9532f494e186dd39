#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int current_level = HP_LOG_INFO;

void hp_log_set_level(int level) {
    current_level = level;
}

/* The file descriptor 2 named when the library started. A line goes only
 * to that file: when 2 was closed then (`prog 2>&-`, a daemon started with
 * its descriptors closed), or the program closes it later, the next file the
 * program opens lands on 2, and a line written there would go into the
 * program's data. That cannot be told from a program redirecting its
 * stderr on purpose (dup2 onto 2, a daemon's log file), so by default such a
 * stderr gets no lines: a lost diagnostic is the lesser harm. At
 * HEAPPROF_LOG=debug, which a user sets to read internals, lines follow
 * descriptor 2 wherever the program points it (still never when it was
 * closed at start). */
static int stderr_closed;
static dev_t stderr_dev;
static ino_t stderr_ino;

void hp_log_capture_stderr(void) {
    int saved = errno;
    struct stat st;
    stderr_closed = fstat(STDERR_FILENO, &st) != 0;
    if (!stderr_closed) {
        stderr_dev = st.st_dev;
        stderr_ino = st.st_ino;
    }
    errno = saved;
}

static int stderr_is_ours(void) {
    struct stat st;
    if (stderr_closed) return 0;
    if (current_level >= HP_LOG_DEBUG) return 1;
    return fstat(STDERR_FILENO, &st) == 0 && st.st_dev == stderr_dev && st.st_ino == stderr_ino;
}

void hp_log(int level, const char *fmt, ...) {
    if (current_level < level) return;
    int saved = errno;
    if (!stderr_is_ours()) {
        errno = saved;
        return;
    }
    char line[8192]; /* long enough for any path a message names */
    int n = snprintf(line, sizeof line, "heapprof: ");
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
    (void)ignored;
    errno = saved;
}
