#!/usr/bin/env bash
# A process that execs keeps its pid, and docs/formats.md says the new
# program "starts its own sequence from 0 in the same directory". That must
# not destroy the profiles the process wrote before the exec ("a failed
# write leaves earlier files as they were"; a profile once written stays).
# tests/programs/trigger_fork.c "execself": heapprof_dump("before-exec")
# (heapprof.<pid>.0.*), then exec of itself as "probe", which exits normally
# (its exit dump). Both dumps must be in HEAPPROF_OUT afterwards: one stats
# file with reason "before-exec", one with reason "exit", both for <pid>,
# and the final link must point at the exit dump.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_fork)

"$prog" execself "$HP_TMP/results.plain" >plain.out 2>plain.err || echo "exit $?" >>plain.out
HEAPPROF_OUT=$HP_TMP/prof LD_PRELOAD=$HP_LIB "$prog" execself "$HP_TMP/results" >hp.out 2>hp.err ||
    echo "exit $?" >>hp.out
cmp -s plain.out hp.out && cmp -s plain.err hp.err ||
    hp_fail "output differs under heapprof: $(diff plain.out hp.out; diff plain.err hp.err)"
cat "$HP_TMP/results" >&2

"$PY" - "$HP_TMP/prof" "$HP_TMP/results" <<'PY'
import json, os, sys
out, res = sys.argv[1:3]
lines = open(res).read().splitlines()
pid = int(lines[0].split()[1])
if "dump %d before-exec 0" % pid not in lines:
    sys.exit("FAIL: heapprof_dump(\"before-exec\") did not return 0: %r" % lines)
docs = {}
for n in sorted(os.listdir(out)):
    if n.startswith("heapprof.%d." % pid) and n.endswith(".stats.json") and ".final." not in n:
        d = json.load(open(os.path.join(out, n)))
        docs[n] = d
        print("--- %s: reason %s seq %d cmd %r" % (n, d["reason"], d["seq"], d["cmd"]), file=sys.stderr)
reasons = sorted(d["reason"] for d in docs.values())
if reasons != ["before-exec", "exit"]:
    sys.exit("FAIL: expected the pre-exec dump and the exec'd program's exit dump for pid %d, found reasons %s"
             " (the exec'd program restarted at seq 0 and overwrote heapprof.%d.0.*)" % (pid, reasons, pid))
final = os.readlink(os.path.join(out, "heapprof.%d.final.stats.json" % pid))
if docs.get(final, {}).get("reason") != "exit":
    sys.exit("FAIL: final link -> %s, not the exit dump" % final)
PY
echo "fork_exec_samepid: ok"
