/*
 * mimalloc tuning for heapprof, applied once from the library constructor,
 * after mimalloc's own process init: an arena added then is used from the
 * next segment mimalloc needs (options read at init, such as
 * reserve_os_memory, would be too late, hence the explicit calls).
 *
 * Why. Debian 12's mimalloc 2.0.9 is slow on repeated multi-MiB blocks
 * (DESIGN.md §6): every block above 16 MiB gets a segment of its own, mapped
 * fresh from the OS and unmapped on free, and blocks of 5-16 MiB sit in 32 MiB
 * segments whose freed spans are decommitted after 25 ms. Each reuse is then
 * paid again in page faults, one per 4 KiB, with the kernel zeroing every page.
 * glibc instead keeps blocks up to its 32 MiB mmap threshold in the heap.
 *
 * Measured with bench/ (`large`: 800 blocks of 5-25 MiB, up to 20 live, each
 * written in full) on the 2-core Debian 12 VM of bench/RESULTS.md; CPU time
 * (user + system) and peak RSS as the range of two runs, minor page faults.
 * The machine was shared with other jobs, so CPU times carry some noise;
 * faults and RSS do not depend on the load.
 *
 *   heapprof (HEAPPROF_RATE=0) with            CPU s     RSS MiB    faults
 *   (glibc, for reference)                     6.0-7.2   473        313 k
 *   (bare mimalloc, for reference)             50-52     427-447   2620 k
 *   no tuning                                  45-49     440-448   2610 k
 *   1 GiB committed arena                      5.2-7.9   676-689    230-255 k
 *     (mi_reserve_os_memory(1 GiB, true, ..), as MIMALLOC_RESERVE_OS_MEMORY)
 *   1 GiB uncommitted arena, 4 KiB pages       no gain: same faults as no tuning
 *   mi_option_large_os_pages                   ~2.5x glibc, +19% RSS
 *   1 GiB uncommitted arena, THP (chosen)      5.2-6.3   522-548    151-164 k
 *
 * A committed arena is fast (a freed block is reused without new faults),
 * but in 2.0.9 memory in a committed arena is "pinned": never decommitted,
 * for huge blocks and ordinary segments alike, so a process keeps every page
 * it ever touched there: +45% RSS over glibc on `large`, and sqlite3 grows
 * from 81 to 105 MiB. An arena without commit is decommitted block by block
 * on free (MADV_DONTNEED) and alone brings nothing. What helps is the page
 * size: the same uncommitted arena, mapped by us with MADV_HUGEPAGE and given
 * to mimalloc with mi_manage_os_memory(.., is_committed=false, ..), is
 * faulted in 2 MiB transparent huge pages (up to 512 times fewer faults) and
 * stays decommittable, so RSS follows the live heap: +10-16% over glibc on
 * `large`, unchanged elsewhere (sqlite3 81 -> 82 MiB, with 37 k -> 9 k
 * faults; the other workloads within 3 MiB). mi_option_large_os_pages
 * madvises only mappings whose size is a multiple of 2 MiB (ordinary
 * segments, rarely huge ones) and marks them pinned.
 *
 * Left at their defaults: decommit_delay (25 ms) and segment_decommit_delay.
 * Raising decommit_delay to 50 or 100 ms removes faults on the 5-16 MiB
 * blocks and on perl (8-11 k -> 6.2 k), but together with the THP arena it
 * keeps huge pages whole for longer: sqlite3 peak RSS 82 -> 100 MiB, and the
 * result depends on how fast the program runs. Neither delay reaches huge
 * blocks, which go straight back to the OS. The 2.0.9 segment cache holds
 * only ordinary 32 MiB segments, never huge ones.
 *
 * When. Added at start-up, the arena reserves address space in every
 * process and hands every program's small-block segments huge pages. The
 * `auto` mode (HEAPPROF_THP_ARENA=auto) adds it only once a program has shown
 * the pattern: at its 8th request of 4 MiB or more, and only if no RLIMIT_AS
 * is set at that moment; the check is one compare in the paths that see
 * requests above 1 KiB (never the small-block fast path). `large` at scale
 * 0.2: 2.4 s (glibc 2.7 s, bare mimalloc 6.6 s), peak RSS 445 MiB (glibc 434,
 * bare mimalloc 380), 106 k faults (glibc 216 k, mimalloc 538 k); sort's
 * buffers never reach the count. It is still not the default: a program that
 * lowers RLIMIT_AS after its large blocks, to make an allocation fail (as
 * tests/programs/cxx_operators.cc does to test its new-handler), gets that
 * allocation from the reservation instead, and heapprof must not change
 * what a program sees. Default 0 (never); 1 adds it at start-up.
 *
 * Limits. The arena only helps where transparent huge pages are enabled
 * (`always` or `madvise` in /sys/kernel/mm/transparent_hugepage/enabled; it is
 * skipped for `never`), it reserves 1 GiB of address space (not memory; VSZ
 * grows by that much), and it is skipped when overcommit is disabled
 * (vm.overcommit_memory=2, where a reservation counts against the commit
 * limit) or an address-space limit (RLIMIT_AS) is set. Beyond 1 GiB of
 * segments mimalloc maps from the OS as before. A user's own mimalloc
 * arena settings win: MIMALLOC_RESERVE_OS_MEMORY (any value, 0 included) or
 * MIMALLOC_RESERVE_HUGE_OS_PAGES in the environment turns ours off.
 */
