#!/usr/bin/env bash
# Good configuration values take effect, print nothing and leave the
# program's stdout and exit status alone (tests/programs/config_probe.c):
#   RATE 512K/1/0/4M/1G/65536 -> stats.json sample_rate; TAG=x -> tags is
#   ["x"]; FORMAT lists -> exactly those files; SIGNAL=SIGUSR1 / SIGRTMIN+3
#   -> a "heapprof" thread and that handler; INTERVAL=0, SIGNAL=none,
#   PEAK_DUMP=off -> neither; SEED=42 twice -> the same samples, SEED=43 ->
#   others; a relative OUT is under the working directory; every key set to
#   a valid value at once -> no stderr at all; booleans on/yes/true.
#   HEAPPROF_LOG=quiet silences bad values, unknown variables and write
#   errors (and the fallback still applies); LOG=debug lines are prefixed.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program config_probe)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP" <<'PY'
import concurrent.futures, json, os, signal, subprocess, sys, threading

lib, prog, tmp = sys.argv[1:4]
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
fails = []

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)

plain = {}
for mode in ("run", "probe"):
    pf = os.path.join(tmp, "probe.plain." + mode)
    r = subprocess.run([prog, mode] + ([pf] if mode != "run" else []), capture_output=True, env=base_env, timeout=60)
    plain[mode] = (r.stdout, r.returncode, open(pf).read() if mode != "run" else "")

n = [0]
lock = threading.Lock()
def run(env_extra, mode="run", cwd=None):
    with lock:
        n[0] += 1
        i = n[0]
    out = os.path.join(tmp, "prof%d" % i)
    pf = os.path.join(tmp, "probe%d" % i)
    env = dict(base_env, LD_PRELOAD=lib, HEAPPROF_OUT=out, HEAPPROF_FORMAT="stats")
    env.update(env_extra)
    p = subprocess.Popen([prog, mode] + ([pf] if mode != "run" else []), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=cwd)
    o, e = p.communicate(timeout=60)
    if (o, p.returncode) != plain[mode][:2]:
        fail("%r: stdout/exit differ: plain %r %d, heapprof %r %d" % (env_extra, plain[mode][0], plain[mode][1], o, p.returncode))
    return (e.decode(errors="replace").split("\n")[:-1] if e else [],
            open(pf).read() if mode != "run" and os.path.exists(pf) else "", env["HEAPPROF_OUT"], p.pid)

def stats_of(out, pid):
    try:
        return json.load(open(os.path.join(out, "heapprof.%d.final.stats.json" % pid)))
    except (OSError, ValueError) as e:
        fail("no valid final stats for pid %d in %s: %s" % (pid, out, e))
        return {}

def quiet(what, lines):
    if lines:
        fail("%s: expected no stderr, got %r" % (what, lines))

def rate_case(value, want):
    lines, _, out, pid = run({"HEAPPROF_RATE": value})
    quiet("RATE=%s" % value, lines)
    got = stats_of(out, pid).get("sample_rate")
    if got != want:
        fail("RATE=%s: sample_rate %r, expected %d" % (value, got, want))

def tag_case(value):
    lines, _, out, pid = run({"HEAPPROF_TAG": value})
    quiet("TAG=%s" % value[:20], lines)
    tags = [(t["name"], t["alloc_objects"]) for t in stats_of(out, pid).get("tags", [])]
    if len(tags) != 1 or tags[0][0] != value or tags[0][1] < 2000:
        fail("TAG=%s: tags %r, expected only %r with the program's 2000 allocations" % (value[:20], tags, value[:20]))

def format_case(value, exts):
    lines, _, out, pid = run({"HEAPPROF_FORMAT": value})
    quiet("FORMAT=%s" % value, lines)
    have = sorted(n.split(".", 3)[3] for n in os.listdir(out) if n.startswith("heapprof.%d.0." % pid))
    if have != sorted(exts):
        fail("FORMAT=%s: wrote %s, expected %s" % (value, have, sorted(exts)))

def sigcgt(probe):
    return int([l for l in probe.splitlines() if l.startswith("sigcgt ")][0].split()[1], 16)

def threads(probe):
    return [l for l in probe.splitlines() if l.startswith("threads ")][0].split(" ", 1)[1].split(",")

def signal_case(value, signum):
    lines, probe, out, pid = run({"HEAPPROF_SIGNAL": value}, "probe")
    quiet("SIGNAL=%s" % value, lines)
    if not sigcgt(probe) & (1 << (signum - 1)) or "heapprof" not in threads(probe):
        fail("SIGNAL=%s: no handler for signal %d or no heapprof thread: %r" % (value, signum, probe))

def off_case():
    env = {"HEAPPROF_INTERVAL": "0", "HEAPPROF_SIGNAL": "none", "HEAPPROF_PEAK_DUMP": "off"}
    lines, probe, out, pid = run(env, "probe")
    quiet("all triggers off", lines)
    if probe != plain["probe"][2].replace("mapped 0\npreload-names-it 0", "mapped 1\npreload-names-it 1"):
        fail("triggers off: threads or handlers changed: plain %r, heapprof %r" % (plain["probe"][2], probe))

