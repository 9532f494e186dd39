#!/usr/bin/env bash
# Bad values in a HEAPPROF_CONFIG file ("key = value", lower case, "#"
# comments), for every key of docs/configuration.md, and file-level problems.
# Each run of tests/programs/config_probe.c under LD_PRELOAD must keep the
# plain run's stdout and exit status (3) and print exactly one stderr line
# starting "heapprof: " that names the key and the value (key="value") and
# what is used instead; the documented fallback is checked where it shows
# (sample_rate 524288, the default formats, the default directory, no
# background thread or handler, tag "main", exec'd programs profiled).
# File-level cases:
#   - unknown key: one line naming the key and its value, ignored
#   - a line without "=": one line quoting it; "config = ..." inside a file
#     (the key is environment-only): one line
#   - empty and comment-only files, CRLF line ends, spaces: no line
#   - "log = quiet" silences the file's bad lines wherever it stands in the
#     file, and HEAPPROF_LOG=quiet in the environment does too (also over a
#     "log = info" in the file: the environment wins)
#   - the environment wins over the file (rate, tag), without a line
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program config_probe)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP" <<'PY'
import concurrent.futures, json, os, subprocess, sys, threading

lib, prog, tmp = sys.argv[1:4]
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
fails = []

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)

plain = {}
for mode in ("run", "probe", "exec"):
    pf = os.path.join(tmp, "probe.plain." + mode)
    r = subprocess.run([prog, mode] + ([pf] if mode != "run" else []), capture_output=True, env=base_env, timeout=60)
    plain[mode] = (r.stdout, r.returncode, open(pf).read() if mode != "run" else "")

