#include "id_map.h"
#include "internal_alloc.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

static uint32_t slot_of(uint64_t key, uint32_t cap) {
    return (uint32_t)XXH3_64bits(&key, sizeof key) & (cap - 1);
}

uint32_t hp_id_map_get(hp_id_map *m, uint64_t key, int *added) {
    *added = 0;
    if ((m->n + 1) * 2 > m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 1024;
        uint64_t *keys = hp_calloc(cap, sizeof *keys);
        uint32_t *ids = hp_calloc(cap, sizeof *ids);
        if (!keys || !ids) {
            hp_free(keys);
            hp_free(ids);
            m->failed = 1;
            return 0;
        }
        for (uint32_t i = 0; i < m->cap; i++) {
            if (!m->ids[i]) continue;
            uint32_t j = slot_of(m->keys[i], cap);
            while (ids[j]) j = (j + 1) & (cap - 1);
            keys[j] = m->keys[i];
            ids[j] = m->ids[i];
        }
        hp_free(m->keys);
        hp_free(m->ids);
        m->keys = keys;
        m->ids = ids;
        m->cap = cap;
    }
    uint32_t j = slot_of(key, m->cap);
    while (m->ids[j] && m->keys[j] != key) j = (j + 1) & (m->cap - 1);
    if (!m->ids[j]) {
        m->keys[j] = key;
        m->ids[j] = ++m->n;
        *added = 1;
    }
    return m->ids[j];
}

void hp_id_map_free(hp_id_map *m) {
    hp_free(m->keys);
    hp_free(m->ids);
}
