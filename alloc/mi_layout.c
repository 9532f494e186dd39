#include "mi_layout.h"

#include "mi_aligned.h"

uintptr_t hp_mi_layout_ok;

/* One block: the reader must agree with mimalloc, or (aligned pages) must
 * decline. */
static int agrees(void *p, int may_decline, int *declined) {
    if (p == NULL) return 1;
    size_t got;
    if (hp_mi_layout_read(p, &got)) return got == mi_usable_size(p);
    *declined += may_decline;
    return may_decline;
}

#define HP_CHECK_SLOTS 160

void hp_mi_layout_init(void) {
    if (mi_version() != HP_MI_LAYOUT_VERSION) return;
    void *blocks[HP_CHECK_SLOTS];
    int n = 0, ok = 1;
    /* Every small and medium size class up to 64 KiB, one block each, then
     * runs of one medium size so that blocks land in the later slices of a
     * multi-slice page (found through slice_offset), then large and huge. */
    for (size_t size = 8; size <= 65536 && n < 96; size += size / 4 + 8)
        blocks[n++] = mi_malloc(size);
    for (int i = 0; i < 24 && n < HP_CHECK_SLOTS; i++)
        blocks[n++] = mi_malloc(24 * 1024);
    static const size_t big[] = {200 << 10, 1 << 20, 3 << 20};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        blocks[n++] = mi_malloc(big[i]);
    int declined = 0;
    for (int i = 0; i < n; i++)
        ok &= agrees(blocks[i], 0, &declined);
    /* From HP_MI_READ_BELOW on (a large block, a huge one) the reader must
     * hand over. */
    int first_big = n;
    static const size_t bigger[] = {HP_MI_READ_BELOW, 5 << 20, 17 << 20};
    for (size_t i = 0; i < sizeof bigger / sizeof bigger[0]; i++)
        blocks[n++] = mi_malloc(bigger[i]);
    for (int i = first_big; i < n; i++) {
        size_t got;
        ok &= blocks[i] == NULL || !hp_mi_layout_read(blocks[i], &got);
    }
    int plain = n;
    /* Aligned blocks mark their page; the reader must then hand over. */
    static const size_t align[][2] = {{100, 64}, {3000, 4096}, {70000, 65536}, {40, 256}};
    for (size_t i = 0; i < sizeof align / sizeof align[0]; i++)
        blocks[n++] = hp_mi_malloc_aligned(align[i][0], align[i][1]);
    for (int i = plain; i < n; i++)
        ok &= agrees(blocks[i], 1, &declined);
    /* At least one interior pointer must have been recognised, or the flag
     * test above proved nothing. */
    ok &= declined > 0;
    for (int i = 0; i < n; i++)
        mi_free(blocks[i]);
    if (ok) __atomic_store_n(&hp_mi_layout_ok, 1, __ATOMIC_RELAXED);
}
