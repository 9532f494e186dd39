#!/usr/bin/env bash
# heapprof flame and diff --flame on a workload of known shape
# (tests/programs/flame_workload at HEAPPROF_RATE=1, so every width is exact):
#  - the SVG is well-formed XML with one <g> per frame: root at the bottom,
#    children inside their parent and in name order, widths in the ratios the
#    program allocated (48:48:64 blocks), tooltips naming function, file:line,
#    value and percent; --tag, --focus and --depth select what they say;
#  - the differential graph (BASE cache 64 blocks, NEW 128) is as wide as NEW,
#    red where the cache grew and grey where nothing changed;
#  - in headless Chromium the SVG and the HTML pages render without a console
#    message; in the HTML page a driver hovers (tooltip), clicks a frame
#    (zoom), resets, searches (highlight and matched share) and picks a tag
#    from the menu, and the DOM shows the expected frames after each step;
#    screenshots are not blank (copies in build/test-logs/flame_render/);
#  - bad invocations fail with one "heapprof:" line.
source "$(dirname "$0")/lib/common.bash"
hp_need chromium
prog=$(hp_program flame_workload)

"$HP_CLI" run -q --rate 1 --out base -- "$prog" 64 >/dev/null
"$HP_CLI" run -q --rate 1 --out new -- "$prog" 128 >/dev/null
b=$(ls base/heapprof.*.final.pb.gz)
n=$(ls new/heapprof.*.final.pb.gz)
m=(--metric alloc_space)

"$HP_CLI" flame "${m[@]}" "$b" -o flame.svg
"$HP_CLI" flame "${m[@]}" "$b" -o flame.html
"$HP_CLI" flame "${m[@]}" --tag planner "$b" -o planner.svg
"$HP_CLI" flame "${m[@]}" --tag 'cache<&>' --title 'title <with> "markup" & more' "$b" -o cache.svg
"$HP_CLI" flame "${m[@]}" --focus plan_index "$b" -o focus.svg
"$HP_CLI" flame "${m[@]}" --depth 1 "$b" -o leaf.svg
"$HP_CLI" diff "${m[@]}" "$b" "$n" --flame diff.svg >/dev/null
"$HP_CLI" diff "${m[@]}" "$b" "$n" --flame diff.html >/dev/null

# NEW minus BASE the wrong way round: only negative values, which a flame
# graph cannot draw: two warnings, and an empty but valid graph
"$HP_CLI" diff "${m[@]}" "$n" "$b" -o shrink.pb.gz >/dev/null
"$HP_CLI" flame "${m[@]}" shrink.pb.gz -o shrink.svg 2>shrink.err
grep -q '^heapprof: flame: skipped [0-9]* samples with a negative alloc_space' shrink.err &&
    grep -q '^heapprof: flame: no sample has a positive alloc_space' shrink.err ||
    hp_fail "no warning about negative samples: $(cat shrink.err)"

# bad invocations: exit 2 and one line naming the problem
bad() { # expected-message-regex args...
    local want=$1 rc=0
    shift
    "$HP_CLI" "$@" >bad.out 2>bad.err || rc=$?
    [[ $rc -eq 2 ]] || hp_fail "'heapprof $*' exited $rc, expected 2"
    [[ $(wc -l <bad.err) -eq 1 ]] && grep -Eq "^heapprof: .*$want" bad.err ||
        hp_fail "'heapprof $*' should print one 'heapprof: ...$want' line, printed: $(cat bad.err)"
}
bad 'name it \.svg' flame "$b" -o out.png
bad '-o OUT.svg' flame "$b"
bad 'no metric .nosuch' flame --metric nosuch "$b" -o x.svg
bad 'nosuch.pb.gz' flame nosuch.pb.gz -o x.svg
bad 'does not apply' flame --json "$b" -o x.svg
bad 'name it \.svg' diff "$b" "$n" --flame out.txt
[[ ! -e out.png && ! -e x.svg ]] || hp_fail "a failed command left an output file"

logs=$HP_ROOT/build/test-logs/flame_render
mkdir -p "$logs"
"$PY" - "$HP_ROOT/tests/integration/lib" "$logs" <<'PY'
import re, shutil, sys, xml.etree.ElementTree as ET
sys.path.insert(0, sys.argv[1])
import chromium_page as cp

logs = sys.argv[2]
fails = []
def check(ok, msg):
    if not ok:
        fails.append(msg)
        print("FAIL: " + msg, file=sys.stderr)
def near(a, b, rel=0.005):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-9)

