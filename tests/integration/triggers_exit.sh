#!/usr/bin/env bash
# The dump at exit is the last one (DESIGN §4: "the dump at exit is the last
# <seq> and heapprof.<pid>.final.* links to it") and nothing is left half
# written when the process ends. 10 runs of tests/programs/trigger_busy.c
# "busy 2" for 0.3 s with HEAPPROF_INTERVAL=0.01, so that an interval dump
# is due while the exit dump is being written: in every run the highest seq
# is the exit dump, the final link points at it, and no *.tmp.* file is left.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_busy)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP/prof" <<'PY'
import json, os, subprocess, sys, time
lib, prog, out = sys.argv[1:4]
env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
env.update(LD_PRELOAD=lib, HEAPPROF_OUT=out, HEAPPROF_INTERVAL="0.01")
bad = []
for run in range(10):
    p = subprocess.Popen([prog, "busy", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    p.stdout.readline()
    time.sleep(0.3)
    o, e = p.communicate(input=b"", timeout=120)
    if p.returncode != 0 or e:
        bad.append("run %d: exit %d, stderr %r" % (run, p.returncode, e))
    mine = [n for n in os.listdir(out) if n.startswith("heapprof.%d." % p.pid)]
    tmps = [n for n in mine if ".tmp" in n]
    seqs = sorted(int(n.split(".")[2]) for n in mine if n.endswith(".stats.json") and ".final." not in n and ".tmp" not in n)
    last = json.load(open(os.path.join(out, "heapprof.%d.%d.stats.json" % (p.pid, seqs[-1])))) if seqs else {}
    link = os.path.join(out, "heapprof.%d.final.stats.json" % p.pid)
    target = os.readlink(link) if os.path.islink(link) else None
    print("--- run %d: pid %d, %d dumps, last seq %s reason %r, final -> %s, tmp %s"
          % (run, p.pid, len(seqs), seqs[-1] if seqs else None, last.get("reason"), target, tmps), file=sys.stderr)
    if tmps:
        bad.append("pid %d: temporary files left after exit: %s" % (p.pid, tmps))
    if last.get("reason") != "exit":
        bad.append("pid %d: the last dump (seq %s) has reason %r, not exit" % (p.pid, seqs[-1] if seqs else None, last.get("reason")))
    if seqs and target != "heapprof.%d.%d.stats.json" % (p.pid, seqs[-1]):
        bad.append("pid %d: final link -> %s, not the last seq %d" % (p.pid, target, seqs[-1]))
if bad:
    sys.exit("FAIL: " + "\nFAIL: ".join(bad))
PY
echo "triggers_exit: ok"
