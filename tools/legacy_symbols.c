#define _GNU_SOURCE
#include "legacy_symbols.h"
#include "../heapprof/id_map.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void legacy_maps_add_line(legacy_maps *m, const char *line) {
    unsigned long long start, end, offset;
    char perms[8];
    int path_at = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &path_at) < 4)
        return;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        legacy_map *t = realloc(m->v, cap * sizeof *t);
        if (!t) return;
        m->v = t;
        m->cap = cap;
    }
    const char *path = path_at ? line + path_at : "";
    m->v[m->n++] = (legacy_map){start, end, offset, *path == '/' ? model_str(path) : NULL};
}

static int by_start(const void *a, const void *b) {
    const legacy_map *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Load bias of `path` mapped at `start` from file offset `offset`: the
 * difference between run-time addresses and the file's own (0 for a
 * position-dependent executable). -1 if the file is no ELF object. */
static int load_bias(const char *path, uint64_t start, uint64_t offset, uint64_t *bias) {
    /* Only regular files: the map may name a FIFO (open would wait for a
     * writer) or a device (/dev/nvidia0, /dev/dri/...: no open at all). */
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode)) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    GElf_Ehdr eh;
    size_t nph;
    int rc = -1;
    long page = sysconf(_SC_PAGESIZE);
    if (elf && gelf_getehdr(elf, &eh) && elf_getphdrnum(elf, &nph) == 0) {
        if (eh.e_type == ET_EXEC) {
            *bias = 0;
            rc = 0;
        }
        for (size_t i = 0; rc && i < nph; i++) {
            GElf_Phdr ph;
            if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
            if ((ph.p_offset & ~(uint64_t)(page - 1)) != offset) continue;
            *bias = start - (ph.p_vaddr & ~(uint64_t)(page - 1));
            rc = 0;
        }
    }
    if (elf) elf_end(elf);
    close(fd);
    return rc;
}

void legacy_maps_open(legacy_maps *m) {
    if (m->n) qsort(m->v, m->n, sizeof *m->v, by_start); /* v is NULL when none */
    static char *debuginfo_path;
    static const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .debuginfo_path = &debuginfo_path,
    };
    elf_version(EV_CURRENT);
    Dwfl *dwfl = dwfl_begin(&callbacks);
    if (!dwfl) return;
    dwfl_report_begin(dwfl);
    /* One report per file: its first mapping gives the bias. The paths are
     * interned, so a set of pointers finds the first (in linear time: a
     * damaged profile may list many thousand files). */
    hp_id_map files = {0};
    for (size_t i = 0; i < m->n; i++) {
        const char *path = m->v[i].path;
        int first = 0;
        if (path) hp_id_map_get(&files, (uint64_t)(uintptr_t)path, &first);
        uint64_t bias;
        if (!first || load_bias(path, m->v[i].start, m->v[i].offset, &bias)) continue;
        dwfl_report_elf(dwfl, path, path, -1, bias, false);
    }
    hp_id_map_free(&files);
    dwfl_report_end(dwfl, NULL, NULL);
    m->dwfl = dwfl;
}

static const legacy_map *map_of(const legacy_maps *m, uint64_t pc) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->v[mid].end <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && m->v[lo].start <= pc && pc < m->v[lo].end ? &m->v[lo] : NULL;
}

/* C++ names read better demangled; libstdc++ is loaded only if one shows up. */
static const char *demangled(const char *name) {
    static char *(*demangle)(const char *, char *, size_t *, int *);
    static int tried;
    if (name[0] != '_' || name[1] != 'Z') return model_str(name);
    if (!tried) {
        tried = 1;
        void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
        if (h) *(void **)&demangle = dlsym(h, "__cxa_demangle");
    }
    int status = -1;
    char *d = demangle ? demangle(name, NULL, NULL, &status) : NULL;
    const char *out = model_str(status == 0 && d ? d : name);
    free(d);
    return out;
}

void legacy_maps_resolve(const legacy_maps *m, uint64_t pc, int return_address, frame *out) {
    const legacy_map *map = map_of(m, pc);
    *out = (frame){NULL, NULL, 0, map ? map->path : NULL, pc};
    uint64_t at = return_address && pc ? pc - 1 : pc;
    Dwfl_Module *mod = m->dwfl && map ? dwfl_addrmodule(m->dwfl, at) : NULL;
    const char *name = mod ? dwfl_module_addrname(mod, at) : NULL;
    if (name) out->function = demangled(name);
    Dwfl_Line *line = mod ? dwfl_module_getsrc(mod, at) : NULL;
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (file) {
        out->file = model_str(file);
        out->line = lineno;
    }
    if (!out->function) {
        char hex[32];
        snprintf(hex, sizeof hex, "0x%" PRIx64, pc);
        out->function = model_str(hex);
    }
}

void legacy_maps_free(legacy_maps *m) {
    if (m->dwfl) dwfl_end(m->dwfl);
    free(m->v);
    memset(m, 0, sizeof *m);
}

int legacy_is_allocator(const char *module) {
    if (!module) return 0;
    const char *base = strrchr(module, '/');
    base = base ? base + 1 : module;
    static const char *const allocators[] = {"libjemalloc", "libtcmalloc", "libmimalloc",
                                             "libheapprof"};
    for (size_t i = 0; i < sizeof allocators / sizeof *allocators; i++)
        if (!strncmp(base, allocators[i], strlen(allocators[i]))) return 1;
    return 0;
}
