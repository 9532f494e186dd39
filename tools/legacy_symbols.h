/*
 * Names for the raw addresses of a text heap profile (read_legacy.c): the
 * profile's MAPPED_LIBRARIES section says which file each address was in;
 * the files on this machine, read with elfutils' libdwfl (symbol tables,
 * DWARF and separate debug files where installed), give the function and
 * file:line. An address whose file is missing or unreadable keeps its hex
 * form with the file's name as its module.
 */
#ifndef HP_CLI_LEGACY_SYMBOLS_H
#define HP_CLI_LEGACY_SYMBOLS_H

#include "model.h"

#include <stddef.h>
#include <stdint.h>

typedef struct legacy_map {
    uint64_t start, end, offset;
    const char *path; /* interned; NULL for anonymous mappings */
} legacy_map;

typedef struct legacy_maps {
    legacy_map *v;
    size_t n, cap;
    void *dwfl; /* Dwfl *, NULL until opened or when libdwfl failed */
} legacy_maps;

/* One /proc/PID/maps line; others are ignored. */
void legacy_maps_add_line(legacy_maps *m, const char *line);
/* Reports the mapped files to libdwfl; call once, after the last line. */
void legacy_maps_open(legacy_maps *m);
/* The frame of pc; `return_address`: pc follows a call, so look one byte
 * back for the call's own line. */
void legacy_maps_resolve(const legacy_maps *m, uint64_t pc, int return_address, frame *out);
void legacy_maps_free(legacy_maps *m);

/* Whether a module is an allocator whose frames lead every stack it
 * records (jemalloc, tcmalloc, mimalloc, glibc's malloc has none there). */
int legacy_is_allocator(const char *module);

/* The text readers (read_legacy.c). */
int legacy_heap_detect(const char *text, size_t len);
profile *read_legacy_heap(char *text, const char *path);

#endif
