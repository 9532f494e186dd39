#ifndef HP_PROM_WRITER_H
#define HP_PROM_WRITER_H

#include "dump.h"
#include "internal_alloc.h"

/* Prometheus text exposition of the counters, for node_exporter's textfile
 * collector (docs/formats.md#prometheus). */
void hp_prom_text(hp_buf *out, const hp_dump_info *d) __attribute__((visibility("hidden")));

#endif
