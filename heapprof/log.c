#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int current_level = HP_LOG_INFO;

void hp_log_set_level(int level) { current_level = level; }

void hp_log(int level, const char *fmt, ...) {
    if (current_level < level) return;
    int saved = errno;
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
