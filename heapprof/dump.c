#define _GNU_SOURCE
#include "dump.h"
#include "fd_high.h"
#include "zstd_load.h"
#include "elf_names.h"
#include "stacks.h"
#include "symbolize.h"
#include "symbolize_dw.h"
#include "../alloc/counters.h"
#include "../gpu/gpu.h"
#include "config.h"
#include "internal_alloc.h"
#include "log.h"
#include "output.h"
#include "dhat_writer.h"
#include "pprof_writer.h"
#include "prom_writer.h"
#include "procinfo.h"
#include "sampler.h"
#include "stats_writer.h"
#include "tags.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned next_seq;
static int shutting_down; /* guarded by dump_lock */
static int seq_resumed;   /* next_seq continues what this pid already wrote */
static uint64_t start_ns;
static __thread int dumping_here __attribute__((tls_model("initial-exec")));

static uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((constructor(101))) static void remember_start(void) {
    start_ns = clock_ns(CLOCK_MONOTONIC);
}

uint64_t hp_uptime_ns(void) {
    return clock_ns(CLOCK_MONOTONIC) - start_ns;
}

static int write_format(const hp_dump_info *d, const char *ext,
                        void (*render)(hp_buf *, const hp_dump_info *), int link_final) {
    hp_buf b = {0};
    char path[PATH_MAX];
    int rc = -1;
    render(&b, d);
    if (b.failed) {
        hp_info("out of memory while building the %s file of dump %u; skipped", ext, d->seq);
    } else if (hp_output_path(path, sizeof path, d->pid, d->seq, ext) == 0 &&
               hp_output_write(path, b.data, b.len) == 0) {
        rc = 0;
        if (link_final) hp_output_link_final(d->pid, d->seq, ext);
    }
    hp_buf_free(&b);
    return rc;
}

static void add_pending(uint32_t tag, uint64_t bytes, uint64_t objects, void *arg) {
    hp_dump_info *d = arg;
    if (tag > d->ntags) return;
    d->tag_alloc_bytes[tag] += bytes;
    d->tag_alloc_objs[tag] += objects;
}

/* Exact lifetime totals per tag: flushed ones plus every thread's pending. */
static void collect_tag_totals(hp_dump_info *d) {
    d->ntags = hp_tag_count();
    d->tag_alloc_bytes = hp_calloc(d->ntags + 1, sizeof *d->tag_alloc_bytes);
    d->tag_alloc_objs = hp_calloc(d->ntags + 1, sizeof *d->tag_alloc_objs);
    if (!d->tag_alloc_bytes || !d->tag_alloc_objs) {
        d->ntags = 0;
        return;
    }
    for (uint32_t id = 1; id <= d->ntags; id++)
        hp_tag_lifetime(id, &d->tag_alloc_bytes[id], &d->tag_alloc_objs[id]);
    hp_counters_each_pending(add_pending, d);
}

/* The highest seq among this pid's files, plus one, by reading the whole
 * directory. */
static unsigned scan_for_seq(int dirfd, int pid) {
    int fd = dup(dirfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0) close(fd);
        return 0;
    }
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "heapprof.%d.", pid);
    unsigned next = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (strncmp(e->d_name, prefix, (size_t)n)) continue;
        char *end;
        unsigned long seq = strtoul(e->d_name + n, &end, 10);
        if (end != e->d_name + n && *end == '.' && seq + 1 > next) next = (unsigned)seq + 1;
    }
    closedir(dir);
    return next;
}

/* Whether dump `seq` of pid left a file (in any format). */
static int seq_used(int dirfd, int pid, unsigned seq) {
    static const char *const exts[] = {"stats.json", "pb.gz", "dhat.json", "dhat.json.zst", "prom"};
    char name[64];
    struct stat st;
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
        snprintf(name, sizeof name, "heapprof.%d.%u.%s", pid, seq, exts[i]);
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) return 1;
    }
    return 0;
}

