#!/usr/bin/env bash
# Bad values in the environment, for every key of DESIGN §4 /
# docs/configuration.md, plus unknown HEAPPROF_* variables and a missing or
# unreadable HEAPPROF_CONFIG. Each run of tests/programs/config_probe.c
# under LD_PRELOAD must print exactly one stderr line, starting "heapprof: ",
# naming the variable and the value (HEAPPROF_KEY="value") and saying what is
# used instead ("using ..."; for unknown variables: "ignored"); stdout and the
# exit status (3) must be those of a plain run. Where the fallback is
# observable it must be the documented default:
#   RATE -> sample_rate 524288; FORMAT -> stats (and the other default files)
#   still written; OUT -> ${TMPDIR}/heapprof-<uid>; INTERVAL, SIGNAL,
#   PEAK_DUMP -> off (no heapprof thread, no signal handler, only the exit
#   dump); TAG -> "main"; FOLLOW_EXEC -> 1 (an exec'd program is profiled).
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program config_probe)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP" <<'PY'
import concurrent.futures, glob, json, os, re, shutil, subprocess, sys, threading

lib, prog, tmp = sys.argv[1:4]
tmpdir = os.path.join(tmp, "tmpdir")
os.makedirs(tmpdir)
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
base_env["TMPDIR"] = tmpdir
fails = []

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)

plain = {}
for mode in ("run", "probe", "exec"):
    pf = os.path.join(tmp, "probe.plain." + mode)
    args = [prog, mode] + ([pf] if mode != "run" else [])
    r = subprocess.run(args, capture_output=True, env=base_env, timeout=60)
    plain[mode] = (r.stdout, r.stderr, r.returncode, open(pf).read() if mode != "run" else "")
assert plain["run"][2] == 3 and plain["run"][1] == b"", plain

n = [0]
lock = threading.Lock()
def run(extra_env, mode="run"):
    """Runs the program under heapprof (only the stats format, for speed,
    unless the format is what is tested); returns (stderr lines, probe text,
    out dir, pid)."""
    with lock:
        n[0] += 1
        i = n[0]
    out = os.path.join(tmp, "prof%d" % i)
    pf = os.path.join(tmp, "probe%d" % i)
    env = dict(base_env, LD_PRELOAD=lib, HEAPPROF_OUT=out, HEAPPROF_FORMAT="stats")
    env.update(extra_env)
    args = [prog, mode] + ([pf] if mode != "run" else [])
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    o, e = p.communicate(timeout=60)
    if (o, p.returncode) != (plain[mode][0], plain[mode][2]):
        fail("%r: stdout/exit differ: plain %r %d, heapprof %r %d" % (extra_env, plain[mode][0], plain[mode][2], o, p.returncode))
    return e.decode(errors="replace").split("\n")[:-1] if e else [], \
        (open(pf).read() if mode != "run" and os.path.exists(pf) else ""), out, p.pid

def stats_of(out, pid):
    try:
        return json.load(open(os.path.join(out, "heapprof.%d.final.stats.json" % pid)))
    except (OSError, ValueError) as e:
        fail("no valid final stats for pid %d in %s: %s" % (pid, out, e))
        return {}

def named(key, value):
    """What a line naming key="value" must contain: the key and the start of
    the value (a long one may be shortened; control characters, which would
    break the line, may be shown differently)."""
    parts = re.split(r"[\x00-\x1f]+", value)
    return ['%s="%s' % (key, parts[0][:60])] + [p[:60] for p in parts[1:] if p]

def one_line(what, lines, must_contain, fallback="using", count=1):
    ok = len(lines) == count and len(set(lines)) == 1 and lines[0].startswith("heapprof: ") \
        and all(s in lines[0] for s in must_contain) and fallback in lines[0]
    if not ok:
        fail("%s: expected exactly %d 'heapprof:' line(s) containing %r and %r, got %r"
             % (what, count, must_contain, fallback, lines))
    return ok

