#!/usr/bin/env bash
# heapprof flame reads every input profile_read does and draws the same
# shape from each: tests/programs/flame_workload's stages (48 blocks parsed,
# 64 cached: widths 48:64) from heapprof's pprof (gzipped and raw), heapprof's
# DHAT (plain and zstd), Valgrind's DHAT of the same program, and a Go heap
# profile of a Go program with the same two stages. Each SVG is well-formed
# XML with the frames in ratio; each HTML page carries the tree as JSON that
# parses and names the same functions. And a DHAT file with hostile names
# (markup, "</script>", control characters, invalid UTF-8) still gives a
# well-formed SVG and an HTML page that renders in Chromium without errors.
source "$(dirname "$0")/lib/common.bash"
hp_need valgrind go zstd gunzip chromium
prog=$(hp_program flame_workload)
export HOME=$HP_TMP GOCACHE=${GOCACHE:-$HP_ROOT/build/go-cache}

"$HP_CLI" run -q --rate 1 --out prof -- "$prog" 64 >/dev/null
cp prof/heapprof.*.final.pb.gz ours.pb.gz
gunzip -c ours.pb.gz >ours.pb
cp prof/heapprof.*.final.dhat.json ours.dhat.json
zstd -q ours.dhat.json -o ours.dhat.json.zst
valgrind -q --tool=dhat --dhat-out-file=valgrind.dhat "$prog" 64 >/dev/null 2>valgrind.err ||
    hp_fail "valgrind failed: $(tail -5 valgrind.err)"

cat >heap.go <<'GO'
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

var keep = make([][]byte, 0, 256)

//go:noinline
func parseTokens(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 65536))
	}
}

//go:noinline
func fillCache(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 65536))
	}
}

func main() {
	runtime.MemProfileRate = 1
	parseTokens(48)
	fillCache(64)
	runtime.GC()
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	pprof.WriteHeapProfile(f)
	f.Close()
}
GO
go run heap.go go.pb.gz || hp_fail "could not build or run the Go program"

# names no markup should break on; RAWBYTE becomes \xff, which is not UTF-8
"$PY" - <<'PY'
import json
ftbl = ["[root]", "0x1: std::vector<int, std::allocator<int> >::push_back&co (\"x'.cc:1)",
        "0x2: main</script><!-- (m.c:2)", "0x3: bad\u0001ctl\u2028sep\ufffe (m.c:3)",
        "0x4: rawRAWBYTEbyte (m.c:4)"]
doc = {"dhatFileVersion": 2, "mode": "rust-heap", "verb": "Allocated", "bklt": False,
       "bkacc": False, "tu": "\u00b5s", "Mtu": "s", "cmd": "hostile", "pid": 1, "te": 1, "tg": 1,
       "pps": [{"tb": 300, "tbk": 1, "fs": [1, 2]}, {"tb": 100, "tbk": 1, "fs": [3, 2]},
               {"tb": 50, "tbk": 1, "fs": [4, 2]}],
       "ftbl": ftbl}
open("hostile.dhat", "wb").write(json.dumps(doc).encode().replace(b"RAWBYTE", b"\xff"))
PY
"$HP_CLI" flame --metric alloc_space hostile.dhat -o hostile.svg
"$HP_CLI" flame --metric alloc_space hostile.dhat -o hostile.html

inputs=(ours.pb.gz ours.pb ours.dhat.json ours.dhat.json.zst valgrind.dhat go.pb.gz)
for f in "${inputs[@]}"; do
    "$HP_CLI" flame --metric alloc_space "$f" -o "$f.svg" || hp_fail "flame failed on $f"
    "$HP_CLI" flame --metric alloc_space "$f" -o "$f.html" || hp_fail "flame failed on $f"
done

"$PY" - "${inputs[@]}" <<'PY'
import json, os, re, sys, xml.etree.ElementTree as ET
SVG = "{http://www.w3.org/2000/svg}"
fails = []
def check(ok, msg):
    if not ok:
        fails.append(msg)
        print("FAIL: " + msg, file=sys.stderr)

def svg_widths(path):
    widths = {}
    for g in ET.parse(path).getroot().iter(SVG + "g"):
        if g.get("class") == "f":
            name = g.find(SVG + "title").text.split("\n")[0]
            widths[name] = widths.get(name, 0) + float(g.find(SVG + "rect").get("width"))
    return widths

def html_values(path):
    page = open(path, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="hp-data">(.*?)</script>', page, re.S)
    doc = json.loads(m.group(1))
    values = {}
    def walk(n):
        values[n["n"]] = values.get(n["n"], 0) + n["v"]
        for c in n.get("c", []):
            walk(c)
    walk(doc["root"])
    return values

for f in sys.argv[1:]:
    go = f.startswith("go.")
    parse, cache = ("main.parseTokens", "main.fillCache") if go else ("parse_tokens", "cache_fill")
    try:
        w = svg_widths(f + ".svg")
    except ET.ParseError as e:
        check(False, "%s.svg is not well-formed: %s" % (f, e))
        continue
    check(parse in w and cache in w, "%s.svg: no %s or %s among %s" % (f, parse, cache, sorted(w)[:30]))
    if parse in w and cache in w:
        ratio = w[parse] / w[cache]
        check(abs(ratio - 0.75) < 0.75 * 0.02, "%s.svg: %s:%s = %.4f, expected 48:64" % (f, parse, cache, ratio))
    v = html_values(f + ".html")
    check(parse in v and cache in v, "%s.html: the tree lacks %s or %s" % (f, parse, cache))
    if parse in v and cache in v:
        check(abs(v[parse] / v[cache] - 0.75) < 0.75 * 0.02, "%s.html: values %r %r" % (f, v[parse], v[cache]))
    print("--- %s: %s" % (f, ", ".join("%s %.1f px" % (k, w.get(k, 0)) for k in (parse, cache))), file=sys.stderr)

# hostile names
sys.path.insert(0, os.environ["HP_ROOT"] + "/tests/integration/lib")
import chromium_page as cp
want = {"std::vector<int, std::allocator<int> >::push_back&co": 300, "main</script><!--": 450,
        "bad\ufffdctl\u2028sep\ufffd": 100, "raw\ufffdbyte": 50}
try:
    w = svg_widths("hostile.svg")
    for name, v in want.items():
        check(name in w, "hostile.svg: no frame named %r (has %r)" % (name, sorted(w)))
    if all(n in w for n in want):
        check(abs(w["std::vector<int, std::allocator<int> >::push_back&co"] / w["bad\ufffdctl\u2028sep\ufffd"] - 3) < 0.01,
              "hostile.svg: widths not 300:100")
except ET.ParseError as e:
    check(False, "hostile.svg is not well-formed XML: %s" % e)
# JSON carries what XML cannot (U+0001, U+FFFE); only the invalid byte is replaced
v = html_values("hostile.html")
want["bad\x01ctl\u2028sep\ufffe"] = want.pop("bad\ufffdctl\u2028sep\ufffd")
check(all(v.get(n) == x for n, x in want.items()), "hostile.html: tree values %r" % v)
res = cp.render("hostile.html", ".", screenshot="hostile.png")
check(not res["console"], "hostile.html: console messages %s" % res["console"][:3])
check("main&lt;/script&gt;&lt;!--" in res["dom"] and "push_back&amp;co" in res["dom"],
      "hostile.html: the names are not in the rendered DOM as text")
if fails:
    sys.exit("%d failure(s)" % len(fails))
print("flame_formats: all checks passed")
PY
