#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

const char *fmt_bytes(char *buf, size_t cap, double bytes) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double v = bytes < 0 ? -bytes : bytes;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    const char *sign = bytes < 0 ? "-" : "";
    if (u == 0) snprintf(buf, cap, "%s%.0f B", sign, v);
    else snprintf(buf, cap, "%s%.*f %s", sign, v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
    return buf;
}

const char *fmt_count(char *buf, size_t cap, uint64_t n) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < cap; i++) {
        if (i > 0 && (len - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
    return buf;
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("heapprof: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int parse_size(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    while (*end == ' ') end++;
    static const struct {
        const char *suffix;
        double scale;
    } units[] = {{"", 1},          {"B", 1},          {"K", 1024},       {"KB", 1024},
                 {"KiB", 1024},    {"M", 1048576},    {"MB", 1048576},   {"MiB", 1048576},
                 {"G", 1073741824}, {"GB", 1073741824}, {"GiB", 1073741824}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(end, units[i].suffix)) {
            *out = v * units[i].scale;
            return 0;
        }
    return -1;
}
