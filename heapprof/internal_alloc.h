/* Memory for the profiler's own bookkeeping. It comes from mimalloc directly,
 * never through the interposed malloc, so it is neither counted as the
 * program's nor sampled; its total is reported as profiler_bytes. */
#ifndef HP_INTERNAL_ALLOC_H
#define HP_INTERNAL_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *hp_malloc(size_t size) __attribute__((visibility("hidden")));
void *hp_calloc(size_t n, size_t size) __attribute__((visibility("hidden")));
void *hp_realloc(void *p, size_t size) __attribute__((visibility("hidden")));
void hp_free(void *p) __attribute__((visibility("hidden")));

/* A growable byte buffer on that memory, for building files before writing. */
typedef struct hp_buf {
    char *data;
    size_t len, cap;
    int failed; /* an allocation failed: contents are incomplete */
} hp_buf;

void hp_buf_append_grow(hp_buf *b, const void *data, size_t n) __attribute__((visibility("hidden")));

/* Appends n bytes; the text stays NUL-terminated. Inline: the writers append
 * many short pieces. */
static inline void hp_buf_append(hp_buf *b, const void *data, size_t n) {
    if (__builtin_expect(b->len + n < b->cap, 1)) {
        __builtin_memcpy(b->data + b->len, data, n);
        b->len += n;
        b->data[b->len] = 0;
        return;
    }
    hp_buf_append_grow(b, data, n);
}
void hp_buf_printf(hp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), visibility("hidden")));
/* Appends v in decimal: what the writers print most, without printf. */
void hp_buf_u64(hp_buf *b, uint64_t v) __attribute__((visibility("hidden")));
void hp_buf_free(hp_buf *b) __attribute__((visibility("hidden")));

#endif
