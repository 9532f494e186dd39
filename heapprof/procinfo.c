#define _GNU_SOURCE
#include "procinfo.h"
#include "fd_high.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t read_small(const char *path, char *buf, size_t cap) {
    int fd = hp_open_high(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return 0;
    size_t len = 0;
    ssize_t n;
    while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = 0;
    return len;
}

static uint64_t status_kib(const char *text, const char *field) {
    const char *p = strstr(text, field);
    return p ? strtoull(p + strlen(field), NULL, 10) * 1024 : 0;
}

void hp_proc_rss(uint64_t *rss, uint64_t *peak_rss) {
    char text[4096];
    *rss = *peak_rss = 0;
    if (!read_small("/proc/self/status", text, sizeof text)) return;
    *rss = status_kib(text, "\nVmRSS:");
    *peak_rss = status_kib(text, "\nVmHWM:");
}

void hp_proc_cmdline(char *out, size_t cap) {
    size_t n = read_small("/proc/self/cmdline", out, cap);
    while (n > 0 && out[n - 1] == 0)
        n--;
    for (size_t i = 0; i < n; i++)
        if (out[i] == 0) out[i] = ' ';
    out[n] = 0;
}
