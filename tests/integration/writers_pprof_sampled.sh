#!/usr/bin/env bash
# Profile writers at a sampled rate (HEAPPROF_RATE=65536, fixed seed) on
# tests/programs/writers_workload.c at SCALE 250 (~1.8 GB allocated, <100 MB
# kept): go tool pprof and pprof-format accept the profile; per-function
# totals from pprof's own -top output are within 5% of the truth where the
# workload makes 5% a >= 4-sigma bound (bytes of wl_churn, wl_calloc,
# wl_keep_big), and within 4 sigma (sigma from the workload's own variance
# columns) elsewhere; the DHAT estimates likewise; period = 65536.
source "$(dirname "$0")/lib/common.bash"
hp_need go node
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
prog=$(hp_program writers_workload)
out=$HP_TMP/out
rate=65536

LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$out HEAPPROF_RATE=$rate HEAPPROF_SEED=1 HEAPPROF_FORMAT=pprof,dhat \
    "$prog" 250 $rate >truth.txt 2>err.txt || hp_fail "writers_workload failed: $(cat err.txt)"
[[ ! -s err.txt ]] || hp_fail "unexpected stderr from the preloaded workload: $(cat err.txt)"
grep -q '^done$' truth.txt || hp_fail "writers_workload did not finish: $(cat truth.txt)"
cat truth.txt >&2
shopt -s nullglob
finals=("$out"/heapprof.*.final.pb.gz)
[[ ${#finals[@]} -eq 1 ]] || hp_fail "want one final pprof file in $out, have: $(ls "$out")"
pprof=${finals[0]}
dhat=${pprof%.pb.gz}.dhat.json

"${W[@]}" pprof-accept --labels tag,trace_id,bytes "$pprof"
HOME=$HP_TMP GOCACHE=$HP_TMP/gocache go tool pprof -symbolize=none -raw "$pprof" >raw.txt 2>&1 ||
    hp_fail "go tool pprof -raw failed: $(tail -5 raw.txt)"
grep -q "^Period: $rate\$" raw.txt || hp_fail "pprof period is not $rate: $(grep -m1 Period raw.txt)"

bad=0
"${W[@]}" pprof-truth --sampled --tolerance 0.05 --truth truth.txt --pprof "$pprof" \
    --tight wl_churn:alloc_space,wl_calloc:alloc_space,wl_keep_big:alloc_space,wl_keep_big:inuse_space || bad=1
"${W[@]}" dhat-truth --sampled --tolerance 0.05 --truth truth.txt --dhat "$dhat" || bad=1
[[ $bad -eq 0 ]] || hp_fail "sampled estimates outside their bounds (see above)"
echo "writers_pprof_sampled: ok"