BAD = {
    "OUT": ["", "/" + "d" * 5000],
    "RATE": ["12x", "-1", "", "1.5", "99999999999G", "12\nx"],
    "FORMAT": ["xml", "", "stats,xml"],
    "INTERVAL": ["abc", "-1", "inf", "nan"],
    "SIGNAL": ["SIGKILL", "SIGSEGV", "SIGUSR3", "SIGRTMIN+99", "12"],
    "PEAK_DUMP": ["1", "0.5", "abc", "-2"],
    "TAG": ["", "t" * 256],
    "DEPTH": ["0", "257", "abc", "-5"],
    "SEED": ["abc", "-1", ""],
    "GPU": ["2", "maybe"],
    "PYROSCOPE_URL": ["ftp://example.org", "localhost:4040"],
    "APP": ["bad name!", ""],
    "LOG": ["loud"],
    "FOLLOW_EXEC": ["maybe", "2"],
    "CUPTI_PATH": ["relative/libcupti.so", ""],
    "SYMBOLIZE": ["fastest", ""],
    "THP_ARENA": ["maybe", "2"],
}
def bad_case(key, value):
    var = "HEAPPROF_" + key
    what = "%s=%r" % (var, value[:40])
    mode = {"INTERVAL": "probe", "SIGNAL": "probe", "PEAK_DUMP": "probe", "FOLLOW_EXEC": "exec"}.get(key, "run")
    env = {var: value}
    if key == "OUT":  # where the default directory is
        env["TMPDIR"] = os.path.join(tmpdir, "case-%r" % len(value))
        os.makedirs(env["TMPDIR"])
    lines, probe, out, pid = run(env, mode)
    # "exec" runs two programs in one process (before and after exec): one line each
    one_line(what, lines, named(var, value), count=2 if mode == "exec" else 1)
    # the documented fallback, where it can be seen
    if key == "OUT":
        out = os.path.join(env["TMPDIR"], "heapprof-%d" % os.getuid())
    doc = stats_of(out, pid)
    if key == "RATE" and doc.get("sample_rate") != 524288:
        fail("%s: sample_rate %r, expected the default 524288" % (what, doc.get("sample_rate")))
    if key == "FORMAT":
        have = sorted(os.listdir(out))
        for ext in ("stats.json", "pb.gz", "dhat.json"):
            if "heapprof.%d.0.%s" % (pid, ext) not in have:
                fail("%s: the default format %s was not written (have %s)" % (what, ext, have))
    if key in ("INTERVAL", "SIGNAL", "PEAK_DUMP"):
        if probe != plain["probe"][3].replace("mapped 0\npreload-names-it 0", "mapped 1\npreload-names-it 1"):
            fail("%s: threads or signal handlers changed: plain %r, heapprof %r" % (what, plain["probe"][3], probe))
        dumps = [n for n in os.listdir(out) if n.endswith(".stats.json") and ".final." not in n]
        if dumps != ["heapprof.%d.0.stats.json" % pid]:
            fail("%s: expected only the exit dump, got %s" % (what, dumps))
    if key == "TAG":
        names = [t["name"] for t in doc.get("tags", [])]
        if "main" not in names or len(names) != 1:
            fail("%s: tags %r, expected only the default 'main'" % (what, names))
    if key == "FOLLOW_EXEC" and "mapped 1\npreload-names-it 1" not in probe:
        fail("%s: the exec'd program is not profiled (fallback is 1): %r" % (what, probe))

def config_case(what, value):
    lines, probe, out, pid = run({"HEAPPROF_CONFIG": value})
    one_line("HEAPPROF_CONFIG (%s)" % what, lines, ['HEAPPROF_CONFIG="%s"' % value], fallback="")
    stats_of(out, pid)

def unknown_case(var, value):
    lines, probe, out, pid = run({var: value})
    one_line("unknown %s" % var[:30], lines, [var, '"%s"' % value], fallback="ignored")
    if stats_of(out, pid).get("sample_rate") != 524288:
        fail("unknown %s changed the sample rate" % var)

with concurrent.futures.ThreadPoolExecutor(4) as pool:
    jobs = [pool.submit(bad_case, k, v) for k, vs in BAD.items() for v in vs]
    # HEAPPROF_CONFIG naming a missing file, and a directory
    jobs += [pool.submit(config_case, w, v) for w, v in (("missing", os.path.join(tmp, "no-such-file.conf")),
                                                          ("directory", tmp))]
    # unknown variables: named with their value, and ignored
    jobs += [pool.submit(unknown_case, k, v) for k, v in (("HEAPPROF_NOSUCHKEY", "1"), ("HEAPPROF_RATES", "4096"),
                                                           ("HEAPPROF_" + "X" * 70, "v"))]
    for j in jobs:
        j.result()  # re-raises a crash of the case
print("--- %d runs under heapprof" % n[0], file=sys.stderr)
if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "config_env: ok"
