/* hp_buf: a growable byte buffer on hp_malloc. Shared by the runtime (where
 * hp_malloc is the profiler's own memory) and the CLI (where it is malloc). */
#include "internal_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int reserve(hp_buf *b, size_t extra) {
    if (b->failed) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = hp_realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void hp_buf_append_grow(hp_buf *b, const void *data, size_t n) {
    if (reserve(b, n)) return;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0;
}

void hp_buf_printf(hp_buf *b, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        hp_buf_append(b, small, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void hp_buf_u64(hp_buf *b, uint64_t v) {
    char digits[20], *d = digits + sizeof digits;
    do
        *--d = (char)('0' + v % 10);
    while (v /= 10);
    hp_buf_append(b, d, (size_t)(digits + sizeof digits - d));
}

void hp_buf_free(hp_buf *b) {
    hp_free(b->data);
    memset(b, 0, sizeof *b);
}
