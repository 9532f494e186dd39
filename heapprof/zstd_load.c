#define _GNU_SOURCE
#include "zstd_load.h"
#include "lazy_lib.h"

#include <dlfcn.h>

static hp_zstd table;

static const char *resolve(void *h) {
    if (!(table.compress_bound = (size_t(*)(size_t))dlsym(h, "ZSTD_compressBound")))
        return "ZSTD_compressBound";
    if (!(table.compress =
              (size_t(*)(void *, size_t, const void *, size_t, int))dlsym(h, "ZSTD_compress")))
        return "ZSTD_compress";
    if (!(table.is_error = (unsigned (*)(size_t))dlsym(h, "ZSTD_isError"))) return "ZSTD_isError";
    return NULL;
}

/* A dump that finds another thread loading goes without its .zst file. */
static hp_lazy_lib lib = {"libzstd.so.1", resolve,
                          ".zst files are skipped (install libzstd1, or use the dhat format)", 0};

const hp_zstd *hp_zstd_load(void) {
    return hp_lazy_lib_load(&lib) ? &table : NULL;
}

const hp_zstd *hp_zstd_loaded(void) {
    return hp_lazy_lib_loaded(&lib) ? &table : NULL;
}
