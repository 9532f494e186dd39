#define _GNU_SOURCE
#include "symbolize_symtab.h"
#include "internal_alloc.h"

#include <string.h>

/* In `name`, above the offset: the symbol's binding. */
#define NONLOCAL 0x80000000u /* global or weak */
#define GLOBAL 0x40000000u
#define OFFSET(name) ((name) & ~(NONLOCAL | GLOBAL))

typedef struct sized {
    uint64_t lo;
    uint64_t reach; /* the highest end among this entry and those before it */
    uint32_t size;
    uint32_t name; /* offset into names | binding bits */
} sized;

typedef struct sizeless {
    uint64_t lo;
    uint32_t span; /* to the end of the symbol's section */
    uint32_t name;
} sizeless;

struct hp_symtab {
    sized *s;
    sizeless *l;
    char *names;
    size_t ns, nl, bytes;
};

typedef struct cand {
    uint64_t lo, end;
    const char *name; /* libdw's, valid during the session */
    unsigned rank;    /* global 2, weak 1, local 0 */
    unsigned sizeless;
} cand;

/* Same start: the shorter range first, and among equal ranges the
 * preferred (global, weak, local) last. */
static int before(const cand *x, const cand *y) {
    return x->end != y->end ? x->end < y->end : x->rank < y->rank;
}

/* Sorts by start, then as `before` says: an LSD radix sort on the start's
 * offset from the lowest one (libc's qsort took 6.7M instructions for
 * python3's and libc's tables, most of it in the comparison calls), then an
 * insertion sort of each run of equal starts, which holds a few aliases. */
static int sort_by_start(cand *c, size_t n) {
    if (n < 2) return 0;
    cand *tmp = hp_malloc(n * sizeof *tmp);
    if (!tmp) return -1;
    uint64_t base = c[0].lo, span = 0;
    for (size_t i = 1; i < n; i++)
        if (c[i].lo < base) base = c[i].lo;
    for (size_t i = 0; i < n; i++)
        if (c[i].lo - base > span) span = c[i].lo - base;
    cand *from = c, *to = tmp;
    for (unsigned shift = 0; shift < 64 && (span >> shift); shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((from[i].lo - base) >> shift & 0xff) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            to[count[(from[i].lo - base) >> shift & 0xff]++] = from[i];
        cand *t = from;
        from = to;
        to = t;
    }
    if (from != c) memcpy(c, from, n * sizeof *c);
    hp_free(tmp);
    for (size_t i = 1; i < n; i++) {
        cand x = c[i];
        size_t j = i;
        for (; j > 0 && c[j - 1].lo == x.lo && before(&x, &c[j - 1]); j--)
            c[j] = c[j - 1];
        c[j] = x;
    }
    return 0;
}

/* The end of the executable section a symbol is in, or 0. */
static uint64_t exec_section_end(const hp_dw *dw, Elf *elf, GElf_Word shndx, Dwarf_Addr bias) {
    GElf_Shdr mem, *sh = elf ? dw->gelf_getshdr(dw->elf_getscn(elf, shndx), &mem) : NULL;
    if (!sh || !(sh->sh_flags & SHF_ALLOC) || !(sh->sh_flags & SHF_EXECINSTR)) return 0;
    return sh->sh_addr + sh->sh_size + bias;
}

