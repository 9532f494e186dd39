#!/usr/bin/python3
"""Loads DHAT files into Valgrind's real viewer in headless Chromium.

    dhat_chromium.py [--viewer DIR] [--chromium PATH] FILE...

For each FILE: copies dh_view.html/.js/.css into a scratch directory, adds
two scripts to the page (the file's text, and a driver that, after the
viewer's own onLoad(), hands the text to the viewer's <input type=file>
through a DataTransfer and calls loadFile(), then selects every enabled sort
metric with changeSortMetric()), runs
    chromium --headless --dump-dom --virtual-time-budget=...
and reads the driver's verdict and the viewer's error element (if any) from
the dumped DOM. Prints one JSON object per file (one line each) with the same
shape as dhat_view.js: {file, ok, error, jsErrors, metrics: [{label, status,
top}]}. Exit status 1 if any file failed, 2 if Chromium did not run.
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

DRIVER = r"""
(function () {
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message || e)); });
  function frames(main) {
    var leaf = main.querySelector('span.leaf');
    if (!leaf) return null;
    var out = [];
    leaf.textContent.split('\n').forEach(function (line) {
      var m = /^[\s\u2502\u251c\u2514\u2500\u25bc\u25b6]*[#^](\d+): (.*)$/.exec(line);
      if (m && m[2] !== '[root]') out.push(m[2]);
    });
    return out;
  }
  function finish(res) {
    var pre = document.createElement('pre');
    pre.id = 'hp-result';
    pre.textContent = 'HPRESULT' + JSON.stringify(res) + 'HPRESULT';
    document.body.appendChild(pre);
  }
  function metrics() {
    var res = {error: null, metrics: [], jsErrors: errors};
    var err = gMainDiv.querySelector('.error');
    if (err) res.error = err.textContent;
    else if (/^Loading/.test(gMainDiv.textContent)) res.error = 'still loading';
    res.title = document.title;
    if (!res.error) {
      for (var i = 0; i < gSelect.childNodes.length; i++) {
        var opt = gSelect.childNodes[i];
        var label = opt.label || opt.textContent;
        if (opt.disabled) { res.metrics.push({label: label, status: 'disabled'}); continue; }
        gSelect.selectedIndex = i;
        var before = errors.length;
        try { changeSortMetric(); } catch (e) { errors.push(String(e)); }
        var e2 = gMainDiv.querySelector('.error');
        var t = gMainDiv.textContent;
        var st = 'ok';
        if (e2) st = 'ERROR ' + e2.textContent;
        else if (errors.length > before) st = 'ERROR ' + errors[errors.length - 1];
        else if (/\bNaN\b/.test(t)) st = 'ERROR NaN in the rendered tree';
        else if (/\bundefined\b/.test(t)) st = 'ERROR "undefined" in the rendered tree';
        else if (!/PP 1\/1/.test(t)) st = 'ERROR no tree rendered';
        res.metrics.push({label: label, status: st, top: frames(gMainDiv)});
      }
    }
    finish(res);
  }
  window.addEventListener('load', function () {
    setTimeout(function () { /* after the viewer's own body onload */
      try {
        var file = new File([HP_DHAT_TEXT], HP_DHAT_NAME, {type: 'application/json'});
        var dt = new DataTransfer();
        dt.items.add(file);
        gInput.files = dt.files;
        loadFile();
      } catch (e) { errors.push('driver: ' + e); finish({error: 'driver: ' + e, metrics: [], jsErrors: errors}); return; }
      var tries = 0;
      (function wait() {
        if (/^Loading/.test(gMainDiv.textContent) && tries++ < 200) { setTimeout(wait, 20); return; }
        metrics();
      })();
    }, 0);
  });
})();
"""


def run(file, viewer, chromium):
    scratch = tempfile.mkdtemp(prefix="hp-dhview-")
    try:
        for name in ("dh_view.html", "dh_view.js", "dh_view.css"):
            shutil.copy(os.path.join(viewer, name), scratch)
        with open(file, encoding="utf-8") as f:
            text = f.read()
        with open(os.path.join(scratch, "data.js"), "w", encoding="utf-8") as f:
            f.write("var HP_DHAT_TEXT = %s;\nvar HP_DHAT_NAME = %s;\n"
                    % (json.dumps(text), json.dumps(os.path.basename(file))))
        with open(os.path.join(scratch, "driver.js"), "w") as f:
            f.write(DRIVER)
        with open(os.path.join(scratch, "dh_view.html"), encoding="utf-8") as f:
            page = f.read()
        if "</head>" not in page:
            return {"file": file, "ok": False, "error": "viewer page has no </head>"}
        page = page.replace("</head>", '<script src="data.js"></script>\n'
                            '<script src="driver.js"></script>\n</head>', 1)
        run_html = os.path.join(scratch, "run.html")
        with open(run_html, "w", encoding="utf-8") as f:
            f.write(page)
        profile = os.path.join(scratch, "profile")
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
               "--user-data-dir=" + profile, "--virtual-time-budget=5000",
               "--dump-dom", "file://" + run_html]
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90,
                               env=dict(os.environ, HOME=scratch))
        except subprocess.TimeoutExpired:
            return {"file": file, "ok": False, "error": "chromium timed out"}
        dom = p.stdout.decode("utf-8", "replace")
        m = re.search(r"HPRESULT(.*?)HPRESULT", dom, re.S)
        if not m:
            return {"file": file, "ok": False,
                    "error": "no result in the dumped DOM (chromium exit %d): %s"
                    % (p.returncode, p.stderr.decode("utf-8", "replace")[-600:])}
        res = json.loads(html.unescape(m.group(1)))
        res["file"] = file
        res["ok"] = (not res.get("error") and not res.get("jsErrors") and bool(res.get("metrics"))
                     and all(x["status"] in ("ok", "disabled") for x in res["metrics"]))
        # the error element as Chromium rendered it, independently of the driver
        if re.search(r'class="error"', dom):
            res["ok"] = False
            res["error"] = res.get("error") or "an element of class error is in the DOM"
        return res
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv):
    viewer, chromium = "/usr/libexec/valgrind", "/usr/bin/chromium"
    while argv and argv[0].startswith("--"):
        if argv[0] == "--viewer":
            viewer = argv[1]
        elif argv[0] == "--chromium":
            chromium = argv[1]
        else:
            sys.exit("unknown option " + argv[0])
        argv = argv[2:]
    if not os.access(chromium, os.X_OK):
        print("chromium not found at %s" % chromium, file=sys.stderr)
        return 2
    bad = 0
    for f in argv:
        r = run(f, viewer, chromium)
        bad += not r["ok"]
        print(json.dumps(r))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
