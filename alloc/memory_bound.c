#include "memory_bound.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/sysinfo.h>
#include <unistd.h>

size_t hp_memory_bound = SIZE_MAX;

/* RAM + swap in bytes, or SIZE_MAX if unknown. */
static size_t ram_and_swap(void) {
    struct sysinfo si;
    if (sysinfo(&si) != 0) return SIZE_MAX;
    uint64_t units = (uint64_t)si.totalram + (uint64_t)si.totalswap, bytes;
    if (__builtin_mul_overflow(units, (uint64_t)(si.mem_unit ? si.mem_unit : 1), &bytes) ||
        bytes > SIZE_MAX)
        return SIZE_MAX;
    return (size_t)bytes;
}

char hp_overcommit_mode(void) {
    char mode = 0;
    int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    if (read(fd, &mode, 1) != 1) mode = 0;
    close(fd);
    return mode;
}

void hp_memory_bound_init(void) {
    /* 1: never refused; 2: the kernel refuses by itself */
    if (hp_overcommit_mode() != '0') return;
    __atomic_store_n(&hp_memory_bound, ram_and_swap(), __ATOMIC_RELAXED);
}

int hp_large_request_seen(size_t n) {
    /* Swap may have been added since: look again before refusing. */
    if (n > __atomic_load_n(&hp_memory_bound, __ATOMIC_RELAXED)) {
        size_t bound = ram_and_swap();
        __atomic_store_n(&hp_memory_bound, bound, __ATOMIC_RELAXED);
        if (n > bound) return 1;
    }
    if (__atomic_load_n(&hp_mi_arena_waiting, __ATOMIC_RELAXED)) hp_mi_arena_large_request();
    return 0;
}
