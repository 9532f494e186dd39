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

hp_seed_runs "$prog" "$rate" "$runs"
"$PY" "$HP_ROOT/tests/integration/lib/sampling_check.py" poll "$HP_TMP/runs" "$rate"
echo "sampling_poll: ok"