def seed_runs():
    res = {}
    for name, seed in (("a", "42"), ("b", "42"), ("c", "43")):
        lines, _, out, pid = run({"HEAPPROF_SEED": seed, "HEAPPROF_RATE": "4096"})
        quiet("SEED=%s" % seed, lines)
        d = stats_of(out, pid)
        res[name] = (d.get("sampling", {}).get("samples"), [t.get("peak_bytes") for t in d.get("tags", [])])
    print("--- seeds: %r" % res, file=sys.stderr)
    if res["a"] != res["b"]:
        fail("SEED=42 twice gave different samples: %r vs %r" % (res["a"], res["b"]))
    if res["a"] == res["c"]:
        fail("SEED=42 and SEED=43 gave the same samples: %r" % (res["a"],))

def relative_out():
    cwd = os.path.join(tmp, "cwd")
    os.makedirs(cwd)
    lines, _, out, pid = run({"HEAPPROF_OUT": "rel/profiles"}, cwd=cwd)
    quiet("OUT=rel/profiles", lines)
    stats_of(os.path.join(cwd, "rel", "profiles"), pid)

def everything():
    env = {"HEAPPROF_RATE": "1M", "HEAPPROF_FORMAT": "stats", "HEAPPROF_INTERVAL": "0", "HEAPPROF_SIGNAL": "none",
           "HEAPPROF_PEAK_DUMP": "off", "HEAPPROF_TAG": "t", "HEAPPROF_DEPTH": "32", "HEAPPROF_SEED": "7",
           "HEAPPROF_GPU": "0", "HEAPPROF_APP": "my-app_1.0/x", "HEAPPROF_LOG": "info", "HEAPPROF_FOLLOW_EXEC": "yes",
           "HEAPPROF_CUPTI_PATH": "/opt/cuda/lib64/libcupti.so"}
    lines, _, out, pid = run(env)
    quiet("every key valid", lines)
    if stats_of(out, pid).get("sample_rate") != 1048576:
        fail("every key valid: RATE=1M not in effect")
    for b in ("on", "yes", "true", "1", "ON", "True"):
        lines, _, out, pid = run({"HEAPPROF_FOLLOW_EXEC": b, "HEAPPROF_GPU": "off"})
        quiet("FOLLOW_EXEC=%s" % b, lines)

def log_cases():
    blocker = os.path.join(tmp, "regular-file")
    open(blocker, "w").close()
    for what, env in (("bad value", {"HEAPPROF_RATE": "12x"}), ("unknown variable", {"HEAPPROF_NOSUCHKEY": "1"}),
                      ("unwritable OUT", {"HEAPPROF_OUT": os.path.join(blocker, "d")}),
                      ("missing config file", {"HEAPPROF_CONFIG": os.path.join(tmp, "missing.conf")})):
        lines, _, out, pid = run(dict(env, HEAPPROF_LOG="quiet"))
        quiet("LOG=quiet with %s" % what, lines)
        if what == "bad value" and stats_of(out, pid).get("sample_rate") != 524288:
            fail("LOG=quiet with a bad RATE: the fallback 524288 is not in effect")
    lines, _, out, pid = run({"HEAPPROF_LOG": "debug"})
    if not lines or not all(l.startswith("heapprof: ") for l in lines):
        fail("LOG=debug: expected some lines, all prefixed 'heapprof: ', got %r" % lines[:5])
    lines, _, out, pid = run({"HEAPPROF_LOG": "info"})
    quiet("LOG=info", lines)

with concurrent.futures.ThreadPoolExecutor(4) as pool:
    jobs = [pool.submit(rate_case, v, w) for v, w in (("512K", 524288), ("1", 1), ("0", 0), ("4M", 4194304),
                                                       ("1G", 1 << 30), ("65536", 65536))]
    jobs += [pool.submit(tag_case, v) for v in ("x", "agent:planner", "t" * 255)]
    jobs += [pool.submit(format_case, v, e) for v, e in (("stats", ["stats.json"]),
                                                         ("pprof,stats", ["pb.gz", "stats.json"]),
                                                         ("dhat", ["dhat.json"]), ("prom", ["prom"]),
                                                         ("pprof,dhat,stats,prom", ["pb.gz", "dhat.json", "stats.json", "prom"]))]
    jobs += [pool.submit(signal_case, v, s) for v, s in (("SIGUSR1", signal.SIGUSR1), ("usr2", signal.SIGUSR2), ("SIGRTMIN+3", signal.SIGRTMIN + 3))]
    jobs += [pool.submit(f) for f in (off_case, seed_runs, relative_out, everything, log_cases)]
    for j in jobs:
        j.result()
print("--- %d runs under heapprof" % n[0], file=sys.stderr)
if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "config_good: ok"
