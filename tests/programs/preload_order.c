/*
 * preload_order: prints what the dynamic loader made of LD_PRELOAD, from the
 * inside: LD_PRELOAD as seen, the loaded objects in link-map order (the
 * preloaded ones come right after the program), which object malloc and free
 * resolve to, and quiet_preload_marker() if some object defines it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    int *n = data;
    const char *name = info->dlpi_name;
    if (!name || !*name || strstr(name, "linux-vdso")) return 0; /* the program, the vDSO */
    const char *base = strrchr(name, '/');
    printf("object %d: %s\n", (*n)++, base ? base + 1 : name);
    return 0;
}

static const char *owner(const char *sym) {
    void *p = dlsym(RTLD_DEFAULT, sym);
    Dl_info info;
    if (!p || !dladdr(p, &info) || !info.dli_fname) return "(unknown)";
    const char *base = strrchr(info.dli_fname, '/');
    return base ? base + 1 : info.dli_fname;
}

int main(void) {
    const char *pre = getenv("LD_PRELOAD");
    printf("LD_PRELOAD=%s\n", pre ? pre : "(unset)");
    int n = 0;
    dl_iterate_phdr(print_object, &n);
    printf("malloc from: %s\n", owner("malloc"));
    printf("free from: %s\n", owner("free"));
    int (*marker)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "quiet_preload_marker");
    printf("quiet marker: %d\n", marker ? marker() : 0);
    char *p = malloc(100);
    free(p);
    return 0;
}
