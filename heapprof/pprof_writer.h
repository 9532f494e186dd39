#ifndef HP_PPROF_WRITER_H
#define HP_PPROF_WRITER_H

#include "dump.h"
#include "internal_alloc.h"

/* The gzipped pprof heap profile of a dump (docs/formats.md#pprof). */
void hp_pprof_profile(hp_buf *out, const hp_dump_info *d) __attribute__((visibility("hidden")));

#endif
