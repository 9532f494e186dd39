#define _GNU_SOURCE
#include "sampled_pages.h"
#include "counters.h"

#include <sys/mman.h>

uint16_t *hp_sampled_pages[HP_TOP_ENTRIES];
static uint64_t mapped_bytes;

static uint16_t *slot(const void *p, int create) {
    uintptr_t a = (uintptr_t)p;
    uint16_t **entry = &hp_sampled_pages[(a >> HP_REGION_SHIFT) & (HP_TOP_ENTRIES - 1)];
    uint16_t *region = __atomic_load_n(entry, __ATOMIC_ACQUIRE);
    if (!region && create) {
        /* Untouched pages of the table cost nothing: only the 4 KiB pages of
         * counts that cover sampled blocks become resident. */
        size_t bytes = HP_REGION_PAGES * sizeof(uint16_t);
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) return NULL;
        region = m;
        mapped_bytes += bytes;
        __atomic_store_n(entry, region, __ATOMIC_RELEASE);
    }
    return region ? &region[(a >> HP_PAGE_SHIFT) & (HP_REGION_PAGES - 1)] : NULL;
}

int hp_sampled_pages_mark(const void *p) {
    uint16_t *count = slot(p, 1);
    if (!count) return -1;
    __atomic_store_n(count, (uint16_t)(*count + 1), __ATOMIC_RELEASE);
    return 0;
}

void hp_sampled_pages_unmark(const void *p) {
    uint16_t *count = slot(p, 0);
    if (count && *count) __atomic_store_n(count, (uint16_t)(*count - 1), __ATOMIC_RELAXED);
}

uint64_t hp_sampled_pages_bytes(void) { return mapped_bytes; }
