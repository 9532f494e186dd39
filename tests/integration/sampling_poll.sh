#!/usr/bin/env bash
# Reading the counters must not change what is sampled:
# tests/programs/sampling_poll.c allocates 20000 live blocks of 1000 bytes
# under each of three tags - with nothing in between, with heapprof_stats()
# after every allocation, with heapprof_tag_stats() after every allocation -
# after a first heapprof_stats() before any allocation. 20 processes with
# HEAPPROF_SEED=1..20 at HEAPPROF_RATE=16384: each tag's mean live-bytes
# estimate must be within 3% of truth (standard error of the mean 0.6%), and
# lifetime counters exact.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program sampling_poll)
runs=20
rate=16384

one_run() { # seed
    local d=$HP_TMP/runs/$1 rc=0
    mkdir -p "$d"
    env LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$d/prof" HEAPPROF_FORMAT=stats HEAPPROF_RATE=$rate \
        HEAPPROF_SEED="$1" "$prog" >"$d/stdout" 2>"$d/stderr" </dev/null || rc=$?
    echo "$rc" >"$d/rc"
}

jobs_max=$(($(nproc) * 2))
for seed in $(seq 1 "$runs"); do
    one_run "$seed" &
    while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
done
wait
"$PY" "$HP_ROOT/tests/integration/lib/sampling_check.py" poll "$HP_TMP/runs" "$rate"
echo "sampling_poll: ok"
