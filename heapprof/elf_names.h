/*
 * Function names for addresses, read straight from a module's ELF file with
 * pread: the default symbolization mode's names without libdw.
 *
 * libdw (with libelf and libbz2) maps about 650 KiB of code when loaded,
 * maps the files it reads whole (their string tables become resident), and
 * the sorted per-module tables built from it held every function of a
 * module: 2 MiB for cc1. Here a module's symbols are streamed once per
 * dump, in small reads, against the sorted addresses still to be named, so
 * memory stays proportional to those addresses. The choice among symbols
 * covering an address is the one symbolize_symtab.c makes from libdw's
 * view (same symbol file, same preference), so names do not change.
 * Callers serialise (the dump lock), except hp_elf_own_dwarf_any.
 */
#ifndef HP_ELF_NAMES_H
#define HP_ELF_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Whether the file at path (which must be the one mapped: device and
 * inode as /proc/self/maps gives them, dev = major << 32 | minor) has its
 * own DWARF (.debug_info or .zdebug_info): 1 yes, 0 no, -1 cannot tell. */
int hp_elf_own_dwarf(const char *path, uint64_t dev, uint64_t inode)
    __attribute__((visibility("hidden")));

/* Whether any object the dynamic linker has loaded has its own DWARF, i.e.
 * whether a dump in the default mode may need libdw. Answers from a cache
 * while no object was loaded or unloaded since the last call. Takes its own
 * lock; call it without the dump lock (a `yes` is followed by dlopen). */
int hp_elf_own_dwarf_any(void) __attribute__((visibility("hidden")));

/* The zlib CRC-32 of the whole file open at fd (what .gnu_debuglink
 * records): 0 and *out set, or -1 if it cannot be read. */
int hp_file_crc32(int fd, uint32_t *out) __attribute__((visibility("hidden")));

typedef void (*hp_elf_name_fn)(void *arg, size_t i, const char *name);

/* Names addrs[0..n) (run-time addresses, ascending) in the module whose
 * executable mapping starts at exec_start with file offset exec_offset:
 * calls fn(arg, i, name) for each address a symbol covers (name valid
 * during the call). The symbol table is the file's .symtab, else that of
 * its separate debug file (by build-id under /usr/lib/debug, or by
 * .gnu_debuglink next to the file, in its .debug/, or under
 * /usr/lib/debug), else .dynsym. build_id: the module's, lower-case hex, or
 * "". Returns -1 without calling fn when the file cannot be read this way
 * (another file now at path, not ELF64, compressed symbols, MiniDebugInfo):
 * the caller then asks libdw. */
int hp_elf_name_addrs(const char *path, uint64_t dev, uint64_t inode, const char *build_id,
                      uint64_t exec_start, uint64_t exec_offset, const uint64_t *addrs, size_t n,
                      hp_elf_name_fn fn, void *arg) __attribute__((visibility("hidden")));

#endif
