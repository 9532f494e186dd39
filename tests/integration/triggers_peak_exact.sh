#!/usr/bin/env bash
# The first peak dump starts at once, woken from inside the flush of the
# allocation that crossed the threshold. Its counters must still be exact:
# 12 runs of tests/programs/trigger_peak.c "first" (one 2 MiB block, then
# wait for the dump; HEAPPROF_PEAK_DUMP=1.5), each pinned to one CPU so the
# woken background thread tends to run before the allocating thread leaves
# the flush, must each write a peak dump with live_bytes and peak_bytes
# between 2 MiB and 2 MiB + 256 KiB (the program's own start-up blocks are
# ~80 KiB) - not the 2 MiB block counted twice.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_peak)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP/prof" <<'PY'
import glob, json, os, subprocess, sys
lib, prog, out = sys.argv[1:4]
MIB = 1 << 20
env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
plain = subprocess.run([prog, "first"], capture_output=True, env=env)
env.update(HEAPPROF_OUT=out, HEAPPROF_PEAK_DUMP="1.5", HEAPPROF_FORMAT="stats", LD_PRELOAD=lib)
cpus = sorted(os.sched_getaffinity(0))[:2]
errs = []
for round_ in range(12 // len(cpus)):
    procs = [subprocess.Popen([prog, "first"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                              preexec_fn=lambda c=c: os.sched_setaffinity(0, {c})) for c in cpus]
    for p in procs:
        o, e = p.communicate(timeout=60)
        if (o, e, p.returncode) != (plain.stdout, plain.stderr, plain.returncode):
            errs.append("output differs: plain %r %r %d, heapprof %r %r %d"
                        % (plain.stdout, plain.stderr, plain.returncode, o, e, p.returncode))
files = sorted(glob.glob(out + "/heapprof.*.0.stats.json"))
bad = []
for f in files:
    d = json.load(open(f))
    p = d["process"]
    if d["reason"] != "peak" or not all(2 * MIB <= p[k] <= 2 * MIB + 256 * 1024 for k in ("live_bytes", "peak_bytes")):
        bad.append("%s: reason %s, live %.3f MiB, peak %.3f MiB, live_objects %d"
                   % (os.path.basename(f), d["reason"], p["live_bytes"] / MIB, p["peak_bytes"] / MIB, p["live_objects"]))
print("--- %d runs, %d with wrong counters" % (len(files), len(bad)), file=sys.stderr)
if len(files) != 12 // len(cpus) * len(cpus):
    errs.append("expected %d first dumps, found %d" % (12 // len(cpus) * len(cpus), len(files)))
if bad:
    errs.append("the first peak dump counted the crossing allocation twice (alloc/counters.c hp_flush wakes the"
                " background thread before it clears the thread's pending deltas):\n  " + "\n  ".join(bad))
if errs:
    sys.exit("FAIL: " + "\nFAIL: ".join(errs))
PY
echo "triggers_peak_exact: ok"
