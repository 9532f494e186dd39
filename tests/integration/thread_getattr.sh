#!/usr/bin/env bash
# A thread whose first allocation happens inside pthread_getattr_np (glibc
# holds the thread's lock there; the JVM does this on every new thread) must
# not hang in full mode, where that allocation is sampled and its stack
# taken, nor at the default rate. tests/programs/getattr_first.c; output and
# exit status must be those of a plain run, within a 60 s timeout.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program getattr_first)
want=$("$prog")
for rate in 1 4096 524288; do
    got=$(timeout 60 env LD_PRELOAD="$HP_LIB" HEAPPROF_RATE=$rate HEAPPROF_OUT="$HP_TMP/out" "$prog") ||
        hp_fail "HEAPPROF_RATE=$rate: exit status $? (124 = hung)"
    [[ $got == "$want" ]] || hp_fail "HEAPPROF_RATE=$rate: output differs: '$got' vs '$want'"
    echo "ok: HEAPPROF_RATE=$rate"
done
echo "thread_getattr: ok"
