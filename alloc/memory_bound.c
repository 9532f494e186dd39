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

void hp_memory_bound_init(void) {
    char mode = 0;
    int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, &mode, 1);
    close(fd);
    if (n != 1 || mode != '0') return; /* 1: never refused; 2: the kernel refuses itself */
    __atomic_store_n(&hp_memory_bound, ram_and_swap(), __ATOMIC_RELAXED);
}

/* Swap may have been added since: look again before refusing. */
int hp_exceeds_memory_now(size_t n) {
    size_t bound = ram_and_swap();
    __atomic_store_n(&hp_memory_bound, bound, __ATOMIC_RELAXED);
    return n > bound;
}
