#define _GNU_SOURCE
#include "symbolize.h"
#include "fd_high.h"
#include "id_map.h"
#include "../alloc/counters.h"
#include "config.h"
#include "dump.h"
#include "elf_names.h"
#include "internal_alloc.h"
#include "log.h"
#include "profile.h"
#include "symbolize_dw.h"
#include "symbolize_maps.h"
#include "symbolize_symtab.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Symbol tables kept across dumps, in bytes: beyond it the least recently
 * used are dropped (and rebuilt if needed again). One module whose table
 * alone is larger is named through libdw each time instead. */
#define SYMTAB_BUDGET (32u << 20)
/* Resolved addresses kept across dumps; beyond it, at the start of a pass,
 * all are dropped but those of unloaded libraries (which could not be
 * resolved again). */
#define CACHE_MAX (1u << 17)

/* ---- string pool: every name and path stored once, never freed ---- */

/* Texts are told apart by their XXH3 hash, as the writers' string tables
 * do (id_map.h). pool[id] is the text of id 1..n. */
static hp_id_map pool_ids;
static const char **pool;
static uint32_t pool_cap;

static const char *intern(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    int added;
    uint32_t id = hp_id_map_get(&pool_ids, XXH3_64bits(s, n), &added);
    if (!id) return "??";
    if (id >= pool_cap) {
        uint32_t cap = pool_cap ? pool_cap * 2 : 4096;
        const char **t = hp_realloc(pool, cap * sizeof *t);
        if (!t) return "??";
        memset(t + pool_cap, 0, (cap - pool_cap) * sizeof *t);
        pool = t;
        pool_cap = cap;
    }
    if (!pool[id]) {
        char *copy = hp_malloc(n + 1);
        if (!copy) return "??";
        pool[id] = memcpy(copy, s, n + 1);
    }
    return pool[id];
}

/* ---- modules ---- */

typedef struct module {
    hp_module pub;   /* first: a location's hp_module is its module */
    uint64_t lo, hi; /* all its mappings (pub has the executable one) */
    uint64_t dev, inode;
    int dwarf;        /* -1 undecided, 0 names from the symbol table, 1 DWARF too */
    int symtab_state; /* 0 not built, 1 built, 2 none (no symbols) 3 too big: ask libdw */
    hp_symtab *symtab;
    uint64_t used;      /* when the symbol table was last used (LRU) */
    int pinned;         /* a library resolved before dlclose: keep its locations */
    int elf;            /* names read by elf_names.c: -1 undecided, 1 yes, 0 through libdw */
    hp_location **pend; /* its addresses waiting to be named together (PENDING) */
    uint32_t npend, pend_cap;
} module;

/* nframes of a location whose name is still to be read (hp_symbolize_want). */
#define PENDING UINT32_MAX

static module **all; /* every module made, by index - 1; never freed (locations point here) */
static uint32_t all_count, all_cap;
static module **live; /* the modules known mapped now, by start address */
static uint32_t live_count, live_cap;
static uint64_t last_subs, use_clock;
static size_t symtab_bytes;

