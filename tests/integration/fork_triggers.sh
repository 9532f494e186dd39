#!/usr/bin/env bash
# fork without exec (tests/programs/trigger_fork.c):
#   1. "fork": parent and child each write complete files under their own
#      pid, seq from 0 (parent: parent-before, parent-after, exit; child:
#      child, exit), each with a final link; the child's counters include
#      the 3 MiB it inherited; heapprof_dump returns 0 in both.
#   2. "busyfork 6" with HEAPPROF_INTERVAL=0.2 and HEAPPROF_RATE=65536: 6
#      forks while one thread allocates and another calls heapprof_dump()
#      every 50 ms; no child deadlocks (each must exit within 20 s), each
#      child writes its own exit dump, seq 0..n contiguous per pid.
#   3. "childtriggers" with HEAPPROF_INTERVAL=0.2 and HEAPPROF_SIGNAL=SIGUSR2:
#      the child gets its own background thread: a signal dump (it raises
#      SIGUSR2) and interval dumps in its own files.
# In every case stdout and exit status equal a plain run; no *.tmp.* left.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_fork)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP" <<'PY'
import glob, json, os, subprocess, sys

lib, prog, tmp = sys.argv[1:4]
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
fails = []
MIB = 1 << 20

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)

def run(name, args, extra_env):
    res = os.path.join(tmp, "results." + name)
    plain = subprocess.run([prog] + args + [res + ".plain"], capture_output=True, env=base_env, timeout=300)
    out = os.path.join(tmp, "prof-" + name)
    env = dict(base_env, LD_PRELOAD=lib, HEAPPROF_OUT=out, **extra_env)
    hp = subprocess.run([prog] + args + [res], capture_output=True, env=env, timeout=300)
    print("--- %s: plain %r %r %d; heapprof %r %r %d" % (name, plain.stdout, plain.stderr, plain.returncode,
                                                        hp.stdout, hp.stderr, hp.returncode), file=sys.stderr)
    if (plain.stdout, plain.stderr, plain.returncode) != (hp.stdout, hp.stderr, hp.returncode):
        fail("%s: output or exit status differ under heapprof" % name)
    lines = [l.split() for l in open(res).read().splitlines()]
    return out, lines

def by_pid(out, name):
    """{pid: [doc by seq]}, checking names, contiguity, validity, links."""
    names = os.listdir(out) if os.path.isdir(out) else []
    if [n for n in names if ".tmp" in n]:
        fail("%s: temporary files left: %s" % (name, [n for n in names if ".tmp" in n]))
    pids = {}
    for n in names:
        parts = n.split(".")
        if n.endswith(".stats.json") and parts[2] != "final":
            pids.setdefault(int(parts[1]), []).append(int(parts[2]))
    docs = {}
    for pid, seqs in pids.items():
        seqs.sort()
        if seqs != list(range(len(seqs))):
            fail("%s: pid %d has stats seqs %s, not 0..%d" % (name, pid, seqs, len(seqs) - 1))
        docs[pid] = []
        for s in seqs:
            p = os.path.join(out, "heapprof.%d.%d.stats.json" % (pid, s))
            try:
                d = json.load(open(p))
            except ValueError as e:
                fail("%s: %s invalid: %s" % (name, p, e))
                continue
            if d.get("pid") != pid or d.get("seq") != s:
                fail("%s: %s says pid %r seq %r" % (name, p, d.get("pid"), d.get("seq")))
            docs[pid].append(d)
        last = docs[pid][-1] if docs[pid] else {}
        link = os.path.join(out, "heapprof.%d.final.stats.json" % pid)
        if last.get("reason") == "exit":
            if not os.path.islink(link) or os.readlink(link) != "heapprof.%d.%d.stats.json" % (pid, last["seq"]):
                fail("%s: pid %d: final link missing or not at its exit dump" % (name, pid))
    return docs

