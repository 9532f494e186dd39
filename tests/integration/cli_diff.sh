#!/usr/bin/env bash
# heapprof diff lines two builds up by symbol: a build at another
# optimisation level in which one function leaks more shows that function
# as the top regression, --fail-over gates on it, the pprof difference loads
# in go tool pprof, and two identical runs diff to zero.
source "$(dirname "$0")/lib/common.bash"
hp_need go gcc
export HOME=$HP_TMP GOCACHE=$HP_TMP/gocache
src=$HP_ROOT/tests/programs/cli/leaky.c
mkdir base new
gcc -g -O0 "$src" -o base/leaky
# -fno-optimize-sibling-calls, as for any profiling build: otherwise GCC turns
# make_node into a tail call of calloc and the frame vanishes from every stack
gcc -g -O2 -fno-optimize-sibling-calls -DLEAK_MORE "$src" -o new/leaky
for b in base new; do
    (cd $b && "$HP_CLI" run -q --rate 1 --out prof -- ./leaky 2000 >/dev/null)
done
B=$(ls base/prof/heapprof.*.final.pb.gz)
N=$(ls new/prof/heapprof.*.final.pb.gz)

set +e
"$HP_CLI" diff --metric inuse_space --fail-over 10% "$B" "$N" >diff.txt
rc=$?
set -e
cat diff.txt >&2
[[ $rc -eq 1 ]] || hp_fail "diff --fail-over 10% exited $rc for a 4x leak (expected 1)"
# the first site line is the regression, named by its function
sed -n '3p' diff.txt | grep -q '^+.*make_node' || hp_fail "top line is not the make_node regression: $(sed -n 3p diff.txt)"
grep -q 'FAIL: inuse_space grew by more than 10%' diff.txt || hp_fail "no FAIL line"

"$HP_CLI" diff --json --metric inuse_space "$B" "$N" >diff.json
"$PY" - diff.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
leaf = lambda s: s["site"].split("] ", 1)[-1]   # sites read "[tag] leaf < caller < ..."
top = d["sites"][0]
assert leaf(top).startswith("make_node"), top
# 2000 blocks of 800 instead of 200 bytes (usable sizes a little larger)
assert 2000 * 600 <= top["delta"] <= 2000 * 700, top
assert top["base"] > 0, "the same site must be matched across the two builds"
# churn() allocates the same in both builds: matched and unchanged
assert not any(leaf(s).startswith("churn") and s["delta"] != 0 for s in d["sites"])
PY
# a byte threshold above the growth passes
"$HP_CLI" diff --metric inuse_space --fail-over 100MiB "$B" "$N" >/dev/null ||
    hp_fail "--fail-over 100MiB failed although the growth is ~1.2 MB"

# the difference as a pprof profile
"$HP_CLI" diff --metric inuse_space -o d.pb.gz "$B" "$N" >/dev/null || true
go tool pprof -symbolize=none -top -inuse_space d.pb.gz >d.txt 2>&1 || hp_fail "go tool pprof rejects the diff: $(head -3 d.txt)"
grep -q 'make_node' d.txt || hp_fail "the pprof difference does not show make_node: $(cat d.txt)"

# two identical runs diff to zero
(cd base && "$HP_CLI" run -q --rate 1 --out prof2 -- ./leaky 2000 >/dev/null)
B2=$(ls base/prof2/heapprof.*.final.pb.gz)
"$HP_CLI" diff --json --metric alloc_space "$B" "$B2" >same.json || hp_fail "identical runs failed the diff"
"$PY" -c '
import json
d = json.load(open("same.json"))
assert d["delta"] == 0 and all(s["delta"] == 0 for s in d["sites"]), d'
"$HP_CLI" diff --fail-over 0 "$B" "$B2" >/dev/null || hp_fail "identical runs exceed --fail-over 0"

# bad input: one clear line, exit 2
set +e
err=$("$HP_CLI" diff --fail-over lots "$B" "$N" 2>&1 >/dev/null); rc=$?
set -e
[[ $rc -eq 2 && $(wc -l <<<"$err") -eq 1 && $err == heapprof:*fail-over* ]] || hp_fail "bad --fail-over: rc=$rc '$err'"
echo "cli_diff: ok"
