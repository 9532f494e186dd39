#!/usr/bin/env bash
# dlopen is interposed (heapprof/dlopen_interpose.c) to drop RTLD_DEEPBIND:
# a library opened with it binds free and malloc to glibc's and would free
# the preloaded allocator's blocks with glibc's free (PHP opens every
# extension so; it crashed at start-up). Checks:
#   - a library opened with RTLD_DEEPBIND frees a block the program
#     allocated, and the program frees one the library allocated: no crash,
#     same output as without heapprof;
#   - the interposer passes the caller through: a library found only through
#     the program's RUNPATH ($ORIGIN/lib) still loads (glibc looks the
#     caller up from the return address, kept by a tail call);
#   - php (tests/integration/deps.txt) runs.
source "$(dirname "$0")/lib/common.bash"
hp_need cc
mkdir -p lib
cat >lib/libdeep.c <<'C'
#include <stdlib.h>
#include <string.h>
void deep_release(void *p) { free(p); }
char *deep_make(void) { char *p = malloc(32); if (p) strcpy(p, "from the library"); return p; }
C
cc -shared -fPIC -O1 -o lib/libdeep.so lib/libdeep.c
cat >prog.c <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    int mode = RTLD_NOW | (argc > 1 && !strcmp(argv[1], "deep") ? RTLD_DEEPBIND : 0);
    void *h = dlopen("libdeep.so", mode); /* found through RUNPATH=$ORIGIN/lib */
    if (!h) { printf("dlopen failed: %s\n", dlerror()); return 1; }
    void (*release)(void *) = (void (*)(void *))dlsym(h, "deep_release");
    char *(*make)(void) = (char *(*)(void))dlsym(h, "deep_make");
    for (int i = 0; i < 1000; i++) {
        char *mine = malloc(100 + i);
        strcpy(mine, "from the program");
        release(mine);
        char *theirs = make();
        if (i == 999) printf("%s\n", theirs);
        free(theirs);
    }
    dlclose(h);
    puts("ok");
    return 0;
}
C
cc -O1 -o prog prog.c -ldl -Wl,--enable-new-dtags,-rpath,'$ORIGIN/lib'
for mode in plain deep; do
    want=$(./prog $mode 2>&1) || hp_fail "$mode: fails without heapprof: $want"
    for rate in 0 1 524288; do
        got=$(LD_PRELOAD="$HP_LIB" HEAPPROF_RATE=$rate HEAPPROF_OUT="$HP_TMP/out" ./prog $mode 2>&1) ||
            hp_fail "$mode, HEAPPROF_RATE=$rate: exit status $?: $got"
        [[ $got == "$want" ]] || hp_fail "$mode, HEAPPROF_RATE=$rate: '$got', want '$want'"
    done
    echo "ok: $mode"
done
hp_need php
want=$(php -r 'echo json_encode([1, 2, 3]), PHP_EOL;' 2>&1)
got=$(LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$HP_TMP/out" php -r 'echo json_encode([1, 2, 3]), PHP_EOL;' 2>&1) ||
    hp_fail "php: exit status $?: $got"
[[ $got == "$want" ]] || hp_fail "php: '$got', want '$want'"
echo "ok: php"
echo "dlopen_flags: ok"
