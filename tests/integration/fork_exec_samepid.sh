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
# Numbering resumes by asking for names, not by reading the directory: an
# image that dumped five times (seq 0-4) execs, and the new one goes on at 5;
# with a file at seq 6 and none at 5 (a dump that wrote nothing), it goes
# on after the highest, at 7.
for gap in 0 1; do
    out=$HP_TMP/prof-many-$gap
    HEAPPROF_OUT=$out HEAPPROF_FORMAT=stats LD_PRELOAD=$HP_LIB "$PY" - "$out" "$gap" <<'PY' || hp_fail "the exec chain failed"
import ctypes, os, sys
out, gap = sys.argv[1], sys.argv[2]
lib = ctypes.CDLL(None)
lib.heapprof_dump.argtypes = [ctypes.c_char_p]
for i in range(5):
    assert lib.heapprof_dump(b"first-image") == 0
if gap == "1":
    open(os.path.join(out, "heapprof.%d.6.prom" % os.getpid()), "w").close()
os.execv(sys.executable, [sys.executable, "-c",
         "import ctypes; l = ctypes.CDLL(None); l.heapprof_dump.argtypes = [ctypes.c_char_p]; "
         "assert l.heapprof_dump(b'second-image') == 0"])
PY
    "$PY" - "$out" "$gap" <<'PY' || hp_fail "numbering after exec (gap $gap), see above"
import json, os, sys
out, gap = sys.argv[1], sys.argv[2] == "1"
got = {}
for n in os.listdir(out):
    if n.endswith(".stats.json") and ".final." not in n:
        d = json.load(open(os.path.join(out, n)))
        got[d["seq"]] = d["reason"]
print("--- gap %d: %s" % (gap, sorted(got.items())), file=sys.stderr)
want = {i: "first-image" for i in range(5)}
first = 7 if gap else 5
want.update({first: "second-image", first + 1: "exit"})
assert got == want, (got, want)
PY
done
echo "fork_exec_samepid: ok"
