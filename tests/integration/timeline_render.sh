#!/usr/bin/env bash
# heapprof timeline on two runs of tests/programs/flame_workload with
# interval dumps (HEAPPROF_INTERVAL=0.2, rate 1, so every number is exact):
#  - the SVG is well-formed XML with one series per line (live, peak, one per
#    tag, largest tags first), every dump a point, and the points where the
#    stats files say (read back through the axis ticks); the tag with markup
#    characters (cache<&>) survives; --tag draws that tag's live and peak;
#    two runs give one series per process, in wall time after one another,
#    with --x uptime both from zero;
#  - in headless Chromium the SVG and the HTML page render without a console
#    message; in the HTML page a driver hovers the highest live point (the
#    read-out shows the live and peak values there) and clicks a legend entry
#    (the series hides, and shows again); screenshots are not blank (copies in
#    build/test-logs/timeline_render/);
#  - bad input fails with one "heapprof:" line; a broken stats file is
#    skipped with a warning.
source "$(dirname "$0")/lib/common.bash"
hp_need chromium
prog=$(hp_program flame_workload)

"$HP_CLI" run -q --rate 1 --interval 0.2 --out run1 -- "$prog" 64 >/dev/null
"$HP_CLI" run -q --rate 1 --interval 0.2 --out run2 -- "$prog" 128 >/dev/null

"$HP_CLI" timeline run1 -o t.svg
"$HP_CLI" timeline run1 -o t.html
"$HP_CLI" timeline --tag planner run1 -o planner.svg
"$HP_CLI" timeline run1 run2 -o multi.svg
"$HP_CLI" timeline --x uptime run1 run2 -o multi_up.svg
"$HP_CLI" timeline --procs 1 --tags 1 run1 run2 -o top1.svg
# one file is enough too
one=$(ls run1/heapprof.*.0.stats.json)
"$HP_CLI" timeline "$one" -o one.svg

bad() { # expected-message-regex args...
    local want=$1 rc=0
    shift
    "$HP_CLI" "$@" >bad.out 2>bad.err || rc=$?
    [[ $rc -eq 2 ]] || hp_fail "'heapprof $*' exited $rc, expected 2"
    [[ $(wc -l <bad.err) -eq 1 ]] && grep -Eq "^heapprof: .*$want" bad.err ||
        hp_fail "'heapprof $*' should print one 'heapprof: ...$want' line, printed: $(cat bad.err)"
}
mkdir empty
bad 'no heapprof.<pid>.<seq>.stats.json files in empty' timeline empty -o x.svg
bad 'cannot open nosuch' timeline nosuch -o x.svg
bad 'name it \.svg' timeline run1 -o x.png
bad "no dump has the tag 'nosuch'; tags seen: cache<&>, parser, planner, main" timeline --tag nosuch run1 -o x.svg
bad "--x sideways: give 'wall' or 'uptime'" timeline --x sideways run1 -o x.svg
[[ ! -e x.svg && ! -e x.png ]] || hp_fail "a failed command left an output file"
# a broken file and a future schema are skipped with a warning each
cp -r run1 broken
echo '{"schema": "heapprof-stats/1", "pid": ' >broken/heapprof.1.0.stats.json
echo '{"schema": "heapprof-stats/2"}' >broken/heapprof.2.0.stats.json
"$HP_CLI" timeline broken -o broken.svg 2>broken.err || hp_fail "one broken file made timeline fail"
grep -q '^heapprof: broken/heapprof.1.0.stats.json: not valid JSON (skipped)$' broken.err &&
    grep -q '^heapprof: broken/heapprof.2.0.stats.json: schema heapprof-stats/2 is newer' broken.err ||
    hp_fail "no warnings for the broken files: $(cat broken.err)"
cmp -s <(sed 's/broken/run1/g' broken.svg) <(sed 's/broken/run1/g' t.svg) ||
    hp_fail "skipping broken files changed the chart"

logs=$HP_ROOT/build/test-logs/timeline_render
mkdir -p "$logs"
"$PY" - "$HP_ROOT/tests/integration/lib" "$logs" <<'PY'
import glob, json, os, re, shutil, sys, xml.etree.ElementTree as ET
sys.path.insert(0, sys.argv[1])
import chromium_page as cp

logs = sys.argv[2]
fails = []
def check(ok, msg):
    if not ok:
        fails.append(msg)
        print("FAIL: " + msg, file=sys.stderr)

SVG = "{http://www.w3.org/2000/svg}"
UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
def parse_bytes(text):
    if text == "0":
        return 0.0
    num, unit = text.split()
    return float(num) * UNITS[unit]
def parse_secs(text):
    return float(text.split()[0])

