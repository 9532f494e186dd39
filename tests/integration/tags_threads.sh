#!/usr/bin/env bash
# Tags under threads (tests/programs/tags_threads.c): the API's edges
# (heapprof_tag_current through push/set/pop, pop on an empty stack -> -1,
# the 65th level -> -1, NULL/""/256-byte names -> -1, a new thread starts at
# "main", a new thread's first push counts its first block), then 8 threads,
# 1200 tags shared across threads, nesting up to 5 deep, cross-thread frees
# under other tags, in phases separated by barriers so each tag's peak is
# known.
#   HEAPPROF_RATE=1:    every tag's lifetime, live and peak bytes/objects
#                       exactly equal to truth, exact = 1, stderr 0;
#   HEAPPROF_RATE=4096: lifetime still exact;
# and in both, the exit dump's stats.json lists every tag with the numbers
# heapprof_tag_stats gave.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program tags_threads)

status=0
for rate in 1 4096; do
    d=$HP_TMP/rate$rate
    mkdir -p "$d"
    rc=0
    env LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$d/prof" HEAPPROF_FORMAT=stats HEAPPROF_RATE=$rate \
        HEAPPROF_SEED=7 "$prog" >"$d/stdout" 2>"$d/stderr" </dev/null || rc=$?
    echo "$rc" >"$d/rc"
    "$PY" "$HP_ROOT/tests/integration/lib/sampling_check.py" tags "$d" "$rate" || status=1
done
[[ $status -eq 0 ]] || hp_fail "tags_threads: see above"
echo "tags_threads: ok"
