/*
 * The process's modules without libdw: file mappings from /proc/self/maps,
 * grouped as libdw's dwfl_linux_proc_report groups them (consecutive
 * mappings of one file, by device and inode, make one module from its first
 * address to its last; anonymous mappings in between do not split it), and
 * their GNU build-id read from the ELF notes the dynamic linker mapped. So
 * a module has the same path, range and identity with or without libdw, and
 * the symbolization cache finds a known module for an address without
 * opening any file. Callers serialise (the dump lock).
 */
#ifndef HP_SYMBOLIZE_MAPS_H
#define HP_SYMBOLIZE_MAPS_H

#include <stddef.h>
#include <stdint.h>

typedef struct hp_maps_module {
    const char *path; /* as /proc/self/maps shows it; valid until the next scan */
    uint64_t start, end;
    /* Its first executable mapping (else its first mapping): the range and
     * file offset a pprof Mapping needs for pprof to symbolize it later. */
    uint64_t exec_start, exec_end, exec_offset;
    uint64_t dev, inode;
} hp_maps_module;

/* Reads /proc/self/maps afresh. Returns -1 if it cannot be read. */
int hp_maps_scan(void) __attribute__((visibility("hidden")));

/* Frees what the last scan read. */
void hp_maps_release(void) __attribute__((visibility("hidden")));

/* The module of the last scan that contains addr, or NULL. */
const hp_maps_module *hp_maps_lookup(uint64_t addr) __attribute__((visibility("hidden")));

/* The GNU build-id, as lower-case hex, of the loaded ELF image that
 * overlaps [start, end), read from its notes in memory; "" when it has none
 * or no object the dynamic linker loaded covers the range. */
void hp_maps_build_id(uint64_t start, uint64_t end, char *build_id, size_t cap)
    __attribute__((visibility("hidden")));

/* Counts of objects the dynamic linker loaded and unloaded so far (one
 * dl_iterate_phdr step): a change of `subs` means addresses may now belong
 * to a different module. */
void hp_maps_generation(uint64_t *adds, uint64_t *subs) __attribute__((visibility("hidden")));

#endif