def chart(path):
    root = ET.parse(path).getroot()
    ticks = {"y": [], "x": []}
    for t in root.iter(SVG + "text"):
        cls = t.get("class")
        if cls == "ytick":
            ticks["y"].append((float(t.get("y")) - 4, parse_bytes(t.text)))
        elif cls == "xtick":
            ticks["x"].append((float(t.get("x")), parse_secs(t.text)))
    (y0, v0), (y1, v1) = ticks["y"][0], ticks["y"][-1]
    (x0, s0), (x1, s1) = ticks["x"][0], ticks["x"][-1]
    # the axes span the plot: 0 at its bottom-left corner, the last ticks at its edges
    plot = root.find(SVG + "path[@class='axis']").get("d")   # "Mleft topVbottomHright"
    left, top, bottom, right = map(float, re.match(r"M([\d.]+) ([\d.]+)V([\d.]+)H([\d.]+)$", plot).groups())
    check(v0 == 0 and abs(y0 - bottom) < 0.2 and abs(y1 - top) < 0.2, "%s: y ticks from %.1f to %.1f, plot %.1f..%.1f" % (path, y0, y1, bottom, top))
    check(s0 == 0 and abs(x0 - left) < 0.2 and abs(x1 - right) < 0.2, "%s: x ticks from %.1f to %.1f, plot %.1f..%.1f" % (path, x0, x1, left, right))
    series, labels = [], []
    for g in root.iter(SVG + "g"):
        if (g.get("class") or "").startswith("series"):
            pts = [tuple(map(float, p.split(","))) for p in g.find(SVG + "polyline").get("points").split()]
            series.append({"points": [(s0 + (x - x0) * (s1 - s0) / (x1 - x0), v0 + (y - y0) * (v1 - v0) / (y1 - y0)) for x, y in pts],
                           "markers": len(g.findall(SVG + "circle")),
                           "dashed": g.find(SVG + "polyline").get("stroke-dasharray") is not None,
                           "ymax": v1})
        if g.get("class") == "legend-item":
            labels.append(g.find(SVG + "text").text)
    for s, label in zip(series, labels):
        s["label"] = label
    return series, labels

def dumps(d):
    out = []
    for f in glob.glob(os.path.join(d, "heapprof.*.*.stats.json")):
        if re.search(r"\.\d+\.stats\.json$", f):
            out.append(json.load(open(f)))
    return sorted(out, key=lambda x: x["seq"])

d1, d2 = dumps("run1"), dumps("run2")
check(len(d1) >= 4, "run1 has only %d dumps" % len(d1))
start1 = d1[0]["time_unix_ns"] - d1[0]["uptime_ns"]

series, labels = chart("t.svg")
check(labels == ["live", "peak", "tag cache<&>", "tag parser", "tag planner", "tag main"],
      "t.svg legend: %r" % labels)
by = {s["label"]: s for s in series}
def agree(s, key, pick):
    pts = s["points"]
    check(len(pts) == len(d1) and s["markers"] == len(d1), "t.svg %s: %d points, %d markers for %d dumps" % (key, len(pts), s["markers"], len(d1)))
    for (x, y), d in zip(pts, d1):
        want_x = (d["time_unix_ns"] - start1) / 1e9
        want_y = pick(d)
        check(abs(x - want_x) < 0.01, "t.svg %s seq %d at %.3f s, stats say %.3f s" % (key, d["seq"], x, want_x))
        check(abs(y - want_y) < s["ymax"] * 0.002, "t.svg %s seq %d is %.0f bytes, stats say %.0f" % (key, d["seq"], y, want_y))
def tag_live(name):
    return lambda d: next((t["live_bytes"] for t in d["tags"] if t["name"] == name), 0)
if set(["live", "peak", "tag parser", "tag cache<&>"]) <= set(by):
    agree(by["live"], "live", lambda d: d["process"]["live_bytes"])
    agree(by["peak"], "peak", lambda d: d["process"]["peak_bytes"])
    agree(by["tag parser"], "tag parser", tag_live("parser"))
    agree(by["tag cache<&>"], "tag cache<&>", tag_live("cache<&>"))
    check(by["peak"]["dashed"] and not by["live"]["dashed"], "peak is not the dashed one")
    check(max(y for _, y in by["tag parser"]["points"]) > 3e6 and by["tag parser"]["points"][-1][1] < 1e5,
          "parser's live bytes do not rise to 3 MiB and fall to 0: %r" % by["tag parser"]["points"])

series, labels = chart("planner.svg")
check(labels == ["planner live", "planner peak"], "--tag planner legend: %r" % labels)

series, labels = chart("multi.svg")
pids = sorted({re.search(r"\(pid (\d+)\)", l).group(1) for l in labels if "(pid" in l})
check(len(pids) == 2 and all("(pid " in l for l in labels), "multi.svg: labels %r" % labels)
if len(pids) == 2:
    first = [s for s in series if s["label"] == "live (pid %d)" % d1[0]["pid"]]
    second = [s for s in series if s["label"] == "live (pid %d)" % d2[0]["pid"]]
    check(first and second and second[0]["points"][0][0] > first[0]["points"][-1][0] - 0.05,
          "multi.svg: the second run does not follow the first in wall time")