static module *live_find(uint64_t addr) {
    uint32_t lo = 0, hi = live_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (live[mid]->hi <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < live_count && live[lo]->lo <= addr ? live[lo] : NULL;
}

static void live_insert(module *m) {
    if (live_count == live_cap) {
        uint32_t cap = live_cap ? live_cap * 2 : 64;
        module **t = hp_realloc(live, cap * sizeof *t);
        if (!t) return;
        live = t;
        live_cap = cap;
    }
    uint32_t i = live_count;
    while (i > 0 && live[i - 1]->lo > m->lo) {
        live[i] = live[i - 1];
        i--;
    }
    live[i] = m;
    live_count++;
}

static module *make_module(const hp_maps_module *mm) {
    for (uint32_t i = 0; i < all_count; i++) { /* mapped again (dlopen after dlclose) */
        module *m = all[i];
        if (m->lo == mm->start && m->hi == mm->end && m->dev == mm->dev && m->inode == mm->inode &&
            !strcmp(m->pub.path, mm->path))
            return m;
    }
    if (all_count == all_cap) {
        uint32_t cap = all_cap ? all_cap * 2 : 64;
        module **t = hp_realloc(all, cap * sizeof *t);
        if (!t) return NULL;
        all = t;
        all_cap = cap;
    }
    module *m = hp_calloc(1, sizeof *m);
    if (!m) return NULL;
    char build_id[129];
    hp_maps_build_id(mm->start, mm->end, build_id, sizeof build_id);
    m->pub.path = intern(mm->path);
    m->pub.build_id = intern(build_id);
    m->pub.start = mm->exec_start;
    m->pub.limit = mm->exec_end;
    m->pub.file_offset = mm->exec_offset;
    m->pub.index = all_count + 1;
    m->lo = mm->start;
    m->hi = mm->end;
    m->dev = mm->dev;
    m->inode = mm->inode;
    m->dwarf = -1;
    m->elf = -1;
    all[all_count++] = m;
    return m;
}

static void name_pending(void);

/* Per pass (hp_symbolize_begin .. end). */
static int maps_read; /* 0 not yet, 1 read, -1 unreadable */
static uint64_t pass_new, pass_cached, pass_tables;
/* A dump resolves its stacks first, in a pass of its own (hp_symbolize_stacks)
 * whose counts are reported with the next pass, the first writer's; that
 * pass does not count again the addresses it finds resolved. */
static int carry, carried;

static module *module_at(uint64_t addr) {
    module *m = live_find(addr);
    if (m) return m;
    if (!maps_read) maps_read = hp_maps_scan() == 0 ? 1 : -1; /* once per pass: JIT code misses */
    const hp_maps_module *mm = maps_read > 0 ? hp_maps_lookup(addr) : NULL;
    if (!mm || !(m = make_module(mm))) return NULL;
    live_insert(m);
    return m;
}

/* ---- the cache of resolved addresses ---- */

static hp_location **cache;
static uint64_t cache_cap, cache_count;

static uint64_t pc_hash(uintptr_t pc) {
    return XXH3_64bits(&pc, sizeof pc);
}

static int cache_resize(uint64_t cap) {
    hp_location **t = hp_calloc(cap, sizeof *t);
    if (!t) return -1;
    for (uint64_t i = 0; i < cache_cap; i++) {
        if (!cache[i]) continue;
        uint64_t j = pc_hash(cache[i]->pc) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = cache[i];
    }
    hp_free(cache);
    cache = t;
    cache_cap = cap;
    return 0;
}

static hp_location **cache_slot(uintptr_t pc) {
    if ((cache_count + 1) * 2 > cache_cap && cache_resize(cache_cap ? cache_cap * 2 : 4096))
        return NULL;
    uint64_t j = pc_hash(pc) & (cache_cap - 1);
    while (cache[j] && cache[j]->pc != pc)
        j = (j + 1) & (cache_cap - 1);
    return &cache[j];
}

/* Drops every location but those of libraries resolved before dlclose. */
static void cache_trim(void) {
    uint64_t kept = 0;
    for (uint64_t i = 0; i < cache_cap; i++) {
        hp_location *loc = cache[i];
        if (!loc) continue;
        if (loc->module && ((const module *)loc->module)->pinned) {
            kept++;
            continue;
        }
        hp_free(loc);
        cache[i] = NULL;
    }
    hp_debug("symbolization cache: %llu addresses dropped, %llu kept (of unloaded libraries)",
             (unsigned long long)(cache_count - kept), (unsigned long long)kept);
    cache_count = kept;
    cache_resize(cache_cap); /* rehash what is left */
}

/* ---- libdw ---- */

static const hp_dw *dw;
static Dwfl *dwfl;
static int dwfl_failed; /* per pass */

/* Whether candidate `fd` is the separate debug file of mod: by build-id when
 * the module has one, else by the CRC its .gnu_debuglink records. */
static int debug_file_matches(Dwfl_Module *mod, int fd, GElf_Word crc) {
    const unsigned char *bits;
    GElf_Addr vaddr;
    int len = dw->dwfl_module_build_id(mod, &bits, &vaddr);
    if (len > 0) {
        Elf *elf = dw->elf_begin(fd, ELF_C_READ_MMAP, NULL);
        const void *id = NULL;
        ssize_t n = elf ? dw->dwelf_elf_gnu_build_id(elf, &id) : -1;
        int ok = n == len && !memcmp(id, bits, (size_t)len);
        if (elf) dw->elf_end(elf);
        return ok;
    }
    if (!crc) return 1;
    uint32_t got;
    return hp_file_crc32(fd, &got) == 0 && got == crc;
}

/* Separate debug files, looked up locally: by build-id under /usr/lib/debug,
 * then by the .gnu_debuglink name next to the file, in its .debug/, and
 * under /usr/lib/debug (the places dwfl_standard_find_debuginfo looks).
 * Not that function itself: when a module has no debug file it dlopens
 * libdebuginfod (with libcurl and OpenSSL), 18M instructions measured even
 * with no server configured. `full` with DEBUGINFOD_URLS set still uses it,
 * as asked for. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink, GElf_Word crc,
                          char **debuginfo_file_name) {
    const char *urls = getenv("DEBUGINFOD_URLS");
    if (hp_cfg.symbolize == HP_SYM_FULL && urls && *urls)
        return dw->dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink,
                                                crc, debuginfo_file_name);
    int fd = dw->dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink,
                                              crc, debuginfo_file_name);
    if (fd >= 0 || !debuglink || strchr(debuglink, '/') || !file_name || file_name[0] != '/')
        return fd;
    struct stat main_st;
    if (stat(file_name, &main_st) != 0) return -1;
    const char *slash = strrchr(file_name, '/');
    int dirlen = (int)(slash - file_name);
    for (int i = 0; i < 3; i++) {
        char path[4096];
        int n = i == 0 ? snprintf(path, sizeof path, "%.*s/%s", dirlen, file_name, debuglink)
                : i == 1
                    ? snprintf(path, sizeof path, "%.*s/.debug/%s", dirlen, file_name, debuglink)
                    : snprintf(path, sizeof path, "/usr/lib/debug%.*s/%s", dirlen, file_name,
                               debuglink);
        if (n <= 0 || (size_t)n >= sizeof path) continue;
        fd = hp_open_high(path, O_RDONLY | O_CLOEXEC, 0); /* libdw keeps it */
        if (fd < 0) continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && !(st.st_ino == main_st.st_ino && st.st_dev == main_st.st_dev) &&
            debug_file_matches(mod, fd, crc)) {
            char *name = strdup(path); /* libdw frees it */
            if (name) {
                *debuginfo_file_name = name;
                return fd;
            }
        }
        close(fd);
    }
    errno = 0;
    return -1;
}

