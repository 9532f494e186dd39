/* The CLI runs in its own process: the shared buffer and encoder code
 * (heapprof/buf.c, protobuf.c, json_out.c) allocate with plain malloc here. */
#include "../heapprof/internal_alloc.h"

#include <stdlib.h>

void *hp_malloc(size_t size) { return malloc(size); }
void *hp_calloc(size_t n, size_t size) { return calloc(n, size); }
void *hp_realloc(void *p, size_t size) { return realloc(p, size); }
void hp_free(void *p) { free(p); }
