#!/usr/bin/env python3
"""A deterministic mutation fuzzer for the heapprof CLI's input readers
(cli_fuzz.sh runs it bounded; run it longer by hand against a sanitizer
build: make BUILD=build/asan CC="cc -fsanitize=address,undefined" build/asan/heapprof).

usage: fuzz_inputs.py CLI SEED_DIR WORK_DIR [--per-seed N] [--seed S]
           [--only REGEX] [--timeout T] [--commands top,leaks,...] [--all-commands]

Each seed file is mutated N times with a fixed RNG seed: truncations at
evenly spaced points first, then one to three of: bit flips, bytes inserted,
deleted or overwritten, huge varints, NUL bytes; protobuf-aware edits (a
field dropped, duplicated, swapped, given another wire type, a huge or
off-by-one varint, a long string); text-aware ones (lines duplicated,
dropped, swapped, cut, repeated thousands of times, made very long; numbers
replaced by huge, negative, NaN or inf); JSON-aware ones (values replaced
by huge or negative numbers, other types, long strings, deep nesting).
gzip and zstd seeds are mutated decompressed and compressed again (and
sometimes damaged as compressed bytes).

Each mutant goes through `CLI top`; when that reads the file (exit 0), the
other commands run too (they share the reader and differ after it); `tags`
always runs on mutants of stats files (it reads those itself). A failure is a signal, a
timeout, a sanitizer report, or a non-zero exit without exactly one
`heapprof:` line on stderr (leaks may exit 1 silently: it found leaks; a
successful command may print one `heapprof:` warning). Failing inputs are
kept in WORK_DIR/fail/. Prints one line per failure and a summary; exit
status 1 if anything failed.
"""
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import zlib

INTERESTING_NUMS = [b"0", b"-1", b"-9223372036854775808", b"9223372036854775807",
                    b"18446744073709551615", b"99999999999999999999999999", b"1e400",
                    b"-1e400", b"1e308", b"4294967296", b"2147483648", b"-2147483649",
                    b"nan", b"inf", b"0.5", b"-0"]
HUGE_VARINTS = [b"\xff" * 9 + b"\x01", b"\x80" * 10 + b"\x00", b"\xff" * 11,
                b"\xff\xff\xff\xff\x0f", b"\x80\x80\x80\x80\x10"]


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(b, i):
    v = shift = 0
    while i < len(b) and shift < 70:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i
    raise ValueError


def pb_parse(b):
    """[(number, wire, payload)] or None when not protobuf."""
    out, i = [], 0
    try:
        while i < len(b):
            key, i = read_varint(b, i)
            num, wt = key >> 3, key & 7
            if wt == 0:
                v, i = read_varint(b, i)
                out.append((num, 0, v))
            elif wt == 2:
                n, i = read_varint(b, i)
                if i + n > len(b):
                    return None
                out.append((num, 2, b[i:i + n]))
                i += n
            elif wt == 1:
                out.append((num, 1, b[i:i + 8]))
                i += 8
            elif wt == 5:
                out.append((num, 5, b[i:i + 4]))
                i += 4
            else:
                return None
    except ValueError:
        return None
    return out


def pb_build(fields):
    out = bytearray()
    for num, wt, v in fields:
        out += varint(num << 3 | wt)
        if wt == 0:
            out += varint(v)
        elif wt == 2:
            out += varint(len(v)) + v
        else:
            out += v
    return bytes(out)