# 1. fork
out, lines = run("fork", ["fork"], {})
parent = int(lines[0][1])
child = [int(l[1]) for l in lines if l[0] == "child"]
dumps = [l for l in lines if l[0] == "dump"]
if any(l[3] != "0" for l in dumps) or len(dumps) != 3:
    fail("fork: heapprof_dump results %r, expected three 0s" % dumps)
docs = by_pid(out, "fork")
if len(child) != 1 or sorted(docs) != sorted([parent] + child):
    fail("fork: files for pids %s, expected parent %d and child %s" % (sorted(docs), parent, child))
else:
    child = child[0]
    pr = [d["reason"] for d in docs[parent]]
    cr = [d["reason"] for d in docs[child]]
    if pr != ["parent-before", "parent-after", "exit"]:
        fail("fork: parent dumps %s" % pr)
    if cr != ["child", "exit"]:
        fail("fork: child dumps %s (expected its own seq 0 'child', 1 'exit')" % cr)
    if docs[child] and docs[parent]:
        c0, p0 = docs[child][0]["process"], docs[parent][0]["process"]
        print("--- fork: parent before fork live %.2f MiB, %d allocs; child at its first dump live %.2f MiB, %d allocs"
              % (p0["live_bytes"] / MIB, p0["alloc_objects"], c0["live_bytes"] / MIB, c0["alloc_objects"]), file=sys.stderr)
        if c0["live_bytes"] < 3 * MIB or c0["alloc_objects"] < p0["alloc_objects"]:
            fail("fork: the child's counters do not include what it inherited (%r vs parent %r)" % (c0, p0))
        if docs[child][0]["cmd"] != docs[parent][0]["cmd"]:
            fail("fork: child cmd %r != parent cmd %r" % (docs[child][0]["cmd"], docs[parent][0]["cmd"]))

# 2. forks while other threads allocate and dump
out, lines = run("busyfork", ["busyfork", "6"], {"HEAPPROF_INTERVAL": "0.2", "HEAPPROF_RATE": "65536"})
parent = int(lines[0][1])
children = [int(l[1]) for l in lines if l[0] == "child"]
docs = by_pid(out, "busyfork")
if len(children) != 6:
    fail("busyfork: %d children recorded, expected 6" % len(children))
for c in children:
    if c not in docs or not docs[c] or docs[c][-1]["reason"] != "exit":
        fail("busyfork: child %d wrote no exit dump of its own (%s)" % (c, [d["reason"] for d in docs.get(c, [])]))
if parent not in docs or docs[parent][-1]["reason"] != "exit":
    fail("busyfork: parent %d has no exit dump" % parent)
else:
    reasons = set(d["reason"] for d in docs[parent])
    print("--- busyfork: parent dumps %d, reasons %s" % (len(docs[parent]), sorted(reasons)), file=sys.stderr)
extra = set(docs) - set(children) - {parent}
if extra:
    fail("busyfork: files from unknown pids %s" % sorted(extra))

# 3. the child's own triggers
out, lines = run("childtriggers", ["childtriggers"], {"HEAPPROF_INTERVAL": "0.2", "HEAPPROF_SIGNAL": "SIGUSR2"})
parent = int(lines[0][1])
child = [int(l[1]) for l in lines if l[0] == "child"]
docs = by_pid(out, "childtriggers")
if len(child) != 1 or child[0] not in docs:
    fail("childtriggers: no files for the child %s (pids %s)" % (child, sorted(docs)))
else:
    cr = [d["reason"] for d in docs[child[0]]]
    pr = [d["reason"] for d in docs.get(parent, [])]
    print("--- childtriggers: parent %s; child %s" % (pr, cr), file=sys.stderr)
    if cr.count("signal") != 1 or cr.count("interval") < 1 or cr[-1] != "exit":
        fail("childtriggers: child dumps %s; expected one signal dump, interval dumps and the exit dump" % cr)
    if pr.count("interval") < 1 or pr[-1:] != ["exit"] or "signal" in pr:
        fail("childtriggers: parent dumps %s; expected interval dumps and the exit dump, no signal dump" % pr)

if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "fork_triggers: ok"
