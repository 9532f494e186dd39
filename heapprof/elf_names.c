#define _GNU_SOURCE
#include "elf_names.h"
#include "fd_high.h"
#include "internal_alloc.h"
#include "symbolize_maps.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <zlib.h>

typedef struct elf_file {
    int fd;
    Elf64_Ehdr eh;
    Elf64_Shdr *sh; /* all section headers */
    size_t nsh;
    char *shstr; /* section names */
    size_t shstr_len;
} elf_file;

static int read_at(int fd, void *buf, size_t n, uint64_t off) {
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

static void elf_close(elf_file *f) {
    if (f->fd >= 0) close(f->fd);
    hp_free(f->sh);
    hp_free(f->shstr);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

/* Opens path as a little-endian ELF64 file and reads its section headers
 * and their names. dev/inode: the file must be that one (0, 0: any). */
static int elf_open(elf_file *f, const char *path, uint64_t dev, uint64_t inode) {
    memset(f, 0, sizeof *f);
    f->fd = hp_open_high(path, O_RDONLY | O_CLOEXEC, 0);
    struct stat st;
    if (f->fd < 0 || fstat(f->fd, &st) != 0) goto fail;
    if ((dev || inode) &&
        (st.st_ino != inode || ((uint64_t)major(st.st_dev) << 32 | minor(st.st_dev)) != dev))
        goto fail;
    Elf64_Ehdr *eh = &f->eh;
    if (read_at(f->fd, eh, sizeof *eh, 0) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_shentsize != sizeof(Elf64_Shdr) || !eh->e_shoff)
        goto fail;
    Elf64_Shdr first;
    if (read_at(f->fd, &first, sizeof first, eh->e_shoff)) goto fail;
    f->nsh = eh->e_shnum ? eh->e_shnum : first.sh_size; /* extended numbering */
    size_t shstrndx = eh->e_shstrndx == SHN_XINDEX ? first.sh_link : eh->e_shstrndx;
    if (!f->nsh || f->nsh > (1u << 20) || shstrndx >= f->nsh) goto fail;
    f->sh = hp_malloc(f->nsh * sizeof *f->sh);
    if (!f->sh || read_at(f->fd, f->sh, f->nsh * sizeof *f->sh, eh->e_shoff)) goto fail;
    const Elf64_Shdr *names = &f->sh[shstrndx];
    if (names->sh_type != SHT_STRTAB || names->sh_size > (1u << 20)) goto fail;
    f->shstr_len = names->sh_size;
    f->shstr = hp_malloc(f->shstr_len + 1);
    if (!f->shstr || read_at(f->fd, f->shstr, f->shstr_len, names->sh_offset)) goto fail;
    f->shstr[f->shstr_len] = 0;
    return 0;
fail:
    elf_close(f);
    return -1;
}

static const Elf64_Shdr *section_named(const elf_file *f, const char *name) {
    for (size_t i = 1; i < f->nsh; i++)
        if (f->sh[i].sh_name < f->shstr_len && !strcmp(f->shstr + f->sh[i].sh_name, name))
            return &f->sh[i];
    return NULL;
}

static const Elf64_Shdr *section_of_type(const elf_file *f, uint32_t type) {
    for (size_t i = 1; i < f->nsh; i++)
        if (f->sh[i].sh_type == type) return &f->sh[i];
    return NULL;
}

static int has_dwarf(const elf_file *f) {
    const Elf64_Shdr *s = section_named(f, ".debug_info");
    if (!s || s->sh_type == SHT_NOBITS) s = section_named(f, ".zdebug_info");
    return s && s->sh_type != SHT_NOBITS;
}

int hp_elf_own_dwarf(const char *path, uint64_t dev, uint64_t inode) {
    elf_file f;
    if (elf_open(&f, path, dev, inode)) return -1;
    int r = has_dwarf(&f);
    elf_close(&f);
    return r;
}

/* ---- whether a dump may need libdw ---- */

static int any_dwarf_step(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    int *state = arg; /* 0 at the first object (the program), then 1; 2 once found */
    const char *path = *state == 0 ? "/proc/self/exe" : info->dlpi_name;
    *state = 1;
    if (path && path[0] == '/' && hp_elf_own_dwarf(path, 0, 0) == 1) {
        *state = 2;
        return 1;
    }
    return 0;
}

/* The loader's generation and the answer for it, in one word: computing it
 * twice in a race is harmless, and no lock is held across fork. */
static _Atomic uint64_t any_cached; /* (adds + subs) << 2 | answer << 1 | valid */

int hp_elf_own_dwarf_any(void) {
    uint64_t adds, subs;
    hp_maps_generation(&adds, &subs);
    uint64_t gen = (adds + subs) << 2;
    uint64_t c = atomic_load_explicit(&any_cached, memory_order_relaxed);
    if ((c & 1) && (c & ~3ull) == gen) return (int)(c >> 1 & 1);
    int state = 0;
    dl_iterate_phdr(any_dwarf_step, &state);
    int any = state == 2;
    atomic_store_explicit(&any_cached, gen | (uint64_t)any << 1 | 1, memory_order_relaxed);
    return any;
}

/* ---- the symbol file ---- */

/* The GNU build-id of f, as lower-case hex, from its note sections. */
static int file_build_id(const elf_file *f, char *hex, size_t cap) {
    unsigned char buf[1024];
    for (size_t i = 1; i < f->nsh; i++) {
        const Elf64_Shdr *s = &f->sh[i];
        if (s->sh_type != SHT_NOTE || s->sh_size > sizeof buf ||
            read_at(f->fd, buf, s->sh_size, s->sh_offset))
            continue;
        for (size_t at = 0; at + sizeof(Elf64_Nhdr) <= s->sh_size;) {
            Elf64_Nhdr nh;
            memcpy(&nh, buf + at, sizeof nh);
            size_t name_at = at + sizeof nh, desc_at = name_at + ((nh.n_namesz + 3) & ~3u);
            size_t next = desc_at + ((nh.n_descsz + 3) & ~3u);
            if (next > s->sh_size) break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                !memcmp(buf + name_at, "GNU", 4) && nh.n_descsz * 2 < cap) {
                for (size_t k = 0; k < nh.n_descsz; k++)
                    snprintf(hex + 2 * k, 3, "%02x", buf[desc_at + k]);
                return 0;
            }
            at = next;
        }
    }
    return -1;
}

int hp_file_crc32(int fd, uint32_t *out) {
    enum { CHUNK = 64 * 1024 };
    unsigned char *buf = hp_malloc(CHUNK);
    if (!buf) return -1;
    uLong sum = crc32(0L, Z_NULL, 0);
    off_t at = 0;
    ssize_t n;
    while ((n = pread(fd, buf, CHUNK, at)) > 0) {
        sum = crc32(sum, buf, (uInt)n);
        at += n;
    }
    hp_free(buf);
    *out = (uint32_t)sum;
    return n == 0 ? 0 : -1;
}

/* A debug file candidate at path: taken if it is not the module's own file
 * and matches the module by build-id, or by the debuglink CRC when the
 * module has no build-id. */
static int try_debug_file(elf_file *dbg, const char *path, const struct stat *main_st,
                          const char *build_id, uint32_t crc) {
    struct stat st;
    if (stat(path, &st) != 0 || (st.st_ino == main_st->st_ino && st.st_dev == main_st->st_dev) ||
        elf_open(dbg, path, 0, 0))
        return -1;
    char id[129] = "";
    uint32_t got;
    int ok = build_id[0] ? file_build_id(dbg, id, sizeof id) == 0 && !strcmp(id, build_id)
                         : !crc || (hp_file_crc32(dbg->fd, &got) == 0 && got == crc);
    if (!ok || !section_of_type(dbg, SHT_SYMTAB)) {
        elf_close(dbg);
        return -1;
    }
    return 0;
}

/* The separate debug file of main, found where libdw's default
 * debuginfo_path looks: by build-id, then by .gnu_debuglink. */
static int find_debug_file(elf_file *dbg, const elf_file *main, const char *path,
                           const char *build_id) {
    struct stat main_st;
    if (fstat(main->fd, &main_st) != 0) return -1;
    char cand[4096];
    if (build_id[0] && build_id[1] && build_id[2] &&
        snprintf(cand, sizeof cand, "/usr/lib/debug/.build-id/%.2s/%s.debug", build_id,
                 build_id + 2) < (int)sizeof cand &&
        try_debug_file(dbg, cand, &main_st, build_id, 0) == 0)
        return 0;
    const Elf64_Shdr *s = section_named(main, ".gnu_debuglink");
    char link[512];
    if (!s || s->sh_type == SHT_NOBITS || s->sh_size < 8 || s->sh_size > sizeof link ||
        read_at(main->fd, link, s->sh_size, s->sh_offset))
        return -1;
    size_t len = strnlen(link, s->sh_size);
    size_t crc_at = (len + 4) & ~(size_t)3;
    if (len == 0 || crc_at + 4 > s->sh_size || memchr(link, '/', len)) return -1;
    uint32_t crc;
    memcpy(&crc, link + crc_at, 4);
    const char *slash = strrchr(path, '/');
    if (path[0] != '/' || !slash) return -1;
    int dirlen = (int)(slash - path);
    for (int i = 0; i < 3; i++) {
        int n = i == 0   ? snprintf(cand, sizeof cand, "%.*s/%s", dirlen, path, link)
                : i == 1 ? snprintf(cand, sizeof cand, "%.*s/.debug/%s", dirlen, path, link)
                         : snprintf(cand, sizeof cand, "/usr/lib/debug%.*s/%s", dirlen, path, link);
        if (n > 0 && (size_t)n < sizeof cand &&
            try_debug_file(dbg, cand, &main_st, build_id, crc) == 0)
            return 0;
    }
    return -1;
}

/* Where file offset `offset` of the module is in memory, minus its address
 * in the file's program headers: the load bias. */
static int load_bias(const elf_file *f, uint64_t exec_start, uint64_t exec_offset, uint64_t *bias) {
    const Elf64_Ehdr *eh = &f->eh;
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum || eh->e_phnum > 4096) return -1;
    for (size_t i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        if (read_at(f->fd, &ph, sizeof ph, eh->e_phoff + i * sizeof ph)) return -1;
        if (ph.p_type != PT_LOAD || (ph.p_offset & ~4095ull) > exec_offset ||
            exec_offset >= ph.p_offset + ph.p_filesz)
            continue;
        *bias = exec_start - exec_offset + ph.p_offset - ph.p_vaddr;
        return 0;
    }
    return -1;
}

