/* Open-addressing map from a 64-bit key (a hash, an address) to a dense id
 * 1..n in order of insertion: the writers number strings, locations and
 * functions with it. */
#ifndef HP_ID_MAP_H
#define HP_ID_MAP_H

#include <stdint.h>

typedef struct hp_id_map {
    uint64_t *keys;
    uint32_t *ids;
    uint32_t cap, n;
    int failed; /* out of memory: ids returned since are 0 */
} hp_id_map;

/* The id of key, adding it if new (then *added = 1). */
uint32_t hp_id_map_get(hp_id_map *m, uint64_t key, int *added) __attribute__((visibility("hidden")));
void hp_id_map_free(hp_id_map *m) __attribute__((visibility("hidden")));

#endif
