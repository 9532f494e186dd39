/*
 * Turns return addresses into source-level frames with elfutils' libdw:
 * function names (static ones too, from .symtab), inline chains and
 * file:line from DWARF (also found in /usr/lib/debug by build-id), C++ names
 * demangled. Results are cached per address for the life of the process, so
 * each address is resolved once, at the first dump that needs it; libdw's
 * session is closed after each dump so it holds no descriptors or memory in
 * between. A library about to be dlclose'd has its addresses resolved first.
 * Callers serialise (the dump lock).
 */
#ifndef HP_SYMBOLIZE_H
#define HP_SYMBOLIZE_H

#include <stdint.h>

typedef struct hp_module {
    const char *path;     /* file of the mapping */
    const char *build_id; /* lower-case hex, "" if none */
    uint64_t start, limit, file_offset; /* the executable mapping */
    uint32_t index;       /* dense, from 1: stable for the process */
} hp_module;

typedef struct hp_frame {
    const char *function;    /* demangled; "[file]" when only the object file is known
                              * (stripped code), "??" when nothing is */
    const char *system_name; /* linkage name, or the same as function */
    const char *file;        /* source file, NULL when unknown */
    int line;                /* 0 when unknown */
} hp_frame;

typedef struct hp_location {
    uintptr_t pc;            /* the return address as captured */
    const hp_module *module; /* NULL for code outside any file (JIT) */
    uint32_t nframes;        /* >= 1: inlined callees first, the physical function last */
    hp_frame frames[];
} hp_location;

#define HP_SYM_HIDDEN __attribute__((visibility("hidden")))

void hp_symbolize_begin(void) HP_SYM_HIDDEN;
/* The location of return address pc (never NULL; "??" frames if unknown). */
const hp_location *hp_symbolize(uintptr_t pc) HP_SYM_HIDDEN;
void hp_symbolize_end(void) HP_SYM_HIDDEN;

/* Resolves now every recorded address inside the library behind `handle`,
 * which is about to be unloaded. */
void hp_symbolize_before_unload(void *handle) HP_SYM_HIDDEN;

#endif
