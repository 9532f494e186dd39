#ifndef HP_DHAT_WRITER_H
#define HP_DHAT_WRITER_H

#include "dump.h"
#include "internal_alloc.h"

/* The DHAT JSON document of a dump (docs/formats.md#dhat), which Valgrind's
 * dh_view.html loads. */
void hp_dhat_json(hp_buf *out, const hp_dump_info *d) __attribute__((visibility("hidden")));

/* The same, zstd-compressed. */
void hp_dhat_json_zst(hp_buf *out, const hp_dump_info *d) __attribute__((visibility("hidden")));

#endif
