/*
 * The usable size of a mimalloc block read straight from mimalloc's page
 * metadata, for the free fast path. mi_usable_size() is an out-of-line call
 * into libmimalloc of ~29 instructions (segment, slice, page, alignment and
 * huge-block checks) and was the largest single cost of free() under
 * heapprof; the same answer for an ordinary block is four loads.
 *
 * This reads mimalloc's private layout, so it is guarded: the offsets below
 * are those of Debian's mimalloc 2.0.9 (x86-64, release build), and they are
 * used only after hp_mi_layout_init() has checked them against
 * mi_usable_size() on blocks of every size class, block positions deep in
 * multi-slice pages and large blocks, and checked that 4 MiB and huge
 * blocks and aligned blocks are handed over. Any other
 * mimalloc version, or one disagreeing answer, leaves the reader off and
 * every lookup goes to mi_usable_size(). Blocks whose page holds aligned
 * (interior) pointers, and blocks of 4 MiB or more, always go to
 * mi_usable_size().
 *
 * The reads touch only memory mimalloc's own free() reads for the same
 * pointer (the segment header and the page descriptor).
 */
#ifndef HP_MI_LAYOUT_H
#define HP_MI_LAYOUT_H

#include "thread_state.h"

#include <mimalloc.h>
#include <stdint.h>

#define HP_MI_LAYOUT_VERSION 209                       /* mi_version() it was checked for */
#define HP_MI_SEGMENT_MASK (((uintptr_t)32 << 20) - 1) /* 32 MiB segments */
#define HP_MI_SLICE_SHIFT 16                           /* 64 KiB slices */
#define HP_MI_SLICE_BYTES 80                           /* sizeof(mi_slice_t) == sizeof(mi_page_t) */
#define HP_MI_SLICES_OFFSET 264                        /* offsetof(mi_segment_t, slices) */
#define HP_MI_PAGE_SLICE_OFFSET 4                      /* mi_page_t.slice_offset (uint32) */
#define HP_MI_PAGE_FLAGS 14                            /* mi_page_t.flags (uint8) */
#define HP_MI_PAGE_HAS_ALIGNED 0x2                     /* flags bit: interior pointers */
#define HP_MI_PAGE_BLOCK_SIZE 28                       /* mi_page_t.xblock_size (uint32) */
#define HP_MI_HUGE_BLOCK_SIZE ((uint32_t)1 << 31)      /* xblock_size of huge pages */
/* Blocks from here on (huge ones included) are left to the caller, which
 * gives them to the big-block cache (big_cache.h) rather than mimalloc. */
#define HP_MI_READ_BELOW ((uint32_t)4 << 20)

/* Nonzero once the layout is verified. */
extern uintptr_t hp_mi_layout_ok HP_HIDDEN;

/* Stores in *usable the block size mimalloc's page descriptor records for
 * p and returns 1; returns 0 when the page holds aligned (interior) pointers
 * (whose usable size takes mimalloc's own arithmetic) or a block of
 * HP_MI_READ_BELOW or more (huge blocks among them).
 * Unguarded: the self-test calls it before the layout is known right. */
static inline int hp_mi_layout_read(const void *p, size_t *usable) {
    /* One byte back: a block never starts its own segment, and this is how
     * mimalloc finds the segment of huge aligned blocks too. */
    uintptr_t segment = ((uintptr_t)p - 1) & ~HP_MI_SEGMENT_MASK;
    const uint8_t *slice = (const uint8_t *)segment + HP_MI_SLICES_OFFSET +
                           (((uintptr_t)p - segment) >> HP_MI_SLICE_SHIFT) * HP_MI_SLICE_BYTES;
    const uint8_t *page = slice - *(const uint32_t *)(slice + HP_MI_PAGE_SLICE_OFFSET);
    uint32_t block = *(const uint32_t *)(page + HP_MI_PAGE_BLOCK_SIZE);
    if (HP_UNLIKELY((page[HP_MI_PAGE_FLAGS] & HP_MI_PAGE_HAS_ALIGNED) || block >= HP_MI_READ_BELOW))
        return 0;
    *usable = block;
    return 1;
}

static inline size_t hp_usable_of_block(const void *p) {
    if (HP_LIKELY(__atomic_load_n(&hp_mi_layout_ok, __ATOMIC_RELAXED))) {
        size_t usable;
        if (HP_LIKELY(hp_mi_layout_read(p, &usable))) return usable;
    }
    return mi_usable_size(p);
}

/* Checks the layout against mi_usable_size() and turns the reader on if it
 * agrees everywhere. Call once at start-up; before that (and if it fails)
 * every lookup asks mimalloc. */
void hp_mi_layout_init(void) HP_HIDDEN;

#endif
