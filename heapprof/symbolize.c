#define _GNU_SOURCE
#include "symbolize.h"
#include "../alloc/counters.h"
#include "dump.h"
#include "internal_alloc.h"
#include "log.h"
#include "profile.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---- string pool: every name and path stored once, never freed ---- */

static const char **pool;
static uint32_t pool_cap, pool_count;

static const char *intern(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    if ((pool_count + 1) * 2 > pool_cap) {
        uint32_t cap = pool_cap ? pool_cap * 2 : 4096;
        const char **t = hp_calloc(cap, sizeof *t);
        if (!t) return "??";
        for (uint32_t i = 0; i < pool_cap; i++) {
            if (!pool[i]) continue;
            uint32_t j = (uint32_t)XXH3_64bits(pool[i], strlen(pool[i])) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = pool[i];
        }
        hp_free(pool);
        pool = t;
        pool_cap = cap;
    }
    uint32_t j = (uint32_t)XXH3_64bits(s, n) & (pool_cap - 1);
    for (; pool[j]; j = (j + 1) & (pool_cap - 1))
        if (!strcmp(pool[j], s)) return pool[j];
    char *copy = hp_malloc(n + 1);
    if (!copy) return "??";
    memcpy(copy, s, n + 1);
    pool[j] = copy;
    pool_count++;
    return copy;
}

/* ---- modules, by (path, start) ---- */

static hp_module **modules;
static uint32_t module_count, module_cap;

static const hp_module *module_for(Dwfl_Module *mod) {
    Dwarf_Addr start, end;
    const char *path = dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
    if (!path) return NULL;
    for (uint32_t i = 0; i < module_count; i++)
        if (modules[i]->start == start && !strcmp(modules[i]->path, path)) return modules[i];
    if (module_count == module_cap) {
        uint32_t cap = module_cap ? module_cap * 2 : 64;
        hp_module **t = hp_realloc(modules, cap * sizeof *t);
        if (!t) return NULL;
        modules = t;
        module_cap = cap;
    }
    hp_module *m = hp_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->path = intern(path);
    m->start = start;
    m->limit = end;
    /* The module's lowest address is its first loadable segment: record that
     * segment's file offset, which a later re-symbolizer needs with the path. */
    Dwarf_Addr bias;
    Elf *elf = dwfl_module_getelf(mod, &bias);
    size_t phnum;
    if (elf && elf_getphdrnum(elf, &phnum) == 0) {
        for (size_t i = 0; i < phnum; i++) {
            GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);
            if (ph && ph->p_type == PT_LOAD) {
                m->file_offset = ph->p_offset;
                break;
            }
        }
    }
    const unsigned char *bits; /* known once the ELF file is open, as it is now */
    GElf_Addr vaddr;
    int n = dwfl_module_build_id(mod, &bits, &vaddr);
    char hex[129] = "";
    for (int i = 0; i < n && i < 64; i++) snprintf(hex + 2 * i, 3, "%02x", bits[i]);
    m->build_id = intern(hex);
    m->index = module_count + 1;
    modules[module_count++] = m;
    return m;
}

/* ---- the cache of resolved addresses ---- */

static hp_location **cache;
static uint64_t cache_cap, cache_count;

static uint64_t pc_hash(uintptr_t pc) { return XXH3_64bits(&pc, sizeof pc); }

static hp_location **cache_slot(uintptr_t pc) {
    if ((cache_count + 1) * 2 > cache_cap) {
        uint64_t cap = cache_cap ? cache_cap * 2 : 4096;
        hp_location **t = hp_calloc(cap, sizeof *t);
        if (!t) return NULL;
        for (uint64_t i = 0; i < cache_cap; i++) {
            if (!cache[i]) continue;
            uint64_t j = pc_hash(cache[i]->pc) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = cache[i];
        }
        hp_free(cache);
        cache = t;
        cache_cap = cap;
    }
    uint64_t j = pc_hash(pc) & (cache_cap - 1);
    while (cache[j] && cache[j]->pc != pc) j = (j + 1) & (cache_cap - 1);
    return &cache[j];
}

