#ifndef HP_STATS_WRITER_H
#define HP_STATS_WRITER_H

#include "dump.h"
#include "internal_alloc.h"

/* The stats.json document (schema in docs/formats.md). */
void hp_stats_json(hp_buf *b, const hp_dump_info *d) __attribute__((visibility("hidden")));

#endif
