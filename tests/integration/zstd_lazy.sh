#!/usr/bin/env bash
# libzstd is not linked into the preload library: it is dlopen'd by the first
# dump that writes a .zst file. A process that writes none never maps it; one
# that does writes a dhat.json.zst equal to its dhat.json; and when libzstd
# cannot be loaded (a preloaded shim makes dlopen("libzstd.so.1") fail) the
# dump still writes every other file, prints exactly one "heapprof: cannot
# load libzstd.so.1" line, and the program's output and status are unchanged.
source "$(dirname "$0")/lib/common.bash"
hp_need cc zstd

ldd "$HP_LIB" | grep -q libzstd && hp_fail "libheapprof.so links libzstd"

cat >maps.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    int zstd = 0;
    while (f && fgets(line, sizeof line, f)) zstd |= strstr(line, "libzstd") != NULL;
    if (f) fclose(f);
    free(malloc(100));
    puts(zstd ? "libzstd mapped" : "no libzstd");
    return 0;
}
C
cc -O1 -o maps maps.c
shim=$(hp_refuse_dlopen_shim)

[[ $(LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$HP_TMP/a" ./maps) == "no libzstd" ]] ||
    hp_fail "libzstd mapped at start-up"

LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$HP_TMP/b" HEAPPROF_RATE=1 HEAPPROF_FORMAT=dhat,dhat.zst ./maps >out.b 2>err.b
[[ $(cat out.b) == "no libzstd" && ! -s err.b ]] || hp_fail "with .zst: output '$(cat out.b)', stderr '$(cat err.b)'"
zst=$(ls "$HP_TMP"/b/heapprof.*.final.dhat.json.zst) || hp_fail "no dhat.json.zst written"
zstd -dc <"$zst" | cmp - "$HP_TMP"/b/heapprof.*.final.dhat.json || hp_fail "dhat.json.zst differs from dhat.json"
echo "ok: dhat.json.zst written and equal to dhat.json"

HP_REFUSE_DLOPEN=libzstd LD_PRELOAD="$shim $HP_LIB" HEAPPROF_OUT="$HP_TMP/c" HEAPPROF_RATE=1 \
    HEAPPROF_FORMAT=dhat,dhat.zst,stats ./maps >out.c 2>err.c
[[ $(cat out.c) == "no libzstd" ]] || hp_fail "without libzstd: output changed: $(cat out.c)"
[[ $(grep -c . err.c) == 1 ]] && grep -q '^heapprof: cannot load libzstd.so.1' err.c ||
    hp_fail "without libzstd: expected one message, got: $(cat err.c)"
ls "$HP_TMP"/c/heapprof.*.final.dhat.json "$HP_TMP"/c/heapprof.*.final.stats.json >/dev/null ||
    hp_fail "without libzstd: the other files are missing"
ls "$HP_TMP"/c/*.zst 2>/dev/null && hp_fail "without libzstd: a .zst file was written"
echo "ok: without libzstd, one message and the other files"
echo "zstd_lazy: ok"
