#!/usr/bin/env bash
# Damaged and odd inputs the CLI once mishandled (found by fuzzing with
# lib/fuzz_inputs.py): each is read, or refused with one `heapprof:` line and
# exit status 2 — by the normal build and, where the compiler can build one,
# by an AddressSanitizer + UBSan build that also catches what the normal
# build survives by luck (reads past a table, undefined conversions, qsort of
# NULL).
source "$(dirname "$0")/lib/common.bash"
clis=("$HP_CLI")
asan=$(hp_asan_cli)
[[ -n $asan ]] && clis+=("$asan")

# expect RC WHAT PATTERN -- ARGS... : every CLI exits RC; on an error, its
# stderr is the one line "heapprof: ...PATTERN..."; on success, stderr is empty.
expect() {
    local want=$1 what=$2 pattern=$3 cli rc
    shift 4
    for cli in "${clis[@]}"; do
        rc=0
        env "${HP_ASAN_ENV[@]}" timeout 60 "$cli" "$@" >out.txt 2>err.txt </dev/null || rc=$?
        if [[ $rc -ne $want ]]; then
            hp_show err.txt stderr
            hp_fail "$what: '${cli#"$HP_ROOT"/} $*' exited $rc, expected $want"
        fi
        if [[ $want -eq 0 ]]; then
            [[ ! -s err.txt ]] || { hp_show err.txt stderr; hp_fail "$what: stderr on success"; }
        elif [[ $(wc -l <err.txt) -ne 1 ]] || ! grep -q "^heapprof: .*$pattern" err.txt; then
            hp_show err.txt stderr
            hp_fail "$what: want one line 'heapprof: ...$pattern...'"
        fi
    done
    hp_note "ok: $what"
}

"$PY" - <<'PY'
import json

def varint(v):
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | 0x80 if v else b)
        if not v:
            return bytes(out)

def field(num, v):  # int: varint; bytes: length-delimited
    if isinstance(v, int):
        return varint(num << 3) + varint(v)
    return varint(num << 3 | 2) + varint(len(v)) + v

def profile(samples=(), locations=()):
    out = field(1, field(1, 1) + field(2, 2))  # sample_type inuse_space/bytes
    for s in samples:
        out += field(2, s)
    for l in locations:
        out += field(4, l)
    for s in (b"", b"inuse_space", b"bytes"):
        out += field(6, s)
    return out

# A sample and a location naming ids never defined, each twice: the second
# lookup of an undefined id read past the location (function) table.
open("undefined_ids.pb", "wb").write(profile(
    samples=[field(1, field(1, 7) + field(1, 7)) + field(2, 100),
             field(1, field(1, 1) + field(1, 2)) + field(2, 50)],
    locations=[field(1, 1) + field(4, field(1, 9)), field(1, 2) + field(4, field(1, 9))]))
# No samples at all: top, leaks and diff sorted a NULL array.
open("empty.pb", "wb").write(profile())
# gzip in two members (cat a.gz b.gz): only the first was read.
import gzip
whole = profile(samples=[field(1, field(1, 1)) + field(2, 50)],
                locations=[field(1, 1) + field(3, 0x1234)])
open("members.pb.gz", "wb").write(gzip.compress(whole[:20]) + gzip.compress(whole[20:]))
# No sample types either: "has no metric 'inuse_space'; it has: " (nothing).
open("nometrics.pb", "wb").write(field(6, b"") + field(2, field(2, 5)))

def dhat(pps, ftbl, **extra):
    doc = {"dhatFileVersion": 2, "mode": "heapprof", "bklt": True, "pps": pps, "ftbl": ftbl}
    doc.update(extra)
    return json.dumps(doc)

# A stackless site whose tag is longer than diff's 2 KiB description buffer:
# "[no stack]" was written past it (a 1 MB tag: segfault).
tag = "[tag: " + "t" * 1000000 + "]"
for name, v in (("longtag1.json", 10), ("longtag2.json", 20)):
    open(name, "w").write(dhat([{"tb": v, "tbk": 1, "eb": v, "ebk": 1, "fs": [1]}], ["[root]", tag]))
# sampleRate 1e400 is inf to a JSON parser: converted to int64 (undefined).
open("rate_inf.json", "w").write(
    dhat([], ["[root]"]).replace('"dhatFileVersion"', '"sampleRate": 1e400, "dhatFileVersion"'))
open("rate_neg.json", "w").write(dhat([], ["[root]"], sampleRate=-4096))
# 1e300 bytes: convert to pprof wrote llround's unspecified INT64_MIN.
open("huge.json", "w").write(dhat([{"tb": 1e300, "tbk": 1, "eb": 1e300, "ebk": 1, "fs": [1]}],
                                  ["[root]", "0x1: f (a.c:1)"]))
# A stats file with a negative count: converted to uint64 as is (undefined).
open("stats_neg.json", "w").write(json.dumps({
    "schema": "heapprof-stats/1", "tags": [{"name": "main", "alloc_objects": -5,
                                            "alloc_bytes": 100, "live_bytes": 10}]}))
open("heapprof.1.0.stats.json", "w").write(json.dumps({"schema": "heapprof-stats/1", "tags": []}))
PY

expect 0 "undefined location and function ids" "" -- top undefined_ids.pb
for cmd in top leaks; do expect 0 "$cmd of a profile without samples" "" -- $cmd empty.pb; done
expect 0 "diff of profiles without samples" "" -- diff empty.pb empty.pb
expect 0 "gzip of two members" "" -- top members.pb.gz
grep -q '0x1234' out.txt || hp_fail "members.pb.gz: the second member's location is missing"
expect 2 "a profile without sample types" "nometrics.pb has no metrics (no sample types)" -- \
    top nometrics.pb
