#define _GNU_SOURCE
#include "output.h"
#include "config.h"
#include "fd_high.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir) {
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) return -1;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(path, 0700) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) && errno != EEXIST) return -1;
    struct stat st;
    if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

void hp_output_dir_refresh(void) {
    if (!hp_cfg.out_default) return;
    char dir[sizeof hp_cfg.out + 32];
    int n = snprintf(dir, sizeof dir, "%s/heapprof-%u", hp_cfg.out_base, (unsigned)geteuid());
    if (n > 0 && (size_t)n < sizeof hp_cfg.out) memcpy(hp_cfg.out, dir, (size_t)n + 1);
}

/* The default directory sits in a directory everyone can write to (/tmp):
 * anyone may have made it first. Only one of our own, not a symlink, that
 * no one else can write to, is used. */
static int default_dir_is_ours(const char *dir) {
    struct stat st;
    if (lstat(dir, &st) || !S_ISDIR(st.st_mode)) return 0;
    return st.st_uid == geteuid() && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* The dump whose files are being written, so that its failures make one
 * line, not one per format. */
static int current_pid = -1, reported_pid = -1;
static unsigned current_seq, reported_seq;

static int already_reported(void) {
    if (reported_pid == current_pid && reported_seq == current_seq) return 1;
    reported_pid = current_pid;
    reported_seq = current_seq;
    return 0;
}

int hp_output_path(char *path, size_t cap, int pid, unsigned seq, const char *ext) {
    current_pid = pid;
    current_seq = seq;
    int n = snprintf(path, cap, "%s/heapprof.%d.%u.%s", hp_cfg.out, pid, seq, ext);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int hp_output_write(const char *path, const void *data, size_t len) {
    if (make_dirs(hp_cfg.out)) {
        if (!already_reported())
            hp_info("cannot create the profile directory %s (%s); set HEAPPROF_OUT to a writable "
                    "directory",
                    hp_cfg.out, strerror(errno));
        return -1;
    }
    if (hp_cfg.out_default && !default_dir_is_ours(hp_cfg.out)) {
        if (!already_reported())
            hp_info("not writing to %s: another user owns it or can write to it; set HEAPPROF_OUT "
                    "to a directory of your own",
                    hp_cfg.out);
        return -1;
    }
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    /* A new file, never one found under that name: the directory may be
     * another user's (the default one in /tmp can be created by anyone),
     * who could have put a symlink or a hard link to one of our files
     * there. Whatever is there (or a crashed earlier process's file with
     * this pid) is removed first; one planted after that makes open fail. */
    unlink(tmp);
    int fd = hp_open_high(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) goto fail;
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            int saved = errno;
            close(fd);
            errno = saved;
            goto fail_unlink;
        }
        p += w;
        left -= (size_t)w;
    }
    /* No fsync: rename alone means no reader, and no later dump, ever sees
     * half a file, and each dump writes new names, so a crash cannot cost an
     * earlier profile. An fsync per file made every process exit wait for
     * the disk (0.3 ms each here, far more on a busy disk); close still
     * reports the errors a network filesystem defers. */
    if (close(fd)) goto fail_unlink;
    if (rename(tmp, path)) goto fail_unlink;
    return 0;

fail_unlink : {
    int saved = errno;
    unlink(tmp);
    errno = saved;
}
fail:
    if (!already_reported())
        hp_info("cannot write %s (%s); earlier profiles are kept", path, strerror(errno));
    return -1;
}

void hp_output_link_final(int pid, unsigned seq, const char *ext) {
    char link[PATH_MAX + 64], target[128], tmp[PATH_MAX + 96];
    int n = snprintf(link, sizeof link, "%s/heapprof.%d.final.%s", hp_cfg.out, pid, ext);
    if (n < 0 || (size_t)n >= sizeof link) return;
    snprintf(target, sizeof target, "heapprof.%d.%u.%s", pid, seq, ext);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", link, pid);
    unlink(tmp);
    if (symlink(target, tmp) || rename(tmp, link)) {
        hp_info("cannot link %s (%s)", link, strerror(errno));
        unlink(tmp);
    }
}
