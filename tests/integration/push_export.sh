#!/usr/bin/env bash
# Continuous export from inside a profiled process (HEAPPROF_PYROSCOPE_URL)
# to a loopback server that enforces Pyroscope's /ingest contract
# (lib/pyroscope_server.py):
#   - the program prints, writes and exits as without heapprof (stdout,
#     stderr, status), and its heap counters at exit are the same as in a
#     run without export: what libcurl and OpenSSL allocate is the profiler's;
#   - every upload is multipart without format=, with filenames, name=APP,
#     spyName; go tool pprof reads it; the alloc_* of the uploads add up to
#     the exit dump's totals for the workload's functions (per tag), the
#     last upload's inuse_* are the exit dump's; tags are labels;
#   - libcurl is mapped only when a URL is set;
#   - a server answering 503 at first: those uploads are dropped with one
#     warning line and a count at exit, and the next delivered upload carries
#     their allocations, so the totals still add up;
#   - nobody listening: output and status unchanged, a dropped count at exit.
source "$(dirname "$0")/lib/common.bash"
hp_need go
export HOME=$HP_TMP GOCACHE=$HP_TMP/gocache
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY HEAPPROF_PYROSCOPE_URL HEAPPROF_APP
prog=$(hp_program push_workload)

"$PY" - "$HP_LIB" "$prog" "$HP_ROOT/tests/integration/lib" "$HP_TMP" <<'PY'
import glob, json, os, socket, subprocess, sys, time
lib, prog, libdir, tmp = sys.argv[1:5]
sys.path.insert(0, libdir)
import push_check as pc

PY = "/usr/bin/python3"
SERVER = os.path.join(libdir, "pyroscope_server.py")
INTERVAL = "0.3"
ARGS = ["4", "300", "--wait"]
WORKLOAD = {"kept_blocks", "churn_blocks"}
servers, fails = [], []
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)

def server(name, *args):
    d = os.path.join(tmp, name)
    p = subprocess.Popen([PY, SERVER, "--dir", d] + list(args))
    servers.append(p)
    for _ in range(200):
        if os.path.exists(os.path.join(d, "port")):
            return "http://127.0.0.1:" + open(os.path.join(d, "port")).read(), d
        time.sleep(0.05)
    raise SystemExit("FAIL: test server %s did not start" % name)

def requests(d):
    path = os.path.join(d, "requests.jsonl")
    return [json.loads(l) for l in open(path)] if d and os.path.exists(path) else []

