/* Shared pieces of the heapprof command-line tool. */
#ifndef HP_CLI_H
#define HP_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Each subcommand: argv[0] is the subcommand name. Returns the exit status. */
int cmd_run(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_tags(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_timeline(int argc, char **argv);

/* "12.3 MiB", "512 B" into buf. */
const char *fmt_bytes(char *buf, size_t cap, double bytes);
/* "1,234,567" into buf. */
const char *fmt_count(char *buf, size_t cap, uint64_t n);

/* "4096", "1.5MiB", "2G" (binary units) into *out; -1 if not a size. */
int parse_size(const char *s, double *out);

/* Prints "heapprof: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
