#!/usr/bin/python3
"""Renders pages in headless Chromium the way a user would open them, for the
flame graph and timeline tests (import it; it is not a test by itself).

    render(path, workdir, driver=None, screenshot=None)
        Opens `path` (an .svg or .html file) in Chromium with --dump-dom and
        --screenshot together and returns {"dom", "console", "result", "rc"}:
        `console` is every console message Chromium logged (our pages log
        nothing, so any line is a failure: an uncaught exception, a failed
        resource load, a console.error). With `driver` (JavaScript), an HTML
        page is copied and two scripts are injected: an error hook first in
        <head> (window.__hpErrors collects uncaught errors), and the driver
        just before </body>, which runs after the page's own scripts, drives
        the page through DOM events and calls hpResult(obj); `result` is that
        object, read back from the dumped DOM.
    render_all(jobs)    the same for several (args, kwargs) at once, 3 at a time
    png_summary(path)   {"width", "height", "colors", "dominant", "fraction"}
                        of a PNG (8-bit RGB/RGBA, as Chromium writes them):
                        distinct colors, the most common one and its share
    count_pixels(path, pred)  pixels whose (r, g, b) satisfies pred
"""
import concurrent.futures
import functools
import html
import json
import os
import re
import struct
import subprocess
import zlib

CHROMIUM = "/usr/bin/chromium"

ERROR_HOOK = """<script>
window.__hpErrors = [];
window.addEventListener('error', function (e) {
  window.__hpErrors.push(String(e.message || e) + ' @' + (e.lineno || '?'));
});
</script>"""

RESULT_HELPER = """<script>
function hpResult(obj) {
  obj.errors = window.__hpErrors;
  var pre = document.createElement('pre');
  pre.id = 'hp-result';
  pre.hidden = true;
  var mark = 'HP' + 'RESULT';
  pre.textContent = mark + JSON.stringify(obj) + mark;
  document.body.appendChild(pre);
}
</script>"""


def _inject(path, workdir, driver):
    with open(path, encoding="utf-8") as f:
        page = f.read()
    head = page.find("<head>")
    end = page.rfind("</body>")
    if head < 0 or end < 0:
        raise ValueError("%s has no <head> or </body>" % path)
    head += len("<head>")
    script = RESULT_HELPER + "<script>\n" + driver + "\n</script>\n"
    page = page[:head] + ERROR_HOOK + page[head:end] + script + page[end:]
    out = os.path.join(workdir, "driven-" + os.path.basename(path))
    with open(out, "w", encoding="utf-8") as f:
        f.write(page)
    return out


def render(path, workdir, driver=None, screenshot=None, size=(1280, 800)):
    target = _inject(path, workdir, driver) if driver else path
    profile = os.path.join(workdir, "chrome-" + re.sub(r"\W", "_", os.path.basename(target)))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
           "--window-size=%d,%d" % size, "--dump-dom"]
    if screenshot:
        cmd.append("--screenshot=" + os.path.abspath(screenshot))
    cmd.append("file://" + os.path.abspath(target))
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90,
                           env=dict(os.environ, HOME=workdir))
    except subprocess.TimeoutExpired:
        return {"dom": "", "console": ["chromium timed out"], "result": None, "rc": -1}
    dom = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    console = [line for line in err.splitlines() if ":CONSOLE" in line]
    result = None
    m = re.search(r"HPRESULT(.*?)HPRESULT", dom, re.S)
    if m:
        result = json.loads(html.unescape(m.group(1)))
    return {"dom": dom, "console": console, "result": result, "rc": p.returncode,
            "stderr": err[-2000:]}


def render_all(jobs):
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(render, *args, **kwargs) for args, kwargs in jobs]
        return [f.result() for f in futures]


@functools.lru_cache(maxsize=8)
def _pixels(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s is not a PNG" % path)
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("%s: unsupported PNG (depth %d, color type %d, interlace %d)"
                         % (path, depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the scanline filter (PNG spec section 9)
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def png_summary(path):
    width, height, bpp, rows = _pixels(path)
    counts = {}
    for line in rows:
        for i in range(0, len(line), bpp):
            px = bytes(line[i:i + 3])
            counts[px] = counts.get(px, 0) + 1
    dominant = max(counts, key=counts.get)
    return {"width": width, "height": height, "colors": len(counts),
            "dominant": tuple(dominant), "fraction": counts[dominant] / float(width * height)}


def count_pixels(path, pred):
    width, height, bpp, rows = _pixels(path)
    n = 0
    for line in rows:
        for i in range(0, len(line), bpp):
            if pred(line[i], line[i + 1], line[i + 2]):
                n += 1
    return n