def run(name, env_extra, preload, sdir=None, uploads_after_done=0):
    """Runs the workload; with uploads_after_done, keeps it alive (stdin
    open) until that many requests reached the server after it printed
    'done', so the last upload shows the final heap."""
    env = dict(base_env)
    env.update(env_extra)
    report = os.path.join(tmp, name + ".curl")
    if preload:
        env["LD_PRELOAD"] = lib
        env["HEAPPROF_OUT"] = os.path.join(tmp, name)
    p = subprocess.Popen([prog] + ARGS + ["--curl-report", report], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = b""
    while True:
        line = p.stdout.readline()
        out += line
        if not line or line.startswith(b"done"):
            break
    if uploads_after_done:
        seen = len(requests(sdir))
        deadline = time.time() + 60
        while len(requests(sdir)) < seen + uploads_after_done and time.time() < deadline:
            time.sleep(0.05)
        if len(requests(sdir)) < seen + uploads_after_done:
            fail("%s: fewer than %d uploads within 60 s after the workload finished" % (name, uploads_after_done))
    rest, err = p.communicate(input=b"", timeout=120)
    return out + rest, err, p.returncode, open(report).read() if os.path.exists(report) else ""

def final_stats(name):
    f = glob.glob(os.path.join(tmp, name, "heapprof.*.final.stats.json"))
    return json.load(open(f[0]))["process"] if f else {}

def check_uploads(name, sdir, app, final_pb):
    reqs = [q for q in requests(sdir) if q["status"] == 200]
    if len(reqs) < 2:
        fail("%s: only %d uploads accepted" % (name, len(reqs)))
        return
    for i, q in enumerate(reqs):
        where = "%s: upload %d" % (name, i + 1)
        if not q.get("stored"):
            fail("%s: accepted but nothing stored (empty profile part?): %r" % (where, q.get("parts")))
        if q["path"] != "/ingest" or "format" in q["query"] or q["query"].get("name") != app \
                or q["query"].get("spyName") != "heapprof":
            fail("%s: path %r query %r" % (where, q["path"], q["query"]))
        names = {p["name"]: p["filename"] for p in q.get("parts") or []}
        if names != {"profile": "profile.pprof", "sample_type_config": "sample_type_config.json"}:
            fail("%s: parts %r" % (where, q.get("parts")))
        if not (q["query"].get("from", "").isdigit() and q["query"].get("until", "").isdigit()):
            fail("%s: from/until %r" % (where, q["query"]))
    uploads = [pc.decode(os.path.join(sdir, q["stored"] + ".pb.gz")) for q in reqs if q.get("stored")]
    final = pc.decode(final_pb)
    summed = {}
    for u in uploads:
        pc.add(summed, pc.by_site(u, WORKLOAD))
    want = pc.project(pc.by_site(final, WORKLOAD), ("alloc_objects", "alloc_space"))
    if summed != want:
        fail("%s: alloc deltas of %d uploads %r do not add up to the exit dump's %r" % (name, len(uploads), summed, want))
    got = {k: v for k, v in pc.project(pc.by_site(uploads[-1], WORKLOAD), ("inuse_objects", "inuse_space")).items() if any(v.values())}
    want = {k: v for k, v in pc.project(pc.by_site(final, WORKLOAD), ("inuse_objects", "inuse_space")).items() if any(v.values())}
    if got != want:
        fail("%s: last upload's inuse %r is not the exit dump's %r" % (name, got, want))
    tags = {s["labels"].get("tag") for u in uploads for s in u["samples"]}
    if not {"parser", "render"} <= tags:
        fail("%s: tags missing from the uploads: %r" % (name, tags))
    print("--- %s: %d uploads, alloc totals %r" % (name, len(uploads), summed), file=sys.stderr)

try:
    common = {"HEAPPROF_RATE": "1", "HEAPPROF_INTERVAL": INTERVAL}
    plain = run("plain", {}, False)
    no_url = run("nourl", common, True)
    if no_url[3] != "libcurl mapped: no\n":
        fail("without HEAPPROF_PYROSCOPE_URL libcurl should not be loaded: %r" % no_url[3])

    # ---- a server that takes everything ----
    url, sdir = server("srv")
    got = run("export", dict(common, HEAPPROF_PYROSCOPE_URL=url, HEAPPROF_APP="exporttest"), True, sdir, 2)
    if got[:3] != plain[:3]:
        fail("export: output differs from a plain run: plain %r, export %r" % (plain[:3], got[:3]))
    if got[3] != "libcurl mapped: yes\n":
        fail("export: libcurl should be loaded once pushing: %r" % got[3])
    a, b = final_stats("export"), final_stats("nourl")
    for k in ("alloc_objects", "alloc_bytes", "live_bytes", "live_objects", "freed_objects"):
        if a.get(k) != b.get(k):
            fail("export: process %s %r differs from a run without export %r (the exporter's "
                 "allocations must be the profiler's)" % (k, a.get(k), b.get(k)))
    check_uploads("export", sdir, "exporttest", glob.glob(os.path.join(tmp, "export", "heapprof.*.final.pb.gz"))[0])

    # ---- 503 for the first two uploads: dropped, then delivered, totals intact ----
    url, sdir = server("srv503", "--fail", "2", "--fail-status", "503")
    got = run("retry", dict(common, HEAPPROF_PYROSCOPE_URL=url, HEAPPROF_APP="exporttest"), True, sdir, 4)
    err = got[1].decode()
    lines = err.strip().splitlines()
    if got[0] != plain[0] or got[2] != plain[2]:
        fail("retry: stdout/status differ from a plain run")
    if len(lines) != 3 or "not delivered" not in lines[0] or "HTTP 503" not in lines[0] \
            or "takes profiles again" not in lines[1] or "2 dropped" not in lines[2] \
            or not all(l.startswith("heapprof: pyroscope: ") for l in lines):
        fail("retry: want one drop warning, one recovery line and a count at exit: %r" % err)
    check_uploads("retry", sdir, "exporttest", glob.glob(os.path.join(tmp, "retry", "heapprof.*.final.pb.gz"))[0])

    # ---- nobody listening ----
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    got = run("down", dict(common, HEAPPROF_PYROSCOPE_URL="http://127.0.0.1:%d" % closed), True)
    err = got[1].decode()
    lines = err.strip().splitlines()
    if got[0] != plain[0] or got[2] != plain[2]:
        fail("server down: stdout/status differ from a plain run: %r %d vs %r %d" % (got[0], got[2], plain[0], plain[2]))
    if not lines or not all(l.startswith("heapprof: pyroscope: ") for l in lines) \
            or "not delivered" not in lines[0] or "0 profile(s) delivered" not in lines[-1] \
            or " 0 dropped" in lines[-1]:
        fail("server down: want a drop warning and a dropped count at exit: %r" % err)
    if len([l for l in lines if "not delivered" in l]) != 1:
        fail("server down: the drop warning should appear once per outage: %r" % err)
    a, b = final_stats("down"), final_stats("nourl")
    if a.get("alloc_objects") != b.get("alloc_objects") or a.get("live_bytes") != b.get("live_bytes"):
        fail("server down: process counters differ from a run without export: %r vs %r" % (a, b))
finally:
    for p in servers:
        p.terminate()
        p.wait()
if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "push_export: ok"
