#!/usr/bin/env bash
# Signal-triggered dumps (HEAPPROF_SIGNAL) under a busy 8-thread workload
# with cross-thread frees (tests/programs/trigger_busy.c):
#   1. HEAPPROF_SIGNAL=SIGUSR2, 20 signals, each sent after the previous dump
#      appeared: exactly 20 dumps with reason "signal", seq 0..19, each a
#      complete valid file (stats.json and dhat.json parse; HEAPPROF_FORMAT=
#      stats,dhat for speed), then the exit dump (seq 20) with the final link
#      to it; no *.tmp.* left; stdout, stderr and exit status equal a plain
#      run.
#   2. The same with HEAPPROF_SIGNAL=SIGRTMIN+3 (6 signals), default formats
#      (pb.gz must gunzip too).
#   3. Without HEAPPROF_SIGNAL the program's own SIGUSR2 handling is untouched:
#      the default action kills it (also when a background thread runs for
#      HEAPPROF_INTERVAL, and when HEAPPROF_SIGNAL names another signal), and
#      a handler the program installs itself still runs.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_busy)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP" <<'PY'
import glob, gzip, json, os, signal, subprocess, sys, time

lib, prog, tmp = sys.argv[1:4]
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
fails = []

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)

def start(args, extra_env, preload):
    env = dict(base_env)
    env.update(extra_env)
    if preload:
        env["LD_PRELOAD"] = lib
    p = subprocess.Popen([prog] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    first = p.stdout.readline()
    return p, first

def finish(p, first):
    try:
        out, err = p.communicate(input=b"", timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        fail("%s did not stop within 60 s after stdin was closed" % p.args)
    return first + out, err, p.returncode

def how(rc):
    return "signal %d" % -rc if rc < 0 else "exit %d" % rc

def wait_for(path, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.005)
    return False

def load_stats(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        return json.loads(data)
    except ValueError as e:
        fail("%s is not valid JSON (%d bytes): %s" % (path, len(data), e))
        return None

def check_files(out, pid, reasons):
    """reasons: the expected reason of seq 0, 1, ... (the last one is "exit")."""
    names = sorted(os.listdir(out))
    tmps = [n for n in names if ".tmp" in n]
    if tmps:
        fail("temporary files left in %s: %s" % (out, tmps))
    stats = sorted((n for n in names if n.endswith(".stats.json") and ".final." not in n),
                   key=lambda n: int(n.split(".")[2]))
    want = ["heapprof.%d.%d.stats.json" % (pid, s) for s in range(len(reasons))]
    if stats != want:
        fail("stats files: expected %s ... %s (%d), got %s" % (want[0], want[-1], len(want), stats))
    prev_t = prev_up = -1
    for seq, reason in enumerate(reasons):
        path = os.path.join(out, "heapprof.%d.%d.stats.json" % (pid, seq))
        if not os.path.exists(path):
            continue
        doc = load_stats(path)
        if doc is None:
            continue
        for k, v in (("schema", "heapprof-stats/1"), ("pid", pid), ("seq", seq), ("reason", reason)):
            if doc.get(k) != v:
                fail("%s: %s is %r, expected %r" % (path, k, doc.get(k), v))
        proc = doc.get("process", {})
        if not isinstance(proc.get("alloc_objects"), int) or proc["alloc_objects"] <= 0:
            fail("%s: process.alloc_objects missing or 0" % path)
        if "profiler" not in doc:
            fail("%s: no profiler object (file incomplete?)" % path)
        t, up = doc.get("time_unix_ns", -1), doc.get("uptime_ns", -1)
        if t < prev_t or up < prev_up:
            fail("%s: time/uptime went backwards (%r/%r after %r/%r)" % (path, t, up, prev_t, prev_up))
        prev_t, prev_up = t, up
        # the other formats of the same dump, when written, are complete too
        dh = path[:-len("stats.json")] + "dhat.json"
        if os.path.exists(dh):
            try:
                json.load(open(dh))
            except ValueError as e:
                fail("%s is not valid JSON: %s" % (dh, e))
        pb = path[:-len("stats.json")] + "pb.gz"
        if os.path.exists(pb):
            try:
                if not gzip.open(pb).read():
                    fail("%s is empty" % pb)
            except Exception as e:
                fail("%s does not gunzip: %s" % (pb, e))
    final = os.path.join(out, "heapprof.%d.final.stats.json" % pid)
    if not os.path.islink(final):
        fail("no final link %s" % final)
    elif os.readlink(final) != "heapprof.%d.%d.stats.json" % (pid, len(reasons) - 1):
        fail("%s -> %s, expected the exit dump seq %d" % (final, os.readlink(final), len(reasons) - 1))

def signal_case(name, signame, signum, count, formats=None):
    out = os.path.join(tmp, "prof-" + name)
    # plain run: no signals (they would kill it), same output expected
    p, first = start(["busy", "8"], {}, False)
    time.sleep(0.3)
    plain = finish(p, first)
    env = {"HEAPPROF_OUT": out, "HEAPPROF_SIGNAL": signame}
    if formats:
        env["HEAPPROF_FORMAT"] = formats
    p, first = start(["busy", "8"], env, True)
    t0 = time.monotonic()
    for i in range(count):
        p.send_signal(signum)
        path = os.path.join(out, "heapprof.%d.%d.stats.json" % (p.pid, i))
        if not wait_for(path):
            fail("%s: signal %d of %d produced no %s within 30 s (have: %s)"
                 % (name, i + 1, count, os.path.basename(path), sorted(os.listdir(out)) if os.path.isdir(out) else "no dir"))
            break
        time.sleep(0.03)
    hp = finish(p, first)
    print("--- %s: %d signals in %.1f s; plain %s %r, heapprof %s %r"
          % (name, count, time.monotonic() - t0, how(plain[2]), plain[0], how(hp[2]), hp[0]), file=sys.stderr)
    if plain[0] != hp[0] or plain[2] != hp[2]:
        fail("%s: stdout/exit differ: plain %r %s, heapprof %r %s" % (name, plain[0], how(plain[2]), hp[0], how(hp[2])))
    if hp[1] != plain[1]:
        fail("%s: stderr differs: plain %r, heapprof %r" % (name, plain[1], hp[1]))
    if b"intact" not in hp[0]:
        fail("%s: blocks corrupted under heapprof: %r" % (name, hp[0]))
    if os.path.isdir(out):
        check_files(out, p.pid, ["signal"] * count + ["exit"])
    else:
        fail("%s: no profile directory" % name)

# (the symbolizing pprof writer is slow with 8 busy threads on 2 cores: the
# 20-signal run writes stats and DHAT only; the SIGRTMIN+3 run all formats)
signal_case("sigusr2", "SIGUSR2", signal.SIGUSR2, 20, "stats,dhat")
signal_case("sigrtmin3", "SIGRTMIN+3", signal.SIGRTMIN + 3, 6)

# --- without HEAPPROF_SIGNAL the program's signal handling is its own
def kill_case(name, extra_env, sig):
    res = []
    for preload in (False, True):
        out = os.path.join(tmp, "prof-" + name)
        env = dict(extra_env)
        if preload:
            env["HEAPPROF_OUT"] = out
        p, first = start(["busy", "8"], env, preload)
        time.sleep(0.2)
        p.send_signal(sig)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        res.append(finish(p, first))
    (po, pe, prc), (ho, he, hrc) = res
    print("--- %s: plain %s, heapprof %s" % (name, how(prc), how(hrc)), file=sys.stderr)
    if prc != -sig:
        fail("%s: plain run was not killed by signal %d: %s" % (name, sig, how(prc)))
    if (po, pe, prc) != (ho, he, hrc):
        fail("%s: differs under heapprof: plain %s %r %r, heapprof %s %r %r" % (name, how(prc), po, pe, how(hrc), ho, he))

kill_case("nosignal-usr2", {}, signal.SIGUSR2)
kill_case("interval-usr2", {"HEAPPROF_INTERVAL": "0.1"}, signal.SIGUSR2)
kill_case("usr1-configured-usr2-sent", {"HEAPPROF_SIGNAL": "SIGUSR1"}, signal.SIGUSR2)
kill_case("nosignal-rtmin3", {"HEAPPROF_INTERVAL": "0.1"}, signal.SIGRTMIN + 3)

# own handler, no HEAPPROF_SIGNAL (but a background thread): it still runs
res = []
for preload in (False, True):
    env = {"HEAPPROF_OUT": os.path.join(tmp, "prof-own"), "HEAPPROF_INTERVAL": "0.1"} if preload else {}
    p, first = start(["own-handler"], env, preload)
    for _ in range(5):
        p.send_signal(signal.SIGUSR2)
        time.sleep(0.05)
    res.append(finish(p, first))
print("--- own handler: plain %r, heapprof %r" % (res[0][0], res[1][0]), file=sys.stderr)
if res[0] != res[1] or b"handler ran: yes" not in res[1][0]:
    fail("own SIGUSR2 handler: plain %r, heapprof %r" % (res[0], res[1]))

if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "triggers_signal: ok"
