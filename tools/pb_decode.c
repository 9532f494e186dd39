#include "pb_decode.h"

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int pb_next(pb_reader *r, pb_field *f) {
    if (r->error || r->p >= r->end) return 0;
    uint64_t key;
    if (varint(&r->p, r->end, &key)) goto bad;
    f->number = (unsigned)(key >> 3);
    f->wire_type = (unsigned)(key & 7);
    f->data = NULL;
    f->len = 0;
    f->value = 0;
    switch (f->wire_type) {
    case 0:
        if (varint(&r->p, r->end, &f->value)) goto bad;
        return 1;
    case 1:
        if (r->end - r->p < 8) goto bad;
        for (int i = 7; i >= 0; i--) f->value = f->value << 8 | r->p[i];
        r->p += 8;
        return 1;
    case 2: {
        uint64_t len;
        if (varint(&r->p, r->end, &len) || len > (uint64_t)(r->end - r->p)) goto bad;
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        return 1;
    }
    case 5:
        if (r->end - r->p < 4) goto bad;
        for (int i = 3; i >= 0; i--) f->value = f->value << 8 | r->p[i];
        r->p += 4;
        return 1;
    }
bad:
    r->error = 1;
    return 0;
}

void pb_each_int(const pb_field *f, void (*fn)(uint64_t v, void *arg), void *arg) {
    if (f->wire_type == 0) {
        fn(f->value, arg);
        return;
    }
    if (f->wire_type != 2) return;
    const uint8_t *p = f->data, *end = f->data + f->len;
    uint64_t v;
    while (p < end && varint(&p, end, &v) == 0) fn(v, arg);
}