/* ---- choosing a symbol per address ---- */

/* The best symbol covering an address so far. The preference is the one
 * symbolize_symtab.c applies: a global or weak symbol over a local one,
 * then the closest start, then global over weak, then the longer range,
 * then the later entry of the table. rank: 0 local, 1 weak, 2 global. */
typedef struct choice {
    uint64_t lo, end;
    uint32_t index, name;
    uint8_t rank, found;
} choice;

static int better(const choice *x, const choice *y) { /* x preferred over y */
    if (!y->found) return 1;
    if ((x->rank > 0) != (y->rank > 0)) return x->rank > 0;
    if (x->lo != y->lo) return x->lo > y->lo;
    if (x->rank != y->rank) return x->rank > y->rank;
    if (x->end != y->end) return x->end > y->end;
    return x->index > y->index;
}

/* Sizeless symbols reach to the end of their section; an address takes the
 * one with the highest start at or below it, if that one reaches it. */
static int sizeless_after(const choice *x, const choice *y) {
    if (x->lo != y->lo) return x->lo > y->lo;
    if (x->end != y->end) return x->end > y->end;
    if (x->rank != y->rank) return x->rank > y->rank;
    return x->index > y->index;
}

static void sift(choice *c, size_t i, size_t n) {
    for (size_t k; (k = 2 * i + 1) < n; i = k) {
        if (k + 1 < n && sizeless_after(&c[k + 1], &c[k])) k++;
        if (!sizeless_after(&c[k], &c[i])) return;
        choice t = c[i];
        c[i] = c[k];
        c[k] = t;
    }
}

