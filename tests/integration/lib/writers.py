#!/usr/bin/python3
"""Checks of heapprof's profile files against third-party readers and against
the known truth of a test workload (tests/programs/writers_workload.c).
Used by tests/integration/writers_*.sh and symbolize_*.sh.

    writers.py pprof-accept [--labels KEY,...] FILE...
        `go tool pprof -symbolize=none` with -raw, -top -sample_index=alloc_space
        and -traces must accept every file (exit 0, expected headers), and
        lib/pprof_decode.js (npm pprof-format) must decode and validate it
        (and find samples with each label KEY in every file).
    writers.py pprof-truth --truth T --pprof P (--exact | --sampled) [--tolerance 0.05]
                           [--tight FUNC:TYPE,...]
        Per-function totals of the four sample types, from pprof's own
        `-top` (flat column, -unit=B, no node dropping) and from `-raw`
        (summed by leaf function), and from pprof-format, against the truth
        lines the workload printed. Exact: equal. Sampled: within
        max(tolerance, 4 sigma) of the truth (sigma from the workload's
        variance columns); for each FUNC:TYPE in --tight the workload must be
        large enough that the tolerance itself is >= 4 sigma.
    writers.py dhat-truth --truth T --dhat D (--exact | --sampled) [--tolerance 0.05]
        DHAT tb/tbk/eb/ebk per innermost wl_* frame against the truth
        (requested bytes).
    writers.py dhat-view [--chromium] [--top-bytes FUNC] [--top-end FUNC] FILE[@TOPBYTES[@TOPEND]]...
        Valgrind's dh_view.html loads each file without an error for every
        sort metric (jsdom harness lib/dhat_view.js, or headless Chromium via
        lib/dhat_chromium.py), all files in one reader process; the first
        program point under "Total (bytes)" (and "At t-end (bytes)") has FUNC
        as its innermost frame (per file: FILE@TOPBYTES@TOPEND).
    writers.py dhat-vs-valgrind --heapprof H --valgrind V --funcs f,g,... [--zero-byte-funcs z,...]
        tb/tbk/eb/ebk and the number of program points per innermost named
        function agree exactly (Valgrind counts a 0-byte block as 1 byte).
    writers.py prom --prom P --stats S [--truth T] [--tag NAME]...
        Parses the Prometheus text exposition format strictly and checks the
        values against the stats.json of the same dump (and the truth).
    writers.py expect --dhat D --pprof P --spec SPEC.json
        The frames of chosen program points, in DHAT and in pprof (names,
        files, lines, addresses, mappings) against a spec (see cmd_expect).
    writers.py frames --dhat D --pprof P
        Prints the DHAT frame table and pprof's -raw Locations (for the
        symbolization tests to grep).

Every check prints what it measured; a failure prints "FAIL: ..." and exits 1.
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("HP_ROOT", os.path.abspath(os.path.join(HERE, "..", "..", "..")))
NODE_PATH = os.path.join(ROOT, "tests", "node", "node_modules")
TYPES = ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
FAILED = []


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    FAILED.append(msg)


def finish():
    if FAILED:
        print("FAIL: %d check(s) failed" % len(FAILED), file=sys.stderr)
        sys.exit(1)


def note(msg):
    print(msg, file=sys.stderr)


# ---------------------------------------------------------------- tools

_go_env = None


def go_env():
    global _go_env
    if _go_env is None:
        base = os.environ.get("HP_TMP") or tempfile.gettempdir()
        home = tempfile.mkdtemp(prefix="go-home-", dir=base)
        _go_env = dict(os.environ, HOME=home, GOCACHE=os.path.join(home, "cache"),
                       GOFLAGS="", GOTOOLCHAIN="local", PPROF_TMPDIR=home)
    return _go_env


def pprof(*args):
    """Runs `go tool pprof -symbolize=none ARGS`; returns (rc, stdout, stderr)."""
    cmd = ["go", "tool", "pprof", "-symbolize=none"] + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=go_env(), timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def node(script, *files):
    env = dict(os.environ, NODE_PATH=NODE_PATH)
    p = subprocess.run(["node", os.path.join(HERE, script)] + list(files), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=300)
    out = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    if len(out) != len(files):
        fail("%s printed %d results for %d files (exit %d): %s" % (
            script, len(out), len(files), p.returncode, p.stderr.decode("utf-8", "replace")[-1500:]))
    return out


# ---------------------------------------------------------------- truth

def read_truth(path):
    truth = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "truth":
                v = [float(x) for x in w[2:]]
                truth[w[1]] = {
                    "alloc_objects": v[0], "alloc_space": v[1], "inuse_objects": v[2], "inuse_space": v[3],
                    "req_alloc": v[4], "req_inuse": v[5],
                    "var": {"alloc_objects": v[6], "alloc_space": v[7], "inuse_objects": v[8], "inuse_space": v[9]},
                }
    if not truth:
        fail("no truth lines in %s" % path)
        finish()
    return truth


# ---------------------------------------------------------------- pprof parsing

TOP_LINE = re.compile(r"^\s*(\S+)\s+(\S+)%\s+(\S+)%\s+(\S+)\s+(\S+)%\s+(.*?)\s*$")
UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "": 1}


def parse_value(s):
    m = re.match(r"^(-?[0-9.]+(?:e[+-]?\d+)?)([A-Za-z]*)$", s)
    if not m or m.group(2) not in UNITS:
        raise ValueError("unparsable value %r" % s)
    return float(m.group(1)) * UNITS[m.group(2)]


def top_flat(path, index):
    """{function: flat} from `go tool pprof -top` for one sample index."""
    args = ["-top", "-nodecount=100000", "-nodefraction=0", "-edgefraction=0", "-sample_index=" + index]
    if index.endswith("_space"):
        args.append("-unit=B")
    rc, out, err = pprof(*(args + [path]))
    if rc != 0:
        fail("go tool pprof %s %s: exit %d: %s" % (" ".join(args), path, rc, err.strip()[-800:]))
        return {}, out
    flat, started = {}, False
    for line in out.splitlines():
        if re.match(r"^\s*flat\s+flat%", line):
            started = True
            continue
        if not started or not line.strip():
            continue
        m = TOP_LINE.match(line)
        if not m:
            fail("unparsable -top line: %r" % line)
            continue
        name = re.sub(r" \(inline\)$", "", m.group(6))
        flat[name] = flat.get(name, 0) + parse_value(m.group(1))
    if not started:
        fail("no table in -top output of %s:\n%s" % (path, out[-1500:]))
    return flat, out


LOC_FIRST = re.compile(r"^\s*(\d+): (0x[0-9a-f]+) (?:M=(\d+) )?(?:\[F\] )?(.*)$")


def parse_loc_line(text):
    """'name file:line s=N[(sysname)]' -> (name, file, line)."""
    m = re.match(r"^(.*) (\S*):(-?\d+) s=-?\d+(?:\((.*)\))?$", text)
    if not m:
        return (text.strip() or "??", "", 0)
    return (m.group(1), m.group(2), int(m.group(3)))


def parse_raw(out):
    """Parses `go tool pprof -raw` output: samples and locations."""
    samples, locations, section, cur_loc = [], {}, None, None
    mappings = {}
    for line in out.splitlines():
        if line.startswith("Samples:"):
            section = "samples"
            continue
        if line.startswith("Locations"):
            section = "locations"
            continue
        if line.startswith("Mappings"):
            section = "mappings"
            continue
        if section == "samples":
            m = re.match(r"^\s*((?:-?\d+\s+)*-?\d+): ([\d ]*)$", line)
            if m:
                samples.append({"values": [int(x) for x in m.group(1).split()],
                                "locs": [int(x) for x in m.group(2).split()], "labels": {}})
                continue
            if samples and re.match(r"^\s+\S+?:\[", line):
                for k, v in re.findall(r"(\S+?):\[(.*?)\](?:\s|$)", line):
                    samples[-1]["labels"][k] = v
        elif section == "mappings":
            m = re.match(r"^\s*(\d+): (0x[0-9a-f]+)/(0x[0-9a-f]+)/(0x[0-9a-f]+) (\S*)", line)
            if m:
                mappings[m.group(1)] = m.group(5)
        elif section == "locations":
            m = LOC_FIRST.match(line)
            if m:
                cur_loc = int(m.group(1))
                rest = m.group(4)
                locations[cur_loc] = {"address": int(m.group(2), 16), "mapping": m.group(3),
                                      "lines": [parse_loc_line(rest)] if rest.strip() else []}
            elif cur_loc is not None and line.startswith("             "):
                locations[cur_loc]["lines"].append(parse_loc_line(line.strip()))
    for loc in locations.values():
        loc["mapping_file"] = mappings.get(loc["mapping"])
    return samples, locations


def raw_profile(path):
    rc, out, err = pprof("-raw", path)
    if rc != 0:
        fail("go tool pprof -raw %s: exit %d: %s" % (path, rc, err.strip()[-800:]))
        return [], {}, out
    samples, locations = parse_raw(out)
    return samples, locations, out


def leaf_totals_raw(samples, locations):
    totals = {}
    for s in samples:
        loc = locations.get(s["locs"][0]) if s["locs"] else None
        name = loc["lines"][0][0] if loc and loc["lines"] else "?"
        acc = totals.setdefault(name, [0, 0, 0, 0])
        for i, v in enumerate(s["values"][:4]):
            acc[i] += v
    return totals


# ---------------------------------------------------------------- commands

def cmd_pprof_accept(files, want_labels=()):
    if not files:
        fail("no pprof files given")
    for f in files:
        with open(f, "rb") as fh:
            head = fh.read(2)
        if head != b"\x1f\x8b":
            fail("%s is not gzip-compressed (starts %r)" % (f, head))
        rc, out, err = pprof("-raw", f)
        if rc != 0:
            fail("go tool pprof -raw %s: exit %d: %s" % (f, rc, err.strip()[-800:]))
        else:
            for want in ("PeriodType: space bytes",
                         "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes",
                         "Locations", "Mappings"):
                if want not in out:
                    fail("-raw output of %s lacks %r" % (f, want))
        nraw = len(parse_raw(out)[0]) if rc == 0 else 0
        rc, out, err = pprof("-top", "-sample_index=alloc_space", f)
        if rc != 0:
            fail("go tool pprof -top -sample_index=alloc_space %s: exit %d: %s" % (f, rc, err.strip()[-800:]))
        elif "Type: alloc_space" not in out:
            fail("-top output of %s lacks 'Type: alloc_space':\n%s" % (f, out[:800]))
        if "Main binary filename not available" in err or "malformed" in err:
            fail("pprof warns about %s: %s" % (f, err.strip()[:400]))
        rc, out, err = pprof("-traces", f)
        if rc != 0:
            fail("go tool pprof -traces %s: exit %d: %s" % (f, rc, err.strip()[-800:]))
        elif "-----------+" not in out and nraw:
            fail("-traces output of %s shows no trace:\n%s" % (f, out[:800]))
        note("pprof accepts %s: -raw (%d samples), -top -sample_index=alloc_space, -traces" % (f, nraw))
    for r in node("pprof_decode.js", *files):
        if not r.get("ok"):
            fail("pprof-format rejects %s: %s" % (r.get("file"), r.get("errors")))
        else:
            missing = [k for k in want_labels if k not in r["label_keys"]]
            if missing:
                fail("%s: no sample has the label(s) %s (label keys: %s)" % (r["file"], missing, r["label_keys"]))
            note("pprof-format decodes %s: %d samples, %d locations, %d functions, %d mappings, "
                 "period %d, label keys %s" % (r["file"], r["samples"], r["locations"], r["functions"],
                                               r["mappings"], r["period"], r["label_keys"]))


def compare(what, got, want, var, exact, tolerance, rows):
    """One comparison; returns True if within bounds."""
    if exact:
        ok = got == want
        rows.append((what, got, want, "exact", "ok" if ok else "MISMATCH"))
        return ok
    sigma = math.sqrt(max(var, 0.0))
    if want == 0:
        ok = got == 0
        rows.append((what, got, want, "must be 0", "ok" if ok else "MISMATCH"))
        return ok
    bound = max(tolerance * want, 4 * sigma)
    dev = got - want
    ok = abs(dev) <= bound
    rule = "%+.2f%% (%.1f sigma; sigma %.2f%%), bound %s" % (
        100.0 * dev / want, dev / sigma if sigma else float("inf"), 100.0 * sigma / want,
        "%.0f%%" % (tolerance * 100) if bound == tolerance * want else "4 sigma = %.1f%%" % (400.0 * sigma / want))
    rows.append((what, got, want, rule, "ok" if ok else "OUT OF BOUNDS"))
    return ok


def print_rows(rows):
    for what, got, want, rule, verdict in rows:
        note("  %-36s got %14.0f  truth %14.0f  %s  %s" % (what, got, want, rule, verdict))


def cmd_pprof_truth(truth_path, path, exact, tolerance, need_tight):
    truth = read_truth(truth_path)
    tops = {}
    for idx in TYPES:
        tops[idx], _ = top_flat(path, idx)
    samples, locations, _ = raw_profile(path)
    raw = leaf_totals_raw(samples, locations)
    dec = node("pprof_decode.js", path)
    js = dec[0]["leaf"] if dec else {}
    rows, bad = [], 0
    for fn, t in sorted(truth.items()):
        for k, idx in enumerate(TYPES):
            want = t[idx]
            got_top = tops[idx].get(fn, 0)
            got_raw = raw.get(fn, [0, 0, 0, 0])[k]
            got_js = js.get(fn, [0, 0, 0, 0])[k]
            if not (got_top == got_raw == got_js):
                fail("%s %s: readers disagree: -top %s, -raw %s, pprof-format %s" % (fn, idx, got_top, got_raw, got_js))
            if not compare("%s %s" % (fn, idx), got_top, want, t["var"][idx], exact, tolerance, rows):
                bad += 1
            if "%s:%s" % (fn, idx) in need_tight and not exact:
                # the test's headline bound must really be a 4-sigma one here
                sigma = math.sqrt(t["var"][idx])
                if not want or 4 * sigma > tolerance * want:
                    fail("workload too small: %s %s has sigma %.2f%%, so +-%.0f%% is not a 4-sigma bound"
                         % (fn, idx, 100 * sigma / want if want else float("inf"), 100 * tolerance))
    note("per-function totals from go tool pprof -top (= -raw = pprof-format) vs the workload's truth (%s):"
         % ("exact, HEAPPROF_RATE=1" if exact else "sampled"))
    print_rows(rows)
    if bad:
        fail("%d per-function value(s) differ from the truth in %s" % (bad, path))
    # every sample carries the tag label, and the user label where set
    tags = {}
    for s in samples:
        loc = locations.get(s["locs"][0]) if s["locs"] else None
        name = loc["lines"][0][0] if loc and loc["lines"] else "?"
        if name in truth:
            tags.setdefault(name, set()).add((s["labels"].get("tag"), s["labels"].get("trace_id")))
    want_tags = {"wl_keep_small": ("writers:keep", "t-42"), "wl_keep_big": ("writers:big", None),
                 "wl_odd_tag": ('odd "tag" \\ with\nnewline', None),
                 "wl_churn": ("main", None), "wl_calloc": ("main", None), "wl_aligned": ("main", None)}
    for fn, (tag, trace) in want_tags.items():
        if fn in truth and truth[fn]["alloc_objects"] and tags.get(fn) != {(tag, trace)}:
            fail("%s: samples carry labels %s, want tag=%s trace_id=%s" % (fn, tags.get(fn), tag, trace))
    note("labels per function: %s" % {k: sorted(v, key=str) for k, v in tags.items()})


def dhat_load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# Valgrind's frame text: "0xADDR: fn (file:line)", "0xADDR: fn (in object)" or "0xADDR: fn"
DHAT_FRAME = re.compile(r"^0x([0-9A-Fa-f]+): (.*?)(?: \((?:in ([^()]*)|([^()]*):(\d+))\))?$")


def frame_function(text):
    m = DHAT_FRAME.match(text)
    return m.group(2) if m else None


def dhat_by_function(doc, funcs):
    """Sums tb/tbk/eb/ebk by the innermost frame whose function is in funcs."""
    out = {}
    for pp in doc["pps"]:
        name = None
        for i in pp["fs"]:
            fn = frame_function(doc["ftbl"][i])
            if fn in funcs:
                name = fn
                break
        if name is None:
            continue
        acc = out.setdefault(name, {"tb": 0, "tbk": 0, "eb": 0, "ebk": 0, "pps": 0})
        for k in ("tb", "tbk", "eb", "ebk"):
            acc[k] += pp[k]
        acc["pps"] += 1
    return out


def cmd_dhat_truth(truth_path, path, exact, tolerance):
    truth = read_truth(truth_path)
    doc = dhat_load(path)
    got = dhat_by_function(doc, set(truth))
    rows, bad = [], 0
    for fn, t in sorted(truth.items()):
        g = got.get(fn, {"tb": 0, "tbk": 0, "eb": 0, "ebk": 0})
        # requested bytes: scale the usable-byte variance by (requested/usable)^2
        r_all = (t["req_alloc"] / t["alloc_space"]) if t["alloc_space"] else 1
        r_live = (t["req_inuse"] / t["inuse_space"]) if t["inuse_space"] else 1
        for key, want, var in (("tb", t["req_alloc"], t["var"]["alloc_space"] * r_all ** 2),
                               ("tbk", t["alloc_objects"], t["var"]["alloc_objects"]),
                               ("eb", t["req_inuse"], t["var"]["inuse_space"] * r_live ** 2),
                               ("ebk", t["inuse_objects"], t["var"]["inuse_objects"])):
            if not compare("%s %s" % (fn, key), g[key], want, var, exact, tolerance, rows):
                bad += 1
    note("DHAT values per innermost wl_* frame vs the truth (requested bytes) in %s:" % path)
    print_rows(rows)
    if bad:
        fail("%d DHAT value(s) differ from the truth in %s" % (bad, path))


def cmd_dhat_view(specs, chromium, top_bytes, top_end):
    # FILE or FILE@TOPBYTES@TOPEND: per-file expectations override the options
    files, expect = [], {}
    for spec in specs:
        parts = spec.split("@")
        files.append(parts[0])
        expect[parts[0]] = (parts[1] if len(parts) > 1 and parts[1] else (None if len(parts) > 1 else top_bytes),
                            parts[2] if len(parts) > 2 and parts[2] else (None if len(parts) > 1 else top_end))
    if chromium:
        p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "dhat_chromium.py")] + files,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        results = [json.loads(l) for l in p.stdout.decode().splitlines() if l.startswith("{")]
        if len(results) != len(files):
            fail("dhat_chromium.py: %d results for %d files (exit %d): %s" % (
                len(results), len(files), p.returncode, p.stderr.decode("utf-8", "replace")[-1500:]))
        how = "headless Chromium"
    else:
        results = node("dhat_view.js", *files)
        how = "jsdom"
    for r in results:
        f = r.get("file")
        if not r.get("ok"):
            fail("dh_view.html (%s) on %s: error %r, script errors %r, metrics %s" % (
                how, f, r.get("error"), r.get("jsErrors"),
                [(m["label"], m["status"]) for m in r.get("metrics", []) if m["status"] not in ("ok", "disabled")]))
            continue
        shown = [m for m in r["metrics"] if m["status"] == "ok"]
        note("dh_view.html (%s) loads %s: %d sort metrics render without error (%d disabled for this file)" % (
            how, f, len(shown), len(r["metrics"]) - len(shown)))
        for label, want in zip(("Total (bytes)", "At t-end (bytes)"), expect.get(f, (top_bytes, top_end))):
            if not want:
                continue
            m = next((m for m in r["metrics"] if m["label"] == label), None)
            if not m or m["status"] != "ok":
                fail("%s: metric %r not shown" % (f, label))
                continue
            top = m.get("top") or []
            first = frame_function(top[0]) if top else None
            if first != want:
                fail("%s: the top program point under %r is %r, want innermost frame %s" % (
                    f, label, top[:3], want))
            else:
                note("  top program point under %r: %s" % (label, top[0]))


def cmd_dhat_vs_valgrind(hp_path, vg_path, funcs, zero_funcs):
    """zero_funcs allocate only zero-byte blocks: Valgrind's DHAT counts
    each as 1 byte (its new_block() bumps a 0-byte request to 1), heapprof
    as the 0 bytes requested; there tb must be 0 for heapprof and tbk for
    Valgrind."""
    hp, vg = dhat_load(hp_path), dhat_load(vg_path)
    a, b = dhat_by_function(hp, funcs | zero_funcs), dhat_by_function(vg, funcs | zero_funcs)
    note("%-22s %-5s %12s %12s" % ("function", "field", "heapprof", "valgrind"))
    for fn in sorted(funcs | zero_funcs):
        if fn not in a or fn not in b:
            fail("%s: no program point in %s" % (fn, "heapprof" if fn not in a else "valgrind"))
            continue
        if a[fn]["pps"] != b[fn]["pps"]:
            fail("%s: %d program points in heapprof's file, %d in Valgrind's" % (fn, a[fn]["pps"], b[fn]["pps"]))
        for k in ("tb", "tbk", "eb", "ebk"):
            want = b[fn][k]
            if fn in zero_funcs and k in ("tb", "eb"):
                want = b[fn][k] - b[fn][k + "k"]  # Valgrind: 1 byte per zero-byte block
            same = a[fn][k] == want
            note("%-22s %-5s %12d %12d %s" % (fn, k, a[fn][k], b[fn][k], ("ok" if same else "DIFFERENT") +
                                             (" (valgrind counts 1 byte per 0-byte block)" if want != b[fn][k] else "")))
            if not same:
                fail("%s %s: heapprof %d, valgrind --tool=dhat %d" % (fn, k, a[fn][k], b[fn][k]))
    # the totals over the program's own functions agree too
    for k in ("tb", "tbk", "eb", "ebk"):
        note("total %s over %d functions: heapprof %d, valgrind %d" % (
            k, len(funcs), sum(v[k] for v in a.values()), sum(v[k] for v in b.values())))


# ---------------------------------------------------------------- Prometheus

NAME_RE = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_RE = r"[a-zA-Z_][a-zA-Z0-9_]*"


def parse_labels(s, where):
    """Parses the inside of {...}; returns a dict, following the exposition
    format's escaping (\\\\, \\" and \\n only)."""
    labels, i = {}, 0
    while i < len(s):
        m = re.compile(r"\s*(" + LABEL_RE + r")\s*=\s*\"").match(s, i)
        if not m:
            raise ValueError("%s: bad label at %r" % (where, s[i:]))
        key, i, val = m.group(1), m.end(), []
        while True:
            if i >= len(s):
                raise ValueError("%s: unterminated label value" % where)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError("%s: bad escape \\%s in label %s" % (where, nxt, key))
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError("%s: raw newline in label value" % where)
            else:
                val.append(c)
                i += 1
        if key in labels:
            raise ValueError("%s: label %s repeated" % (where, key))
        if key.startswith("__"):
            raise ValueError("%s: reserved label name %s" % (where, key))
        labels[key] = "".join(val)
        m = re.compile(r"\s*(,|$)").match(s, i)
        if not m:
            raise ValueError("%s: junk after label %s: %r" % (where, key, s[i:]))
        i = m.end()
    return labels


