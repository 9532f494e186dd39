/* A protocol-buffers wire-format reader for the pprof reader. */
#ifndef HP_PB_DECODE_H
#define HP_PB_DECODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pb_reader {
    const uint8_t *p, *end;
    int error;
} pb_reader;

typedef struct pb_field {
    unsigned number;
    unsigned wire_type;   /* 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
    uint64_t value;       /* varint / fixed value */
    const uint8_t *data;  /* bytes */
    size_t len;
} pb_field;

/* Next field; 0 at the end or on error (then r->error is set). */
int pb_next(pb_reader *r, pb_field *f);

/* Calls fn for each integer of a field that may be packed (wire type 2) or
 * not (wire type 0). */
void pb_each_int(const pb_field *f, void (*fn)(uint64_t v, void *arg), void *arg);

#endif
