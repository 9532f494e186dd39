/* A minimal protocol-buffers encoder for the pprof writer: varints,
 * length-delimited fields and packed repeated integers, appended to hp_buf. */
#ifndef HP_PROTOBUF_H
#define HP_PROTOBUF_H

#include "internal_alloc.h"

#include <stdint.h>

#define HP_PB_HIDDEN __attribute__((visibility("hidden")))

/* Field `field` as a varint (int64 values are their two's complement). Zero
 * values are skipped, as proto3 allows. */
void hp_pb_varint(hp_buf *b, unsigned field, uint64_t value) HP_PB_HIDDEN;
/* Field `field` as length-delimited bytes (strings, sub-messages). */
void hp_pb_bytes(hp_buf *b, unsigned field, const void *data, size_t len) HP_PB_HIDDEN;
/* Field `field` as a packed repeated varint. */
void hp_pb_packed(hp_buf *b, unsigned field, const uint64_t *values, size_t n) HP_PB_HIDDEN;

#endif
