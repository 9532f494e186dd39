/*
 * Usable size of a fresh small block without asking mimalloc. Under
 * mimalloc, a small request of n bytes always gets a block of its size
 * class, so the usable size is a function of n. A table filled at start-up
 * from mimalloc itself (mi_good_size, checked against real allocations)
 * answers in two instructions what mi_usable_size takes ~28 for — it was a
 * third of the instructions of a malloc/free pair. An entry of 0 (not yet
 * filled, or mimalloc disagreed) falls back to mi_usable_size. Only for
 * fresh, unaligned allocations: a realloc may keep a larger old block.
 */
#ifndef HP_USABLE_SIZE_H
#define HP_USABLE_SIZE_H

#include "thread_state.h"

#include <mimalloc.h>

#define HP_TABLE_MAX_REQUEST 1024

extern uint16_t hp_usable_by_words[HP_TABLE_MAX_REQUEST / 8 + 1] HP_HIDDEN;

/* The usable size mimalloc will give a request of n <= HP_TABLE_MAX_REQUEST
 * bytes, or 0 if the table cannot say. */
static inline size_t hp_usable_of_request(size_t n) {
    return __atomic_load_n(&hp_usable_by_words[(n + 7) >> 3], __ATOMIC_RELAXED);
}

/* Fills the table; call once, before or while allocations run. */
void hp_usable_table_init(void) HP_HIDDEN;

#endif