/* libdw keeps the module files it opens: moved out of the program's way
 * like ours (fd_high.h). */
static int find_elf_high(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
                         char **file_name, Elf **elfp) {
    int fd = dw->dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
    if (fd < 0 || !*file_name) return fd;
    int hi = hp_fd_high(fd, *file_name);
    return hi >= 0 ? hi : -1;
}

/* The module list, from /proc/self/maps read through a descriptor of ours
 * (libdw's own dwfl_linux_proc_report opens it on the lowest free number). */
static int report_modules(Dwfl *d) {
    int fd = hp_open_high("/proc/self/maps", O_RDONLY, 0);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        return dw->dwfl_linux_proc_report(d, getpid());
    }
    int rc = dw->dwfl_linux_proc_maps_report(d, f);
    fclose(f);
    return rc;
}

static Dwfl_Callbacks callbacks;
static char *debuginfo_path; /* NULL: libdw's default, ":.debug:/usr/lib/debug" */

static Dwfl *session(void) {
    if (dwfl || dwfl_failed) return dwfl;
    dwfl_failed = 1;
    if (!dw) return NULL;
    callbacks.find_elf = find_elf_high;
    callbacks.find_debuginfo = find_debuginfo;
    callbacks.debuginfo_path = &debuginfo_path;
    dwfl = dw->dwfl_begin(&callbacks);
    if (dwfl) {
        dw->dwfl_report_begin(dwfl);
        if (report_modules(dwfl) != 0 || dw->dwfl_report_end(dwfl, NULL, NULL)) {
            dw->dwfl_end(dwfl);
            dwfl = NULL;
        }
    }
    if (!dwfl) {
        hp_info("cannot read this process's modules (%s); profiles keep raw addresses",
                dw->dwfl_errmsg(-1));
        return NULL;
    }
    dwfl_failed = 0;
    return dwfl;
}

