#!/usr/bin/env bash
# HEAPPROF_SYMBOLIZE=none writes addresses and mappings only:
#  - pprof: no location has a Line; every mapping carries its file and the
#    file's GNU build-id and no has_* flag; go tool pprof -raw/-top/-traces
#    and pprof-format read it; `heapprof top` lists the frames by address;
#  - pprof can symbolize it later from the binary: `go tool pprof
#    -symbolize=local` names the program's function (dup_strings) from its
#    DWARF, which needs the mapping to describe the executable segment;
#  - DHAT: every frame is "0xADDR: ??? (in /path)", and dh_view.html loads it;
#  - libdw is never loaded (/proc/self/maps at exit has no libdw).
source "$(dirname "$0")/lib/common.bash"
hp_need cc go node readelf
unset DEBUGINFOD_URLS
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")

cp "$HP_ROOT/tests/programs/symbolize/strdup.c" sym_none.c
bin=$HP_TMP/sym_none
cc -std=gnu11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror sym_none.c -o "$bin" || hp_fail "cannot build $bin"
libc=$(readlink -f "$(ldd "$bin" | awk '/libc\.so\.6/ {print $3}')")
bin_id=$(readelf -n "$bin" | awk '/Build ID/ {print $3}')
libc_id=$(readelf -n "$libc" | awk '/Build ID/ {print $3}')

out=$HP_TMP/out
LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$out HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof,dhat HEAPPROF_SYMBOLIZE=none \
    "$bin" --maps >run.out 2>run.err || hp_fail "$bin failed: $(cat run.err)"
[[ ! -s run.err ]] || hp_fail "heapprof wrote to stderr: $(cat run.err)"
grep -q '^199$' run.out || hp_fail "unexpected output: $(cat run.out)"
bad=0
if grep '^mapped:' run.out >&2; then
    echo "FAIL: libdw was loaded although nothing is symbolized (above)" >&2
    bad=1
fi
dhat=$(echo "$out"/heapprof.*.final.dhat.json) pprof=$(echo "$out"/heapprof.*.final.pb.gz)

export HOME=$HP_TMP GOCACHE=$HP_TMP/gocache
go tool pprof -symbolize=none -raw "$pprof" >raw.txt 2>&1 || hp_fail "go tool pprof -raw failed: $(head -5 raw.txt)"
sed -n '/^Locations/,$p' raw.txt >&2
"$PY" - raw.txt "$bin" "$bin_id" "$libc" "$libc_id" <<'PY' || bad=1
import re, sys
raw, binary, bin_id, libc, libc_id = sys.argv[1:]
text = open(raw).read()
locs = text.split("Locations\n")[1].split("Mappings\n")[0].splitlines()
maps = text.split("Mappings\n")[1].splitlines()
bad = []
named = [l for l in locs if not re.match(r"^\s+\d+: 0x[0-9a-f]+ M=\d+\s*$", l)]
if not locs or named:
    bad.append("locations with lines (or without a mapping): %r" % named[:5])
seen = {}
for m in maps:
    f = m.split()
    if len(f) >= 3:
        seen[f[2]] = f[3:]
for path, bid in ((binary, bin_id), (libc, libc_id)):
    rest = seen.get(path)
    if rest is None:
        bad.append("no mapping for %s (mappings: %r)" % (path, maps))
    elif rest != [bid]:
        bad.append("mapping %s: %r, want build-id %s and no flags" % (path, rest, bid))
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
print("%d locations, all unsymbolized; mappings %s" % (len(locs), sorted(seen)), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
"${W[@]}" pprof-accept "$pprof" || bad=1

# heapprof's CLI shows the addresses
"$HP_CLI" top "$pprof" >top.txt 2>&1 || hp_fail "heapprof top failed: $(cat top.txt)"
cat top.txt >&2
grep -qE '0x[0-9a-f]{6,}' top.txt || { echo "FAIL: heapprof top shows no addresses" >&2; bad=1; }

# pprof symbolizes it itself from the binary's DWARF
go tool pprof -symbolize=local -raw "$pprof" >local.txt 2>&1 || hp_fail "go tool pprof -symbolize=local failed: $(head -5 local.txt)"
sed -n '/^Locations/,/^Mappings/p' local.txt >&2
grep -qE '^\s+[0-9]+: 0x[0-9a-f]+ M=[0-9]+ dup_strings ' local.txt ||
    { echo "FAIL: go tool pprof -symbolize=local does not name dup_strings" >&2; bad=1; }

"$PY" - "$dhat" "$bin" "$libc" <<'PY' || bad=1
import json, re, sys
doc = json.load(open(sys.argv[1]))
frames = doc["ftbl"][1:]
ok = [f for f in frames if re.fullmatch(r"0x[0-9A-F]+: \?\?\? \(in (%s|%s)\)" % (re.escape(sys.argv[2]), re.escape(sys.argv[3])), f)]
others = [f for f in frames if f not in ok and not f.startswith("[")]
print("DHAT: %d frames, e.g. %r" % (len(frames), frames[:3]), file=sys.stderr)
if not ok or others:
    print("FAIL: DHAT frames not of the form '0xADDR: ??? (in PATH)': %r" % others[:5], file=sys.stderr)
    sys.exit(1)
PY
"${W[@]}" dhat-view "$dhat" || bad=1

[[ $bad -eq 0 ]] || hp_fail "HEAPPROF_SYMBOLIZE=none output is not as expected (see above)"
echo "symbolize_none: ok"
