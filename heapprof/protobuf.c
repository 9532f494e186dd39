#include "protobuf.h"

static void raw_varint(hp_buf *b, uint64_t v) {
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    hp_buf_append(b, tmp, n);
}

static void key(hp_buf *b, unsigned field, unsigned wire_type) {
    raw_varint(b, (uint64_t)field << 3 | wire_type);
}

void hp_pb_varint(hp_buf *b, unsigned field, uint64_t value) {
    if (!value) return;
    key(b, field, 0);
    raw_varint(b, value);
}

void hp_pb_bytes(hp_buf *b, unsigned field, const void *data, size_t len) {
    key(b, field, 2);
    raw_varint(b, len);
    hp_buf_append(b, data, len);
}

void hp_pb_packed(hp_buf *b, unsigned field, const uint64_t *values, size_t n) {
    if (!n) return;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = values[i];
        do {
            len++;
            v >>= 7;
        } while (v);
    }
    key(b, field, 2);
    raw_varint(b, len);
    for (size_t i = 0; i < n; i++) raw_varint(b, values[i]);
}
