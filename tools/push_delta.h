/* What heapprof push sends for one profile: the four Go heap sample types
 * only, alloc_* as the difference from the previous profile sent for the
 * same process (Pyroscope stores /ingest profiles as they come, so
 * cumulative values would count every allocation again at each upload;
 * FORMATS.md §C.7), inuse_* as they are. */
#ifndef HP_CLI_PUSH_DELTA_H
#define HP_CLI_PUSH_DELTA_H

#include "model.h"

typedef struct push_cumul_entry {
    uint64_t identity; /* hash of the sample's stack, tag and labels */
    double objs, space;
} push_cumul_entry;

/* alloc_objects and alloc_space per sample identity, summed over the
 * samples of one profile; sorted by identity. */
typedef struct push_cumul {
    push_cumul_entry *v;
    size_t n;
    int64_t time_nanos; /* of the profile */
} push_cumul;

/* The cumulative alloc values of p, before push_to_delta changes it. */
int push_cumul_of(const profile *p, push_cumul *out);
void push_cumul_free(push_cumul *c);

/* Rewrites p in place for upload: sample types alloc_objects, alloc_space,
 * inuse_objects, inuse_space (those it has, units count/bytes), alloc_*
 * minus `prev` (NULL for a first profile: its cumulative values are its
 * first difference), samples that end up all zero dropped. Returns 0, or -1
 * with the reason in err (no heap sample types). */
int push_to_delta(profile *p, const push_cumul *prev, char *err, size_t cap);

#endif