def pb_mutate(b, rng, depth=0):
    fields = pb_parse(b)
    if not fields:
        return None
    i = rng.randrange(len(fields))
    num, wt, v = fields[i]
    op = rng.randrange(8)
    if op == 0:  # drop a field (e.g. a location samples still point at)
        del fields[i]
    elif op == 1:  # duplicate one
        fields.insert(rng.randrange(len(fields) + 1), fields[i])
    elif op == 2 and wt == 0:  # a varint: huge, zero, or off by one
        fields[i] = (num, 0, rng.choice([0, 1, v + 1, max(v - 1, 0), 2**63, 2**64 - 1,
                                         2**32, 2**31, rng.randrange(1 << 20)]))
    elif op == 3 and wt == 2 and depth < 3:  # into a nested message
        inner = pb_mutate(v, rng, depth + 1)
        if inner is not None:
            fields[i] = (num, 2, inner)
    elif op == 4:  # another wire type or field number
        fields[i] = (rng.choice([num, num + 1, rng.randrange(1, 20)]), rng.choice([0, 1, 2, 5]),
                     v if isinstance(v, bytes) else varint(v))
        if fields[i][1] == 0:
            fields[i] = (fields[i][0], 0, rng.randrange(1 << 16))
        elif fields[i][1] == 1:
            fields[i] = (fields[i][0], 1, (fields[i][2] + b"\0" * 8)[:8])
        elif fields[i][1] == 5:
            fields[i] = (fields[i][0], 5, (fields[i][2] + b"\0" * 4)[:4])
    elif op == 5 and wt == 2:  # packed ints: a huge element
        fields[i] = (num, 2, v + rng.choice(HUGE_VARINTS))
    elif op == 6:  # swap two fields
        j = rng.randrange(len(fields))
        fields[i], fields[j] = fields[j], fields[i]
    elif op == 7 and wt == 2:  # a long string / many bytes
        fields[i] = (num, 2, v + bytes([rng.randrange(256)]) * rng.choice([1000, 70000]))
    return pb_build(fields)


def byte_mutate(b, rng):
    b = bytearray(b)
    op = rng.randrange(9)
    pos = rng.randrange(len(b) + 1) if b else 0
    if op == 0 and b:  # bit flips
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == 1:  # insert bytes
        b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    elif op == 2 and b:  # delete bytes
        del b[pos:pos + rng.randint(1, 16)]
    elif op == 3:  # truncate
        del b[pos:]
    elif op == 4:  # huge varint
        b[pos:pos] = rng.choice(HUGE_VARINTS)
    elif op == 5:  # NUL bytes
        b[pos:pos] = b"\0" * rng.randint(1, 4)
    elif op == 6 and b:  # interesting byte values
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.choice([0, 0xFF, 0x7F, 0x80, 0x0A, 0x22, 0x7B])
    elif op == 7 and b:  # duplicate a chunk
        n = rng.randint(1, min(256, len(b)))
        s = rng.randrange(len(b) - n + 1)
        b[pos:pos] = b[s:s + n]
    elif op == 8 and b:  # overwrite with a chunk from elsewhere
        n = rng.randint(1, min(64, len(b)))
        s = rng.randrange(len(b) - n + 1)
        b[pos:pos + n] = b[s:s + n]
    return bytes(b)


NUM_RE = re.compile(rb"-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")


def text_mutate(b, rng):
    lines = b.split(b"\n")
    op = rng.randrange(9)
    i = rng.randrange(len(lines))
    if op == 0:
        lines.insert(i, lines[rng.randrange(len(lines))])
    elif op == 1 and len(lines) > 1:
        del lines[i]
    elif op == 2:  # numbers
        nums = list(NUM_RE.finditer(lines[i]))
        if nums:
            m = rng.choice(nums)
            rep = rng.choice(INTERESTING_NUMS + [b"0x" + b"f" * rng.choice([8, 16, 17, 40]),
                                                 b"0x0", b""])
            lines[i] = lines[i][:m.start()] + rep + lines[i][m.end():]
    elif op == 3:  # a very long line
        lines[i] = lines[i] + rng.choice([b"A", b" 0x1", b"9", b"[", b"\t", b"@"]) * rng.choice(
            [5000, 100000, 1 << 20])
    elif op == 4:  # NUL in a line
        p = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:p] + b"\0" + lines[i][p:]
    elif op == 5:  # swap lines
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 6:  # many copies of a line
        lines[i:i] = [lines[i]] * rng.choice([100, 5000])
    elif op == 7:  # \r\n endings, or none
        return b"\r\n".join(lines) if rng.random() < 0.5 else b"".join(lines)
    elif op == 8:  # cut a line short
        lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]
    return b"\n".join(lines)