SVG = "{http://www.w3.org/2000/svg}"
def frames(path):
    """name -> [frame], each {x, y, w, fill, title} from <g class="f">."""
    root = ET.parse(path).getroot()   # raises on markup that is not well-formed
    out = {}
    for g in root.iter(SVG + "g"):
        if g.get("class") != "f":
            continue
        title = g.find(SVG + "title").text
        r = g.find(SVG + "rect")
        f = {"x": float(r.get("x")), "y": float(r.get("y")), "w": float(r.get("width")),
             "fill": r.get("fill"), "title": title, "name": title.split("\n")[0]}
        out.setdefault(f["name"], []).append(f)
    return out

def one(fr, name, path):
    check(len(fr.get(name, [])) == 1, "%s: expected one frame %s, found %d" % (path, name, len(fr.get(name, []))))
    return fr.get(name, [None])[0]

# --- the plain graph
fr = frames("flame.svg")
names = ["all", "main", "stage_parse", "parse_tokens", "stage_plan", "plan_build", "plan_index",
         "stage_cache", "cache_fill"]
f = {k: one(fr, k, "flame.svg") for k in names}
if all(f.values()):
    check(near(f["all"]["w"], 1180), "root is %.2f wide, not the full 1180" % f["all"]["w"])
    check(f["all"]["y"] == max(x["y"] for v in fr.values() for x in v), "root is not the bottom row")
    check(f["main"]["y"] < f["all"]["y"], "main is not above the root")
    for a, b in [("parse_tokens", "cache_fill"), ("plan_build", "cache_fill"),
                 ("plan_index", "plan_build"), ("stage_parse", "parse_tokens")]:
        pass
    check(near(f["parse_tokens"]["w"] / f["cache_fill"]["w"], 48 / 64), "parse_tokens:cache_fill is not 48:64: %r" % ((f["parse_tokens"]["w"], f["cache_fill"]["w"]),))
    check(near(f["plan_build"]["w"] / f["parse_tokens"]["w"], 48 / 48), "plan_build (32+16 blocks) is not as wide as parse_tokens (48)")
    check(near(f["plan_index"]["w"] / f["plan_build"]["w"], 16 / 48), "plan_index is not a third of plan_build")
    check(near(f["stage_parse"]["w"], f["parse_tokens"]["w"]), "stage_parse and parse_tokens differ")
    check(near(f["cache_fill"]["w"] / f["all"]["w"], 64 / 160, 0.01), "cache_fill is not 40% of all")
    check(f["stage_cache"]["x"] < f["stage_parse"]["x"] < f["stage_plan"]["x"], "children of main are not in name order")
    check(f["plan_index"]["y"] == f["plan_build"]["y"] - 16 and f["plan_build"]["y"] == f["stage_plan"]["y"] - 16, "rows are not 16 px apart upward")
    check(f["plan_index"]["x"] == f["plan_build"]["x"], "a callee does not start at its caller's left edge")
    t = f["cache_fill"]["title"]
    check(re.search(r"flame_workload\.c:\d+", t) and re.search(r"4\.00 MiB \((39\.9\d|40\.00)%\)", t),
          "cache_fill tooltip lacks file:line, value or percent: %r" % t)
# every frame lies within the row below it
rows = {}
for v in fr.values():
    for x in v:
        rows.setdefault(x["y"], []).append(x)
for y, row in rows.items():
    below = rows.get(y + 16, [])
    for x in row:
        if x["name"] == "all":
            continue
        check(any(p["x"] - 0.01 <= x["x"] and x["x"] + x["w"] <= p["x"] + p["w"] + 0.02 for p in below),
              "frame %s at y=%s has no caller below it" % (x["name"], y))

# --- --tag, --focus, --depth
fr = frames("planner.svg")
check("plan_build" in fr and "plan_index" in fr and "parse_tokens" not in fr and "cache_fill" not in fr,
      "--tag planner: wrong frames %s" % sorted(fr))
check("3.00 MiB (100.00%)" in fr["all"][0]["title"], "--tag planner: total is not 3 MiB: %r" % fr["all"][0]["title"])
fr = frames("cache.svg")
check(set(["cache_fill", "stage_cache"]) <= set(fr) and "plan_build" not in fr, "--tag 'cache<&>': wrong frames %s" % sorted(fr))
texts = [t.text for t in ET.parse("cache.svg").getroot().iter(SVG + "text")]
check('title <with> "markup" & more' in texts, "the title with markup characters did not survive: %r" % texts[:2])
check(any("tag cache<&>" in (t or "") for t in texts), "the subtitle does not name the tag cache<&>")
fr = frames("focus.svg")
check("plan_index" in fr and "parse_tokens" not in fr and "1.00 MiB" in fr["all"][0]["title"],
      "--focus plan_index: frames %s, root %r" % (sorted(fr), fr["all"][0]["title"]))