n = [0]
lock = threading.Lock()
def run(text, extra_env=None, mode="run", fmt="stats"):
    """Writes `text` as the config file and runs the program under heapprof
    with it; returns (stderr lines, probe text, out dir, pid)."""
    with lock:
        n[0] += 1
        i = n[0]
    out = os.path.join(tmp, "prof%d" % i)
    pf = os.path.join(tmp, "probe%d" % i)
    cfg = os.path.join(tmp, "heapprof%d.conf" % i)
    with open(cfg, "w", newline="") as f:
        f.write(text)
    env = dict(base_env, LD_PRELOAD=lib, HEAPPROF_CONFIG=cfg, TMPDIR=os.path.join(tmp, "tmpdir%d" % i))
    os.makedirs(env["TMPDIR"])
    if "out =" not in text:
        env["HEAPPROF_OUT"] = out
    if fmt and "format =" not in text:
        env["HEAPPROF_FORMAT"] = fmt
    env.update(extra_env or {})
    p = subprocess.Popen([prog, mode] + ([pf] if mode != "run" else []), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    o, e = p.communicate(timeout=60)
    if (o, p.returncode) != plain[mode][:2]:
        fail("%r: stdout/exit differ: plain %r %d, heapprof %r %d" % (text[:60], plain[mode][0], plain[mode][1], o, p.returncode))
    if "out =" in text:
        out = os.path.join(env["TMPDIR"], "heapprof-%d" % os.getuid())
    return (e.decode(errors="replace").split("\n")[:-1] if e else [],
            open(pf).read() if mode != "run" and os.path.exists(pf) else "", out, p.pid)

def stats_of(out, pid):
    try:
        return json.load(open(os.path.join(out, "heapprof.%d.final.stats.json" % pid)))
    except (OSError, ValueError) as e:
        fail("no valid final stats for pid %d in %s: %s" % (pid, out, e))
        return {}

def lines_ok(what, lines, count, must_contain=(), fallback=""):
    ok = len(lines) == count and all(l.startswith("heapprof: ") and fallback in l and
                                     all(s in l for s in must_contain) for l in lines)
    if not ok:
        fail("%s: expected %d 'heapprof:' line(s) containing %r and %r, got %r" % (what, count, list(must_contain), fallback, lines))

BAD = {
    "out": ["/" + "d" * 5000],
    "rate": ["12x", "-1", "", "1.5", "99999999999G"],
    "format": ["xml", "", "stats,xml"],
    "interval": ["abc", "-1", "inf"],
    "signal": ["SIGKILL", "SIGUSR3", "SIGRTMIN+99"],
    "peak_dump": ["1", "0.5", "abc"],
    "tag": ["", "t" * 256],
    "depth": ["0", "257", "abc"],
    "seed": ["abc", "-1"],
    "gpu": ["2", "maybe"],
    "pyroscope_url": ["ftp://example.org", "localhost:4040"],
    "app": ["bad name!", ""],
    "log": ["loud"],
    "follow_exec": ["maybe", "2"],
    "cupti_path": ["relative/libcupti.so", ""],
}

def bad_case(key, value):
    what = "file %s = %r" % (key, value[:40])
    mode = {"interval": "probe", "signal": "probe", "peak_dump": "probe", "follow_exec": "exec"}.get(key, "run")
    lines, probe, out, pid = run("# heapprof settings\n%s = %s\n" % (key, value), mode=mode)
    # "exec" runs two programs in one process (before and after exec): one line each
    # (a long value may be shortened in the line)
    lines_ok(what, lines, 2 if mode == "exec" else 1, ['%s="%s' % (key, value[:60])], "using")
    doc = stats_of(out, pid)
    if key == "rate" and doc.get("sample_rate") != 524288:
        fail("%s: sample_rate %r, expected 524288" % (what, doc.get("sample_rate")))
    if key == "format":
        have = os.listdir(out)
        for ext in ("stats.json", "pb.gz", "dhat.json"):
            if "heapprof.%d.0.%s" % (pid, ext) not in have:
                fail("%s: the default format %s was not written" % (what, ext))
    if key in ("interval", "signal", "peak_dump"):
        if probe != plain["probe"][2].replace("mapped 0\npreload-names-it 0", "mapped 1\npreload-names-it 1"):
            fail("%s: threads or signal handlers changed: plain %r, heapprof %r" % (what, plain["probe"][2], probe))
    if key == "tag" and [t["name"] for t in doc.get("tags", [])] != ["main"]:
        fail("%s: tags %r, expected only 'main'" % (what, [t["name"] for t in doc.get("tags", [])]))
    if key == "follow_exec" and "mapped 1\npreload-names-it 1" not in probe:
        fail("%s: the exec'd program is not profiled: %r" % (what, probe))

def file_case(what, text, count, must_contain=(), fallback="", extra_env=None, rate=524288, tags=None):
    lines, probe, out, pid = run(text, extra_env)
    lines_ok(what, lines, count, must_contain, fallback)
    doc = stats_of(out, pid)
    if doc.get("sample_rate") != rate:
        fail("%s: sample_rate %r, expected %r" % (what, doc.get("sample_rate"), rate))
    if tags is not None and [t["name"] for t in doc.get("tags", [])] != tags:
        fail("%s: tags %r, expected %r" % (what, [t["name"] for t in doc.get("tags", [])], tags))

with concurrent.futures.ThreadPoolExecutor(4) as pool:
    jobs = [pool.submit(bad_case, k, v) for k, vs in BAD.items() for v in vs]
    cases = [
        ("unknown key", "rate = 4096\nnosuchkey = 17\n", 1, ["nosuchkey", '"17"'], "ignored", None, 4096),
        ("line without =", "rate = 4096\nthis line has no equals sign\n", 1, ["this line has no equals sign"], "ignored", None, 4096),
        ("config inside a file", "config = /etc/other-heapprof.conf\nrate = 4096\n", 1, ["config", "/etc/other-heapprof.conf"], "", None, 4096),
        ("empty file", "", 0),
        ("comments only", "# nothing\n   # indented comment\n\n", 0),
        ("CRLF and spaces", "  rate\t=   4096  \r\n# c\r\n", 0, (), "", None, 4096),
        ("trailing comment", "rate = 8192 # mean bytes\n", 0, (), "", None, 8192),
        ("log = quiet first", "log = quiet\nrate = 12x\nnosuchkey = 1\nno equals here\n", 0),
        ("log = quiet last", "rate = 12x\nnosuchkey = 1\nno equals here\nlog = quiet\n", 0),
        ("HEAPPROF_LOG=quiet", "rate = 12x\nnosuchkey = 1\nno equals here\n", 0, (), "", {"HEAPPROF_LOG": "quiet"}),
        ("HEAPPROF_LOG=quiet over log = info", "log = info\nrate = 12x\n", 0, (), "", {"HEAPPROF_LOG": "quiet"}),
        ("env wins (rate)", "rate = 1M\n", 0, (), "", {"HEAPPROF_RATE": "2M"}, 2097152),
        ("env wins over a bad file value", "rate = 12x\n", 1, ['rate="12x'], "using", {"HEAPPROF_RATE": "1M"}, 1048576),
        ("file value used", "rate = 1M\ntag = from-file\n", 0, (), "", None, 1048576, ["from-file"]),
        ("env wins (tag)", "tag = from-file\n", 0, (), "", {"HEAPPROF_TAG": "from-env"}, 524288, ["from-env"]),
    ]
    jobs += [pool.submit(file_case, *c) for c in cases]
    for j in jobs:
        j.result()
print("--- %d runs under heapprof" % n[0], file=sys.stderr)
if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "config_file: ok"