def json_mutate(b, rng):
    try:
        doc = json.loads(b)
    except Exception:
        return None
    nodes = []  # (container, key)

    def walk(o, depth):
        if depth > 6 or len(nodes) > 20000:
            return
        if isinstance(o, dict):
            for k in o:
                nodes.append((o, k))
                walk(o[k], depth + 1)
        elif isinstance(o, list):
            for k in range(len(o)):
                nodes.append((o, k))
                walk(o[k], depth + 1)

    walk(doc, 0)
    if not nodes:
        return None
    c, k = rng.choice(nodes)
    v = c[k]
    op = rng.randrange(7)
    if op == 0:
        c[k] = rng.choice([1e300, -1e300, -1, 0, 2**63, 2**64, -(2**63) - 1, 1.5, 2**31, -2**31 - 1,
                           10**30])
    elif op == 1:
        c[k] = rng.choice(["", "x" * 100000, "[tag: ", "[tag: ]", "0x: (", "0xffffffffffffffffff: f (a:1:2:3)",
                           "f (" + "9" * 30 + ")", "[tag: " + "t" * 5000 + "]", "fn (file:99999999999)", "??? (in )", " ()", "("])
    elif op == 2:
        c[k] = rng.choice([None, True, [], {}, [[]], {"a": 1}, [-1, 10**9, "x"]])
    elif op == 3 and isinstance(c, dict):
        del c[k]
    elif op == 4 and isinstance(c, list):
        c[k:k] = [v] * rng.choice([2, 1000])
    elif op == 5:  # deep nesting
        c[k] = "__DEEP__"
    elif op == 6 and isinstance(v, (int, float)) and not isinstance(v, bool):
        c[k] = -v if v else -1
    out = json.dumps(doc).encode()
    n = rng.choice([50, 999, 1001, 5000])
    out = out.replace(b'"__DEEP__"', b"[" * n + b"1" + b"]" * n, 1)
    if rng.random() < 0.2:  # JSON numbers Python would not write
        out = out.replace(b"1e+300", b"1e400", 1)
    return out


def kind_of(raw):
    if raw[:2] == b"\x1f\x8b":
        return "gzip", gzip.decompress(raw)
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        out = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True).stdout
        return "zstd", out
    return "plain", raw


def recompress(kind, b, rng):
    if kind == "gzip":
        return gzip.compress(b, compresslevel=rng.choice([1, 6, 9]), mtime=0)
    if kind == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=b, capture_output=True).stdout
    return b


def content_kind(b):
    s = b.lstrip()
    if s[:1] == b"{":
        return "json"
    if s[:13].lower() == b"heap profile:" or s[:8] == b"heap_v2/":
        return "text"
    return "pb"


