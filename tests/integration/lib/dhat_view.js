// Loads DHAT files into Valgrind's real viewer (dh_view.html + dh_view.js,
// as installed by Debian's valgrind package) inside jsdom, the way a user
// does with the "Load..." button (the viewer's own loadFile()), then selects
// every sort metric in turn (changeSortMetric()).
//
//   node dhat_view.js [--viewer DIR] FILE...
//
// Prints one JSON object per file (one line each):
//   {file, ok, error, jsErrors, title, metrics: [{label, status, top}]}
// `status` is "ok", "disabled" (the viewer greys the metric out for this
// file) or "ERROR ..." (the viewer's red error text or a script error);
// "NaN"/"undefined" anywhere in the rendered text also counts as an error.
// `top` lists the frames of the first leaf program point the viewer shows
// for that metric (the top entry of its sorted tree), innermost first, as
// the frame strings of the file's ftbl. Exit status 1 if any file failed.
'use strict';
const fs = require('fs');
const path = require('path');
const { JSDOM, VirtualConsole } = require('jsdom');

let args = process.argv.slice(2);
let viewerDir = '/usr/libexec/valgrind';
if (args[0] === '--viewer') { viewerDir = args[1]; args = args.slice(2); }
const viewer = path.join(viewerDir, 'dh_view.html');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The frames of the first leaf node in document order: the ancestors' frames
// ("^N: ...", shown for a significant leaf) followed by its own ("#N: ...").
function topLeafFrames(w) {
  const leaf = w.eval('gMainDiv').querySelector('span.leaf');
  if (!leaf) return null;
  const frames = [];
  for (const line of leaf.textContent.split('\n')) {
    const m = /^[\s│├└─▼▶]*[#^](\d+): (.*)$/.exec(line);
    if (m && m[2] !== '[root]') frames.push(m[2]);
  }
  return frames;
}

async function view(file) {
  const errors = [];
  const vc = new VirtualConsole();
  vc.on('jsdomError', (e) => errors.push(String((e && (e.detail || e.message)) || e)));
  vc.on('error', (e) => errors.push('console.error: ' + e));
  const dom = await JSDOM.fromFile(viewer, { runScripts: 'dangerously', resources: 'usable', virtualConsole: vc });
  const w = dom.window;
  await new Promise((resolve) => {
    if (w.document.readyState === 'complete' && w.eval('typeof gInput') !== 'undefined' && w.eval('gInput')) resolve();
    else w.addEventListener('load', () => resolve());
  });
  const res = { file, ok: false, error: null, jsErrors: [], metrics: [] };
  if (w.eval('typeof loadFile') !== 'function') {
    res.error = 'viewer script did not load from ' + viewer;
    dom.window.close();
    return res;
  }
  const text = fs.readFileSync(file, 'utf8');
  const input = w.eval('gInput');
  Object.defineProperty(input, 'files', { value: [new w.File([text], path.basename(file))] });
  w.eval('loadFile()');
  // FileReader is asynchronous: wait until the viewer replaced "Loading...".
  const main = () => w.eval('gMainDiv');
  for (let i = 0; i < 3000 && /^Loading/.test(main().textContent); i++) await sleep(10);
  const err = main().querySelector('.error');
  res.error = err ? err.textContent : /^Loading/.test(main().textContent) ? 'still loading after 30 s' : null;
  res.title = w.document.title;
  if (!res.error && errors.length === 0) {
    const sel = w.eval('gSelect');
    for (let i = 0; i < sel.childNodes.length; i++) {
      const opt = sel.childNodes[i];
      const label = opt.label || opt.textContent;
      if (opt.disabled) { res.metrics.push({ label, status: 'disabled' }); continue; }
      sel.selectedIndex = i;
      const before = errors.length;
      try { w.eval('changeSortMetric()'); } catch (e) { errors.push(String(e)); }
      const e2 = main().querySelector('.error');
      const t = main().textContent;
      let status = 'ok';
      if (e2) status = 'ERROR ' + e2.textContent;
      else if (errors.length > before) status = 'ERROR ' + errors[errors.length - 1];
      else if (/\bNaN\b/.test(t)) status = 'ERROR NaN in the rendered tree';
      else if (/\bundefined\b/.test(t)) status = 'ERROR "undefined" in the rendered tree';
      else if (!/PP 1\/1/.test(t)) status = 'ERROR no tree rendered';
      res.metrics.push({ label, status, top: topLeafFrames(w) });
    }
  }
  res.jsErrors = errors.slice(0, 5);
  res.ok = !res.error && errors.length === 0 && res.metrics.length > 0 &&
           res.metrics.every((m) => m.status === 'ok' || m.status === 'disabled');
  dom.window.close();
  return res;
}

(async () => {
  let bad = 0;
  for (const f of args) {
    let r;
    try { r = await view(f); } catch (e) { r = { file: f, ok: false, error: 'harness: ' + (e.stack || e) }; }
    if (!r.ok) bad++;
    console.log(JSON.stringify(r));
  }
  process.exit(bad ? 1 : 0);
})();