def parse_prom(text):
    """Strict parser for the text exposition format (version 0.0.4)."""
    families, order, current = {}, [], None
    if not text.endswith("\n"):
        raise ValueError("file does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % n
        if line == "":
            continue
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (" + NAME_RE + r") (.*)$", line)
            if not m:
                if re.match(r"^# (HELP|TYPE)", line):
                    raise ValueError("%s: malformed %r" % (where, line))
                continue  # plain comment
            kind, name, rest = m.groups()
            fam = families.get(name)
            if fam is None:
                fam = families[name] = {"help": None, "type": None, "samples": [], "closed": False}
                order.append(name)
            if fam["closed"] or (current not in (None, name) and fam["samples"]):
                raise ValueError("%s: %s for %s after its samples or another family" % (where, kind, name))
            if kind == "HELP":
                if fam["help"] is not None:
                    raise ValueError("%s: second HELP for %s" % (where, name))
                if re.search(r"\\[^\\n]", rest):
                    raise ValueError("%s: bad escape in HELP" % where)
                fam["help"] = rest
            else:
                if fam["type"] is not None:
                    raise ValueError("%s: second TYPE for %s" % (where, name))
                if fam["samples"]:
                    raise ValueError("%s: TYPE for %s after its samples" % (where, name))
                if rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ValueError("%s: unknown type %r" % (where, rest))
                fam["type"] = rest
            if current is not None and current != name:
                families[current]["closed"] = True
            current = name
            continue
        m = re.match(r"^(" + NAME_RE + r")(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$", line)
        if not m:
            raise ValueError("%s: not a sample line: %r" % (where, line))
        name, lab, value = m.group(1), m.group(2) or "", m.group(3)
        if not re.match(r"^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]?Inf|NaN)$", value):
            raise ValueError("%s: value %r is not a number" % (where, value))
        fam = families.get(name)
        if fam is None or fam["closed"]:
            raise ValueError("%s: sample of %s outside its family block (HELP/TYPE first, samples together)"
                             % (where, name))
        if current is not None and current != name:
            families[current]["closed"] = True
        current = name
        labels = parse_labels(lab, where)
        key = tuple(sorted(labels.items()))
        if any(k == key for k, _ in fam["samples"]):
            raise ValueError("%s: series %s%s repeated" % (where, name, labels))
        fam["samples"].append((key, float(value)))
    return families, order


def cmd_prom(prom_path, stats_path, truth_path, want_tags):
    with open(prom_path, encoding="utf-8") as f:
        text = f.read()
    try:
        fams, order = parse_prom(text)
    except ValueError as e:
        fail("%s does not parse as Prometheus text format: %s" % (prom_path, e))
        finish()
    with open(stats_path) as f:
        stats = json.load(f)
    note("%s: %d metric families, %d samples" % (prom_path, len(fams), sum(len(f["samples"]) for f in fams.values())))
    for name in order:
        fam = fams[name]
        if not fam["help"]:
            fail("%s has no HELP line" % name)
        if fam["type"] is None:
            fail("%s has no TYPE line" % name)
        if not fam["samples"]:
            fail("%s has HELP/TYPE but no sample" % name)
        if fam["type"] == "counter" and not name.endswith("_total"):
            fail("counter %s does not end in _total" % name)
        if name.endswith("_total") and fam["type"] != "counter":
            fail("%s ends in _total but is a %s" % (name, fam["type"]))
        if not name.startswith("heapprof_"):
            fail("metric %s lacks the heapprof_ prefix" % name)
        for key, v in fam["samples"]:
            labels = dict(key)
            if labels.get("pid") != str(stats["pid"]):
                fail("%s%s: pid label is not %s" % (name, labels, stats["pid"]))
            if not (v >= 0) or math.isinf(v):
                fail("%s%s = %r: not a finite non-negative value" % (name, labels, v))

    def value(name, **labels):
        want = dict(labels, pid=str(stats["pid"]))
        for key, v in fams.get(name, {"samples": []})["samples"]:
            if dict(key) == want:
                return v
        return None

    proc = stats["process"]
    for metric, field in (("heapprof_process_live_bytes", "live_bytes"),
                          ("heapprof_process_live_objects", "live_objects"),
                          ("heapprof_process_peak_bytes", "peak_bytes"),
                          ("heapprof_process_alloc_bytes_total", "alloc_bytes"),
                          ("heapprof_process_alloc_objects_total", "alloc_objects"),
                          ("heapprof_process_rss_bytes", "rss_bytes")):
        v = value(metric)
        if v is None:
            fail("%s missing" % metric)
        elif v != proc[field]:
            fail("%s = %d, but stats.json of the same dump says process.%s = %d" % (metric, v, field, proc[field]))
    note("process metrics equal stats.json: live %d, peak %d, alloc %d bytes / %d objects" % (
        proc["live_bytes"], proc["peak_bytes"], proc["alloc_bytes"], proc["alloc_objects"]))
    tag_fams = [n for n in order if not n.startswith("heapprof_process_") and n != "heapprof_profiler_bytes"]
    if not tag_fams:
        fail("no per-tag metric families")
    for n in tag_fams:
        for key, _ in fams[n]["samples"]:
            if "tag" not in dict(key):
                fail("%s sample without a tag label: %s" % (n, dict(key)))
    tags = {t["name"]: t for t in stats.get("tags", [])}
    for name, t in tags.items():
        for metric, field in (("heapprof_alloc_bytes_total", "alloc_bytes"),
                              ("heapprof_alloc_objects_total", "alloc_objects"),
                              ("heapprof_live_bytes", "live_bytes"),
                              ("heapprof_live_objects", "live_objects")):
            v = value(metric, tag=name)
            if v is None:
                fail("%s{tag=%r} missing (the tag is in stats.json)" % (metric, name))
            elif abs(v - round(t[field])) > 0.5:
                fail("%s{tag=%r} = %s, stats.json says %s" % (metric, name, v, t[field]))
    for name in want_tags:
        if value("heapprof_alloc_bytes_total", tag=name) is None:
            fail("no heapprof_alloc_bytes_total for tag %r; tags present: %s" % (
                name, sorted({dict(k).get("tag") for k, _ in fams.get("heapprof_alloc_bytes_total", {"samples": []})["samples"]})))
    note("per-tag metrics for %d tags equal stats.json; tags %s" % (len(tags), sorted(tags)))
    if truth_path:
        truth = read_truth(truth_path)
        for tag, fn in (("writers:keep", "wl_keep_small"), ("writers:big", "wl_keep_big")):
            for metric, key in (("heapprof_live_bytes", "inuse_space"), ("heapprof_live_objects", "inuse_objects"),
                                ("heapprof_alloc_bytes_total", "alloc_space"),
                                ("heapprof_alloc_objects_total", "alloc_objects")):
                v = value(metric, tag=tag)
                if v != truth[fn][key]:
                    fail("%s{tag=%r} = %s, but %s's truth is %d" % (metric, tag, v, fn, truth[fn][key]))
                else:
                    note("  %s{tag=%r} = %d = truth of %s" % (metric, tag, v, fn))


def name_ok(name, fr, names):
    if "fn_re" in fr:
        return re.fullmatch(fr["fn_re"], name or "") is not None
    return name in names


def cmd_expect(dhat_path, pprof_path, spec_path):
    """Checks program points against a JSON spec: a list of
    {"tb": N, "frames": [{"fn": NAME, "fn_re": REGEX, "file": SUFFIX, "line": N,
    "in": PATH, "pprof_fn": [NAMES], "mapping": PATH}, ...], "same_address": [[i, j]]}
    ("fn_re", when given, must match the whole name instead of "fn").
    The DHAT program point with total bytes N must start (innermost first)
    with frames of these names (and file suffix and line, or "(in PATH)");
    the pprof sample whose leaf location has the same address must have the
    same sequence of functions (inline lines first) and lines, its function
    names being "fn" (or one of "pprof_fn"), and the location of each frame
    must belong to a mapping of file "mapping" when given."""
    with open(spec_path) as f:
        spec = json.load(f)
    doc = dhat_load(dhat_path)
    samples, locations, _ = raw_profile(pprof_path)
    for want in spec:
        pps = [pp for pp in doc["pps"] if pp["tb"] == want["tb"]]
        if len(pps) != 1:
            fail("want one DHAT program point with tb=%d, found %d (tb values: %s)" % (
                want["tb"], len(pps), sorted(pp["tb"] for pp in doc["pps"])))
            continue
        texts = [doc["ftbl"][i] for i in pps[0]["fs"]]
        note("DHAT tb=%d: %s" % (want["tb"], texts[:len(want["frames"]) + 1]))
        parsed = []
        for t in texts:
            m = DHAT_FRAME.match(t)
            parsed.append((int(m.group(1), 16), m.group(2), m.group(3), m.group(4), int(m.group(5) or 0)) if m
                          else (None, t, None, None, 0))
        for i, fr in enumerate(want["frames"]):
            if i >= len(parsed):
                fail("tb=%d: only %d frames, want frame %d %s" % (want["tb"], len(parsed), i, fr))
                break
            addr, name, obj, file, line = parsed[i]
            if addr is None:
                fail("tb=%d frame %d: %r is not in Valgrind's frame format" % (want["tb"], i, texts[i]))
                continue
            if not name_ok(name, fr, [fr["fn"]]):
                fail("tb=%d frame %d: DHAT names %r, want %r (%s)" % (want["tb"], i, name, fr.get("fn_re", fr["fn"]), texts[i]))
            if "in" in fr and obj != fr["in"]:
                fail("tb=%d frame %d: DHAT shows %r, want '(in %s)'" % (want["tb"], i, texts[i], fr["in"]))
            if "file" in fr and not (file or "").endswith(fr["file"]):
                fail("tb=%d frame %d: DHAT file %r, want ...%s (%s)" % (want["tb"], i, file, fr["file"], texts[i]))
            if "line" in fr and line != fr["line"]:
                fail("tb=%d frame %d: DHAT line %d, want %d (%s)" % (want["tb"], i, line, fr["line"], texts[i]))
        for i, j in want.get("same_address", []):
            if i < len(parsed) and j < len(parsed) and parsed[i][0] != parsed[j][0]:
                fail("tb=%d: frames %d and %d have different addresses: %s / %s" % (want["tb"], i, j, texts[i], texts[j]))
        # the pprof sample with the same leaf address
        leaf_addr = parsed[0][0]
        cands = [s_ for s_ in samples if s_["locs"] and locations.get(s_["locs"][0], {}).get("address") == leaf_addr]
        if not cands:
            fail("tb=%d: no pprof sample whose leaf location is at %#x" % (want["tb"], leaf_addr or 0))
            continue
        def agreement(smp):  # how many leading frames have the DHAT frames' addresses
            addrs = [a for lid in smp["locs"] for a in [locations[lid]["address"]] * max(1, len(locations[lid]["lines"]))]
            n = 0
            while n < min(len(addrs), len(parsed)) and addrs[n] == parsed[n][0]:
                n += 1
            return n
        best = max(cands, key=agreement)
        flat = []
        for lid in best["locs"]:
            loc = locations[lid]
            for (name, file, line) in (loc["lines"] or [("", "", 0)]):
                flat.append((loc["address"], name, file, line, loc.get("mapping_file")))
        note("pprof leaf %#x: %s" % (leaf_addr, [(hex(a), n, f, l) for a, n, f, l, _ in flat[:len(want["frames"]) + 1]]))
        for i, fr in enumerate(want["frames"]):
            if i >= len(flat):
                fail("tb=%d: the pprof stack has only %d frames" % (want["tb"], len(flat)))
                break
            addr, name, file, line, mfile = flat[i]
            ok_names = fr.get("pprof_fn", [fr["fn"]])
            if not name_ok(name, fr, ok_names):
                fail("tb=%d frame %d: pprof names %r, want %s" % (
                    want["tb"], i, name, repr(fr["fn_re"]) if "fn_re" in fr else " or ".join(map(repr, ok_names))))
            if addr != parsed[i][0]:
                fail("tb=%d frame %d: pprof address %#x, DHAT address %#x" % (want["tb"], i, addr, parsed[i][0] or 0))
            if "file" in fr and not (file or "").endswith(fr["file"]):
                fail("tb=%d frame %d: pprof file %r, want ...%s" % (want["tb"], i, file, fr["file"]))
            if "line" in fr and line != fr["line"]:
                fail("tb=%d frame %d: pprof line %d, want %d" % (want["tb"], i, line, fr["line"]))
            if "mapping" in fr and mfile != fr["mapping"]:
                fail("tb=%d frame %d: pprof mapping %r, want %r" % (want["tb"], i, mfile, fr["mapping"]))


def cmd_frames(dhat_path, pprof_path):
    if dhat_path:
        doc = dhat_load(dhat_path)
        for i, t in enumerate(doc["ftbl"]):
            print("DHAT %d %s" % (i, t))
    if pprof_path:
        samples, locations, _ = raw_profile(pprof_path)
        for lid in sorted(locations):
            loc = locations[lid]
            for k, (name, file, line) in enumerate(loc["lines"]):
                print("PPROF loc=%d addr=%#x depth=%d fn=%s file=%s line=%d" % (lid, loc["address"], k, name, file, line))
            if not loc["lines"]:
                print("PPROF loc=%d addr=%#x depth=0 fn= file= line=0" % (lid, loc["address"]))


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, rest = argv[0], argv[1:]
    opts, files = {}, []
    multi = {"--tag"}
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("--exact", "--sampled", "--chromium"):
            opts[a] = True
            i += 1
        elif a.startswith("--"):
            if a in multi:
                opts.setdefault(a, []).append(rest[i + 1])
            else:
                opts[a] = rest[i + 1]
            i += 2
        else:
            files.append(a)
            i += 1
    tol = float(opts.get("--tolerance", 0.05))
    if cmd == "pprof-accept":
        cmd_pprof_accept(files, opts["--labels"].split(",") if "--labels" in opts else ())
    elif cmd == "pprof-truth":
        tight = set(opts["--tight"].split(",")) if "--tight" in opts else set()
        cmd_pprof_truth(opts["--truth"], opts["--pprof"], "--exact" in opts, tol, tight)
    elif cmd == "dhat-truth":
        cmd_dhat_truth(opts["--truth"], opts["--dhat"], "--exact" in opts, tol)
    elif cmd == "dhat-view":
        cmd_dhat_view(files, "--chromium" in opts, opts.get("--top-bytes"), opts.get("--top-end"))
    elif cmd == "dhat-vs-valgrind":
        cmd_dhat_vs_valgrind(opts["--heapprof"], opts["--valgrind"], set(opts["--funcs"].split(",")),
                             set(opts["--zero-byte-funcs"].split(",")) if "--zero-byte-funcs" in opts else set())
    elif cmd == "prom":
        cmd_prom(opts["--prom"], opts["--stats"], opts.get("--truth"), opts.get("--tag", []))
    elif cmd == "expect":
        cmd_expect(opts["--dhat"], opts["--pprof"], opts["--spec"])
    elif cmd == "frames":
        cmd_frames(opts.get("--dhat"), opts.get("--pprof"))
    else:
        sys.exit("unknown command " + cmd)
    finish()


if __name__ == "__main__":
    main(sys.argv[1:])
