#!/usr/bin/env bash
# The CLI reads every input it claims to: heapprof's pprof and DHAT files, a
# real Valgrind DHAT output and a real Go heap profile — and top, leaks,
# tags and convert give the numbers those files hold.
source "$(dirname "$0")/lib/common.bash"
hp_need valgrind go gcc
export HOME=$HP_TMP GOCACHE=$HP_TMP/gocache

gcc -g -O0 "$HP_ROOT/tests/programs/cli/leaky.c" -o leaky
"$HP_CLI" run -q --rate 1 --out prof -- ./leaky 500 >run.out
# the allocator's usable sizes of malloc(200) and malloc(1000), as the program saw them
read -r _ _ _ U200 _ U1000 <run.out
export U200 U1000
pb=$(ls prof/heapprof.*.final.pb.gz)
dhat=$(ls prof/heapprof.*.final.dhat.json)

# full mode: exact per function
"$HP_CLI" top --json --metric alloc_space "$pb" >top.json
"$PY" - top.json <<'PY'
import json, sys
rows = {r["function"]: r for r in json.load(open(sys.argv[1]))["functions"]}
import os
u200, u1000 = int(os.environ["U200"]), int(os.environ["U1000"])
# the probe block in main is one more 1000-byte allocation
assert rows["churn"]["flat"] == 20000 * u1000, rows["churn"]
assert rows["make_node"]["flat"] == 500 * u200, rows["make_node"]
assert rows["build_cache"]["cum"] == 500 * u200 and rows["build_cache"]["flat"] == 0
assert rows["main"]["cum"] >= 20000 * u1000 + 500 * u200
PY
# DHAT counts requested bytes
"$HP_CLI" top --json --metric alloc_space "$dhat" >top_dhat.json
"$PY" - top_dhat.json <<'PY'
import json, sys
rows = {r["function"]: r for r in json.load(open(sys.argv[1]))["functions"]}
assert rows["churn"]["flat"] == 20000 * 1000, rows["churn"]
assert rows["make_node"]["flat"] == 500 * 200, rows["make_node"]
PY
# leaks: the cache is the leak, the churn is not; exit status 1 gates CI
set +e
"$HP_CLI" leaks --json "$pb" >leaks.json
rc=$?
set -e
[[ $rc -eq 1 ]] || hp_fail "leaks exited $rc with memory left (expected 1)"
"$PY" - leaks.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
import os
top = d["leaks"][0]
assert top["bytes"] == 500 * int(os.environ["U200"]) and top["objects"] == 500, top
assert top["stack"][0].startswith("make_node"), top["stack"]
assert not any(s["stack"][0].startswith("churn") for s in d["leaks"])
PY
"$HP_CLI" leaks --min-bytes 1GiB "$pb" >/dev/null || hp_fail "nothing above 1 GiB, yet leaks exited non-zero"
printf '# the cache is intended\nleak:build_cache\nleak:*doallocate*\nleak:_dl_*\n' >supp.txt
"$HP_CLI" leaks --suppressions supp.txt --json "$pb" >supp.json || true
"$PY" -c 'import json,sys; d=json.load(open("supp.json")); assert all("make_node" not in s["stack"][0] for s in d["leaks"]), d' ||
    hp_fail "a suppressed site is still reported"

# Valgrind's DHAT on the same program agrees with heapprof's full mode
valgrind -q --tool=dhat --dhat-out-file=dhat.out ./leaky 500 >/dev/null 2>&1
"$HP_CLI" top --json --metric alloc_space dhat.out >vg.json
"$PY" - vg.json <<'PY'
import json, sys
rows = {r["function"]: r for r in json.load(open(sys.argv[1]))["functions"]}
assert rows["churn"]["flat"] == 20000 * 1000, rows
assert rows["make_node"]["flat"] == 500 * 200, rows
assert "malloc" not in rows, "Valgrind's allocator frame should be dropped"
PY
# Valgrind DHAT -> pprof keeps totals exact, as go tool pprof reads them
"$HP_CLI" convert dhat.out -o vg.pb.gz
go tool pprof -symbolize=none -raw vg.pb.gz >vg.raw 2>&1 || hp_fail "go tool pprof rejects the converted file: $(head -3 vg.raw)"
total=$(go tool pprof -symbolize=none -sample_index=alloc_space -top vg.pb.gz 2>/dev/null |
    awk '/of .* total/ {for (i=1;i<=NF;i++) if ($i=="total") print $(i-1)}')
want=$("$PY" -c 'import json; d=json.load(open("dhat.out")); print(sum(p["tb"] for p in d["pps"]))')
"$PY" - "$total" "$want" <<'PY'
import sys
got, want = sys.argv[1], float(sys.argv[2])
units = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3}
num = next(u for u in sorted(units, key=len, reverse=True) if got.endswith(u))
value = float(got[: -len(num)]) * units[num]
assert abs(value - want) / want < 0.01, (got, want)   # pprof prints 2-3 significant digits
PY
# and to collapsed stacks
"$HP_CLI" convert dhat.out -o vg.collapsed --metric alloc_space
grep -q '^.*main;churn 20000000$' vg.collapsed || hp_fail "collapsed stacks lack main;churn 20000000: $(head -3 vg.collapsed)"

# a real Go heap profile (every allocation)
go run "$HP_ROOT/tests/programs/go_heap/main.go" 1 3000 0:go.pb.gz ||
    hp_fail "cannot run the Go program"
"$HP_CLI" top --json go.pb.gz >go.json
"$PY" - go.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = {r["function"]: r for r in d["functions"]}
# 3000 blocks of 4 KiB, plus the slice of headers append keeps growing
assert 0 <= rows["main.grow"]["flat"] - 3000 * 4096 <= 3000 * 32, rows["main.grow"]
PY
"$HP_CLI" convert go.pb.gz -o go.dhat.json
"$HP_CLI" top --json --metric inuse_space go.dhat.json | "$PY" -c '
import json, sys
rows = {r["function"]: r for r in json.load(sys.stdin)["functions"]}
assert 0 <= rows["main.grow"]["flat"] - 3000 * 4096 <= 3000 * 32, rows["main.grow"]'
"$HP_CLI" tags go.pb.gz | grep -q '(none)' || hp_fail "tags on an untagged Go profile should list (none)"
"$HP_CLI" convert "$dhat" -o back.json.zst
"$HP_CLI" top --json --metric alloc_space back.json.zst | "$PY" -c '
import json, sys
rows = {r["function"]: r for r in json.load(sys.stdin)["functions"]}
assert rows["churn"]["flat"] == 20000 * 1000, rows["churn"]'
# diff works on third-party inputs too: two Valgrind DHAT runs that leak
# different amounts, and a Go profile against itself
valgrind -q --tool=dhat --dhat-out-file=dhat2.out ./leaky 1500 >/dev/null 2>&1
"$HP_CLI" diff --json --metric inuse_space dhat.out dhat2.out >vgdiff.json || true
"$PY" - vgdiff.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
top = d["sites"][0]
assert top["site"].startswith("make_node"), top
assert top["delta"] == 1000 * 200, top      # 1000 more blocks of 200 requested bytes
PY
"$HP_CLI" diff --json go.pb.gz go.pb.gz | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
assert d["delta"] == 0 and d["sites"], d'
"$HP_CLI" leaks --json go.pb.gz >goleaks.json || true # exit 1: memory remains, as it should
"$PY" -c '
import json
d = json.load(open("goleaks.json"))
assert d["leaks"][0]["stack"][0].startswith("main.grow"), d["leaks"][0]'
echo "cli_inputs: ok"