def make_mutant(raw, rng, index, n):
    kind, plain = kind_of(raw)
    ck = content_kind(plain)
    # the first mutants of each seed: truncation at evenly spaced points
    ntrunc = max(1, n // 10)
    if index < ntrunc:
        cut = len(plain) * index // ntrunc
        return recompress(kind, plain[:cut], rng), "truncate@%d" % cut
    if kind != "plain" and rng.random() < 0.1:  # damage the compressed bytes
        return byte_mutate(raw, rng), "compressed-bytes"
    b, ops = plain, []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        r = rng.random()
        out = None
        if ck == "pb" and r < 0.6:
            out, name = pb_mutate(b, rng), "pb"
        elif ck == "text" and r < 0.7:
            out, name = text_mutate(b, rng), "text"
        elif ck == "json" and r < 0.6:
            out, name = json_mutate(b, rng), "json"
        if out is None:
            out, name = byte_mutate(b, rng), "bytes"
        b = out
        ops.append(name)
    return recompress(kind, b, rng), "+".join(ops)


SANITIZER = re.compile(r"AddressSanitizer|runtime error:|LeakSanitizer|UndefinedBehaviorSanitizer")


def run(cli, args, timeout, cwd):
    try:
        p = subprocess.run(["timeout", "-s", "KILL", str(timeout), cli] + args, cwd=cwd,
                           capture_output=True, stdin=subprocess.DEVNULL)
    except OSError as e:
        return -999, b"", str(e).encode()
    return p.returncode, p.stdout, p.stderr


def judge(cmd, rc, err):
    text = err.decode("utf-8", "replace")
    if SANITIZER.search(text):
        return "sanitizer"
    if rc == 137 or rc == -9:
        return "timeout"
    if rc < 0 or rc >= 128:
        return "signal %d" % rc
    lines = [l for l in text.split("\n") if l]
    if rc == 0:
        # a warning is fine: one heapprof: line
        if not lines or (len(lines) == 1 and lines[0].startswith("heapprof: ")):
            return None
        return "stderr on success: %r" % lines[:3]
    if cmd == "leaks" and rc == 1 and not lines:
        return None
    if len(lines) != 1 or not lines[0].startswith("heapprof: "):
        return "rc %d with %d stderr lines: %r" % (rc, len(lines), lines[:4])
    if rc != 2:
        return "rc %d (not 2): %s" % (rc, lines[0])
    return None


def commands(m, seed, only):
    all_ = [("top", ["top", m]), ("top-json", ["top", "--json", m]), ("leaks", ["leaks", m]),
            ("tags", ["tags", m]), ("convert-pb", ["convert", m, "-o", "out.pb.gz"]),
            ("convert-dhat", ["convert", m, "-o", "out.dhat.json"]),
            ("flame", ["flame", m, "-o", "out.svg"]), ("diff", ["diff", seed, m])]
    return [c for c in all_ if not only or c[0] in only or c[0] == "top"]  # top gates the rest


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("seeds")
    ap.add_argument("work")
    ap.add_argument("--per-seed", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default=None)
    ap.add_argument("--timeout", type=int, default=20)
    ap.add_argument("--commands", default="",
                    help="comma-separated subset of top,top-json,leaks,tags,convert-pb,"
                    "convert-dhat,flame,diff")
    ap.add_argument("--all-commands", action="store_true",
                    help="run every command on every mutant, not only on those top reads")
    a = ap.parse_args()
    cli = os.path.abspath(a.cli)
    os.makedirs(os.path.join(a.work, "fail"), exist_ok=True)
    failures, counts = 0, {}
    seeds = sorted(f for f in os.listdir(a.seeds) if not a.only or re.search(a.only, f))
    for sname in seeds:
        spath = os.path.abspath(os.path.join(a.seeds, sname))
        raw = open(spath, "rb").read()
        rng = random.Random("%d/%s" % (a.seed, sname))
        ext = re.search(r"(\.pb\.gz|\.pb|\.dhat\.json\.zst|\.json|\.heap\.gz|\.heap|\.txt|\.dhat)$",
                        sname)
        ext = ext.group(1) if ext else ""
        for i in range(a.per_seed):
            m, how = make_mutant(raw, rng, i, a.per_seed)
            mdir = os.path.abspath(os.path.join(a.work, "cur"))
            shutil.rmtree(mdir, ignore_errors=True)
            os.makedirs(mdir)
            mpath = os.path.join(mdir, "mutant" + ext)
            open(mpath, "wb").write(m)
            cmds = commands(mpath, spath, [c for c in a.commands.split(",") if c])
            rc0 = None
            for cname, args in cmds:
                # tags reads stats files itself: those it tries whatever top says
                gate = cname == "top" or (cname == "tags" and ".stats." in sname)
                if not gate and rc0 != 0 and not a.all_commands:
                    continue
                rc, out, err = run(cli, args, a.timeout, mdir)
                if cname == "top":
                    rc0 = rc
                counts[(sname, cname)] = counts.get((sname, cname), 0) + 1
                verdict = judge(cname, rc, err)
                if b"mutant" in err and b"No such file" in err:
                    sys.exit("harness error: %s" % err)
                if verdict:
                    failures += 1
                    keep = os.path.join(a.work, "fail", "%s.%d.%s%s" % (sname, i, cname, ext))
                    open(keep, "wb").write(m)
                    first = err.decode("utf-8", "replace").strip().split("\n")
                    print("FAIL %s #%d (%s) %s: %s | %s" % (sname, i, how, cname, verdict,
                                                           " / ".join(first[:3])[:300]),
                          flush=True)
        print("seed %s: %d mutants" % (sname, a.per_seed), flush=True)
    total = sum(counts.values())
    print("runs: %d; failures: %d" % (total, failures))
    per = {}
    for (s, c), n in counts.items():
        per.setdefault(c, 0)
        per[c] += n
    print("per command: " + ", ".join("%s=%d" % kv for kv in sorted(per.items())))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
