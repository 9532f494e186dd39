#!/usr/bin/env bash
# tests/programs/dlopen_close.c under `heapprof run`: 300 rounds of dlopen /
# dlclose of a library whose constructor and destructor allocate and free,
# dynamic TLS, and memory from the library freed after dlclose. Output and
# exit status match a plain run (exit 0).
source "$(dirname "$0")/lib/common.bash"
hp_need cc
prog=$(hp_program dlopen_close)
lib=$HP_TMP/libdlopen_close_lib.so
cc -shared -fPIC -O1 -g -Wall -Wextra -Werror -o "$lib" "$HP_ROOT/tests/programs/shlib/dlopen_close_lib.c" ||
    hp_fail "cannot build $lib"

workload() {
    hp_run "$prog" "$lib" 300
    hp_run "$prog" "$HP_TMP/no-such-lib.so" 1 || true # dlopen error path: message, exit 1
}
hp_compare dlopen_close workload
grep -q '^rounds 300 errors 0 ' "$HP_TMP/dlopen_close.hp.out" || hp_fail "dlopen/dlclose rounds failed under heapprof"
grep -q "^$prog $lib 300 => 0\$" "$HP_TMP/status.hp" || hp_fail "dlopen_close did not exit 0 under heapprof"
grep -q 'no-such-lib.so' "$HP_TMP/dlopen_close.plain.err" || hp_fail "expected the dlopen error on stderr"
hp_check_stats "$HP_PROF" "$prog $lib 300" >/dev/null
echo "dlopen_close: ok"