/* libdw's module for m, or NULL if libdw sees another one there now. */
static Dwfl_Module *dwfl_module_of(const module *m, uint64_t addr) {
    Dwfl *d = session();
    Dwfl_Module *mod = d ? dw->dwfl_addrmodule(d, addr) : NULL;
    Dwarf_Addr start;
    if (!mod || !dw->dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL) ||
        start != m->lo)
        return NULL;
    return mod;
}

/* The rule of the default mode: DWARF only from the module's own file. */
static int has_own_dwarf(Dwfl_Module *mod) {
    Dwarf_Addr bias;
    Elf *elf = dw->dwfl_module_getelf(mod, &bias);
    size_t shstrndx;
    if (!elf || dw->elf_getshdrstrndx(elf, &shstrndx) != 0) return 0;
    for (Elf_Scn *scn = NULL; (scn = dw->elf_nextscn(elf, scn)) != NULL;) {
        GElf_Shdr mem, *sh = dw->gelf_getshdr(scn, &mem);
        const char *name = sh ? dw->elf_strptr(elf, shstrndx, sh->sh_name) : NULL;
        if (name && sh->sh_type != SHT_NOBITS &&
            (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
            return 1;
    }
    return 0;
}

void hp_symbolize_begin(void) {
    dwfl_failed = 0;
    maps_read = 0;
    carried = carry;
    if (!carry) pass_new = pass_cached = pass_tables = 0;
    carry = 0;
    /* Something was unloaded: an address may now be another module's. */
    uint64_t adds, subs;
    hp_maps_generation(&adds, &subs);
    if (subs != last_subs) {
        live_count = 0;
        last_subs = subs;
    }
    if (cache_count > CACHE_MAX) cache_trim();
}

void hp_symbolize_end(void) {
    name_pending();
    if (!carry && (pass_new || pass_cached)) {
        uint32_t tables = 0;
        for (uint32_t i = 0; i < all_count; i++)
            tables += all[i]->symtab != NULL;
        hp_debug("symbolization: %llu new addresses, %llu known from earlier; %llu symbol tables "
                 "read, %u kept (%zu KiB); %llu addresses kept",
                 (unsigned long long)pass_new, (unsigned long long)pass_cached,
                 (unsigned long long)pass_tables, tables, symtab_bytes >> 10,
                 (unsigned long long)cache_count);
    }
    if (dwfl) dw->dwfl_end(dwfl);
    dwfl = NULL;
    if (maps_read) hp_maps_release();
}

/* ---- names ---- */

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

static void symtab_drop(module *m) {
    symtab_bytes -= hp_symtab_bytes(m->symtab);
    hp_symtab_free(m->symtab);
    m->symtab = NULL;
    m->symtab_state = 0;
}

/* The symbol table's name for addr (not interned), or NULL. */
static const char *symbol_name(module *m, uint64_t addr) {
    m->used = ++use_clock;
    if (m->symtab_state == 1) return hp_symtab_lookup(m->symtab, addr);
    if (m->symtab_state == 2) return NULL;
    Dwfl_Module *mod = dwfl_module_of(m, addr);
    if (!mod) return NULL;
    if (m->symtab_state == 3) { /* too big to keep */
        GElf_Off offset;
        GElf_Sym sym;
        return dw->dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL);
    }
    int too_big;
    m->symtab = hp_symtab_build(dw, mod, SYMTAB_BUDGET, &too_big);
    if (!m->symtab) {
        m->symtab_state = too_big ? 3 : 2;
        if (too_big)
            hp_debug("%s: symbol table over %u MiB; names come from libdw each time", m->pub.path,
                     SYMTAB_BUDGET >> 20);
        return symbol_name(m, addr);
    }
    m->symtab_state = 1;
    pass_tables++;
    symtab_bytes += hp_symtab_bytes(m->symtab);
    while (symtab_bytes > SYMTAB_BUDGET) { /* drop the least recently used others */
        module *lru = NULL;
        for (uint32_t i = 0; i < all_count; i++)
            if (all[i] != m && all[i]->symtab && (!lru || all[i]->used < lru->used)) lru = all[i];
        if (!lru) break;
        symtab_drop(lru);
    }
    return hp_symtab_lookup(m->symtab, addr);
}

/* One frame named from the symbol table: the function, or "[file]" for
 * code without symbols (stripped), as pprof shows such code. */
static hp_frame named_frame(module *m, const char *name) {
    const char *linkage = intern(name);
    /* A versioned symbol ("_IO_file_overflow@@GLIBC_2.2.5", "f@VERS") is
     * shown without its version, as DWARF names it, and only then
     * demangled; the linkage name keeps it. */
    const char *at = name && name[0] ? strchr(name + 1, '@') : NULL;
    char plain[512];
    if (at && (size_t)(at - name) < sizeof plain) {
        memcpy(plain, name, (size_t)(at - name));
        plain[at - name] = 0;
        name = plain;
    }
    const char *shown = pretty(name);
    if (!shown) {
        char text[300];
        const char *slash = strrchr(m->pub.path, '/');
        snprintf(text, sizeof text, "[%s]", slash ? slash + 1 : m->pub.path);
        shown = intern(text);
    }
    return (hp_frame){shown, linkage ? linkage : shown, NULL, 0};
}

static hp_frame symbol_frame(module *m, uint64_t addr) {
    return named_frame(m, symbol_name(m, addr));
}

static const char *die_name(Dwarf_Die *die, const char **linkage) {
    Dwarf_Attribute attr;
    const char *link = NULL;
    if (dw->dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
        dw->dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
        link = dw->dwarf_formstring(&attr);
    const char *name = link ? link : NULL;
    if (!name && dw->dwarf_attr_integrate(die, DW_AT_name, &attr))
        name = dw->dwarf_formstring(&attr);
    *linkage = link ? intern(link) : NULL;
    return name ? pretty(name) : NULL;
}

static const char *call_file(Dwarf_Die *cudie, Dwarf_Die *inlined) {
    Dwarf_Attribute attr;
    Dwarf_Word idx;
    Dwarf_Files *files;
    size_t nfiles;
    if (!dw->dwarf_attr(inlined, DW_AT_call_file, &attr) || dw->dwarf_formudata(&attr, &idx) ||
        dw->dwarf_getsrcfiles(cudie, &files, &nfiles) || idx >= nfiles)
        return NULL;
    return intern(dw->dwarf_filesrc(files, idx, NULL, NULL));
}

static int call_line(Dwarf_Die *inlined) {
    Dwarf_Attribute attr;
    Dwarf_Word line;
    if (!dw->dwarf_attr(inlined, DW_AT_call_line, &attr) || dw->dwarf_formudata(&attr, &line))
        return 0;
    return (int)line;
}

#define MAX_INLINE 32

/* Frames from DWARF: the inline chain with files and lines, innermost
 * first. 0 when the module has no DWARF for addr (the caller then names it
 * from the symbol table). */
static uint32_t dwarf_frames(module *m, uint64_t addr, hp_frame *frames) {
    Dwfl_Module *mod = dwfl_module_of(m, addr);
    if (!mod) return 0;
    if (m->dwarf < 0) {
        if (hp_cfg.symbolize != HP_SYM_FULL && !has_own_dwarf(mod)) {
            m->dwarf = 0;
            return 0;
        }
        Dwarf_Addr dwbias;
        m->dwarf = dw->dwfl_module_getdwarf(mod, &dwbias) != NULL;
        m->pub.has_lines = (uint8_t)m->dwarf;
        if (!m->dwarf) return 0;
    }
    uint32_t n = 0;
    const char *file = NULL;
    int line = 0;
    Dwfl_Line *l = dw->dwfl_module_getsrc(mod, addr);
    if (l) file = intern(dw->dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL));
    Dwarf_Addr bias = 0;
    Dwarf_Die *cudie = dw->dwfl_module_addrdie(mod, addr, &bias);
    Dwarf_Die *scopes = NULL;
    int nscopes = cudie ? dw->dwarf_getscopes(cudie, addr - bias, &scopes) : 0;
    /* dwarf_getscopes stops at the innermost inlined subroutine's lexical
     * parents and can miss the function it was inlined into: rebuild the
     * chain from the innermost scope's own DIE, which has them all. */
    if (nscopes > 0) {
        Dwarf_Addr dwbias;
        Dwarf *dwarf = dw->dwfl_module_getdwarf(mod, &dwbias);
        Dwarf_Die innermost, *chain = NULL;
        int nchain = dwarf && dw->dwarf_offdie(dwarf, dw->dwarf_dieoffset(&scopes[0]), &innermost)
                         ? dw->dwarf_getscopes_die(&innermost, &chain)
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
        int tag = dw->dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
        const char *linkage;
        const char *name = die_name(&scopes[i], &linkage);
        if (tag == DW_TAG_subprogram && !linkage) {
            /* GCC gives internal-linkage C++ functions (anonymous namespaces,
             * statics) no linkage name in DWARF; the symbol table has the
             * mangled one, which demangles to the qualified name. */
            const char *symbol = symbol_name(m, addr);
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
    if (n == 0 && file) { /* a line but no function DIE: name it from the symbols */
        frames[0] = symbol_frame(m, addr);
        frames[0].file = file;
        frames[0].line = line;
        n = 1;
    }
    return n;
}

static hp_location *resolve(uintptr_t pc) {
    hp_frame frames[MAX_INLINE];
    uint32_t n = 0;
    /* A return address points after the call: look up the call itself. */
    uint64_t addr = pc - 1;
    module *m = module_at(addr);
    /* Under the dump lock libdw is used only if it was loaded before it was
     * taken (dump.c), except in `full` mode, which has always loaded it. */
    if (m) dw = hp_cfg.symbolize == HP_SYM_FULL ? hp_dw_load() : hp_dw_loaded();
    if (hp_cfg.symbolize == HP_SYM_NONE || (m && !dw)) {
        n = 0; /* the address and its mapping: go tool pprof can symbolize it later */
    } else if (m) {
        m->pub.has_functions = 1;
        if (m->dwarf != 0) n = dwarf_frames(m, addr, frames);
        if (n == 0) frames[n++] = symbol_frame(m, addr);
    } else {
        frames[n++] = (hp_frame){"??", "??", NULL, 0};
    }
    hp_location *loc = hp_malloc(sizeof *loc + n * sizeof loc->frames[0]);
    if (!loc) return NULL;
    loc->pc = pc;
    loc->module = m ? &m->pub : NULL;
    loc->nframes = n;
    memcpy(loc->frames, frames, n * sizeof frames[0]);
    return loc;
}

/* ---- names from the ELF file, many addresses at a time ---- */

static uint32_t pending_modules; /* modules with addresses waiting */

/* Whether m is named by elf_names.c: in the default mode, a module without
 * DWARF of its own (the others need libdw for files and lines), or one with
 * it when libdw is not loaded (it could not be, or the module was not one
 * the dynamic linker knows of when dump.c decided): names, no lines. */
static int elf_names_for(module *m) {
    if (m->elf < 0) {
        int own =
            hp_cfg.symbolize == HP_SYM_FAST ? hp_elf_own_dwarf(m->pub.path, m->dev, m->inode) : -1;
        m->elf = own == 0 || (own == 1 && !hp_dw_loaded());
        if (m->elf) m->dwarf = 0;
    }
    return m->elf;
}

void hp_symbolize_want(uintptr_t pc) {
    if (hp_cfg.symbolize != HP_SYM_FAST || !pc) return;
    hp_location **slot = cache_slot(pc);
    if (!slot) return;
    if (*slot) {
        pass_cached++;
        return;
    }
    module *m = module_at(pc - 1);
    if (!m || !elf_names_for(m)) return; /* resolved alone when asked for */
    if (m->npend == m->pend_cap) {
        uint32_t cap = m->pend_cap ? m->pend_cap * 2 : 64;
        hp_location **t = hp_realloc(m->pend, cap * sizeof *t);
        if (!t) return;
        m->pend = t;
        m->pend_cap = cap;
    }
    hp_location *loc = hp_malloc(sizeof *loc);
    if (!loc) return;
    *loc = (hp_location){pc, &m->pub, PENDING};
    *slot = loc;
    cache_count++;
    pass_new++;
    if (!m->npend) pending_modules++;
    m->pend[m->npend++] = loc;
}

static void settle(hp_location *old, hp_location *loc) {
    hp_location **slot = cache_slot(old->pc);
    if (!loc || !slot || *slot != old) {
        old->nframes = 0; /* out of memory: the address and module only */
        hp_free(loc);
        return;
    }
    *slot = loc;
    hp_free(old);
}

static hp_location *one_frame(const hp_location *old, hp_frame f) {
    hp_location *loc = hp_malloc(sizeof *loc + sizeof loc->frames[0]);
    if (loc) {
        *loc = (hp_location){old->pc, old->module, 1};
        loc->frames[0] = f;
    }
    return loc;
}

typedef struct naming {
    module *m;
    hp_location **pend;
} naming;

static void got_name(void *arg, size_t i, const char *name) {
    naming *nm = arg;
    hp_location *old = nm->pend[i];
    settle(old, one_frame(old, named_frame(nm->m, name)));
    nm->pend[i] = NULL;
}

static int by_pc(const void *a, const void *b) {
    uintptr_t x = (*(hp_location *const *)a)->pc, y = (*(hp_location *const *)b)->pc;
    return x < y ? -1 : x > y;
}

/* Names m's waiting addresses in one pass over its symbol table. */
static void name_module(module *m) {
    uint32_t n = m->npend;
    hp_location **pend = m->pend;
    m->pend = NULL;
    m->npend = m->pend_cap = 0;
    qsort(pend, n, sizeof *pend, by_pc);
    uint64_t *addrs = hp_malloc(n * sizeof *addrs);
    int rc = -1;
    if (addrs) {
        for (uint32_t i = 0; i < n; i++)
            addrs[i] = pend[i]->pc - 1; /* the call, not the return address */
        naming nm = {m, pend};
        rc = hp_elf_name_addrs(m->pub.path, m->dev, m->inode, m->pub.build_id, m->pub.start,
                               m->pub.file_offset, addrs, n, got_name, &nm);
        hp_free(addrs);
    }
    if (rc == 0) {
        m->pub.has_functions = 1;
    } else {
        m->elf = 0; /* not readable this way: libdw, as for a module with DWARF */
        m->dwarf = -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        hp_location *old = pend[i];
        if (!old) continue;
        if (rc == 0) { /* no symbol covers it: "[file]" */
            settle(old, one_frame(old, named_frame(m, NULL)));
        } else {
            old->nframes = 0;
            settle(old, resolve(old->pc));
        }
    }
    hp_free(pend);
}

static void name_pending(void) {
    for (uint32_t i = 0; i < all_count && pending_modules; i++) {
        if (!all[i]->npend) continue;
        pending_modules--;
        name_module(all[i]);
    }
}

void hp_symbolize_stacks(const hp_profile_snapshot *p) {
    if (hp_cfg.symbolize != HP_SYM_FAST) return; /* only names are read in batches */
    for (size_t i = 0; i < p->nsites; i++) {
        const hp_stack *st = p->sites[i].stack;
        for (uint32_t f = 0; st && f < st->depth; f++)
            hp_symbolize_want(st->pcs[f]);
    }
    name_pending();
    carry = 1;
}

const hp_location *hp_symbolize(uintptr_t pc) {
    static hp_location unknown = {0, NULL, 1, {{"??", "??", NULL, 0}}};
    hp_location **slot = cache_slot(pc);
    if (!slot) return &unknown;
    if (!*slot) {
        hp_symbolize_want(pc);
        if (!(slot = cache_slot(pc))) return &unknown;
    }
    if (*slot && (*slot)->nframes == PENDING) {
        name_pending();
        slot = cache_slot(pc);
        if (!slot) return &unknown;
        return *slot ? *slot : &unknown;
    }
    if (*slot) {
        if (!carried) pass_cached++;
        return *slot;
    }
    hp_location *loc = resolve(pc);
    if (!loc) return &unknown;
    *slot = loc;
    cache_count++;
    pass_new++;
    return loc;
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
    /* libdw as a dump would load it: before the lock (dump.c) */
    if (hp_cfg.symbolize == HP_SYM_FULL ||
        (hp_cfg.symbolize == HP_SYM_FAST && hp_elf_own_dwarf_any()))
        hp_dw_load();
    hp_dump_lock();
    hp_symbolize_begin();
    for (size_t i = 0; i < n; i++)
        hp_symbolize_want(pcs[i]);
    for (size_t i = 0; i < n; i++) {
        const hp_location *loc = hp_symbolize(pcs[i]);
        if (loc->module) ((module *)loc->module)->pinned = 1;
    }
    hp_symbolize_end();
    hp_dump_unlock();
    hp_free(pcs);
    hp_internal_leave();
}
