#define _GNU_SOURCE
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int output_write(const char *path, const void *data, size_t len) {
    if (!strcmp(path, "-")) return write_all(STDOUT_FILENO, data, len);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, data, len) || fsync(fd) || close(fd) || rename(tmp, path)) {
        int saved = errno;
        if (fd >= 0) unlink(tmp);
        fprintf(stderr, "heapprof: cannot write %s: %s\n", path, strerror(saved));
        return -1;
    }
    return 0;
}
