/*
 * Turns return addresses into source-level frames, at dump time. How much
 * depends on HEAPPROF_SYMBOLIZE (docs/configuration.md):
 *  - fast (the default): function names for every module, from its symbol
 *    table (.symtab, also from a separate debug file, else .dynsym); inline
 *    chains and file:line from DWARF only for modules whose own file carries
 *    .debug_info -- the program and the libraries built with it -- not from
 *    separate distribution debug files, whose compressed DWARF costs more to
 *    open than most short programs run;
 *  - full: DWARF wherever it is found (/usr/lib/debug by build-id too);
 *  - none: no names; locations keep the address and the module (path,
 *    build-id, offset) so that pprof can symbolize them later.
 * elfutils' libdw is loaded at the first dump that needs it (symbolize_dw.h):
 * in the default mode only for modules with DWARF of their own; names come
 * from the ELF files directly (elf_names.h).
 * C++ names are demangled with __cxa_demangle when the program has it.
 * Resolved addresses (and, for modules read through libdw, their symbol
 * tables) are kept for the life of the process (within bounds), so later
 * dumps only resolve new addresses;
 * libdw's session is closed after each dump so it holds no descriptors in
 * between. A library about to be dlclose'd has its addresses resolved first.
 * Callers serialise (the dump lock).
 */
#ifndef HP_SYMBOLIZE_H
#define HP_SYMBOLIZE_H

#include <stdint.h>

typedef struct hp_module {
    const char *path;                   /* file of the mapping */
    const char *build_id;               /* lower-case hex, "" if none */
    uint64_t start, limit, file_offset; /* its (first) executable mapping, as in
                                         * /proc/self/maps: what pprof needs */
    uint32_t index;                     /* dense, from 1: stable for the process */
    uint8_t has_functions;              /* its locations are named (not with SYMBOLIZE=none) */
    uint8_t has_lines;                  /* its DWARF is read: files, lines, inline frames */
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
    uint32_t nframes;        /* inlined callees first, the physical function last; 0 when not
                              * symbolized (SYMBOLIZE=none, or no libdw): only pc and module */
    hp_frame frames[];
} hp_location;

#define HP_SYM_HIDDEN __attribute__((visibility("hidden")))

void hp_symbolize_begin(void) HP_SYM_HIDDEN;
/* The location of return address pc (never NULL; a "??" frame if unknown). */
const hp_location *hp_symbolize(uintptr_t pc) HP_SYM_HIDDEN;
void hp_symbolize_end(void) HP_SYM_HIDDEN;

/* Within a pass: marks pc to be resolved with the others of its module, at
 * the next hp_symbolize that meets one of them or at the end of the pass
 * (in the default mode, names come from one read of each module's symbol
 * table for all its addresses; elf_names.h). */
void hp_symbolize_want(uintptr_t pc) HP_SYM_HIDDEN;
/* Within a pass: resolves every address of the snapshot's stacks that is
 * not resolved yet, module by module. */
struct hp_profile_snapshot;
void hp_symbolize_stacks(const struct hp_profile_snapshot *p) HP_SYM_HIDDEN;

/* Resolves now every recorded address inside the library behind `handle`,
 * which is about to be unloaded. */
void hp_symbolize_before_unload(void *handle) HP_SYM_HIDDEN;

#endif
