#!/usr/bin/env bash
# The CLI reads the text heap profiles other profilers write, with the
# numbers their own tools find in them and the functions named from the
# profiled binary:
#  - gperftools' heap profiler (HEAPPROFILE, every allocation): exact sites
#    of tests/programs/cli/leaky.c; totals as `go tool pprof -raw` sums them;
#  - jemalloc's (prof:true): exact at lg_prof_sample:0; sampled at 2^12,
#    scaled as jeprof scales (its "Total" agrees);
#  - Go's debug=1 heap text: the same numbers as the protobuf profile the
#    same process wrote at the same moment.
source "$(dirname "$0")/lib/common.bash"
hp_need gcc go jeprof
export HOME=$HP_TMP GOCACHE=$HP_TMP/gocache
libdir=/usr/lib/x86_64-linux-gnu
for lib in libtcmalloc.so.4 libjemalloc.so.2; do
    [[ -f $libdir/$lib ]] || hp_fail "$libdir/$lib missing (install tests/integration/deps.txt: bash scripts/deps.sh)"
done

gcc -g -O0 "$HP_ROOT/tests/programs/cli/leaky.c" -o leaky

# sums of each column of `go tool pprof -raw` (third-party totals)
pprof_sums() {
    go tool pprof -raw -symbolize=none "$1" 2>/dev/null | "$PY" -c '
import re, sys
lines = sys.stdin.read().split("\n")
i = lines.index("Samples:")
names = [c.split("/")[0] for c in lines[i + 1].split()]
sums = [0] * len(names)
for l in lines[i + 2:]:
    if l.startswith("Locations"):
        break
    m = re.match(r"\s*([\d\s]+):", l)
    if m:
        sums = [a + int(b) for a, b in zip(sums, m.group(1).split())]
print(" ".join("%s=%d" % kv for kv in zip(names, sums)))'
}

# our total of a metric, and a function's flat/cum
top_json() { "$HP_CLI" top --json --metric "$2" -n 1000 "$1" >"top.$2.json" || hp_fail "top --metric $2 $1 failed"; }
check() { "$PY" - "$@" || hp_fail "$1: see above"; }

# --- gperftools
LD_PRELOAD=$libdir/libtcmalloc.so.4 HEAPPROFILE=$HP_TMP/gp ./leaky 500 >/dev/null 2>gp.err ||
    hp_fail "leaky under tcmalloc failed: $(cat gp.err)"
gp=$(ls gp.*.heap | tail -1)
head -1 "$gp" | grep -q '^heap profile:.*@ heapprofile' || hp_fail "$gp is not a gperftools heap profile"
for m in inuse_space alloc_space inuse_objects alloc_objects; do top_json "$gp" $m; done
sums=$(pprof_sums "$gp")
hp_note "go tool pprof sums: $sums"
check "$gp" "$sums" <<'PY'
import json, sys
sums = dict(kv.split("=") for kv in sys.argv[2].split())
for m in ("inuse_space", "alloc_space", "inuse_objects", "alloc_objects"):
    d = json.load(open("top.%s.json" % m))
    assert abs(d["total"] - int(sums[m])) < 0.5, (m, d["total"], sums[m])
    rows = {r["function"]: r for r in d["functions"]}
    want = {"inuse_space": 500 * 200, "alloc_space": 500 * 200, "inuse_objects": 500, "alloc_objects": 500}[m]
    assert rows["make_node"]["flat"] == want, (m, rows["make_node"])
    assert rows["make_node"].get("file", "").endswith("leaky.c"), rows["make_node"]
    assert rows["build_cache"]["cum"] == want and rows["build_cache"]["flat"] == 0, rows["build_cache"]
churn = {r["function"]: r for r in json.load(open("top.alloc_space.json"))["functions"]}["churn"]
assert churn["flat"] == 20000 * 1000, churn
assert not any(r["function"] == "churn" for r in json.load(open("top.inuse_space.json"))["functions"]
               if r["flat"]), "freed blocks reported live"
PY

