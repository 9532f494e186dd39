"""Helpers for the push tests: decode a pprof file with `go tool pprof -raw`
(the reference reader) and total its samples by (leaf function, tag).

    import push_check as pc
    prof = pc.decode(path)            # {"types": [...], "samples": [...], "time": str}
    totals = pc.by_site(prof)         # {(leaf, tag): {"alloc_space": n, ...}}

HOME and GOCACHE must point into the test's temporary directory.
"""
import re
import subprocess

SAMPLE_RE = re.compile(r"^\s*(-?\d+(?:\s+-?\d+)*):\s*([\d ]*)$")
LABEL_RE = re.compile(r"^\s+(\w+):\[(.*)\]$")
LOC_RE = re.compile(r"^\s*(\d+): 0x[0-9a-f]+(?: M=\d+)? (.*) (\S*):(\d+) s=\d+$")


def decode(path):
    r = subprocess.run(["go", "tool", "pprof", "-symbolize=none", "-raw", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("go tool pprof -raw %s failed: %s" % (path, r.stderr.strip()[:500]))
    types, samples, locs = [], [], {}
    section, cur_loc = None, None
    for line in r.stdout.splitlines():
        if line.startswith("Samples:"):
            section = "types"
            continue
        if line.startswith("Locations"):
            section = "locations"
            continue
        if line.startswith("Mappings"):
            section = None
            continue
        if section == "types":
            types = [t.split("/")[0] for t in line.split()]
            section = "samples"
        elif section == "samples":
            m = SAMPLE_RE.match(line)
            if m:
                samples.append({"values": [int(v) for v in m.group(1).split()],
                                "locations": [int(x) for x in m.group(2).split()], "labels": {}})
                continue
            m = LABEL_RE.match(line)
            if m and samples:
                samples[-1]["labels"][m.group(1)] = m.group(2)
        elif section == "locations":
            m = LOC_RE.match(line)
            if m:
                cur_loc = int(m.group(1))
                locs[cur_loc] = [m.group(2)]
            elif cur_loc is not None and line.strip():
                # an inlined caller of the location's first function
                locs[cur_loc].append(line.strip().rsplit(" ", 2)[0])
    for s in samples:
        first = s["locations"][0] if s["locations"] else None
        s["leaf"] = locs.get(first, ["?"])[0] if first is not None else "?"
        s["functions"] = [f for lid in s["locations"] for f in locs.get(lid, [])]
    time_m = re.search(r"^Time: (.*)$", r.stdout, re.M)
    return {"types": types, "samples": samples, "time": time_m.group(1) if time_m else None}


def by_site(prof, only=None):
    """Totals per (leaf function, tag); `only` keeps leaves in that set."""
    out = {}
    for s in prof["samples"]:
        if only is not None and s["leaf"] not in only:
            continue
        key = (s["leaf"], s["labels"].get("tag"))
        slot = out.setdefault(key, {t: 0 for t in prof["types"]})
        for t, v in zip(prof["types"], s["values"]):
            slot[t] += v
    return out


def add(into, totals, types=("alloc_objects", "alloc_space")):
    for key, vals in totals.items():
        slot = into.setdefault(key, {t: 0 for t in types})
        for t in types:
            slot[t] += vals.get(t, 0)
    return into


def project(totals, types):
    return {k: {t: v.get(t, 0) for t in types} for k, v in totals.items()}


def total(prof, metric):
    i = prof["types"].index(metric)
    return sum(s["values"][i] for s in prof["samples"])


def _varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _put_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def restamp(src, dst, time_nanos):
    """Copies a .pb.gz with its time_nanos (field 9) replaced."""
    import gzip
    raw = gzip.decompress(open(src, "rb").read())
    out, i = bytearray(), 0
    while i < len(raw):
        start = i
        key, i = _varint(raw, i)
        if key & 7 == 0:
            _, i = _varint(raw, i)
        else:
            n, i = _varint(raw, i)
            i += n
        if key >> 3 != 9:
            out += raw[start:i]
    out += _put_varint(9 << 3) + _put_varint(time_nanos)
    with open(dst, "wb") as f:
        f.write(gzip.compress(bytes(out)))
