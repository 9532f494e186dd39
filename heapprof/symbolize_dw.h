/*
 * elfutils' libdw and libelf, loaded on first use instead of linked.
 *
 * Linking them made every preloaded process map libdw, libelf, liblzma and
 * libbz2 and have the dynamic linker relocate them at start-up, although
 * only a dump that symbolizes ever calls them. hp_dw_load() dlopens
 * libdw.so.1 (which brings libelf.so.1) the first time a dump needs names,
 * resolves the functions below into a table, and keeps the library for the
 * life of the process. The table's types come from the libdw headers, and
 * the library is linked with --no-undefined, so a direct call to any of
 * these functions fails the build instead of linking libdw again.
 * Callers serialise (the dump lock).
 */
#ifndef HP_SYMBOLIZE_DW_H
#define HP_SYMBOLIZE_DW_H

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>

#define HP_DW_FUNCTIONS(X)                                                                         \
    X(dwfl_begin)                                                                                  \
    X(dwfl_end)                                                                                    \
    X(dwfl_errmsg)                                                                                 \
    X(dwfl_report_begin)                                                                           \
    X(dwfl_report_end)                                                                             \
    X(dwfl_linux_proc_report)                                                                      \
    X(dwfl_linux_proc_maps_report)                                                                 \
    X(dwfl_linux_proc_find_elf)                                                                    \
    X(dwfl_build_id_find_debuginfo)                                                                \
    X(dwfl_standard_find_debuginfo)                                                                \
    X(dwfl_addrmodule)                                                                             \
    X(dwfl_module_info)                                                                            \
    X(dwfl_module_build_id)                                                                        \
    X(dwfl_module_getelf)                                                                          \
    X(dwfl_module_getdwarf)                                                                        \
    X(dwfl_module_getsrc)                                                                          \
    X(dwfl_lineinfo)                                                                               \
    X(dwfl_module_addrdie)                                                                         \
    X(dwfl_module_addrinfo)                                                                        \
    X(dwfl_module_getsymtab)                                                                       \
    X(dwfl_module_getsym_info)                                                                     \
    X(dwarf_getscopes)                                                                             \
    X(dwarf_getscopes_die)                                                                         \
    X(dwarf_offdie)                                                                                \
    X(dwarf_dieoffset)                                                                             \
    X(dwarf_tag)                                                                                   \
    X(dwarf_attr)                                                                                  \
    X(dwarf_attr_integrate)                                                                        \
    X(dwarf_formstring)                                                                            \
    X(dwarf_formudata)                                                                             \
    X(dwarf_getsrcfiles)                                                                           \
    X(dwarf_filesrc)                                                                               \
    X(dwelf_elf_gnu_build_id)                                                                      \
    X(elf_begin)                                                                                   \
    X(elf_end)                                                                                     \
    X(elf_getscn)                                                                                  \
    X(elf_nextscn)                                                                                 \
    X(elf_getshdrstrndx)                                                                           \
    X(elf_strptr)                                                                                  \
    X(gelf_getshdr)

typedef struct hp_dw {
#define HP_DW_MEMBER(f) __typeof__(f) *f;
    HP_DW_FUNCTIONS(HP_DW_MEMBER)
#undef HP_DW_MEMBER
} hp_dw;

/* The table, or NULL when libdw cannot be loaded: then one `heapprof:`
 * line says so (once per process) and dumps name functions from the symbol
 * tables only (elf_names.h), without files and lines. */
const hp_dw *hp_dw_load(void) __attribute__((visibility("hidden")));

/* The table if libdw is loaded already, else NULL (never loads it: for
 * callers holding a lock a library constructor might want). */
const hp_dw *hp_dw_loaded(void) __attribute__((visibility("hidden")));

#endif