fr = frames("leaf.svg")
check({"cache_fill", "parse_tokens", "plan_build", "plan_index"} <= set(fr) and "main" not in fr,
      "--depth 1: expected only allocating functions above the root, got %s" % sorted(fr))
check(len({x["y"] for v in fr.values() for x in v}) == 2, "--depth 1: more than two rows")
check(frames("shrink.svg") == {}, "shrink.svg: frames drawn from a profile with no positive value")

# --- the differential graph
fr = frames("diff.svg")
d = {k: one(fr, k, "diff.svg") for k in ["cache_fill", "parse_tokens", "plan_build"]}
if all(d.values()):
    check(near(d["cache_fill"]["w"] / d["parse_tokens"]["w"], 128 / 48), "diff widths are not NEW's (128:48)")
    check(d["cache_fill"]["fill"] == "rgb(215,45,40)", "grown cache_fill is %s, not full red" % d["cache_fill"]["fill"])
    check(d["parse_tokens"]["fill"] == "rgb(226,226,226)", "unchanged parse_tokens is %s, not grey" % d["parse_tokens"]["fill"])
    check("BASE 4.00 MiB, change +4.00 MiB (+100.0%)" in d["cache_fill"]["title"], "diff tooltip: %r" % d["cache_fill"]["title"])

# --- Chromium
FLAME_DRIVER = r"""
(function () {
  var all = function (s) { return Array.prototype.slice.call(document.querySelectorAll(s)); };
  function frames() {
    return all('#chart .frame').map(function (d) {
      return {name: d.textContent, left: parseFloat(d.style.left), width: parseFloat(d.style.width),
              cls: d.className, bg: d.style.backgroundColor};
    });
  }
  function byName(name) { return all('#chart .frame').filter(function (d) { return d.textContent === name; })[0]; }
  function type(text) { var s = document.getElementById('search'); s.value = text; s.dispatchEvent(new Event('input')); }
  var r = {};
  try {
    r.initial = frames();
    r.tags = all('#tag option').map(function (o) { return o.textContent; });
    r.tagMenuShown = !document.getElementById('tagbox').hidden;
    var f = byName('cache_fill'), box = f.getBoundingClientRect();
    f.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: box.left + 4, clientY: box.top + 4}));
    r.tip = document.getElementById('tip').textContent;
    r.tipShown = document.getElementById('tip').style.display;
    byName('stage_plan').click();
    r.zoomed = frames();
    r.resetEnabled = !document.getElementById('reset').disabled;
    document.getElementById('reset').click();
    r.afterReset = frames().length;
    type('plan_');
    r.matched = document.getElementById('matched').textContent;
    r.matches = all('#chart .frame.match').map(function (d) { return d.textContent; });
    type('');
    r.matchedCleared = document.getElementById('matched').textContent;
    var sel = document.getElementById('tag'), opt = all('#tag option').filter(function (o) { return o.textContent === 'planner'; })[0];
    if (opt) { sel.value = opt.value; sel.dispatchEvent(new Event('change')); }
    r.tagged = frames();
    sel.value = '-1'; sel.dispatchEvent(new Event('change'));
    type('plan');  /* leave a highlight in the screenshot */
  } catch (e) { r.driverError = String(e && e.stack || e); }
  hpResult(r);
})();
"""
DIFF_DRIVER = r"""
(function () {
  var r = {frames: Array.prototype.slice.call(document.querySelectorAll('#chart .frame')).map(function (d) {
    return {name: d.textContent, width: parseFloat(d.style.width), bg: d.style.backgroundColor};
  })};
  try {
    var f = r.frames.length && Array.prototype.filter.call(document.querySelectorAll('#chart .frame'), function (d) { return d.textContent === 'cache_fill'; })[0];
    var box = f.getBoundingClientRect();
    f.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: box.left + 4, clientY: box.top + 4}));
    r.tip = document.getElementById('tip').textContent;
    document.getElementById('chart').dispatchEvent(new MouseEvent('mouseleave'));
  } catch (e) { r.driverError = String(e && e.stack || e); }
  hpResult(r);
})();
"""
jobs = [(("flame.svg", ".", None, "flame.svg.png"), {}),
        (("flame.html", ".", FLAME_DRIVER, "flame.html.png"), {}),
        (("diff.html", ".", DIFF_DRIVER, "diff.html.png"), {})]
results = cp.render_all(jobs)
for (args, _), res in zip(jobs, results):
    check(not res["console"], "%s: console messages in Chromium: %s" % (args[0], res["console"][:5]))
    check(res["rc"] == 0, "%s: chromium exited %s: %s" % (args[0], res["rc"], res.get("stderr", "")[-500:]))
    if args[2]:
        check(res["result"] is not None, "%s: the driver left no result in the DOM" % args[0])
    shutil.copy(args[3], logs)
