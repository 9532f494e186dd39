/* One-line diagnostics to stderr, prefixed "heapprof:". Formats into a stack
 * buffer and write(2)s it, so it is safe anywhere but a signal handler. */
#ifndef HP_LOG_H
#define HP_LOG_H

/* quiet prints nothing; info (the default) prints problems and what the user
 * asked to be told; debug adds internals. */
enum hp_log_level { HP_LOG_QUIET = 0, HP_LOG_INFO = 1, HP_LOG_DEBUG = 2 };

void hp_log_set_level(int level) __attribute__((visibility("hidden")));
/* Notes which file stderr is (called first thing at start-up); when it is
 * closed, no line is ever written, since a later descriptor 2 is the
 * program's own file; below debug level, lines go only to that same file. */
void hp_log_capture_stderr(void) __attribute__((visibility("hidden")));
void hp_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), visibility("hidden")));

#define hp_info(...) hp_log(HP_LOG_INFO, __VA_ARGS__)
#define hp_debug(...) hp_log(HP_LOG_DEBUG, __VA_ARGS__)

#endif
