#define _GNU_SOURCE
#include "pyroscope_curl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The soname of libcurl's current ABI (Debian: libcurl4, OpenSSL flavour). */
#define LIBCURL "libcurl.so.4"

int hp_curl_load(hp_curl_api *api, char *err, size_t cap) {
    /* Never unloaded: the handle lives for the process. */
    void *lib = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(err, cap, "%s", why ? why : LIBCURL " not found");
        return -1;
    }
    static const struct {
        const char *name;
        size_t offset;
    } syms[] = {
        {"curl_global_init", offsetof(hp_curl_api, global_init)},
        {"curl_easy_init", offsetof(hp_curl_api, easy_init)},
        {"curl_easy_setopt", offsetof(hp_curl_api, easy_setopt)},
        {"curl_easy_perform", offsetof(hp_curl_api, easy_perform)},
        {"curl_easy_getinfo", offsetof(hp_curl_api, easy_getinfo)},
        {"curl_easy_reset", offsetof(hp_curl_api, easy_reset)},
        {"curl_easy_cleanup", offsetof(hp_curl_api, easy_cleanup)},
        {"curl_easy_strerror", offsetof(hp_curl_api, easy_strerror)},
        {"curl_slist_append", offsetof(hp_curl_api, slist_append)},
        {"curl_slist_free_all", offsetof(hp_curl_api, slist_free_all)},
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        void *fn = dlsym(lib, syms[i].name);
        if (!fn) {
            snprintf(err, cap, LIBCURL " has no %s (too old a libcurl?)", syms[i].name);
            return -1;
        }
        /* POSIX guarantees object and function pointers convert this way */
        memcpy((char *)api + syms[i].offset, &fn, sizeof fn);
    }
    return 0;
}
