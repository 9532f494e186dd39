#!/usr/bin/env bash
# LD_PRELOAD composition: with another (harmless) library already in
# LD_PRELOAD, `heapprof run` puts libheapprof.so first and the other library is
# still loaded (its constructor ran, it shows in /proc/self/maps), malloc
# resolves to heapprof; programs behave as without heapprof.
source "$(dirname "$0")/lib/common.bash"
hp_need cc
order=$(hp_program preload_order)
quiet=$HP_TMP/libquiet_preload.so
cc -shared -fPIC -O1 -g -Wall -Wextra -Werror -o "$quiet" "$HP_ROOT/tests/programs/shlib/quiet_preload.c" ||
    hp_fail "cannot build $quiet"
lib=$(realpath "$HP_LIB")

expect_line() { # file, exact line, what
    grep -qxF "$2" "$1" || { cat "$1" >&2; hp_fail "$3: no line '$2' in the output above"; }
}

# 1. from inside the program: LD_PRELOAD, link-map order, symbol owners
LD_PRELOAD=$quiet "$HP_CLI" run -q --out "$HP_TMP/p1" -- "$order" >"$HP_TMP/order.out"
cat "$HP_TMP/order.out" >&2
expect_line "$HP_TMP/order.out" "LD_PRELOAD=$lib:$quiet" "LD_PRELOAD as the program sees it"
expect_line "$HP_TMP/order.out" "object 0: libheapprof.so" "heapprof's library loaded first"
expect_line "$HP_TMP/order.out" "object 1: libquiet_preload.so" "the other preload loaded right after it"
expect_line "$HP_TMP/order.out" "malloc from: libheapprof.so" "malloc resolution"
expect_line "$HP_TMP/order.out" "free from: libheapprof.so" "free resolution"
expect_line "$HP_TMP/order.out" "quiet marker: 42" "the other preload's constructor"
hp_check_stats "$HP_TMP/p1" "$order" >/dev/null

# 2. /proc/self/maps of a program run that way maps both libraries
LD_PRELOAD=$quiet "$HP_CLI" run -q --out "$HP_TMP/p2" -- cat /proc/self/maps >"$HP_TMP/maps"
grep -qF "$lib" "$HP_TMP/maps" || { cat "$HP_TMP/maps" >&2; hp_fail "libheapprof.so not in /proc/self/maps"; }
grep -qF "$quiet" "$HP_TMP/maps" || { cat "$HP_TMP/maps" >&2; hp_fail "the other preload not in /proc/self/maps"; }
# and the children of a shell get both as well
LD_PRELOAD=$quiet "$HP_CLI" run -q --out "$HP_TMP/p2" -- sh -c 'cat /proc/self/maps' >"$HP_TMP/maps2"
grep -qF "$lib" "$HP_TMP/maps2" && grep -qF "$quiet" "$HP_TMP/maps2" ||
    hp_fail "a child of the profiled shell lost one of the preloaded libraries"

# 3. an empty or several-entry LD_PRELOAD
LD_PRELOAD= "$HP_CLI" run -q --out "$HP_TMP/p3" -- "$order" >"$HP_TMP/order3.out"
expect_line "$HP_TMP/order3.out" "LD_PRELOAD=$lib" "with LD_PRELOAD empty"
expect_line "$HP_TMP/order3.out" "quiet marker: 0" "with LD_PRELOAD empty"
cp "$quiet" "$HP_TMP/libquiet2.so"
LD_PRELOAD="$quiet $HP_TMP/libquiet2.so" "$HP_CLI" run -q --out "$HP_TMP/p3" -- "$order" >"$HP_TMP/order4.out"
expect_line "$HP_TMP/order4.out" "object 0: libheapprof.so" "with two libraries already preloaded"
expect_line "$HP_TMP/order4.out" "object 1: libquiet_preload.so" "with two libraries already preloaded"
expect_line "$HP_TMP/order4.out" "object 2: libquiet2.so" "with two libraries already preloaded"

# 4. with the other library preloaded in both runs, programs behave the same
cxx=$(hp_program cxx_all_new_delete)
seq 1 50000 | sed 's/$/ line/' >"$HP_TMP/lines.txt"
workload() {
    export LD_PRELOAD=$quiet
    hp_run "$cxx"
    hp_run sort -r -k1,1n "$HP_TMP/lines.txt" | sha256sum
    hp_run sh -c 'echo from sh; ls /nonexistent-dir; exit 3' || true
}
hp_compare ld_preload workload
hp_check_stats "$HP_PROF" "$cxx" "sort -r -k1,1n $HP_TMP/lines.txt" >/dev/null
echo "ld_preload: ok"