static void heap_sort(choice *c, size_t n) { /* no allocation, O(n log n) */
    for (size_t i = n / 2; i-- > 0;)
        sift(c, i, n);
    for (size_t end = n; end-- > 1;) {
        choice t = c[0];
        c[0] = c[end];
        c[end] = t;
        sift(c, 0, end);
    }
}

/* The end of the executable section shndx of f, or 0. */
static uint64_t exec_section_end(const elf_file *f, uint32_t shndx, uint64_t bias) {
    if (shndx >= f->nsh) return 0;
    const Elf64_Shdr *s = &f->sh[shndx];
    if (!(s->sh_flags & SHF_ALLOC) || !(s->sh_flags & SHF_EXECINSTR)) return 0;
    return s->sh_addr + s->sh_size + bias;
}

typedef struct scan {
    const uint64_t *addrs;
    size_t n;
    choice *best;     /* per address, sized symbols */
    choice *sizeless; /* every sizeless candidate */
    size_t nsizeless, sizeless_cap;
    int failed;
} scan;

static void consider(scan *sc, const elf_file *f, const Elf64_Sym *sym, uint32_t index,
                     uint64_t bias) {
    int type = ELF64_ST_TYPE(sym->st_info), bind = ELF64_ST_BIND(sym->st_info);
    if (!sym->st_name || sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE) return;
    if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) return;
    choice x = {sym->st_value + bias,
                sym->st_value + bias + sym->st_size,
                index,
                sym->st_name,
                (uint8_t)(bind == STB_GLOBAL || bind == STB_GNU_UNIQUE ? 2 : bind == STB_WEAK),
                1};
    /* Untyped symbols count only in code; sizeless ones reach to the end of
     * their section, which is where libdw stops looking too. */
    if (type == STT_NOTYPE || !sym->st_size) {
        uint64_t end = exec_section_end(f, sym->st_shndx, bias);
        if (end <= x.lo) return;
        if (!sym->st_size) {
            x.end = end;
            if (sc->nsizeless == sc->sizeless_cap) {
                size_t cap = sc->sizeless_cap ? sc->sizeless_cap * 2 : 64;
                choice *t = hp_realloc(sc->sizeless, cap * sizeof *t);
                if (!t) {
                    sc->failed = 1;
                    return;
                }
                sc->sizeless = t;
                sc->sizeless_cap = cap;
            }
            sc->sizeless[sc->nsizeless++] = x;
            return;
        }
    }
    if (x.end - x.lo > UINT32_MAX) x.end = x.lo + UINT32_MAX;
    size_t lo = 0, hi = sc->n; /* the first address at or above the start */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sc->addrs[mid] < x.lo)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < sc->n && sc->addrs[i] < x.end; i++)
        if (better(&x, &sc->best[i])) sc->best[i] = x;
}

