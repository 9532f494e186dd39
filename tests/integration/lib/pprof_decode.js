// Decodes heapprof's pprof files with the `pprof-format` npm package (a
// second, independent reader besides `go tool pprof`) and checks what
// profile.proto and pprof's CheckValid require, plus heapprof's contract:
//
//   node pprof_decode.js FILE.pb.gz...
//
// Checks: gzip magic; string_table[0] == ""; every string index in range;
// sample types exactly alloc_objects/count, alloc_space/bytes,
// inuse_objects/count, inuse_space/bytes; period_type space/bytes; period > 0 (0 only without samples);
// time_nanos set; every sample has 4 non-negative values and >= 1 location;
// mapping, location and function ids non-zero and unique; every referenced id
// exists; every sample carries a string label "tag".
//
// Prints one JSON object per file (one line each): {file, ok, errors,
// period, samples, locations, functions, mappings, label_keys, leaf} where
// leaf maps the leaf function name (first Line of the first Location) to
// summed [alloc_objects, alloc_space, inuse_objects, inuse_space], and
// `lines` maps each function name to the list of "file:line" it appears at.
// Exit status 1 if any file failed a check.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const { Profile } = require('pprof-format');

const WANT_TYPES = [['alloc_objects', 'count'], ['alloc_space', 'bytes'],
                    ['inuse_objects', 'count'], ['inuse_space', 'bytes']];

function check(file) {
  const errors = [];
  const err = (m) => { if (errors.length < 20) errors.push(m); };
  const raw = fs.readFileSync(file);
  if (raw[0] !== 0x1f || raw[1] !== 0x8b) err('not gzip (magic ' + raw.slice(0, 2).toString('hex') + ')');
  let p;
  try {
    p = Profile.decode(zlib.gunzipSync(raw));
  } catch (e) {
    return { file, ok: false, errors: ['decode failed: ' + e] };
  }
  const strings = p.stringTable ? p.stringTable.strings : [];
  if (strings.length === 0 || strings[0] !== '') err('string_table[0] is ' + JSON.stringify(strings[0]));
  const str = (i, what) => {
    const n = Number(i);
    if (!Number.isInteger(n) || n < 0 || n >= strings.length) {
      err(`${what}: string index ${i} outside the table (${strings.length})`);
      return undefined;
    }
    return strings[n];
  };
  const types = p.sampleType.map((vt) => [str(vt.type, 'sample_type'), str(vt.unit, 'sample_type unit')]);
  if (JSON.stringify(types) !== JSON.stringify(WANT_TYPES))
    err('sample types ' + JSON.stringify(types) + ', want ' + JSON.stringify(WANT_TYPES));
  const pt = p.periodType ? [str(p.periodType.type, 'period_type'), str(p.periodType.unit, 'period_type unit')] : null;
  if (JSON.stringify(pt) !== JSON.stringify(['space', 'bytes'])) err('period_type ' + JSON.stringify(pt));
  // period = the sampling rate; 0 only when sampling is off (HEAPPROF_RATE=0, no samples)
  if (!(Number(p.period) > 0) && !(Number(p.period) === 0 && p.sample.length === 0)) err('period ' + p.period);
  if (!(Number(p.timeNanos) > 0)) err('time_nanos not set');
  for (const c of p.comment) str(c, 'comment');
  if (Number(p.defaultSampleType)) str(p.defaultSampleType, 'default_sample_type');

  const byId = (list, what) => {
    const m = new Map();
    for (const x of list) {
      const id = Number(x.id);
      if (!id) err(`${what} with id 0`);
      if (m.has(id)) err(`${what} id ${id} repeated`);
      m.set(id, x);
    }
    return m;
  };
  const mappings = byId(p.mapping, 'mapping');
  const locations = byId(p.location, 'location');
  const functions = byId(p.function, 'function');
  for (const m of p.mapping) { str(m.filename, 'mapping filename'); str(m.buildId, 'mapping build_id'); }
  for (const f of p.function) {
    str(f.name, 'function name'); str(f.systemName, 'function system_name'); str(f.filename, 'function filename');
  }
  const lines = {};
  const fname = (fid) => {
    const f = functions.get(Number(fid));
    if (!f) { err(`line refers to missing function ${fid}`); return '?'; }
    return str(f.name, 'function name');
  };
  for (const l of p.location) {
    if (Number(l.mappingId) && !mappings.has(Number(l.mappingId))) err(`location ${l.id}: missing mapping ${l.mappingId}`);
    for (const ln of l.line) {
      const name = fname(ln.functionId);
      const f = functions.get(Number(ln.functionId));
      const where = (f ? str(f.filename, 'function filename') : '') + ':' + Number(ln.line);
      (lines[name] = lines[name] || []).includes(where) || lines[name].push(where);
    }
  }

  const leaf = {};
  const labelKeys = new Set();
  for (const [i, s] of p.sample.entries()) {
    if (s.value.length !== 4) err(`sample ${i}: ${s.value.length} values`);
    if (s.value.some((v) => Number(v) < 0)) err(`sample ${i}: negative value`);
    if (s.locationId.length === 0) err(`sample ${i}: no locations`);
    for (const id of s.locationId) if (!locations.has(Number(id))) err(`sample ${i}: missing location ${id}`);
    let hasTag = false;
    for (const lb of s.label) {
      const k = str(lb.key, 'label key');
      labelKeys.add(k);
      if (Number(lb.str)) str(lb.str, 'label value');
      if (Number(lb.numUnit)) str(lb.numUnit, 'label num_unit');
      if (k === 'tag' && Number(lb.str)) hasTag = true;
    }
    // The "[other: N smaller sites]" sample folds sites of several tags.
    const first = locations.get(Number(s.locationId[0]));
    const leafName = first && first.line.length ? fname(first.line[0].functionId) : '0x' + (first ? first.address.toString(16) : '?');
    if (!hasTag && !/^\[other/.test(leafName)) err(`sample ${i} (${leafName}): no "tag" label`);
    const acc = leaf[leafName] = leaf[leafName] || [0, 0, 0, 0];
    s.value.forEach((v, k) => { acc[k] += Number(v); });
  }
  return {
    file, ok: errors.length === 0, errors, period: Number(p.period), samples: p.sample.length,
    locations: p.location.length, functions: p.function.length, mappings: p.mapping.length,
    label_keys: [...labelKeys].sort(), leaf, lines,
  };
}

let bad = 0;
for (const f of process.argv.slice(2)) {
  const r = check(f);
  if (!r.ok) bad++;
  console.log(JSON.stringify(r));
}
process.exit(bad ? 1 : 0);
