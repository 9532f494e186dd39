#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int current_level = HP_LOG_INFO;

void hp_log_set_level(int level) { current_level = level; }

/* Whether descriptor 2 was open when the library started. When it was
 * closed (`prog 2>&-`, a daemon started with its descriptors closed), the
 * first file the program opens lands on 2, and a line written there would
 * go into the program's data; so then nothing is written. A stderr the
 * program redirects itself later (dup2 onto 2) still gets the lines. */
static int stderr_closed;

void hp_log_capture_stderr(void) {
    int saved = errno;
    stderr_closed = fcntl(STDERR_FILENO, F_GETFD) < 0;
    errno = saved;
}

void hp_log(int level, const char *fmt, ...) {
    if (current_level < level) return;
    int saved = errno;
    if (stderr_closed) {
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