/* Streams the symbol table symtab of f through `consider`. */
static int scan_symbols(scan *sc, const elf_file *f, const Elf64_Shdr *symtab, uint64_t bias) {
    enum { CHUNK = 2730 }; /* symbols per read: 64 KiB */
    if (symtab->sh_entsize != sizeof(Elf64_Sym) || (symtab->sh_flags & SHF_COMPRESSED)) return -1;
    Elf64_Sym *buf = hp_malloc(CHUNK * sizeof *buf);
    if (!buf) return -1;
    size_t count = symtab->sh_size / sizeof *buf;
    int rc = 0;
    for (size_t at = 1; at < count && !rc && !sc->failed; at += CHUNK) {
        size_t k = count - at < CHUNK ? count - at : CHUNK;
        rc = read_at(f->fd, buf, k * sizeof *buf, symtab->sh_offset + at * sizeof *buf);
        for (size_t i = 0; i < k && !rc; i++)
            consider(sc, f, &buf[i], (uint32_t)(at + i), bias);
    }
    hp_free(buf);
    return rc || sc->failed ? -1 : 0;
}

/* The NUL-terminated string at `off` of string table strtab, read into
 * *buf (grown as needed); NULL if it is not there. */
static const char *read_name(const elf_file *f, const Elf64_Shdr *strtab, uint32_t off, char **buf,
                             size_t *cap) {
    if (off >= strtab->sh_size) return NULL;
    size_t len = 0;
    for (;;) {
        if (len + 256 > *cap) {
            if (*cap >= (64u << 10)) return NULL;
            char *t = hp_realloc(*buf, *cap ? *cap * 4 : 512);
            if (!t) return NULL;
            *buf = t;
            *cap = *cap ? *cap * 4 : 512;
        }
        size_t want = *cap - len - 1, left = strtab->sh_size - off - len;
        if (want > left) want = left;
        ssize_t r =
            want ? pread(f->fd, *buf + len, want, (off_t)(strtab->sh_offset + off + len)) : 0;
        if (r <= 0) return NULL;
        char *nul = memchr(*buf + len, 0, (size_t)r);
        len += (size_t)r;
        if (nul) return *buf;
        if ((size_t)r == left) return NULL; /* unterminated */
    }
}

