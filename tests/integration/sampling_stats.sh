#!/usr/bin/env bash
# The sampler's statistics, on a workload with known truth
# (tests/programs/sampling_workload.c: tags small 16-64 B, medium 1-4 KiB,
# large 16-64 KiB, mixed 1-8 KiB through every C allocation function; 40% of
# phase 1 freed, 20% more allocated, some reallocs).
#
# Runs it as 100 processes with HEAPPROF_SEED=1..100 at HEAPPROF_RATE=16384
# (per run, each tag's live estimates have a relative SD of 2.5-4.5%; small
# blocks are far below the rate, medium ones 1/16-1/4 of it, large ones 1-4
# times it) and checks:
#   - every run: per-tag lifetime alloc bytes/objects exactly equal to truth
#     (heapprof_tag_stats and stats.json); process counters exact (the
#     workload's deltas, and stats.json at exit = the program's last
#     heapprof_stats); stats.json tag estimates = heapprof_tag_stats's;
#   - across runs, per tag, for live bytes and live objects: the mean estimate
#     within 2% of truth (the design keeps the mean's standard error at or
#     below 0.45%, checked: 2% is over 4 standard errors); the observed SD
#     across seeds within +-30% of the mean reported stderr (N = 100: the
#     sample SD itself is good to about 7%); the reported stderr matches the
#     variance sum((w-1)u^2) of the live blocks the program computes itself.
# The seeds are fixed, so the outcome is deterministic; the bounds are such
# that almost any other seed set would pass too.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program sampling_workload)
runs=${HP_SAMPLING_RUNS:-100}
rate=16384

start=$SECONDS
hp_seed_runs "$prog" "$rate" "$runs"
hp_note "$runs runs in $((SECONDS - start)) s"

"$PY" "$HP_ROOT/tests/integration/lib/sampling_check.py" stats "$HP_TMP/runs" "$rate"
echo "sampling_stats: ok ($((SECONDS - start)) s)"
