#define _GNU_SOURCE
#include "exec_env.h"
#include "log.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* True when the LD_PRELOAD entry names this library. */
static int is_us(const char *entry, size_t len, const char *self) {
    char path[PATH_MAX], real[PATH_MAX];
    if (len == 0 || len >= sizeof path) return 0;
    memcpy(path, entry, len);
    path[len] = 0;
    if (realpath(path, real) && !strcmp(real, self)) return 1;
    const char *base = strrchr(path, '/');
    return !strcmp(base ? base + 1 : path, "libheapprof.so");
}

void hp_exec_env_drop_preload(void) {
    const char *preload = getenv("LD_PRELOAD");
    if (!preload) return;
    Dl_info info;
    char self[PATH_MAX] = "";
    if (!dladdr((void *)hp_exec_env_drop_preload, &info) || !realpath(info.dli_fname, self))
        self[0] = 0;
    char kept[8192];
    size_t used = 0;
    for (const char *p = preload; *p;) {
        size_t n = strcspn(p, ": ");
        if (n && !is_us(p, n, self) && used + n + 2 < sizeof kept) {
            if (used) kept[used++] = ':';
            memcpy(kept + used, p, n);
            used += n;
        }
        p += n;
        while (*p == ':' || *p == ' ') p++;
    }
    kept[used] = 0;
    if (used) setenv("LD_PRELOAD", kept, 1);
    else unsetenv("LD_PRELOAD");
    hp_debug("HEAPPROF_FOLLOW_EXEC=0: LD_PRELOAD is now \"%s\"", kept);
}
