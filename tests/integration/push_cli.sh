#!/usr/bin/env bash
# heapprof push against a loopback server that enforces Pyroscope's /ingest
# contract (lib/pyroscope_server.py), on the dumps of a `heapprof run
# --interval` run:
#   - the server itself rejects what the real one rejects (part without
#     filename: 200 and nothing stored; format=pprof with multipart: 422;
#     bad name: 400; bad profile: 422), so the checks below can fail;
#   - every dump is uploaded as multipart without format=, with filenames,
#     name=app{labels} URL-encoded, spyName, from/until in seconds, the
#     sample_type_config part; go tool pprof reads every upload; the alloc_*
#     values of consecutive uploads add up to the last dump's totals per
#     (function, tag) and inuse_* are the dumps' own; the tags are labels;
#   - bad --app/--label: one clear line, exit 2, nothing sent; 422 (a profile
#     older than the server's window): one line with the server's message,
#     exit 1, and --now restamps it; 429 twice then success; 503 until the
#     retries run out; a closed port; --tenant for a multi-tenant server;
#     a DHAT input converted; no progress bar when stderr is not a terminal.
source "$(dirname "$0")/lib/common.bash"
hp_need go
export HOME=$HP_TMP GOCACHE=$HP_TMP/gocache
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
prog=$(hp_program push_workload)

"$HP_CLI" run -q --rate 1 --interval 0.25 --out "$HP_TMP/prof" -- "$prog" 5 300 </dev/null >run.out

"$PY" - "$HP_CLI" "$HP_ROOT/tests/integration/lib" "$HP_TMP" <<'PY'
import glob, gzip, http.client, json, os, re, socket, subprocess, sys, time
cli, lib, tmp = sys.argv[1:4]
sys.path.insert(0, lib)
import push_check as pc

PY = "/usr/bin/python3"
SERVER = os.path.join(lib, "pyroscope_server.py")
servers = []
fails = []

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
    return [json.loads(l) for l in open(path)] if os.path.exists(path) else []

def push(*args):
    r = subprocess.run([cli, "push"] + list(args), capture_output=True, text=True)
    print("--- heapprof push %s -> %d\n%s" % (" ".join(args), r.returncode, r.stderr), file=sys.stderr)
    return r

def raw_post(url, path, body, ctype):
    host, port = url[len("http://"):].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("POST", path, body=body, headers={"Content-Type": ctype})
    r = c.getresponse()
    return r.status, r.read()

def multipart(parts, boundary="XyZ"):
    out = b""
    for name, filename, data in parts:
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
        out += b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disp.encode() + b"\r\n\r\n" + data + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n", "multipart/form-data; boundary=" + boundary

