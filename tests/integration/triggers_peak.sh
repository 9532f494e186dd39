#!/usr/bin/env bash
# Peak dumps (HEAPPROF_PEAK_DUMP=1.5), as triggers.c implements them: the
# first threshold is 1.5 x max(live bytes at start, 1 MiB); after a peak dump
# the next threshold is 1.5 x the live bytes the dump saw; at most one peak
# dump per second. tests/programs/trigger_peak.c "steps" creeps to 2 MiB, then
# jumps to 4, 5, 8, 13, 16, 20 MiB, waiting for the dump it expects and
# holding the others past the rate limit (see the program). Expected: five
# dumps with reason "peak" - the first on the way to 2 MiB (at >= 1.5 MiB),
# then exactly at 4, 8, 13 and 20 MiB, none at 5 or 16 (about 1.23 x the
# previous dump) - each >= 1.5 x the previous one's live bytes and at least
# 1 s after it; then the exit dump. Output and status as a plain run.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_peak)

"$prog" steps >plain.out 2>plain.err || echo "exit $?" >>plain.out
HEAPPROF_OUT=$HP_TMP/prof HEAPPROF_PEAK_DUMP=1.5 LD_PRELOAD=$HP_LIB "$prog" steps >hp.out 2>hp.err ||
    echo "exit $?" >>hp.out
cat hp.out hp.err >&2
cmp -s plain.out hp.out && cmp -s plain.err hp.err ||
    hp_fail "output differs under heapprof: $(diff plain.out hp.out; diff plain.err hp.err)"

"$PY" - "$HP_TMP/prof" <<'PY'
import json, os, sys
out = sys.argv[1]
MIB = 1 << 20
names = [n for n in os.listdir(out) if n.endswith(".stats.json") and ".final." not in n]
if [n for n in os.listdir(out) if ".tmp" in n]:
    sys.exit("FAIL: temporary files left: %s" % sorted(os.listdir(out)))
docs = sorted((json.load(open(os.path.join(out, n))) for n in names), key=lambda d: d["seq"])
for d in docs:
    print("--- seq %d %-5s live %.3f MiB at %.3f s" % (d["seq"], d["reason"], d["process"]["live_bytes"] / MIB,
                                                     d["uptime_ns"] / 1e9), file=sys.stderr)
reasons = [d["reason"] for d in docs]
if reasons != ["peak"] * 5 + ["exit"]:
    sys.exit("FAIL: expected 5 peak dumps and the exit dump, got %s" % reasons)
peaks = [d for d in docs if d["reason"] == "peak"]
live = [d["process"]["live_bytes"] for d in peaks]
errs = []
if not 1.5 * MIB <= live[0] <= 2 * MIB + 256 * 1024:
    errs.append("first peak dump has %.3f MiB live; expected between 1.5 x 1 MiB and the 2 MiB level" % (live[0] / MIB))
for lv, v in zip([4, 8, 13, 20], live[1:]):
    if not lv * MIB <= v <= lv * MIB + 256 * 1024:
        errs.append("a peak dump was due at the %d MiB level, got one with %.3f MiB live" % (lv, v / MIB))
for a, b in zip(peaks, peaks[1:]):
    if b["process"]["live_bytes"] < 1.5 * a["process"]["live_bytes"]:
        errs.append("peak dump seq %d (%.3f MiB) is not 1.5 x the previous one (%.3f MiB)"
                    % (b["seq"], b["process"]["live_bytes"] / MIB, a["process"]["live_bytes"] / MIB))
    if b["uptime_ns"] - a["uptime_ns"] < 0.99e9:
        errs.append("peak dumps seq %d and %d are %.3f s apart (rate limit is 1 s)"
                    % (a["seq"], b["seq"], (b["uptime_ns"] - a["uptime_ns"]) / 1e9))
if errs:
    sys.exit("FAIL: " + "\nFAIL: ".join(errs))
PY
echo "triggers_peak: ok"