/* ---- libdw ---- */

static Dwfl *dwfl;
static int dwfl_failed;
static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

static Dwfl *session(void) {
    if (dwfl || dwfl_failed) return dwfl;
    dwfl = dwfl_begin(&callbacks);
    if (dwfl) {
        dwfl_report_begin(dwfl);
        if (dwfl_linux_proc_report(dwfl, getpid()) != 0 || dwfl_report_end(dwfl, NULL, NULL)) {
            dwfl_end(dwfl);
            dwfl = NULL;
        }
    }
    if (!dwfl) {
        dwfl_failed = 1;
        hp_info("cannot read this process's modules (%s); profiles keep raw addresses",
                dwfl_errmsg(-1));
    }
    return dwfl;
}

void hp_symbolize_begin(void) { dwfl_failed = 0; }

void hp_symbolize_end(void) {
    if (dwfl) dwfl_end(dwfl);
    dwfl = NULL;
}

char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status)
    __attribute__((weak));

/* Demangled and interned; plain C names pass through. */
static const char *pretty(const char *name) {
    if (!name) return NULL;
    if (name[0] == '_' && name[1] == 'Z' && __cxa_demangle) {
        int status = -1;
        char *d = __cxa_demangle(name, NULL, NULL, &status);
        if (status == 0 && d) {
            const char *r = intern(d);
            free(d); /* __cxa_demangle allocates with malloc */
            return r;
        }
        free(d);
    }
    return intern(name);
}

static const char *die_name(Dwarf_Die *die, const char **linkage) {
    Dwarf_Attribute attr;
    const char *link = NULL;
    if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
        dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
        link = dwarf_formstring(&attr);
    const char *name = link ? link : NULL;
    if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr)) name = dwarf_formstring(&attr);
    *linkage = link ? intern(link) : NULL;
    return name ? pretty(name) : NULL;
}

static const char *call_file(Dwarf_Die *cudie, Dwarf_Die *inlined) {
    Dwarf_Attribute attr;
    Dwarf_Word idx;
    Dwarf_Files *files;
    size_t nfiles;
    if (!dwarf_attr(inlined, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &idx) ||
        dwarf_getsrcfiles(cudie, &files, &nfiles) || idx >= nfiles)
        return NULL;
    return intern(dwarf_filesrc(files, idx, NULL, NULL));
}

static int call_line(Dwarf_Die *inlined) {
    Dwarf_Attribute attr;
    Dwarf_Word line;
    if (!dwarf_attr(inlined, DW_AT_call_line, &attr) || dwarf_formudata(&attr, &line)) return 0;
    return (int)line;
}

#define MAX_INLINE 32

