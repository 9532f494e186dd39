/* Facts about this process read from /proc without stdio or malloc. */
#ifndef HP_PROCINFO_H
#define HP_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

/* Current and peak resident set size in bytes (0 if unreadable). */
void hp_proc_rss(uint64_t *rss, uint64_t *peak_rss) __attribute__((visibility("hidden")));

/* The command line, arguments joined by spaces. */
void hp_proc_cmdline(char *out, size_t cap) __attribute__((visibility("hidden")));

#endif