expect 0 "diff of a stackless site with a 1 MB tag" "" -- diff longtag1.json longtag2.json
grep -q '^+ .*\[tttt' out.txt || hp_fail "diff does not show the long-tagged site"
expect 2 "DHAT sampleRate 1e400" "damaged DHAT file (its sampleRate" -- top rate_inf.json
expect 2 "DHAT sampleRate -4096" "damaged DHAT file (its sampleRate" -- top rate_neg.json
expect 0 "convert of a 1e300-byte site to pprof" "" -- convert huge.json -o huge.pb.gz
expect 0 "top of the converted 1e300-byte site" "" -- top --json --metric alloc_space huge.pb.gz
"$PY" -c 'import json; t = json.load(open("out.txt"))["total"]; assert t > 9.2e18, t' ||
    hp_fail "1e300 bytes did not become INT64_MAX in pprof"
expect 0 "tags of a stats file with a negative count" "" -- tags stats_neg.json
expect 2 "a stats file given to top" "a heapprof stats file, not a profile: 'heapprof tags'" -- \
    top heapprof.1.0.stats.json
mkdir adir
expect 2 "a directory as FILE" "adir: Is a directory" -- top adir

# Text heap profiles: Go's debug=1 text has no MAPPED_LIBRARIES (qsort of
# NULL); a sampling period that is no byte count was reported as 'out of
# memory' (and converted to int64: undefined).
printf 'heap profile: 1: 4096 [1: 4096] @ heap/1024\n1: 4096 [1: 4096] @ 0x4b3c31\n#\t0x4b3c30\tmain.grow+0x50\t\t/src/main.go:14\n' >go.txt
expect 0 "Go debug=1 text without MAPPED_LIBRARIES" "" -- top go.txt
grep -q 'main.grow' out.txt || hp_fail "Go's frame name is not shown"
for header in 'heap_v2/-5' 'heap_v2/nan' 'heap_v2/1e400' 'heap profile: 1: 2 [3: 4] @ heap/1e300' \
    'heap profile: 1: 2 [3: 4] @ heap_v2/-1'; do
    printf '%s\n@ 0x1\n  t*: 1: 2 [3: 4]\n' "$header" >period.heap
    expect 2 "sampling period in '$header'" "period.heap: damaged heap profile header (the sampling period" -- \
        top period.heap
done

# A mapped "file" that is a FIFO: open() waited for a writer forever.
mkfifo fifo
printf 'heap profile: 1: 2 [3: 4] @ heapprofile\n1: 2 [3: 4] @ 0x1000\n\nMAPPED_LIBRARIES:\n00001000-00002000 r-xp 00000000 00:00 0 %s/fifo\n' \
    "$PWD" >fifo.heap
expect 0 "a FIFO in MAPPED_LIBRARIES" "" -- top fifo.heap

# Deep stacks: flame recursed once per frame (4 KiB a level for HTML) and
# overflowed the C stack; reading DHAT was quadratic in the size of ftbl.
"$PY" - <<'PY'
import json
for n, name in ((5000, "deep5k.json"), (60000, "deep60k.json")):
    ftbl = ["[root]"] + ["0x%x: f%d (a.c:%d)" % (i + 1, i, i + 1) for i in range(n)]
    json.dump({"dhatFileVersion": 2, "mode": "heapprof", "bklt": True, "ftbl": ftbl,
               "pps": [{"tb": 10, "tbk": 1, "eb": 10, "ebk": 1, "fs": list(range(1, n + 1))}]},
              open(name, "w"))
PY
expect 0 "flame -o .html of a 5,000-frame stack" "" -- flame deep5k.json -o deep5k.html
expect 0 "flame -o .svg of a 60,000-frame stack" "" -- flame deep60k.json -o deep60k.svg
[[ $(grep -c '<g class="f">' deep60k.svg) -eq 60001 ]] || hp_fail "deep60k.svg lacks frames"

# timeline: a stats file whose seq is 1e300 is skipped with one line (it was
# converted to long: undefined), the good one is drawn.
"$PY" - <<'PY'
import json, os
os.mkdir("tl")
good = {"schema": "heapprof-stats/1", "pid": 7, "seq": 0, "uptime_ns": 1000, "cmd": "x",
        "time_unix_ns": 1700000000000000000, "process": {"live_bytes": 10, "peak_bytes": 20},
        "tags": [{"name": "main", "live_bytes": 10, "peak_bytes": 20}]}
json.dump(good, open("tl/heapprof.7.0.stats.json", "w"))
json.dump(dict(good, seq=1e300), open("tl/heapprof.7.1.stats.json", "w"))
PY
for cli in "${clis[@]}"; do
    rc=0
    env "${HP_ASAN_ENV[@]}" "$cli" timeline tl -o tl.svg >/dev/null 2>err.txt || rc=$?
    [[ $rc -eq 0 && $(wc -l <err.txt) -eq 1 ]] && grep -q '^heapprof: tl/heapprof.7.1.stats.json: damaged: .*(skipped)$' err.txt || {
        hp_show err.txt stderr
        hp_fail "timeline with a stats file whose seq is 1e300: exit $rc"
    }
done
hp_note "ok: timeline skips a stats file with seq 1e300"

echo "cli_bad_inputs: ok (${#clis[@]} builds)"
