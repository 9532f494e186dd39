#!/usr/bin/env bash
# bench/run.sh — allocator and profiler overhead, side by side.
#
# Runs every workload under every configuration, alternating configurations
# within each round so that drift on the machine hits them all alike, and
# prints markdown tables (median wall time and its ratio to bare mimalloc,
# CPU time, peak RSS, run-to-run spread). The tables and the raw numbers are
# also written to bench/out/ (gitignored). Started by `make bench`.
#
# Environment:
#   BENCH_RUNS=N        timed runs per workload and configuration (default 5; quick: 1)
#   BENCH_QUICK=1       smoke run: small inputs, one run each
#   BENCH_SCALE=F       input size factor (default 1; quick: 0.1)
#   BENCH_CONFIGS=a,b   configurations to run (default: every `config` line below
#                       whose requirement is met; `all` adds the `optional` ones)
#   BENCH_WORKLOADS=a,b workloads to run (default: all)
#   BENCH_TIMEOUT=S     kill a single run after S seconds (default 600)
#   BENCH_OUT=DIR       where results go (default bench/out)
#   BENCH_HEAPPROF=PATH the preload library to measure (default build/libheapprof.so)
#   BENCH_INSTRUCTIONS=1  count instructions instead of timing: every run goes under
#                       valgrind's callgrind (children too), one run (it is
#                       deterministic), scale 0.02; the table is instructions executed.
#                       Noise-free, so it shows the fast-path overhead on a busy machine.
#
# Reference points: BENCH_CONFIGS=...,floor-null,floor-count adds two minimal
# wrappers around the same libmimalloc (bench/floor_wrappers.c), one that only
# forwards and one that also keeps exact counters by usable size, the least
# any profiler built this way can cost.
#
# Adding a configuration or workload is one line in the lists below.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
libdir=/usr/lib/x86_64-linux-gnu

quick=${BENCH_QUICK:-0}
instr=${BENCH_INSTRUCTIONS:-0}
if [[ $instr == 1 ]]; then
    runs=${BENCH_RUNS:-1} scale=${BENCH_SCALE:-0.02}
    command -v valgrind >/dev/null || { echo "bench: BENCH_INSTRUCTIONS=1 needs valgrind" >&2; exit 2; }
elif [[ $quick == 1 ]]; then
    runs=${BENCH_RUNS:-1} scale=${BENCH_SCALE:-0.1}
else
    runs=${BENCH_RUNS:-5} scale=${BENCH_SCALE:-1}
