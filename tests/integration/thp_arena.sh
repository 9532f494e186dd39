#!/usr/bin/env bash
# With HEAPPROF_THP_ARENA=auto heapprof gives mimalloc a transparent-huge-page
# arena once a program has asked for 8 blocks of 4 MiB or more
# (alloc/mi_tuning.c), so repeated large blocks are not paid again in page
# faults; by default (0) never. tests/programs/thp_arena.c allocates COUNT blocks of SIZE and says
# whether the process has the arena (a 1 GiB mapping marked "hg" in smaps).
# In auto mode the arena must appear at the 8th large request and not before,
# never for smaller blocks, never under an RLIMIT_AS (a program lowering it
# must still see its allocations fail), never when the user set
# MIMALLOC_RESERVE_OS_MEMORY; by default and with 0 never; 1 adds it at start.
# Skipped checks are reported, not passed: without THP (enabled = never) the
# arena must never appear.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program thp_arena)

thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo "[never]")
if [[ $thp == *"[never]"* ]]; then want_arena="no arena"; hp_note "THP disabled here: checking that the arena never appears"
else want_arena="arena"; fi

check() { # EXPECTED ENV... -- ARGS...
    local want=$1 env=() got
    shift
    while [[ $1 != -- ]]; do env+=("$1"); shift; done
    shift
    got=$(env LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$HP_TMP/out" "${env[@]}" "$prog" "$@")
    [[ $got == "$want" ]] || hp_fail "${env[*]} thp_arena $*: got '$got', want '$want'"
    echo "ok: ${env[*]} thp_arena $* -> $got"
}

[[ $("$prog" 8 5000000) == "no arena" ]] || hp_fail "the arena is there without heapprof"
check "no arena" -- 8 5000000
check "no arena" HEAPPROF_THP_ARENA=0 -- 8 5000000
A=HEAPPROF_THP_ARENA=auto
check "$want_arena" $A -- 8 5000000
check "$want_arena" $A -- 9 4194304
check "no arena" $A -- 7 5000000
check "no arena" $A -- 40 4194303
check "no arena" $A -- 8 5000000 limit
check "no arena" $A MIMALLOC_RESERVE_OS_MEMORY=0 -- 8 5000000
check "$want_arena" HEAPPROF_THP_ARENA=1 -- 0 16
echo "thp_arena: ok"
