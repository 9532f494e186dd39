#!/usr/bin/env bash
# tests/programs/fork_exec.c under `heapprof run`: a child that execs, a child
# that only forks and exits normally, 20 forks while another thread allocates
# (children _exit), and a child that aborts. Output and exit status match a
# plain run; each process that ended through exit() wrote its own
# heapprof.<pid>.final.stats.json (the parent, the exec'd child, the forked
# child: three files, three different pids), and the ones that ended through
# _exit() or a signal wrote none.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program fork_exec)

workload() {
    hp_run "$prog"
}
hp_compare fork_exec workload
grep -q '^forks while another thread allocates: 20 of 20 fine$' "$HP_TMP/fork_exec.hp.out" ||
    hp_fail "forking while another thread allocates failed under heapprof"
grep -q '^parent: done$' "$HP_TMP/fork_exec.plain.out" || hp_fail "program did not run to the end"

pids=$(hp_check_stats "$HP_PROF" "$prog" "$prog exec-child")
echo "--- final stats from pids: $(echo $pids)" >&2
"$PY" - "$HP_PROF" "$prog" <<'PY'
import glob, json, sys
d, prog = sys.argv[1], sys.argv[2]
docs = [json.load(open(f)) for f in sorted(glob.glob(d + "/heapprof.*.final.stats.json"))]
for doc in docs:
    print("--- pid %d %r: alloc_objects %d" % (doc["pid"], doc["cmd"], doc["process"]["alloc_objects"]), file=sys.stderr)
pids = [doc["pid"] for doc in docs]
if len(docs) != 3 or len(set(pids)) != 3:
    sys.exit("FAIL: expected 3 final stats files with distinct pids (parent, exec'd child, forked child), got %r" % [(d["pid"], d["cmd"]) for d in docs])
same = [doc for doc in docs if doc["cmd"] == prog]
if len(same) != 2:
    sys.exit("FAIL: expected the parent and the forked child to write one file each, got %d" % len(same))
# the forked child made 21,001 allocations of its own (plus what it inherited
# from the parent before the fork, about 400); the parent made a different number
if not any(21000 <= doc["process"]["alloc_objects"] < 23000 for doc in same):
    sys.exit("FAIL: no final stats look like the forked child's (21,001 own allocations + ~400 inherited): %r"
             % [doc["process"]["alloc_objects"] for doc in same])
ex = [doc for doc in docs if doc["cmd"] == prog + " exec-child"][0]
if ex["process"]["alloc_objects"] < 5000:
    sys.exit("FAIL: exec'd child counted %d allocations, made 5,001" % ex["process"]["alloc_objects"])
PY
echo "fork_exec: ok"
