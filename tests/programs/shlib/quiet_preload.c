/*
 * A harmless library to preload next to libheapprof.so (built by
 * tests/integration/ld_preload.sh). It prints nothing; its constructor
 * allocates, and quiet_preload_marker() reports that the constructor ran.
 */
#include <stdlib.h>
#include <string.h>

static char *note;

__attribute__((constructor)) static void quiet_init(void) {
    note = malloc(64);
    if (note) strcpy(note, "quiet-preload-ready");
}

__attribute__((destructor)) static void quiet_fini(void) { free(note); }

int quiet_preload_marker(void) { return note && !strcmp(note, "quiet-preload-ready") ? 42 : -1; }