int hp_elf_name_addrs(const char *path, uint64_t dev, uint64_t inode, const char *build_id,
                      uint64_t exec_start, uint64_t exec_offset, const uint64_t *addrs, size_t n,
                      hp_elf_name_fn fn, void *arg) {
    elf_file main, dbg;
    uint64_t bias;
    if (elf_open(&main, path, dev, inode)) return -1;
    dbg.fd = -1;
    dbg.sh = NULL;
    dbg.shstr = NULL;
    const elf_file *symfile = &main;
    const Elf64_Shdr *symtab = section_of_type(&main, SHT_SYMTAB);
    int rc = -1;
    if (load_bias(&main, exec_start, exec_offset, &bias)) goto out;
    if (!symtab && find_debug_file(&dbg, &main, path, build_id) == 0) {
        symfile = &dbg;
        symtab = section_of_type(&dbg, SHT_SYMTAB);
    }
    if (!symtab) {
        /* MiniDebugInfo (an xz-compressed .symtab) is left to libdw. */
        if (section_named(&main, ".gnu_debugdata")) goto out;
        symtab = section_of_type(&main, SHT_DYNSYM);
    }
    scan sc = {addrs, n, NULL, NULL, 0, 0, 0};
    const Elf64_Shdr *strtab =
        symtab && symtab->sh_link < symfile->nsh ? &symfile->sh[symtab->sh_link] : NULL;
    if (!symtab) { /* no symbols at all: every address unnamed */
        rc = 0;
        goto out;
    }
    if (!strtab || strtab->sh_type != SHT_STRTAB || (strtab->sh_flags & SHF_COMPRESSED) ||
        !(sc.best = hp_calloc(n, sizeof *sc.best)) || scan_symbols(&sc, symfile, symtab, bias))
        goto done;
    heap_sort(sc.sizeless, sc.nsizeless);
    char *name_buf = NULL;
    size_t name_cap = 0, s = 0;
    const char *name = NULL;
    uint32_t name_off = 0; /* of `name`: neighbouring addresses share a function */
    for (size_t i = 0; i < n; i++) {
        const choice *c = sc.best[i].found ? &sc.best[i] : NULL;
        while (s < sc.nsizeless && sc.sizeless[s].lo <= addrs[i])
            s++;
        if (!c && s > 0 && addrs[i] < sc.sizeless[s - 1].end) c = &sc.sizeless[s - 1];
        if (!c) continue;
        if (!name || c->name != name_off) {
            name = read_name(symfile, strtab, c->name, &name_buf, &name_cap);
            name_off = c->name;
        }
        if (name && name[0]) fn(arg, i, name);
    }
    hp_free(name_buf);
    rc = 0;
done:
    hp_free(sc.best);
    hp_free(sc.sizeless);
out:
    elf_close(&dbg);
    elf_close(&main);
    return rc;
}