series, labels = chart("multi_up.svg")
check(all(s["points"][0][0] < 1.0 for s in series), "--x uptime: a series does not start near 0")
# the process with the higher peak (run2's cache is twice as large), its largest tag
series, labels = chart("top1.svg")
check(labels == ["live (pid %d)" % d2[0]["pid"], "peak (pid %d)" % d2[0]["pid"], "tag cache<&> (pid %d)" % d2[0]["pid"]],
      "--procs 1 --tags 1: %r" % labels)
sub = [t.text for t in ET.parse("top1.svg").getroot().iter(SVG + "text") if t.get("class") == "sub"][0]
check("1 process with smaller peaks not drawn" in sub and "3 smaller tags not drawn" in sub, "top1.svg subtitle: %r" % sub)
series, labels = chart("one.svg")
check(labels[:2] == ["live", "peak"] and len(series[0]["points"]) == 1, "one file: %r" % labels)

DRIVER = r"""
(function () {
  var r = {};
  try {
    var svg = document.getElementById('timeline');
    var live = svg.querySelector('.series[data-series="0"]');
    var dots = Array.prototype.slice.call(live.querySelectorAll('circle'));
    var top = dots.reduce(function (a, b) { return +b.getAttribute('cy') < +a.getAttribute('cy') ? b : a; });
    var box = top.getBoundingClientRect();
    function hover() {
      svg.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: box.left + box.width / 2, clientY: box.top + box.height / 2}));
      return document.getElementById('tip').textContent;
    }
    r.tipShown = (hover(), document.getElementById('tip').style.display);
    r.tip = Array.prototype.map.call(document.getElementById('tip').children, function (c) { return c.textContent; });
    var peakItem = svg.querySelector('.legend-item[data-series="1"]');
    peakItem.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    r.hiddenDisplay = svg.querySelector('.series[data-series="1"]').style.display;
    r.legendOff = peakItem.classList.contains('off');
    hover();
    r.tipWithoutPeak = Array.prototype.map.call(document.getElementById('tip').children, function (c) { return c.textContent; });
    peakItem.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    r.shownAgain = svg.querySelector('.series[data-series="1"]').style.display;
    hover();  /* leave the read-out in the screenshot */
  } catch (e) { r.driverError = String(e && e.stack || e); }
  hpResult(r);
})();
"""
jobs = [(("t.svg", ".", None, "t.svg.png"), {}), (("t.html", ".", DRIVER, "t.html.png"), {})]
results = cp.render_all(jobs)
for (args, _), res in zip(jobs, results):
    check(not res["console"], "%s: console messages in Chromium: %s" % (args[0], res["console"][:5]))
    check(res["rc"] == 0, "%s: chromium exited %s" % (args[0], res["rc"]))
    shutil.copy(args[3], logs)
check("tag cache&lt;&amp;&gt;" in results[0]["dom"], "t.svg: the escaped tag name is not in the rendered DOM")
r = results[1]["result"] or {}
check(results[1]["result"] is not None and not r.get("errors") and not r.get("driverError"),
      "t.html: %r %r" % (r.get("errors"), r.get("driverError")))
peak_live = max(d["process"]["live_bytes"] for d in d1)
def shown(lines, label):
    m = [l for l in lines if l.startswith(label + ": ")]
    return parse_bytes(m[0].split(": ")[1].split(" (")[0].split(" \u00b1")[0]) if m else None
tip = r.get("tip", [])
check(r.get("tipShown") == "block" and tip and tip[0].endswith(" s"), "t.html: read-out %r" % tip)
v = shown(tip, "live")
check(v is not None and abs(v - peak_live) <= peak_live * 0.01, "t.html: live read-out %r, max live is %d" % (v, peak_live))
check(shown(tip, "peak") is not None and shown(tip, "tag cache<&>") is not None, "t.html: read-out lacks peak or a tag: %r" % tip)
check(r.get("hiddenDisplay") == "none" and r.get("legendOff"), "t.html: legend click did not hide peak")
check(shown(r.get("tipWithoutPeak", []), "peak") is None and shown(r.get("tipWithoutPeak", []), "live") is not None,
      "t.html: hidden series still in the read-out: %r" % r.get("tipWithoutPeak"))
check(r.get("shownAgain") == "", "t.html: second legend click did not show peak again")
for png in ["t.svg.png", "t.html.png"]:
    s = cp.png_summary(png)
    check(s["colors"] >= 10 and s["fraction"] < 0.97, "%s looks blank: %r" % (png, s))
    n = cp.count_pixels(png, lambda r, g, b: abs(r - 37) < 30 and abs(g - 99) < 30 and b > 200)
    check(n > 300, "%s: only %d pixels of the live line's blue" % (png, n))
if fails:
    sys.exit("%d failure(s)" % len(fails))
print("timeline_render: all checks passed")
PY