#define _GNU_SOURCE
#include "mi_tuning.h"
#include "memory_bound.h"

#include <fcntl.h>
#include <mimalloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define HP_MI_ARENA_BYTES ((size_t)1 << 30)
/* mimalloc 2.x arenas hand out 32 MiB segments and must start on that
 * alignment (MI_SEGMENT_ALIGN, not in the public header). */
#define HP_MI_SEGMENT_ALIGN ((size_t)32 << 20)

/* First bytes of a small /proc or /sys file, NUL-terminated; no allocation. */
static bool read_small(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    return true;
}

/* Whether an arena can be added at all, from settings that do not change
 * while the program runs. */
static bool arena_possible(void) {
    char buf[128];
    if (sizeof(void *) < 8) return false;
    if (getenv("MIMALLOC_RESERVE_OS_MEMORY") || getenv("MIMALLOC_RESERVE_HUGE_OS_PAGES"))
        return false;
    if (!read_small("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) ||
        strstr(buf, "[never]"))
        return false;
    if (hp_overcommit_mode() == '2') return false;
    return true;
}

/* The arena is address space reserved at once: allocations served from it
 * do not grow the address space. A program that has lowered RLIMIT_AS (to
 * make its own allocations fail, as tests/programs/cxx_operators.cc does)
 * must see them fail as without heapprof, so no arena is added under a
 * limit. */
static bool address_space_unlimited(void) {
    struct rlimit as;
    return getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur == RLIM_INFINITY;
}

/* Maps HP_MI_ARENA_BYTES at segment alignment, asks for transparent huge
 * pages, and gives the range to mimalloc as uncommitted (so decommittable)
 * memory. Any failure leaves mimalloc as it was. */
static void add_thp_arena(void) {
    const size_t size = HP_MI_ARENA_BYTES, align = HP_MI_SEGMENT_ALIGN;
    char *raw = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) return;
    char *start = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (start > raw) munmap(raw, (size_t)(start - raw));
    char *end = start + size, *raw_end = raw + size + align;
    if (raw_end > end) munmap(end, (size_t)(raw_end - end));
    if (madvise(start, size, MADV_HUGEPAGE) != 0 ||
        !mi_manage_os_memory(start, size, false /* committed */, false /* large pages */,
                             true /* zeroed */, -1 /* any NUMA node */))
        munmap(start, size);
}

int hp_mi_arena_waiting;
static unsigned large_requests;

void hp_mi_arena_large_request(void) {
    if (__atomic_add_fetch(&large_requests, 1, __ATOMIC_RELAXED) < HP_THP_ARENA_TRIGGER_COUNT)
        return;
    int waiting = 1;
    if (!__atomic_compare_exchange_n(&hp_mi_arena_waiting, &waiting, 0, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED))
        return; /* another thread got here first */
    if (address_space_unlimited()) add_thp_arena();
}

void hp_mi_tune(int mode) {
#if MI_MALLOC_VERSION >= 200 && MI_MALLOC_VERSION < 210
    if (mode == HP_THP_ARENA_OFF || !arena_possible()) return;
    if (mode == HP_THP_ARENA_NOW) {
        if (address_space_unlimited()) add_thp_arena();
        return;
    }
    __atomic_store_n(&hp_mi_arena_waiting, 1, __ATOMIC_RELAXED);
#else
    (void)mode;
#endif
}
