#!/usr/bin/env bash
# dl_iterate_phdr callbacks that allocate, in two threads, while two others
# dlopen/dlclose a library and allocate from it, so the stack walker keeps
# looking modules up (tests/programs/phdr_alloc.c). The walker must not hold
# its own lock across dl_iterate_phdr: glibc's loader lock and ours taken in
# both orders hung every run before. Full mode, 4 s, within a 60 s timeout.
source "$(dirname "$0")/lib/common.bash"
hp_need cc
prog=$(hp_program phdr_alloc)
cat >lib.c <<'C'
#include <stdlib.h>
#include <string.h>
char *phdr_alloc_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}
C
cc -shared -fPIC -O1 -o lib.so lib.c
want=$("$prog" "$PWD/lib.so" 0.5)
for rate in 1 4096; do
    got=$(timeout 60 env LD_PRELOAD="$HP_LIB" HEAPPROF_RATE=$rate HEAPPROF_OUT="$HP_TMP/out" \
        "$prog" "$PWD/lib.so" 4) || hp_fail "HEAPPROF_RATE=$rate: exit status $? (124 = hung)"
    [[ $got == "$want" ]] || hp_fail "HEAPPROF_RATE=$rate: output '$got', want '$want'"
    echo "ok: HEAPPROF_RATE=$rate"
done
echo "phdr_alloc: ok"
