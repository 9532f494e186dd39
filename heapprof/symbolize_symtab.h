/*
 * A module's function symbols, copied out of libdw once and sorted, so that
 * naming an address is a binary search that needs no libdw session.
 *
 * libdw's dwfl_module_addrinfo scans the whole symbol table on every call
 * (about 0.6M instructions per address in python3's, measured), and its
 * tables live only as long as the session, which is closed after each dump.
 * The copy keeps what that function would choose: among symbols with a size
 * that contain the address, the one starting closest below it, global before
 * weak before local at the same start; failing that, the closest sizeless
 * symbol (assembly labels) in the same section. Symbols that cannot be a
 * function (data objects, TLS, sections, files, undefined and absolute ones)
 * are left out.
 */
#ifndef HP_SYMBOLIZE_SYMTAB_H
#define HP_SYMBOLIZE_SYMTAB_H

#include "symbolize_dw.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hp_symtab hp_symtab;

/* The table of mod's symbols (those dwfl_module_addrinfo searches: .symtab,
 * from a separate debug file too, else .dynsym). NULL when the module has
 * no function symbols, or when the table would take more than max_bytes
 * (*too_big is then set) or memory runs out. */
hp_symtab *hp_symtab_build(const hp_dw *dw, Dwfl_Module *mod, size_t max_bytes, int *too_big)
    __attribute__((visibility("hidden")));

/* The name for addr, or NULL. Valid until the table is freed. */
const char *hp_symtab_lookup(const hp_symtab *t, uint64_t addr)
    __attribute__((visibility("hidden")));

/* Memory the table holds. */
size_t hp_symtab_bytes(const hp_symtab *t) __attribute__((visibility("hidden")));

void hp_symtab_free(hp_symtab *t) __attribute__((visibility("hidden")));

#endif
