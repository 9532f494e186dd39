#define _GNU_SOURCE
#include "fd_high.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Numbers below the top kept for the profiler's descriptors. */
#define ROOM 64
#define TRIES 4

static int same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

long hp_fd_top(void) {
    struct rlimit rl;
    long top = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (long)rl.rlim_cur < top)
        top = (long)rl.rlim_cur;
    return top;
}

static int move_high(int fd, const char *path, int nofollow) {
    long top = hp_fd_top(), floor = top - ROOM;
    if (fd < 0 || floor <= fd) return fd;
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, (int)floor);
    if (hi >= top - HP_FD_PIPE_SLOTS) { /* into libunwind's numbers: stay low */
        close(hi);
        return fd;
    }
    if (hi < 0 && errno != EBADF) return fd; /* no room up there */
    /* Is the file at hi the one opened? (EBADF: the program closed ours.) */
    struct stat at_hi, named;
    if (hi >= 0 && fstat(hi, &at_hi) == 0 &&
        (nofollow ? lstat(path, &named) : stat(path, &named)) == 0 && same_file(&at_hi, &named)) {
        struct stat at_fd;
        if (fstat(fd, &at_fd) == 0 && same_file(&at_fd, &at_hi)) close(fd);
        return hi;
    }
    if (hi >= 0) close(hi); /* the program's file: not ours to use, nor fd to close */
    errno = EBADF;
    return -1;
}

int hp_fd_high(int fd, const char *path) {
    return move_high(fd, path, 0);
}

int hp_open_high(const char *path, int flags, mode_t mode) {
    flags |= O_CLOEXEC;
    for (int attempt = 1;; attempt++) {
        int fd = open(path, flags, mode);
        if (fd < 0) return fd;
        int hi = move_high(fd, path, flags & O_NOFOLLOW);
        if (hi >= 0 || attempt == TRIES) return hi;
        /* O_EXCL: the name exists now (ours, created a moment ago) */
        if (flags & O_EXCL) unlink(path);
    }
}
