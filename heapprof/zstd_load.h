/* libzstd, loaded on the first dump that writes a .zst file rather than
 * linked: most processes never compress anything, and a linked library is
 * relocated and partly resident in every one of them. */
#ifndef HP_ZSTD_LOAD_H
#define HP_ZSTD_LOAD_H

#include <stddef.h>

typedef struct hp_zstd {
    size_t (*compress_bound)(size_t src_size);
    size_t (*compress)(void *dst, size_t dst_cap, const void *src, size_t src_size, int level);
    unsigned (*is_error)(size_t code);
} hp_zstd;

/* Loads libzstd.so.1 once (later calls return the same answer); NULL, with
 * one message, if it cannot be loaded. Call without holding the dump lock:
 * dlopen takes the loader lock. */
const hp_zstd *hp_zstd_load(void) __attribute__((visibility("hidden")));

/* The table if loaded, else NULL; never loads. */
const hp_zstd *hp_zstd_loaded(void) __attribute__((visibility("hidden")));

#endif