hp_symtab *hp_symtab_build(const hp_dw *dw, Dwfl_Module *mod, size_t max_bytes, int *too_big) {
    *too_big = 0;
    int n = dw->dwfl_module_getsymtab(mod);
    if (n <= 1) return NULL;
    cand *c = hp_malloc((size_t)n * sizeof *c);
    if (!c) return NULL;
    size_t nc = 0;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        Elf *elf = NULL;
        Dwarf_Addr bias = 0;
        const char *name = dw->dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &bias);
        if (!name || !*name || shndx == SHN_UNDEF || shndx == (GElf_Word)-1 ||
            (shndx >= SHN_LORESERVE && shndx <= SHN_HIRESERVE))
            continue;
        int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) continue;
        cand x = {addr, addr + sym.st_size, name,
                  bind == STB_GLOBAL || bind == STB_GNU_UNIQUE ? 2 : bind == STB_WEAK, 0};
        /* Untyped symbols count only in code; sizeless ones reach to the end
         * of their section, which is where libdw stops looking too. */
        if (type == STT_NOTYPE || !sym.st_size) {
            uint64_t end = exec_section_end(dw, elf, shndx, bias);
            if (end <= addr) continue;
            if (!sym.st_size) x.end = end, x.sizeless = 1;
        }
        if (x.end - x.lo > UINT32_MAX) x.end = x.lo + UINT32_MAX;
        c[nc++] = x;
    }
    if (sort_by_start(c, nc)) {
        hp_free(c);
        return NULL;
    }
    /* The same range under several names (aliases): keep the preferred. */
    size_t kept = 0, ns = 0, name_bytes = 0;
    for (size_t i = 0; i < nc; i++) {
        if (i + 1 < nc && c[i + 1].lo == c[i].lo && c[i + 1].end == c[i].end &&
            c[i + 1].sizeless == c[i].sizeless)
            continue;
        c[kept++] = c[i];
        ns += !c[i].sizeless;
        name_bytes += strlen(c[i].name) + 1;
    }
    size_t nl = kept - ns;
    size_t bytes = sizeof(hp_symtab) + ns * sizeof(sized) + nl * sizeof(sizeless) + name_bytes;
    hp_symtab *t = NULL;
    if (!kept || name_bytes > GLOBAL || bytes > max_bytes) {
        *too_big = kept && bytes > max_bytes;
    } else if ((t = hp_calloc(1, sizeof *t))) {
        t->s = hp_malloc(ns * sizeof *t->s + 1);
        t->l = hp_malloc(nl * sizeof *t->l + 1);
        t->names = hp_malloc(name_bytes);
        if (!t->s || !t->l || !t->names) {
            hp_symtab_free(t);
            t = NULL;
        }
    }
    if (t) {
        size_t off = 0;
        uint64_t reach = 0;
        for (size_t i = 0; i < kept; i++) {
            size_t len = strlen(c[i].name) + 1;
            memcpy(t->names + off, c[i].name, len);
            uint32_t name =
                (uint32_t)off | (c[i].rank ? NONLOCAL : 0) | (c[i].rank == 2 ? GLOBAL : 0);
            off += len;
            if (c[i].sizeless) {
                t->l[t->nl++] = (sizeless){c[i].lo, (uint32_t)(c[i].end - c[i].lo), name};
            } else {
                if (c[i].end > reach) reach = c[i].end;
                t->s[t->ns++] = (sized){c[i].lo, reach, (uint32_t)(c[i].end - c[i].lo), name};
            }
        }
        t->bytes = bytes;
    }
    hp_free(c);
    return t;
}

const char *hp_symtab_lookup(const hp_symtab *t, uint64_t addr) {
    /* Sized symbols containing addr: a global or weak one before a local
     * one, then the closest start, then global before weak. */
    size_t lo = 0, hi = t->ns;
    while (lo < hi) { /* the number of entries starting at or below addr */
        size_t mid = lo + (hi - lo) / 2;
        if (t->s[mid].lo <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    const sized *best = NULL;
    for (size_t j = lo; j-- > 0 && t->s[j].reach > addr;) {
        const sized *e = &t->s[j];
        if (addr - e->lo >= e->size) continue;
        if (!best || ((e->name & NONLOCAL) && !(best->name & NONLOCAL)) ||
            ((e->name & NONLOCAL) == (best->name & NONLOCAL) && e->lo == best->lo &&
             (e->name & GLOBAL) > (best->name & GLOBAL)))
            best = e;
    }
    if (best) return t->names + OFFSET(best->name);
    lo = 0, hi = t->nl;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->l[mid].lo <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo && addr - t->l[lo - 1].lo < t->l[lo - 1].span)
        return t->names + OFFSET(t->l[lo - 1].name);
    return NULL;
}

size_t hp_symtab_bytes(const hp_symtab *t) {
    return t ? t->bytes : 0;
}

void hp_symtab_free(hp_symtab *t) {
    if (!t) return;
    hp_free(t->s);
    hp_free(t->l);
    hp_free(t->names);
    hp_free(t);
}
