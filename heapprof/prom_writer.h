#ifndef HP_PROM_WRITER_H
#define HP_PROM_WRITER_H

#include "dump.h"
#include "internal_alloc.h"

/* Prometheus text exposition of the counters, for node_exporter's textfile
 * collector (docs/formats.md#prometheus). */
void hp_prom_text(hp_buf *out, const hp_dump_info *d) __attribute__((visibility("hidden")));

/* Appends s escaped as a label value (backslash, double quote, newline). */
void hp_prom_label_value(hp_buf *b, const char *s) __attribute__((visibility("hidden")));

#endif