try:
    prof = os.path.join(tmp, "prof")
    dumps = sorted(glob.glob(os.path.join(prof, "heapprof.*.[0-9]*.pb.gz")),
                   key=lambda p: int(p.split(".")[-3]))
    print("--- %d dumps: %s" % (len(dumps), [os.path.basename(d) for d in dumps]), file=sys.stderr)
    if len(dumps) < 3:
        raise SystemExit("FAIL: expected at least 3 dumps from the --interval run, got %d" % len(dumps))
    url, sdir = server("srv")
    good = open(dumps[-1], "rb").read()

    # ---- the server enforces the contract ----
    body, ct = multipart([("profile", None, good)])
    st, _ = raw_post(url, "/ingest?name=probe", body, ct)
    if st != 200 or glob.glob(os.path.join(sdir, "*.pb.gz")):
        fail("server: a profile part without filename should give 200 and store nothing (got %d)" % st)
    body, ct = multipart([("profile", "profile.pprof", good)])
    st, _ = raw_post(url, "/ingest?name=probe&format=pprof", body, ct)
    if st != 422:
        fail("server: format=pprof with a multipart body should give 422, got %d" % st)
    st, _ = raw_post(url, "/ingest?name=bad%20name", body, ct)
    if st != 400:
        fail("server: a bad name should give 400, got %d" % st)
    bad, bct = multipart([("profile", "profile.pprof", b"\x1f\x8bnot gzip at all")])
    st, _ = raw_post(url, "/ingest?name=probe", bad, bct)
    if st != 422:
        fail("server: a damaged profile should give 422, got %d" % st)
    st, _ = raw_post(url, "/ingest?name=probe", body, ct)
    if st != 200 or len(glob.glob(os.path.join(sdir, "*.pb.gz"))) != 1:
        fail("server: a good multipart upload should be stored (got %d)" % st)
    for f in glob.glob(os.path.join(sdir, "0*")):
        os.unlink(f)
    os.unlink(os.path.join(sdir, "requests.jsonl"))
    # restart numbering: a fresh server for the real pushes
    url, sdir = server("srv2")

    # ---- bad arguments: one clear line, exit 2, nothing sent ----
    for args, want in ((["--app", "my app"], "application name 'my app'"),
                       (["--app", "ok", "--label", "env=a,b"], "cannot contain ','"),
                       (["--app", "ok", "--label", "bad-key=x"], "label key 'bad-key'"),
                       (["--app", "ok", "--label", "__name__=x"], "reserved"),
                       (["--app", "ok{env=x}"], "--label")):
        r = push("--url", url, *args, prof)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2 or len(lines) != 1 or not lines[0].startswith("heapprof: ") or want not in lines[0]:
            fail("push %s: want exit 2 and one line containing %r, got %d %r" % (args, want, r.returncode, r.stderr))
    r = push("--url", "localhost:4040", "--app", "ok", prof)
    if r.returncode != 2 or "http://" not in r.stderr:
        fail("a URL without scheme should be refused with a hint: %r" % r.stderr)
    if requests(sdir):
        fail("bad arguments still sent requests: %r" % requests(sdir))

    # ---- the real push ----
    r = push("--url", url, "--app", "pushtest", "--label", "env=ci", "--label", "build.id=42", prof)
    if r.returncode != 0:
        fail("push of the run's directory failed: %d %r" % (r.returncode, r.stderr))
    if "\r" in r.stderr:
        fail("progress output on a non-terminal stderr: %r" % r.stderr)
    if "pushed %d of %d profile(s) from 1 process(es)" % (len(dumps), len(dumps)) not in r.stderr:
        fail("summary line missing or wrong: %r" % r.stderr)
    reqs = requests(sdir)
    if len(reqs) != len(dumps):
        fail("%d dumps but %d requests" % (len(dumps), len(reqs)))
    want_cfg = {"alloc_objects": {"units": "objects"}, "alloc_space": {"units": "bytes"},
                "inuse_objects": {"units": "objects", "aggregation": "average"},
                "inuse_space": {"units": "bytes", "aggregation": "average"}}
    prev_until = None
    for i, q in enumerate(reqs):
        where = "request %d" % (i + 1)
        if q["status"] != 200 or not q.get("stored"):
            fail("%s: status %s, stored %r: %s" % (where, q["status"], q.get("stored"), q.get("message")))
        if q["path"] != "/ingest" or "format" in q["query"]:
            fail("%s: path %r query %r (want /ingest without format=)" % (where, q["path"], q["query"]))
        if q["query"].get("name") != "pushtest{build.id=42,env=ci}":
            fail("%s: name %r" % (where, q["query"].get("name")))
        if q.get("labels") != {"__name__": "pushtest", "env": "ci", "build.id": "42"}:
            fail("%s: labels as the server parsed them: %r" % (where, q.get("labels")))
        if q["query"].get("spyName") != "heapprof":
            fail("%s: spyName %r" % (where, q["query"].get("spyName")))
        parts = {p["name"]: p for p in q.get("parts") or []}
        if set(parts) != {"profile", "sample_type_config"} or parts["profile"]["filename"] != "profile.pprof" \
                or parts["sample_type_config"]["filename"] != "sample_type_config.json":
            fail("%s: parts %r" % (where, q.get("parts")))
        if q.get("sample_type_config") != want_cfg:
            fail("%s: sample_type_config %r" % (where, q.get("sample_type_config")))
        fr, un = q["query"].get("from", ""), q["query"].get("until", "")
        if not (re.fullmatch(r"\d{10}", fr) and re.fullmatch(r"\d{10}", un)) or int(fr) > int(un):
            fail("%s: from %r until %r are not seconds with from <= until" % (where, fr, un))
        elif prev_until is not None and int(fr) != prev_until:
            fail("%s: from %s is not the previous upload's until %s" % (where, fr, prev_until))
        prev_until = int(un) if un.isdigit() else None
        if q.get("expect"):
            fail("%s: Expect header sent: %r" % (where, q["expect"]))

    # ---- what was stored: deltas add up, inuse as is, tags as labels ----
    uploads = [pc.decode(os.path.join(sdir, q["stored"] + ".pb.gz")) for q in reqs if q.get("stored")]
    files = [pc.decode(d) for d in dumps]
    for u in uploads:
        if u["types"] != ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]:
            fail("upload sample types %r" % u["types"])
    nonzero = lambda t: {k: v for k, v in t.items() if any(v.values())}
    summed = {}
    for u in uploads:
        pc.add(summed, pc.by_site(u))
    last = nonzero(pc.project(pc.by_site(files[-1]), ("alloc_objects", "alloc_space")))
    if nonzero(summed) != last:
        diff = {k: (summed.get(k), last.get(k)) for k in set(summed) | set(last) if summed.get(k) != last.get(k)}
        fail("alloc deltas do not add up to the last dump's totals; (sum, last) by site: %r" % dict(list(diff.items())[:8]))
    for metric in ("alloc_objects", "alloc_space"):
        s, t = sum(pc.total(u, metric) for u in uploads), pc.total(files[-1], metric)
        if s != t:
            fail("%s: uploads add up to %d, the last dump says %d" % (metric, s, t))
    for k, (u, f) in enumerate(zip(uploads, files)):
        got = nonzero(pc.project(pc.by_site(u), ("inuse_objects", "inuse_space")))
        want = nonzero(pc.project(pc.by_site(f), ("inuse_objects", "inuse_space")))
        if got != want:
            fail("upload %d: inuse differs from dump %d's" % (k + 1, k))
    later = [pc.total(u, "alloc_space") < pc.total(f, "alloc_space") for u, f in zip(uploads[1:], files[1:])]
    if not any(later):
        fail("no upload after the first is smaller than its dump's cumulative alloc_space: not deltas")
    tags = {s["labels"].get("tag") for u in uploads for s in u["samples"]}
    if not {"parser", "render"} <= tags:
        fail("tags missing from the uploads' sample labels: %r" % tags)
    leaves = {s["leaf"] for u in uploads for s in u["samples"]}
    if not {"kept_blocks", "churn_blocks"} <= leaves:
        fail("the workload's functions are missing from the uploads: %r" % sorted(leaves)[:20])

    # ---- 422: a profile older than the server's window ----
    old = os.path.join(tmp, "heapprof.1.0.pb.gz")
    pc.restamp(dumps[-1], old, int((time.time() - 7200) * 1e9))
    n0 = len(requests(sdir))
    r = push("--url", url, "--app", "pushtest", old)
    line = r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""
    if r.returncode != 1 or "HTTP 422" not in line or "older than 1h" not in line or "--now" not in line:
        fail("old profile: want exit 1 and one line with HTTP 422, the server's message and --now: %d %r"
             % (r.returncode, r.stderr))
    r = push("--url", url, "--app", "pushtest", "--now", old)
    reqs = requests(sdir)
    if r.returncode != 0 or len(reqs) != n0 + 2 or reqs[-1]["status"] != 200:
        fail("--now should make the old profile acceptable: %d %r" % (r.returncode, r.stderr))
    elif abs(int(reqs[-1]["query"]["until"]) - time.time()) > 120:
        fail("--now: until %s is not now" % reqs[-1]["query"]["until"])

    # ---- 429 twice, then success ----
    url429, d429 = server("srv429", "--fail", "2", "--fail-status", "429")
    r = push("--url", url429, "--app", "pushtest", dumps[0])
    st = [q["status"] for q in requests(d429)]
    if r.returncode != 0 or st != [429, 429, 200]:
        fail("429 then success: exit %d, statuses %r" % (r.returncode, st))

    # ---- 503 until the retries run out ----
    url503, d503 = server("srv503", "--fail", "100", "--fail-status", "503")
    r = push("--url", url503, "--app", "pushtest", "--retries", "1", dumps[0], dumps[1])
    st = [q["status"] for q in requests(d503)]
    if r.returncode != 1 or st != [503, 503] or "HTTP 503" not in r.stderr or "after 2 tries" not in r.stderr \
            or "1 more file(s) not sent" not in r.stderr:
        fail("503: want exit 1, 2 attempts, one stop: %d %r %r" % (r.returncode, st, r.stderr))

    # ---- nobody listening ----
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    r = push("--url", "http://127.0.0.1:%d" % closed, "--app", "pushtest", "--retries", "1", prof)
    if r.returncode != 1 or "after 2 tries" not in r.stderr or "is Pyroscope running" not in r.stderr \
            or "not sent" not in r.stderr:
        fail("closed port: %d %r" % (r.returncode, r.stderr))

    # ---- multi-tenant server ----
    urlt, dt = server("srvtenant", "--tenant")
    r = push("--url", urlt, "--app", "pushtest", dumps[0])
    if r.returncode != 1 or "HTTP 401" not in r.stderr or "--tenant" not in r.stderr:
        fail("no tenant: want exit 1 and a 401 line naming --tenant: %d %r" % (r.returncode, r.stderr))
    r = push("--url", urlt, "--app", "pushtest", "--tenant", "acme", dumps[0])
    q = requests(dt)[-1]
    if r.returncode != 0 or q["tenant"] != "acme" or q["status"] != 200:
        fail("--tenant acme: %d %r" % (r.returncode, q))

    # ---- a DHAT file goes through the model writer ----
    dhat = dumps[-1][:-len("pb.gz")] + "dhat.json"
    n0 = len(requests(sdir))
    r = push("--url", url, "--app", "pushtest", dhat)
    reqs = requests(sdir)
    if r.returncode != 0 or len(reqs) != n0 + 1 or not reqs[-1].get("stored"):
        fail("DHAT input: %d %r" % (r.returncode, r.stderr))
    else:
        u = pc.decode(os.path.join(sdir, reqs[-1]["stored"] + ".pb.gz"))
        if "alloc_space" not in u["types"] or pc.total(u, "alloc_space") <= 0:
            fail("DHAT upload has no alloc_space: %r" % u["types"])
finally:
    for p in servers:
        p.terminate()
        p.wait()
if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "push_cli: ok"
