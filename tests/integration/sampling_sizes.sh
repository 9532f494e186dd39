#!/usr/bin/env bash
# No size bias: tests/programs/sampling_sizes.c requests the same 144 MiB in
# blocks of 8 B, 100 B, 10 KiB and 1 MiB (a tag per size class; every 8th
# block kept live, the rest freed at once), at the default rate of 512 KiB,
# as 64 processes with HEAPPROF_SEED=1..64. Per class:
#   - lifetime alloc bytes/objects exact in every run (heapprof_tag_stats and
#     stats.json);
#   - the estimate of everything allocated (stats.json live + freed: every
#     sampled block with its weight) has a mean within 3% of truth, bytes and
#     objects; the design keeps the mean's standard error at or below 0.75%
#     (checked), so 3% is four standard errors even for the 8-byte class,
#     where one sample stands for 65536 blocks;
#   - the live estimate (heapprof_tag_stats) has a mean within 3% of truth, or
#     four of its standard errors where the live eighth is too small for 3%.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program sampling_sizes)
runs=${HP_SAMPLING_RUNS:-64}
rate=524288

start=$SECONDS
hp_seed_runs "$prog" "$rate" "$runs"
hp_note "$runs runs in $((SECONDS - start)) s"

"$PY" "$HP_ROOT/tests/integration/lib/sampling_check.py" sizes "$HP_TMP/runs" "$rate"
echo "sampling_sizes: ok ($((SECONDS - start)) s)"