svg_dom = results[0]["dom"]
for name in ["parse_tokens", "plan_index", "cache_fill"]:
    check(name in svg_dom, "flame.svg: %s is not in the rendered DOM" % name)

r = results[1]["result"] or {}
check(not r.get("errors") and not r.get("driverError"), "flame.html: errors %s %s" % (r.get("errors"), r.get("driverError")))
init = {x["name"]: x for x in r.get("initial", [])}
for name in ["all", "main", "parse_tokens", "plan_build", "plan_index", "cache_fill"]:
    check(name in init, "flame.html: frame %s not drawn (have %s)" % (name, sorted(init)))
if {"parse_tokens", "cache_fill", "all"} <= set(init):
    check(near(init["parse_tokens"]["width"] / init["cache_fill"]["width"], 48 / 64), "flame.html: widths not 48:64")
    check(near(init["all"]["width"], 100), "flame.html: root not full width")
check(r.get("tagMenuShown") and r.get("tags", [])[:1] == ["all tags"] and
      {"cache<&>", "main", "parser", "planner"} <= set(r.get("tags", [])) and r["tags"][1:] == sorted(r["tags"][1:]),
      "flame.html: tag menu %r" % r.get("tags"))
tip = r.get("tip", "")
check(r.get("tipShown") == "block" and tip.startswith("cache_fill\n") and re.search(r"flame_workload\.c:\d+", tip)
      and "4.00 MiB" in tip, "flame.html: tooltip %r (%s)" % (tip, r.get("tipShown")))
z = {x["name"]: x for x in r.get("zoomed", [])}
check("parse_tokens" not in z and "cache_fill" not in z, "flame.html: zoom on stage_plan still shows other stages")
if {"stage_plan", "plan_build", "plan_index", "main"} <= set(z):
    check(near(z["stage_plan"]["width"], 100) and near(z["plan_build"]["width"], 100), "flame.html: zoomed frame is not full width")
    check(near(z["plan_index"]["width"], 100 / 3), "flame.html: plan_index is not a third after zoom")
    check("above" in z["main"]["cls"], "flame.html: callers of the zoomed frame are not marked")
else:
    check(False, "flame.html: after zoom, frames are %s" % sorted(z))
check(r.get("resetEnabled") and r.get("afterReset") == len(r.get("initial", [])), "flame.html: reset zoom does not restore the graph")
check(re.fullmatch(r"Matched: 3\.00 MiB \((29\.9\d|30\.00)%\)", r.get("matched", "")), "flame.html: search 'plan_' shows %r" % r.get("matched"))
check(sorted(r.get("matches", [])) == ["plan_build", "plan_index"], "flame.html: highlighted %r" % r.get("matches"))
check(r.get("matchedCleared") == "", "flame.html: clearing the search leaves %r" % r.get("matchedCleared"))
tg = {x["name"]: x for x in r.get("tagged", [])}
check("plan_build" in tg and "parse_tokens" not in tg and "cache_fill" not in tg, "flame.html: tag planner shows %s" % sorted(tg))

r = results[2]["result"] or {}
check(not r.get("errors") and not r.get("driverError"), "diff.html: errors %s %s" % (r.get("errors"), r.get("driverError")))
df = {x["name"]: x for x in r.get("frames", [])}
check(df.get("cache_fill", {}).get("bg") == "rgb(215, 45, 40)", "diff.html: cache_fill is %r" % df.get("cache_fill"))
check(df.get("parse_tokens", {}).get("bg") == "rgb(226, 226, 226)", "diff.html: parse_tokens is %r" % df.get("parse_tokens"))
check("BASE 4.00 MiB, change +4.00 MiB (+100.0%)" in r.get("tip", ""), "diff.html: tooltip %r" % r.get("tip"))

# screenshots: not blank, and the palette shows
for png, what, pred in [("flame.svg.png", "warm", lambda r, g, b: r > 200 and b < 120),
                        ("flame.html.png", "warm", lambda r, g, b: r > 200 and b < 120),
                        ("flame.html.png", "search highlight", lambda r, g, b: (r, g, b) == (211, 91, 240)),
                        ("diff.html.png", "red", lambda r, g, b: r > 190 and g < 80 and b < 80)]:
    s = cp.png_summary(png)
    check(s["width"] == 1280 and s["height"] == 800, "%s: %dx%d" % (png, s["width"], s["height"]))
    check(s["colors"] >= 10 and s["fraction"] < 0.97, "%s looks blank: %r" % (png, s))
    n = cp.count_pixels(png, pred)
    check(n > 2000, "%s: only %d %s pixels" % (png, n, what))
if fails:
    sys.exit("%d failure(s)" % len(fails))
print("flame_render: all checks passed")
PY