/* A program that execs keeps its pid: the new image must not overwrite the
 * files the old one wrote, so numbering resumes after the highest seq found.
 * Asked by name, not by reading the directory: the default one collects
 * every process's files, and reading thousands of names at every process's
 * exit made short-lived processes slower the longer the directory grew.
 * Dumps are numbered without gaps, so the first unused seq is found by
 * doubling and halving; should a few after it be used (a dump that wrote
 * nothing), the directory is read after all. */
static unsigned first_free_seq(int pid) {
    int dirfd = hp_open_high(hp_cfg.out, O_RDONLY | O_DIRECTORY, 0);
    if (dirfd < 0) return 0;
    unsigned next = 0;
    if (seq_used(dirfd, pid, 0)) {
        unsigned used = 0, unused = 1;
        while (unused < (1u << 24) && seq_used(dirfd, pid, unused)) {
            used = unused;
            unused *= 2;
        }
        while (unused - used > 1) {
            unsigned mid = used + (unused - used) / 2;
            if (seq_used(dirfd, pid, mid))
                used = mid;
            else
                unused = mid;
        }
        next = unused;
        for (unsigned k = 1; k <= 4; k++)
            if (seq_used(dirfd, pid, next + k)) {
                next = scan_for_seq(dirfd, pid);
                break;
            }
    }
    close(dirfd);
    return next;
}

/* Whether the configured formats name functions. */
static int wants_names(void) {
    return hp_cfg.symbolize != HP_SYM_NONE &&
           (hp_cfg.formats & (HP_FMT_PPROF | HP_FMT_DHAT | HP_FMT_DHAT_ZST));
}

void hp_dump_load_libraries(void) {
    if (wants_names()) hp_dw_load();
    if (hp_cfg.formats & HP_FMT_DHAT_ZST) hp_zstd_load();
}

