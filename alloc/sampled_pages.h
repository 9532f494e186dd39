/*
 * Which pages hold a sampled block: a two-level table of 16-bit counts, one
 * per 4 KiB page, keyed by the page of the block's start address. free()
 * reads it (two loads, no writes, no atomics) and only a nonzero count sends
 * the call to the live table. Sampled blocks stay where mimalloc put them,
 * so sampling changes neither the memory layout nor the address space the
 * program sees. See docs/internals.md#sampled-free-detection for the
 * alternatives that were measured.
 */
#ifndef HP_SAMPLED_PAGES_H
#define HP_SAMPLED_PAGES_H

#include "thread_state.h"

#define HP_PAGE_SHIFT 12
#define HP_REGION_SHIFT 32 /* one second-level table per 4 GiB */
#define HP_TOP_ENTRIES ((size_t)1 << (47 - HP_REGION_SHIFT))
#define HP_REGION_PAGES ((size_t)1 << (HP_REGION_SHIFT - HP_PAGE_SHIFT))

extern uint16_t *hp_sampled_pages[HP_TOP_ENTRIES] HP_HIDDEN;

/* True if p may be a sampled block (then the live table decides). Addresses
 * above 2^47 alias lower ones, which can only cause a harmless lookup. */
static inline int hp_maybe_sampled(const void *p) {
    uintptr_t a = (uintptr_t)p;
    const uint16_t *region = hp_sampled_pages[(a >> HP_REGION_SHIFT) & (HP_TOP_ENTRIES - 1)];
    return HP_UNLIKELY(region != NULL) &&
           HP_UNLIKELY(region[(a >> HP_PAGE_SHIFT) & (HP_REGION_PAGES - 1)] != 0);
}

/* Count one more / one fewer sampled block starting on p's page. Callers
 * serialise (the profile lock). mark returns -1 if a table cannot be mapped. */
int hp_sampled_pages_mark(const void *p) HP_HIDDEN;
void hp_sampled_pages_unmark(const void *p) HP_HIDDEN;

/* Bytes mapped for the tables. */
uint64_t hp_sampled_pages_bytes(void) HP_HIDDEN;

#endif
