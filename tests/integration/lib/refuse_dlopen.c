/* Preloaded before heapprof by tests: dlopen as it is, except that a file
 * whose name contains $HP_REFUSE_DLOPEN cannot be found. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

void *dlopen(const char *file, int mode) {
    static void *(*real)(const char *, int);
    if (!real) real = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    const char *refuse = getenv("HP_REFUSE_DLOPEN");
    if (file && refuse && *refuse && strstr(file, refuse)) return NULL;
    return real(file, mode);
}
