#ifndef HP_DHAT_WRITER_H
#define HP_DHAT_WRITER_H

#include "dump.h"
#include "internal_alloc.h"

/* The DHAT JSON document of a dump (docs/formats.md#dhat), which Valgrind's
 * dh_view.html loads. */
void hp_dhat_json(hp_buf *out, const hp_dump_info *d) __attribute__((visibility("hidden")));

/* The same, zstd-compressed. */
void hp_dhat_json_zst(hp_buf *out, const hp_dump_info *d) __attribute__((visibility("hidden")));

/* ---- documents of another space (gpu/) ----
 * The same document for another set of sites: `rate` and `what` go into
 * "mode" ("GPU memory "), `tg` is that profile's own peak, and `root`
 * writes each point's outermost frame ("[gpu:0]") into text (when cap > 0)
 * and returns a number that keeps points with different roots apart. */
typedef struct hp_dhat_space {
    int64_t rate;
    const char *what;
    uint32_t (*root)(const hp_site_snapshot *site, char *text, size_t cap, void *arg);
    void *arg;
} hp_dhat_space;

void hp_dhat_write(hp_buf *out, const hp_dump_info *d, const hp_profile_snapshot *profile,
                   const hp_dhat_space *space) __attribute__((visibility("hidden")));

/* zstd of what render writes. */
void hp_dhat_zst_of(hp_buf *out, const hp_dump_info *d,
                    void (*render)(hp_buf *, const hp_dump_info *)) __attribute__((visibility("hidden")));

#endif
