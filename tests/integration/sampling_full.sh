#!/usr/bin/env bash
# Full mode (HEAPPROF_RATE=1): the workload of sampling_stats.sh
# (tests/programs/sampling_workload.c) must report every tag's live and peak
# bytes and objects exactly as the program counted them with
# malloc_usable_size, with exact = 1/true and standard errors 0, both through
# heapprof_tag_stats and in the stats.json written at exit; lifetime and
# process counters exact as in sampled mode.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program sampling_workload)

d=$HP_TMP/full
mkdir -p "$d"
rc=0
env LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$d/prof" HEAPPROF_FORMAT=stats HEAPPROF_RATE=1 \
    HEAPPROF_SEED=1 "$prog" >"$d/stdout" 2>"$d/stderr" </dev/null || rc=$?
echo "$rc" >"$d/rc"
"$PY" "$HP_ROOT/tests/integration/lib/sampling_check.py" full "$d"
echo "sampling_full: ok"