static hp_location *resolve(uintptr_t pc) {
    hp_frame frames[MAX_INLINE];
    uint32_t n = 0;
    const hp_module *module = NULL;
    /* A return address points after the call: look up the call itself. */
    Dwarf_Addr addr = pc - 1;
    Dwfl *d = session();
    Dwfl_Module *mod = d ? dwfl_addrmodule(d, addr) : NULL;
    if (mod) {
        module = module_for(mod);
        const char *file = NULL;
        int line = 0;
        Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
        if (l) {
            const char *f = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
            file = intern(f);
        }
        Dwarf_Addr bias = 0;
        Dwarf_Die *cudie = dwfl_module_addrdie(mod, addr, &bias);
        Dwarf_Die *scopes = NULL;
        int nscopes = cudie ? dwarf_getscopes(cudie, addr - bias, &scopes) : 0;
        /* dwarf_getscopes stops at the innermost inlined subroutine's lexical
         * parents and can miss the function it was inlined into: rebuild the
         * chain from the innermost scope's own DIE, which has them all. */
        if (nscopes > 0) {
            Dwarf_Addr dwbias;
            Dwarf *dw = dwfl_module_getdwarf(mod, &dwbias);
            Dwarf_Die innermost, *chain = NULL;
            int nchain = dw && dwarf_offdie(dw, dwarf_dieoffset(&scopes[0]), &innermost)
                             ? dwarf_getscopes_die(&innermost, &chain)
                             : 0;
            if (nchain > 0) {
                free(scopes);
                scopes = chain;
                nscopes = nchain;
            } else {
                free(chain);
            }
        }
        /* Walk from the innermost scope out: each inlined subroutine is a
         * frame, located where its caller called it. */
        for (int i = 0; i < nscopes && n < MAX_INLINE; i++) {
            int tag = dwarf_tag(&scopes[i]);
            if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
            const char *linkage;
            const char *name = die_name(&scopes[i], &linkage);
            if (tag == DW_TAG_subprogram && !linkage) {
                /* GCC gives internal-linkage C++ functions (anonymous namespaces,
                 * statics) no linkage name in DWARF; the symbol table has the
                 * mangled one, which demangles to the qualified name. */
                GElf_Off offset;
                GElf_Sym sym;
                const char *symbol = dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL);
                if (symbol && symbol[0] == '_' && symbol[1] == 'Z') {
                    name = pretty(symbol);
                    linkage = intern(symbol);
                }
            }
            frames[n] = (hp_frame){name ? name : "??", linkage ? linkage : name, file, line};
            if (frames[n].system_name == NULL) frames[n].system_name = frames[n].function;
            n++;
            if (tag == DW_TAG_subprogram) break;
            file = call_file(cudie, &scopes[i]);
            line = call_line(&scopes[i]);
        }
        free(scopes);
        if (n == 0) { /* no DWARF: the symbol table still names the function */
            GElf_Off offset;
            GElf_Sym sym;
            const char *name = dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL);
            const char *shown = pretty(name);
            if (!shown && module) { /* stripped: name the file, as pprof shows such code */
                char text[300];
                const char *slash = strrchr(module->path, '/');
                snprintf(text, sizeof text, "[%s]", slash ? slash + 1 : module->path);
                shown = intern(text);
            }
            frames[n++] = (hp_frame){shown ? shown : "??", name ? intern(name) : shown ? shown : "??",
                                     file, line};
        }
    } else {
        frames[n++] = (hp_frame){"??", "??", NULL, 0};
    }
    hp_location *loc = hp_malloc(sizeof *loc + n * sizeof loc->frames[0]);
    if (!loc) return NULL;
    loc->pc = pc;
    loc->module = module;
    loc->nframes = n;
    memcpy(loc->frames, frames, n * sizeof frames[0]);
    return loc;
}

const hp_location *hp_symbolize(uintptr_t pc) {
    static hp_location unknown = {0, NULL, 1, {{"??", "??", NULL, 0}}};
    hp_location **slot = cache_slot(pc);
    if (!slot) return &unknown;
    if (!*slot) {
        hp_location *loc = resolve(pc);
        if (!loc) return &unknown;
        *slot = loc;
        cache_count++;
    }
    return *slot;
}

/* ---- before dlclose ---- */

typedef struct {
    uintptr_t lo, hi;
} range;

static int find_range(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    struct {
        uintptr_t base;
        range r;
    } *want = arg;
    if (info->dlpi_addr != want->base) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (!want->r.lo || lo < want->r.lo) want->r.lo = lo;
        if (hi > want->r.hi) want->r.hi = hi;
    }
    return 1;
}

void hp_symbolize_before_unload(void *handle) {
    struct link_map *lm = NULL;
    if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm) return;
    struct {
        uintptr_t base;
        range r;
    } want = {lm->l_addr, {0, 0}};
    dl_iterate_phdr(find_range, &want);
    if (!want.r.hi) return;
    size_t n = 0;
    hp_internal_enter(); /* libdw's allocations are the profiler's */
    uintptr_t *pcs = hp_profile_pcs_in_range(want.r.lo, want.r.hi, &n);
    if (!pcs) {
        hp_internal_leave();
        return;
    }
    hp_dump_lock();
    hp_symbolize_begin();
    for (size_t i = 0; i < n; i++) hp_symbolize(pcs[i]);
    hp_symbolize_end();
    hp_dump_unlock();
    hp_free(pcs);
    hp_internal_leave();
}
