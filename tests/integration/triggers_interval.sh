#!/usr/bin/env bash
# Periodic dumps (HEAPPROF_INTERVAL=0.2) over a ~1.5 s run (longer, up to
# 20 s, until 4 dumps are out on a loaded machine), for a busy program (2
# threads malloc/free) and an idle one (blocked in read): seq 0..k-1 have
# reason "interval" (k >= 4), then the exit dump with the final link; every
# file is complete and valid; time_unix_ns and uptime_ns strictly increase;
# the n-th interval dump is not earlier than n x 0.2 s of uptime and there
# are no more than the run's uptime allows; stdout, stderr and exit status
# equal a plain run; no *.tmp.* files.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_busy)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP" <<'PY'
import gzip, json, os, subprocess, sys, time

lib, prog, tmp = sys.argv[1:4]
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
fails = []
INTERVAL = 0.2

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)

def run(args, extra_env, preload, seconds, out=None, want=0):
    """Runs for `seconds`, and longer (at most 20 s) until `want` dumps are in
    `out`: a loaded machine may dump late, which is no failure."""
    env = dict(base_env)
    env.update(extra_env)
    if preload:
        env["LD_PRELOAD"] = lib
    p = subprocess.Popen([prog] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    first = p.stdout.readline()
    start = time.monotonic()
    time.sleep(seconds)
    while out and time.monotonic() < start + 20:
        have = [n for n in os.listdir(out) if n.endswith(".stats.json")] if os.path.isdir(out) else []
        if len(have) >= want:
            break
        time.sleep(0.05)
    out, err = p.communicate(input=b"", timeout=60)
    return p.pid, first + out, err, p.returncode

def case(name, args, min_dumps):
    out = os.path.join(tmp, "prof-" + name)
    plain = run(args, {}, False, 0.2)
    pid, o, e, rc = run(args, {"HEAPPROF_OUT": out, "HEAPPROF_INTERVAL": "0.2"}, True, 1.5, out, min_dumps)
    if (plain[1], plain[2], plain[3]) != (o, e, rc):
        fail("%s: differs under heapprof: plain %r %r %d, heapprof %r %r %d" % (name, plain[1], plain[2], plain[3], o, e, rc))
    names = sorted(os.listdir(out)) if os.path.isdir(out) else []
    if [n for n in names if ".tmp" in n]:
        fail("%s: temporary files left: %s" % (name, names))
    stats = sorted((n for n in names if n.endswith(".stats.json") and ".final." not in n),
                   key=lambda n: int(n.split(".")[2]))
    docs = []
    for seq, n in enumerate(stats):
        if n != "heapprof.%d.%d.stats.json" % (pid, seq):
            fail("%s: stats files are not seq 0..%d of pid %d: %s" % (name, len(stats) - 1, pid, stats))
            break
        try:
            doc = json.load(open(os.path.join(out, n)))
        except ValueError as ex:
            fail("%s: %s is not valid JSON: %s" % (name, n, ex))
            continue
        if doc.get("seq") != seq or doc.get("pid") != pid or doc.get("schema") != "heapprof-stats/1" \
                or "profiler" not in doc:
            fail("%s: %s has seq %r pid %r schema %r" % (name, n, doc.get("seq"), doc.get("pid"), doc.get("schema")))
        pb = os.path.join(out, n[:-len("stats.json")] + "pb.gz")
        if os.path.exists(pb):
            try:
                gzip.open(pb).read()
            except Exception as ex:
                fail("%s: %s does not gunzip: %s" % (name, pb, ex))
        docs.append(doc)
    reasons = [d.get("reason") for d in docs]
    print("--- %s: reasons %s; uptimes (s) %s" % (name, reasons, [round(d.get("uptime_ns", 0) / 1e9, 3) for d in docs]),
          file=sys.stderr)
    k = len(reasons) - 1
    if not reasons or reasons[-1] != "exit" or reasons[:-1] != ["interval"] * k:
        fail("%s: expected interval dumps then one exit dump, got %s" % (name, reasons))
    if k < min_dumps:
        fail("%s: only %d interval dumps in a %.1f s run with HEAPPROF_INTERVAL=0.2" % (name, k, docs[-1]["uptime_ns"] / 1e9))
    for a, b in zip(docs, docs[1:]):
        if not (b["time_unix_ns"] > a["time_unix_ns"] and b["uptime_ns"] > a["uptime_ns"]):
            fail("%s: seq %d -> %d: time/uptime not increasing (%d/%d -> %d/%d)" % (
                name, a["seq"], b["seq"], a["time_unix_ns"], a["uptime_ns"], b["time_unix_ns"], b["uptime_ns"]))
    for i, d in enumerate(docs[:-1]):
        if d["uptime_ns"] < (i + 1) * INTERVAL * 1e9 * 0.99:
            fail("%s: interval dump #%d at uptime %.3f s, before %d intervals of %.1f s had passed"
                 % (name, i + 1, d["uptime_ns"] / 1e9, i + 1, INTERVAL))
    if docs and k > docs[-1]["uptime_ns"] / (INTERVAL * 1e9) + 1:
        fail("%s: %d interval dumps in %.3f s of uptime" % (name, k, docs[-1]["uptime_ns"] / 1e9))
    final = os.path.join(out, "heapprof.%d.final.stats.json" % pid)
    if not os.path.islink(final) or os.readlink(final) != "heapprof.%d.%d.stats.json" % (pid, k):
        fail("%s: final link missing or not pointing at the exit dump seq %d" % (name, k))

case("busy", ["busy", "2"], 4)
case("idle", ["own-handler"], 4)
if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "triggers_interval: ok"
