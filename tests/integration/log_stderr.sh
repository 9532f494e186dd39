#!/usr/bin/env bash
# heapprof's diagnostics never land in a file the program opened on
# descriptor 2 because it was started with stderr closed, or closed it
# itself (tests/programs/stderr_reuse.c, run with 2>&- or `close`): with an
# unwritable HEAPPROF_OUT the exit dump's "cannot create the profile
# directory" line used to be appended to the program's data file. With
# stderr open the same line still reaches it. (At HEAPPROF_LOG=debug lines
# follow a stderr the program redirects: symbolize_cache.sh reads them.)
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program stderr_reuse)
bad=$HP_TMP/not-a-dir
touch "$bad"

for rate in 1 0; do
    data=$HP_TMP/data.$rate
    LD_PRELOAD="$HP_LIB" HEAPPROF_OUT=$bad/x HEAPPROF_RATE=$rate HEAPPROF_LOG=debug "$prog" "$data" 2>&- ||
        hp_fail "exit status $?"
    got=$(cat "$data")
    hp_note "rate $rate: data file: $got"
    [[ $got == "program data" ]] || hp_fail "rate $rate: the program's data file holds '$got'"
    data=$HP_TMP/data-closed.$rate
    err=$(LD_PRELOAD="$HP_LIB" HEAPPROF_OUT=$bad/x HEAPPROF_RATE=$rate \
        "$prog" "$data" close 2>&1) || hp_fail "closing stderr itself: exit status $?"
    got=$(cat "$data")
    hp_note "rate $rate, stderr closed by the program: data file: $got; stderr: $err"
    [[ $got == "program data" ]] ||
        hp_fail "rate $rate: stderr closed by the program: its data file holds '$got'"
done
# an open stderr still gets the line
err=$(LD_PRELOAD="$HP_LIB" HEAPPROF_OUT=$bad/x "$PY" -c pass 2>&1 >/dev/null)
hp_note "stderr: $err"
[[ $err == *"cannot create the profile directory"* ]] || hp_fail "diagnostic missing from stderr: '$err'"
echo "log_stderr: ok"
