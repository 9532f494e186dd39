#include "usable_size.h"

uint16_t hp_usable_by_words[HP_TABLE_MAX_REQUEST / 8 + 1];

/* The smallest and largest request of each 8-byte group must get blocks of
 * the size mi_good_size names; otherwise the entry stays 0. */
static size_t checked(size_t n) {
    void *p = mi_malloc(n);
    size_t u = p ? mi_usable_size(p) : 0;
    mi_free(p);
    return u;
}

void hp_usable_table_init(void) {
    for (size_t w = 0; w <= HP_TABLE_MAX_REQUEST / 8; w++) {
        size_t lo = w ? w * 8 - 7 : 0, hi = w * 8;
        size_t good = mi_good_size(hi);
        if (good > UINT16_MAX || checked(lo) != good || checked(hi) != good) continue;
        __atomic_store_n(&hp_usable_by_words[w], (uint16_t)good, __ATOMIC_RELAXED);
    }
}