# --- jemalloc, every allocation (lg_prof_sample:0): exact, in usable sizes
usable200=$(LD_PRELOAD=$libdir/libjemalloc.so.2 MALLOC_CONF=prof:true,lg_prof_sample:0,prof_final:true,prof_prefix:$HP_TMP/je0 \
    ./leaky 500 | awk '{ print $4 }')
je0=$(ls je0.*.heap | tail -1)
head -1 "$je0" | grep -q '^heap_v2/1$' || hp_fail "$je0: want a heap_v2/1 profile, got '$(head -1 "$je0")'"
for m in inuse_space inuse_objects; do top_json "$je0" $m; done
export USABLE200=$usable200
check "$je0" <<'PY'
import json, os
u = int(os.environ["USABLE200"])
rows = {r["function"]: r for r in json.load(open("top.inuse_space.json"))["functions"]}
assert rows["make_node"]["flat"] == 500 * u, (rows["make_node"], u)
assert not any(f.startswith(("je_", "prof_", "imalloc")) for f in rows), "jemalloc's own frames kept"
rows = {r["function"]: r for r in json.load(open("top.inuse_objects.json"))["functions"]}
assert rows["make_node"]["flat"] == 500, rows["make_node"]
PY

# --- jemalloc, sampled every 4 KiB on average: scaled up as jeprof does
LD_PRELOAD=$libdir/libjemalloc.so.2 MALLOC_CONF=prof:true,lg_prof_sample:12,prof_final:true,prof_prefix:$HP_TMP/je12 \
    ./leaky 3000 >/dev/null
je12=$(ls je12.*.heap | tail -1)
for m in inuse_space inuse_objects; do
    top_json "$je12" $m
    unit=$([[ $m == inuse_space ]] && echo "--show_bytes" || echo "")
    # shellcheck disable=SC2086
    want=$(jeprof --text --$m $unit ./leaky "$je12" 2>/dev/null | awk '/^Total:/ { print $2; exit }')
    [[ -n $want ]] || hp_fail "jeprof printed no total for $je12"
    hp_note "jemalloc sampled, $m: jeprof total $want"
    check "$je12" "$m" "$want" <<'PY'
import json, sys
m, want = sys.argv[2], float(sys.argv[3])
got = json.load(open("top.%s.json" % m))["total"]
# jeprof truncates its scaled per-record values; heapprof keeps fractions
assert abs(got - want) <= 1 + 1e-6 * want, (m, got, want)
PY
done

# --- Go: debug=1 text against the protobuf written at the same moment
go run "$HP_ROOT/tests/programs/go_heap/main.go" 4096 2000 1:heap.txt 0:heap.pb.gz ||
    hp_fail "cannot run the Go program"
head -1 heap.txt | grep -q '@ heap/' || hp_fail "heap.txt is not Go's debug=1 heap text"
for m in inuse_space alloc_space inuse_objects alloc_objects; do
    "$HP_CLI" top --json --metric $m heap.txt >text.$m.json || hp_fail "top heap.txt failed"
    "$HP_CLI" top --json --metric $m heap.pb.gz >proto.$m.json || hp_fail "top heap.pb.gz failed"
done
records=$(grep -c ' @ 0x' heap.txt)
check heap.txt "$records" <<'PY'
import json, sys
records = int(sys.argv[2])
for m in ("inuse_space", "alloc_space", "inuse_objects", "alloc_objects"):
    t, p = json.load(open("text.%s.json" % m)), json.load(open("proto.%s.json" % m))
    # Go truncates each scaled record to an integer in the protobuf
    assert 0 <= t["total"] - p["total"] < records, (m, t["total"], p["total"], records)
    top = t["functions"][0]
    assert top["function"] == "main.grow" and top["file"].endswith("main.go"), top
PY

# --- a damaged one: one line naming the problem, exit status 1
printf 'heap profile: 1: 2 [3: 4] @ heapprofile\n1: 2 [oops\n' >bad.heap
set +e
"$HP_CLI" top bad.heap >/dev/null 2>bad.err
rc=$?
set -e
[[ $rc -ne 0 && $(wc -l <bad.err) -eq 1 ]] && grep -q 'bad.heap: damaged heap profile record' bad.err ||
    hp_fail "damaged text profile: exit $rc, stderr: $(cat bad.err)"
echo "cli_legacy: ok"
