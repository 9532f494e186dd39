#!/usr/bin/env bash
# A peak dump means a new peak (docs: "dump when live bytes exceed the last
# peak by this factor"). tests/programs/trigger_peak.c "drop": peak dumps on
# the way to 2 MiB and at 8 MiB; then, inside the 1 s rate limit, a transient
# spike to 14 MiB and a fall to 1 MiB; then slow growth to 3 and 4 MiB. With
# HEAPPROF_PEAK_DUMP=1.5 nothing after the 8 MiB dump reaches 1.5 x 8 MiB, so
# there must be exactly two peak dumps, each >= 1.5 x the live bytes of the
# previous peak dump. (A spike that is gone before the rate limit allows a
# dump cannot be dumped; it must not lower the threshold either.)
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_peak)

"$prog" drop >plain.out 2>plain.err || echo "exit $?" >>plain.out
HEAPPROF_OUT=$HP_TMP/prof HEAPPROF_PEAK_DUMP=1.5 LD_PRELOAD=$HP_LIB "$prog" drop >hp.out 2>hp.err ||
    echo "exit $?" >>hp.out
cat hp.out hp.err >&2
cmp -s plain.out hp.out && cmp -s plain.err hp.err ||
    hp_fail "output differs under heapprof: $(diff plain.out hp.out; diff plain.err hp.err)"

"$PY" - "$HP_TMP/prof" <<'PY'
import json, os, sys
out = sys.argv[1]
MIB = 1 << 20
names = [n for n in os.listdir(out) if n.endswith(".stats.json") and ".final." not in n]
docs = sorted((json.load(open(os.path.join(out, n))) for n in names), key=lambda d: d["seq"])
for d in docs:
    print("--- seq %d %-5s live %.3f MiB at %.3f s" % (d["seq"], d["reason"], d["process"]["live_bytes"] / MIB,
                                                     d["uptime_ns"] / 1e9), file=sys.stderr)
peaks = [d for d in docs if d["reason"] == "peak"]
errs = []
for a, b in zip(peaks, peaks[1:]):
    if b["process"]["live_bytes"] < 1.5 * a["process"]["live_bytes"]:
        errs.append("peak dump seq %d has %.3f MiB live, below 1.5 x the previous peak dump (seq %d, %.3f MiB):"
                    " not a new peak" % (b["seq"], b["process"]["live_bytes"] / MIB, a["seq"],
                                         a["process"]["live_bytes"] / MIB))
if len(peaks) != 2:
    errs.append("expected 2 peak dumps (on the way to 2 MiB, at 8 MiB), got %d" % len(peaks))
if [d["reason"] for d in docs][-1:] != ["exit"]:
    errs.append("the last dump is not the exit dump")
if errs:
    sys.exit("FAIL: " + "\nFAIL: ".join(errs))
PY
echo "triggers_peak_drop: ok"
