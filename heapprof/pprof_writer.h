#ifndef HP_PPROF_WRITER_H
#define HP_PPROF_WRITER_H

#include "dump.h"
#include "internal_alloc.h"

/* The gzipped pprof heap profile of a dump (docs/formats.md#pprof). */
void hp_pprof_profile(hp_buf *out, const hp_dump_info *d) __attribute__((visibility("hidden")));

/* ---- profiles of another space (gpu/) ----
 * The same file layout for another set of sites: `rate` is the period, `what`
 * goes into the comment ("GPU memory; "), and `labels` adds up to
 * HP_PPROF_MAX_LABELS string labels per site (it may format values into
 * `room`), after the tag and the user's labels. */
#define HP_PPROF_MAX_LABELS 4
typedef struct hp_pprof_space {
    int64_t rate;
    const char *what;
    int (*labels)(const hp_site_snapshot *site, const char **keys, const char **values,
                  char room[][32], void *arg);
    void *arg;
} hp_pprof_space;

void hp_pprof_write(hp_buf *out, const hp_dump_info *d, const hp_profile_snapshot *profile,
                    const hp_pprof_space *space) __attribute__((visibility("hidden")));

#endif