int hp_dump(const char *reason) {
    if (dumping_here) return -1;
    if (!reason || !*reason) reason = "api";
    dumping_here = 1;
    hp_internal_enter();
    /* libdw is dlopen'd before the dump lock is taken, never under it, and
     * only when a recorded stack may need it: in the default mode names come
     * from the ELF files, and libdw only reads DWARF that modules carry in
     * their own file (docs/internals.md, "Symbolization"). */
    int names = wants_names();
    int want_dw = 0;
    if (names && hp_stack_count() > 0) {
        /* hp_elf_own_dwarf_any walks the loader's list (dl_iterate_phdr)
         * outside the dump lock: hold fork off meanwhile, or a child forked
         * then finds the loader's lock held and hangs at its first capture */
        hp_stacks_hold_fork();
        want_dw = hp_cfg.symbolize == HP_SYM_FULL || hp_elf_own_dwarf_any();
        hp_stacks_release_fork();
    }
    if (want_dw) hp_dw_load();
    /* the same for libzstd; without it the .zst files are skipped (one message) */
    int zst = (hp_cfg.formats & HP_FMT_DHAT_ZST) && hp_zstd_load();
    pthread_mutex_lock(&dump_lock);
    /* After the exit dump, the process is ending: a dump started now (by the
     * background thread) could be cut off half-written. */
    if (shutting_down) {
        pthread_mutex_unlock(&dump_lock);
        hp_internal_leave();
        dumping_here = 0;
        return -1;
    }
    if (!strcmp(reason, "exit")) shutting_down = 1;

    static hp_dump_info d; /* guarded by dump_lock; too large for small thread stacks */
    memset(&d, 0, sizeof d);
    d.reason = reason;
    d.pid = (int)getpid();
    hp_output_dir_refresh();
    if (!seq_resumed) {
        next_seq = first_free_seq(d.pid);
        seq_resumed = 1;
    }
    d.seq = next_seq++;
    d.time_unix_ns = clock_ns(CLOCK_REALTIME);
    d.uptime_ns = hp_uptime_ns();
    d.rate = hp_sampler_rate();
    hp_counters_read(&d.process);
    hp_proc_rss(&d.rss_bytes, &d.peak_rss_bytes);
    hp_proc_cmdline(d.cmdline, sizeof d.cmdline);
    hp_profile_snapshot_take(&d.profile, d.uptime_ns);
    collect_tag_totals(&d);
    d.gpu = hp_gpu_snapshot_take(d.uptime_ns);
    if (names) { /* every new address at once, a pass over each module's symbols */
        hp_symbolize_begin();
        hp_symbolize_stacks(&d.profile);
        hp_symbolize_end();
    }

    int is_exit = strcmp(reason, "exit") == 0, rc = 0;
    if (hp_cfg.formats & HP_FMT_PPROF) rc |= write_format(&d, "pb.gz", hp_pprof_profile, is_exit);
    if (hp_cfg.formats & HP_FMT_DHAT) rc |= write_format(&d, "dhat.json", hp_dhat_json, is_exit);
    if (zst) rc |= write_format(&d, "dhat.json.zst", hp_dhat_json_zst, is_exit);
    if (d.gpu) { /* gpu/: GPU memory in files of its own (docs/gpu.md) */
        if (hp_cfg.formats & HP_FMT_PPROF)
            rc |= write_format(&d, "gpu.pb.gz", hp_gpu_pprof, is_exit);
        if (hp_cfg.formats & HP_FMT_DHAT)
            rc |= write_format(&d, "gpu.dhat.json", hp_gpu_dhat_json, is_exit);
        if (zst) rc |= write_format(&d, "gpu.dhat.json.zst", hp_gpu_dhat_json_zst, is_exit);
    }
    if (hp_cfg.formats & HP_FMT_STATS) rc |= write_format(&d, "stats.json", hp_stats_json, is_exit);
    if (hp_cfg.formats & HP_FMT_PROM) rc |= write_format(&d, "prom", hp_prom_text, is_exit);
    hp_debug("dump %u (%s) written to %s", d.seq, reason, hp_cfg.out);
    hp_profile_snapshot_free(&d.profile);
    hp_gpu_snapshot_free(d.gpu);
    hp_free(d.tag_alloc_bytes);
    hp_free(d.tag_alloc_objs);

    pthread_mutex_unlock(&dump_lock);
    hp_internal_leave();
    dumping_here = 0;
    return rc;
}

void hp_dump_lock(void) {
    pthread_mutex_lock(&dump_lock);
}
void hp_dump_unlock(void) {
    pthread_mutex_unlock(&dump_lock);
}

void hp_dump_after_fork_child(void) {
    pthread_mutex_init(&dump_lock, NULL);
    shutting_down = 0;
    seq_resumed = 0;
    next_seq = 0;
}

/* ---- for the Pyroscope export (heapprof/pyroscope.c) ---- */
int hp_dump_pprof_now(hp_buf *out, hp_dump_adjust_fn adjust, void *arg, uint64_t *time_unix_ns,
                      uint64_t *uptime_ns) {
    hp_internal_enter();
    pthread_mutex_lock(&dump_lock);
    static hp_dump_info d; /* guarded by dump_lock, like hp_dump's */
    memset(&d, 0, sizeof d);
    d.reason = "pyroscope";
    d.pid = (int)getpid();
    d.time_unix_ns = clock_ns(CLOCK_REALTIME);
    d.uptime_ns = hp_uptime_ns();
    d.rate = hp_sampler_rate();
    int rc = hp_profile_snapshot_take(&d.profile, d.uptime_ns);
    if (rc == 0 && adjust) rc = adjust(&d.profile, arg);
    if (rc == 0) hp_pprof_profile(out, &d);
    hp_profile_snapshot_free(&d.profile);
    pthread_mutex_unlock(&dump_lock);
    hp_internal_leave();
    *time_unix_ns = d.time_unix_ns;
    *uptime_ns = d.uptime_ns;
    return rc == 0 && !out->failed ? 0 : -1;
}
