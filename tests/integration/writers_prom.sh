#!/usr/bin/env bash
# The Prometheus text file (HEAPPROF_FORMAT=...,prom), written through
# `heapprof run --format pprof,dhat,stats,prom`, parses under a strict reader
# of the text exposition format (lib/writers.py parse_prom: HELP and TYPE
# once per family and before its samples, families contiguous, metric and
# label names valid, label values escaped with \\ \" \n only, values numeric,
# no repeated series, trailing newline); counters end in _total; every
# per-tag sample has a tag label (also for a tag name with a quote, a
# backslash and a newline); values equal the stats.json of the same dump and,
# in full mode, the truth of the workload's tagged functions. The other files
# of these runs load in go tool pprof, pprof-format and dh_view.html.
source "$(dirname "$0")/lib/common.bash"
hp_need node go
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
prog=$(hp_program writers_workload)
odd=$'odd "tag" \\ with\nnewline'

"$HP_CLI" run -q --rate 1 --format pprof,dhat,stats,prom --out "$HP_TMP/full" -- "$prog" 1 0 oddtag \
    >truth.txt 2>err.txt || hp_fail "heapprof run failed: $(cat err.txt)"
grep -q '^done$' truth.txt || hp_fail "writers_workload did not finish"
full=$(echo "$HP_TMP"/full/heapprof.*.final.prom)
[[ -f $full ]] || hp_fail "no final .prom file in $HP_TMP/full: $(ls "$HP_TMP/full")"
head -n 40 "$full" >&2
"${W[@]}" prom --prom "$full" --stats "${full%.prom}.stats.json" --truth truth.txt \
    --tag main --tag writers:keep --tag writers:big --tag "$odd"

"$HP_CLI" run -q --rate 65536 --seed 5 --format pprof,dhat,stats,prom --out "$HP_TMP/sampled" -- "$prog" 20 \
    >sampled.txt 2>err.txt || hp_fail "heapprof run (sampled) failed: $(cat err.txt)"
sampled=$(echo "$HP_TMP"/sampled/heapprof.*.final.prom)
"${W[@]}" prom --prom "$sampled" --stats "${sampled%.prom}.stats.json" --tag main --tag writers:keep --tag writers:big

"${W[@]}" pprof-accept "$HP_TMP"/full/heapprof.*.final.pb.gz "$HP_TMP"/sampled/heapprof.*.final.pb.gz
"${W[@]}" dhat-view "$(echo "$HP_TMP"/full/heapprof.*.final.dhat.json)@wl_churn" \
    "$(echo "$HP_TMP"/sampled/heapprof.*.final.dhat.json)@wl_churn"
echo "writers_prom: ok"