fi
run_timeout=${BENCH_TIMEOUT:-600}
out_dir=${BENCH_OUT:-$here/out}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_RUNS must be a positive integer" >&2; exit 2; }
[[ $scale =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "bench: BENCH_SCALE must be a number" >&2; exit 2; }

HEAPPROF=${BENCH_HEAPPROF:-$root/build/libheapprof.so}
MIMALLOC=$libdir/libmimalloc.so.2
JEMALLOC=$libdir/libjemalloc.so.2
TCMALLOC=$libdir/libtcmalloc.so.4

tmp=$(mktemp -d "${TMPDIR:-/tmp}/heapprof-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
bin=$root/build/bench
mkdir -p "$bin" "$out_dir"

# ---- configurations -------------------------------------------------------
# config|optional NAME REQUIRES [NAME=VALUE ...] [-- WRAPPER ARG ...]
#   REQUIRES: a file that must exist (or `-`); the configuration is skipped
#   with a note when it does not. @OUT@ becomes an empty directory per run,
#   deleted afterwards (profiles are written there). `optional` lines run only
#   when named in BENCH_CONFIGS (or with BENCH_CONFIGS=all).
# The first `config` named mimalloc is the baseline of every ratio.
cfg_names=() cfg_specs=() cfg_default=()
config() { cfg_add 1 "$@"; }
optional() { cfg_add 0 "$@"; }
cfg_add() {
    local def=$1 name=$2 req=$3
    shift 3
    if [[ $req != - && ! -e $req ]]; then
        skipped+=("$name (missing $req)")
        return
    fi
    if [[ $instr == 1 && " $* " == *" -- "* ]]; then
        skipped+=("$name (runs its own wrapper; not under callgrind)")
        return
    fi
    cfg_names+=("$name") cfg_default+=("$def")
    cfg_specs+=("$(join_args "$@")")
}
join_args() { local IFS=$'\x1f'; printf '%s' "$*"; }
skipped=()

config   glibc             -
config   mimalloc          "$MIMALLOC"  LD_PRELOAD="$MIMALLOC"
config   heapprof-off      "$HEAPPROF"  LD_PRELOAD="$HEAPPROF" HEAPPROF_RATE=0 HEAPPROF_OUT=@OUT@
optional heapprof-thp      "$HEAPPROF"  LD_PRELOAD="$HEAPPROF" HEAPPROF_RATE=0 HEAPPROF_THP_ARENA=1 HEAPPROF_OUT=@OUT@
optional heapprof          "$HEAPPROF"  LD_PRELOAD="$HEAPPROF" HEAPPROF_OUT=@OUT@
optional heapprof-64k      "$HEAPPROF"  LD_PRELOAD="$HEAPPROF" HEAPPROF_RATE=65536 HEAPPROF_OUT=@OUT@
optional heapprof-full     "$HEAPPROF"  LD_PRELOAD="$HEAPPROF" HEAPPROF_RATE=1 HEAPPROF_OUT=@OUT@
optional mimalloc-again    "$MIMALLOC"  LD_PRELOAD="$MIMALLOC"
# the least a wrapper around the shared libmimalloc costs (bench/floor_wrappers.c):
# forwarding alone, and forwarding plus exact counters by usable size
optional floor-null        -            LD_PRELOAD="$bin/floor-null.so"
optional floor-count       -            LD_PRELOAD="$bin/floor-count.so"
config   jemalloc-prof     "$JEMALLOC"  LD_PRELOAD="$JEMALLOC" MALLOC_CONF=prof:true,lg_prof_sample:19,prof_prefix:@OUT@/jeprof
optional tcmalloc-heapprof "$TCMALLOC"  LD_PRELOAD="$TCMALLOC" HEAPPROFILE=@OUT@/gperf
optional heaptrack         /usr/bin/heaptrack -- /usr/bin/heaptrack -o @OUT@/heaptrack

# Ad-hoc configurations without editing this file, e.g. to try allocator options:
#   BENCH_EXTRA_CONFIGS='mi-reserve: LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2
#                        MIMALLOC_RESERVE_OS_MEMORY=1GiB; other: NAME=VALUE ...'
# (entries separated by `;`, assignments by blanks, no `--` wrapper). They are selected
# by default, after the lines above.
IFS=';' read -r -a extra_cfgs <<<"${BENCH_EXTRA_CONFIGS:-}" || true
for e in "${extra_cfgs[@]+"${extra_cfgs[@]}"}"; do
    [[ $e == *[![:space:]]* ]] || continue
    [[ $e == *:* ]] || { echo "bench: BENCH_EXTRA_CONFIGS entry without NAME: '$e'" >&2; exit 2; }
    read -r -a assigns <<<"${e#*:}" || true
    config "$(echo "${e%%:*}" | tr -d '[:space:]')" - "${assigns[@]+"${assigns[@]}"}"
done

# ---- workloads -------------------------------------------------------------
# workload NAME [NAME=VALUE ...] -- PROGRAM ARG ...   (inputs are made below)
wl_names=() wl_specs=()
workload() {
    local name=$1
    shift
    wl_names+=("$name") wl_specs+=("$(join_args "$@")")
}
rows=$(awk -v s="$scale" 'BEGIN { printf "%d", s * 200000 }')
funcs=$(awk -v s="$scale" 'BEGIN { n = int(s * 150); print (n < 1 ? 1 : n) }')
lines=$(awk -v s="$scale" 'BEGIN { printf "%d", s * 1500000 }')

workload churn     -- "$bin/workloads" churn "$scale"
workload prodcons  -- "$bin/workloads" prodcons "$scale"
workload realloc   -- "$bin/workloads" realloc "$scale"
workload large     -- "$bin/workloads" large "$scale"
workload python3   PYTHONHASHSEED=0 -- /usr/bin/python3 "$here/workloads/dicts.py" "$scale"
workload perl      -- /usr/bin/perl "$here/workloads/hashes.pl" "$scale"
workload sqlite3   -- /usr/bin/sqlite3 :memory: ".read $tmp/queries.sql"
workload sort      LC_ALL=C -- /usr/bin/sort -o /dev/null "$tmp/words.txt"
# gcc's compiler proper, without the driver: heaptrack does not follow the
# driver's children (it unsets LD_PRELOAD), so under `gcc -c` it would time
# an unprofiled cc1 against the others' profiled one.
workload cc1       -- "$(gcc -print-prog-name=cc1)" -quiet -imultiarch "$(gcc -print-multiarch)" \
    -O2 -o /dev/null "$tmp/gen.c"

# ---- selection ---------------------------------------------------------------
in_list() { [[ ",$1," == *",$2,"* ]]; }
sel_cfg=()
for i in "${!cfg_names[@]}"; do
    n=${cfg_names[$i]}
    if [[ -z ${BENCH_CONFIGS:-} ]]; then
        [[ ${cfg_default[$i]} == 1 ]] && sel_cfg+=("$i")
    elif [[ $BENCH_CONFIGS == all ]] || in_list "$BENCH_CONFIGS" "$n"; then
        sel_cfg+=("$i")
    fi
done
sel_wl=()
for i in "${!wl_names[@]}"; do
    if [[ -z ${BENCH_WORKLOADS:-} ]] || in_list "$BENCH_WORKLOADS" "${wl_names[$i]}"; then
        sel_wl+=("$i")
    fi
done
((${#sel_cfg[@]} > 0)) || { echo "bench: no configuration selected" >&2; exit 2; }
((${#sel_wl[@]} > 0)) || { echo "bench: no workload selected" >&2; exit 2; }

# ---- build and inputs ------------------------------------------------------------
[[ -e $HEAPPROF ]] || { echo "bench: $HEAPPROF missing; run make first" >&2; exit 2; }
cc=${CC:-cc}
"$cc" -std=c11 -O2 -g -Wall -Wextra -Werror -pthread "$here/workloads.c" -o "$bin/workloads"
"$cc" -std=c11 -O2 -g -Wall -Wextra -Werror "$here/measure.c" -o "$bin/measure"
for floor in null count; do
    "$cc" -std=c11 -O2 -g -Wall -Wextra -Werror -shared -fPIC -fno-plt -ftls-model=initial-exec \
        $([[ $floor == count ]] && echo -DFLOOR_COUNT) "$here/floor_wrappers.c" \
        -o "$bin/floor-$floor.so" -lmimalloc
done
sed "s/@ROWS@/$rows/" "$here/workloads/queries.sql" >"$tmp/queries.sql"
"$bin/workloads" gen-words "$lines" >"$tmp/words.txt"
"$bin/workloads" gen-c "$funcs" >"$tmp/gen.c"

# ---- run -------------------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
raw=$out_dir/raw-$stamp.tsv
logs=$out_dir/logs-$stamp
mkdir -p "$logs"
printf 'workload\tconfig\trun\twall_s\tuser_s\tsys_s\tmaxrss_kib\tminflt\tstatus\tinstructions\n' \
    >"$raw"

split_args() { local IFS=$'\x1f'; read -r -a "$1" <<<"$2" || true; }

# measure_one WORKLOAD_INDEX CONFIG_INDEX RUN -> appends a row to $raw
measure_one() {
    local w=$1 c=$2 r=$3 wspec cspec env=() wrap=() cmd=() part seen=0
    local wname=${wl_names[$w]} cname=${cfg_names[$c]}
    rm -rf "$tmp/out" && mkdir -p "$tmp/out"
    split_args cspec "${cfg_specs[$c]}"
    for part in "${cspec[@]+"${cspec[@]}"}"; do
        part=${part//@OUT@/$tmp/out}
        if ((seen)); then wrap+=("$part")
        elif [[ $part == -- ]]; then seen=1
        else env+=("$part"); fi
    done
    split_args wspec "${wl_specs[$w]}"
    seen=0
    for part in "${wspec[@]}"; do
        if ((seen)); then cmd+=("$part")
        elif [[ $part == -- ]]; then seen=1
        else env+=("$part"); fi
    done
    if [[ $instr == 1 ]]; then
        wrap=(valgrind --tool=callgrind --trace-children=yes
            "--callgrind-out-file=$tmp/out/callgrind.%p")
    fi
    local log=$logs/$wname.$cname.$r.log result ir=
    result=$("$bin/measure" -o "$log" -t "$run_timeout" "${env[@]+"${env[@]}"}" -- \
        "${wrap[@]+"${wrap[@]}"}" "${cmd[@]}")
    read -r wall user sys rss minflt status <<<"$result"
    if [[ $instr == 1 ]]; then
        ir=$(cat "$tmp"/out/callgrind.* 2>/dev/null | awk '/^summary:/ { s += $2 } END { printf "%.0f", s }')
        [[ $ir == 0 && $status == 0 ]] && status=125 # no callgrind output
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wname" "$cname" "$r" \
        "$wall" "$user" "$sys" "$rss" "$minflt" "$status" "$ir" >>"$raw"
    if [[ $status != 0 ]]; then
        printf '  FAILED: %s under %s (status %s, log %s)\n' "$wname" "$cname" "$status" "$log" >&2
    else
        rm -f "$log"
    fi
    if [[ $instr == 1 ]]; then
        printf '  %-10s %-18s run %d: %15s instructions\n' "$wname" "$cname" "$r" "$ir"
    else
        printf '  %-10s %-18s run %d: %7.2f s  %6d MiB\n' "$wname" "$cname" "$r" "$wall" $((rss / 1024))
    fi
}

cfg_list=$(for c in "${sel_cfg[@]}"; do printf '%s ' "${cfg_names[$c]}"; done)
echo "bench: ${#sel_wl[@]} workloads x [${cfg_list% }] x $runs runs, scale $scale"
for s in "${skipped[@]+"${skipped[@]}"}"; do echo "bench: skipped configuration $s"; done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$SECONDS
for w in "${sel_wl[@]}"; do
    echo "${wl_names[$w]}:"
    # one untimed warm-up (page cache, lazily built files) under glibc
    split_args warm "${wl_specs[$w]}"
    warm_env=() warm_cmd=() seen=0
    for part in "${warm[@]}"; do
        if ((seen)); then warm_cmd+=("$part")
        elif [[ $part == -- ]]; then seen=1
        else warm_env+=("$part"); fi
    done
    "$bin/measure" -t "$run_timeout" "${warm_env[@]+"${warm_env[@]}"}" -- "${warm_cmd[@]}" >/dev/null
    for ((r = 1; r <= runs; r++)); do
        for c in "${sel_cfg[@]}"; do measure_one "$w" "$c" "$r"; done
    done
done
elapsed=$((SECONDS - start))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
rmdir "$logs" 2>/dev/null || true

# ---- report ----------------------------------------------------------------------
report=$out_dir/results-$stamp.md
{
    echo "Run $stamp: $runs runs per cell, scale $scale, ${elapsed} s in total;" \
        "load average before $load_before, after $load_after."
    echo
    awk -F'\t' -v cfgs="$cfg_list" -v instr="$instr" -f "$here/report.awk" "$raw"
} >"$report"
cp "$report" "$out_dir/latest.md"
echo
cat "$report"
echo
echo "bench: written $report (raw numbers: $raw)"
if awk -F'\t' 'NR > 1 && $9 != 0 { bad = 1 } END { exit !bad }' "$raw"; then
    echo "bench: some runs failed; see the logs above" >&2
    exit 1
fi
