#define _GNU_SOURCE
#include "symbolize_maps.h"
#include "fd_high.h"
#include "internal_alloc.h"

#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *text;              /* the last read of /proc/self/maps; paths point into it */
static hp_maps_module *modules; /* sorted by start: the file keeps address order */
static size_t count, cap;

static char *read_maps(void) {
    int fd = hp_open_high("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return NULL;
    size_t len = 0, size = 64 * 1024;
    char *buf = hp_malloc(size);
    ssize_t n = -1;
    while (buf) {
        if (len + 1 == size) {
            char *t = hp_realloc(buf, size * 2);
            if (!t) break;
            buf = t;
            size *= 2;
        }
        n = read(fd, buf + len, size - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    if (buf && n == 0) {
        buf[len] = 0;
        return buf;
    }
    hp_free(buf);
    return NULL;
}

static int add(const hp_maps_module *m) {
    if (count == cap) {
        size_t c = cap ? cap * 2 : 64;
        hp_maps_module *t = hp_realloc(modules, c * sizeof *t);
        if (!t) return -1;
        modules = t;
        cap = c;
    }
    modules[count++] = *m;
    return 0;
}

int hp_maps_scan(void) {
    char *t = read_maps();
    if (!t) return -1;
    hp_free(text);
    text = t;
    count = 0;
    hp_maps_module cur = {0};
    int cur_exec = 0;
    for (char *line = text, *next; *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        else
            next = line + strlen(line);
        unsigned long long start, end, offset, inode;
        unsigned dmaj, dmin;
        char perms[8] = "";
        int path_at = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset, &dmaj,
                   &dmin, &inode, &path_at) < 7 ||
            path_at <= 0)
            continue;
        const char *path = line + path_at;
        uint64_t dev = (uint64_t)dmaj << 32 | dmin;
        int vdso = !strcmp(path, "[vdso]"), exec = perms[2] == 'x';
        if (!vdso && (path[0] != '/' || (inode == 0 && dev == 0))) continue; /* not a file */
        if (cur.path && !vdso && inode == cur.inode && dev == cur.dev && !strcmp(path, cur.path)) {
            cur.end = end; /* another part of the same file */
            if (exec && !cur_exec) {
                cur.exec_start = start, cur.exec_end = end, cur.exec_offset = offset;
                cur_exec = 1;
            }
            continue;
        }
        if (cur.path && add(&cur)) return -1;
        cur = (hp_maps_module){path, start, end, start, end, offset, dev, inode};
        cur_exec = exec;
        if (vdso) { /* its own module, never merged */
            if (add(&cur)) return -1;
            cur.path = NULL;
        }
    }
    if (cur.path && add(&cur)) return -1;
    return 0;
}

void hp_maps_release(void) {
    hp_free(text);
    hp_free(modules);
    text = NULL;
    modules = NULL;
    count = cap = 0;
}

const hp_maps_module *hp_maps_lookup(uint64_t addr) {
    size_t lo = 0, hi = count;
    while (lo < hi) { /* the first module ending after addr */
        size_t mid = lo + (hi - lo) / 2;
        if (modules[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < count && modules[lo].start <= addr ? &modules[lo] : NULL;
}

/* ---- identity from the loaded image ---- */

struct want {
    uint64_t start, end;
    char *build_id;
    size_t cap;
};

/* The GNU build-id note among the notes of one PT_NOTE segment. */
static int note_build_id(const char *p, size_t size, struct want *w) {
    while (size >= sizeof(ElfW(Nhdr))) {
        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
        size_t name = (n->n_namesz + 3) & ~(size_t)3, desc = (n->n_descsz + 3) & ~(size_t)3;
        size_t len = sizeof *n + name + desc;
        if (len > size) return 0;
        const char *nm = p + sizeof *n;
        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(nm, "GNU", 4)) {
            const unsigned char *bits = (const unsigned char *)nm + name;
            size_t o = 0;
            for (size_t i = 0; i < n->n_descsz && o + 3 <= w->cap; i++, o += 2)
                snprintf(w->build_id + o, 3, "%02x", bits[i]);
            return 1;
        }
        p += len;
        size -= len;
    }
    return 0;
}

static int identify(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    struct want *w = arg;
    int overlaps = 0;
    for (int i = 0; i < info->dlpi_phnum && !overlaps; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        overlaps = ph->p_type == PT_LOAD && lo < w->end && hi > w->start;
    }
    if (!overlaps) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE &&
            note_build_id((const char *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz, w))
            break;
    }
    return 1;
}

void hp_maps_build_id(uint64_t start, uint64_t end, char *build_id, size_t cap) {
    if (cap) build_id[0] = 0;
    struct want w = {start, end, build_id, cap};
    dl_iterate_phdr(identify, &w);
}

struct generation {
    uint64_t adds, subs;
};

static int first_only(struct dl_phdr_info *info, size_t size, void *arg) {
    struct generation *g = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        g->adds = info->dlpi_adds;
        g->subs = info->dlpi_subs;
    }
    return 1;
}

void hp_maps_generation(uint64_t *adds, uint64_t *subs) {
    struct generation g = {0, 0};
    dl_iterate_phdr(first_only, &g);
    *adds = g.adds;
    *subs = g.subs;
}
