#!/usr/bin/python3
"""A loopback stand-in for Grafana Pyroscope's POST /ingest, for the push tests.

It enforces the contract documented in FORMATS.md section C (read from the
server's sources: ingest_handler.go, pkg/og/util/form/form.go,
api/model/labelset), so a client that breaks a rule the real server
enforces fails here too:

  * only POST /ingest or /pyroscope/ingest (404 / 405 otherwise)
  * `name` must parse as app{k=v,...}: service name [A-Za-z0-9_./-]+, keys
    [A-Za-z0-9_.]+ (400 otherwise)
  * `format=pprof` means the body *is* the profile: a multipart body sent
    with it fails to parse (422); without `format`, a multipart body is read
    for its *file* parts only: parts without filename= are ignored, and a
    missing or empty `profile` part gives 200 with nothing stored
  * a non-empty `prev_profile` part is refused (422)
  * the profile must be a valid (optionally gzipped) pprof: string_table[0]
    is "", ids it references exist, one value per sample type; at most 16000
    samples and 4 MiB uncompressed; time_nanos within [now - 1 h, now + 10 min]
    (422 otherwise)
  * --tenant: X-Scope-OrgID is required (401 without)

Modes: --fail N --fail-status S answers the first N requests with status S
(429 or 5xx: the retry tests), whatever they are.

Every request is logged to DIR/requests.jsonl; every accepted profile is
stored as DIR/NNNN.pb.gz (the part's bytes) with DIR/NNNN.json (query,
headers, parts). The port is written to DIR/port once listening on
127.0.0.1 (an ephemeral port).

    pyroscope_server.py --dir DIR [--fail N --fail-status S] [--tenant]
"""
import argparse
import gzip
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_SAMPLES = 16000
MAX_PROFILE_BYTES = 4 << 20
OLDEST_S, NEWEST_S = 3600, 600


class Reject(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# ---- name=app{k=v,...}, as api/model/labelset/labelset.go parses it ----

def parse_name(name):
    if name is None:
        raise Reject(400, "invalid_argument", "name is required")
    service, _, rest = name.partition("{")
    service = service.strip()
    if not service:
        raise Reject(400, "invalid_argument", "service name is required")
    bad = re.search(r"[^A-Za-z0-9_./-]", service)
    if bad:
        raise Reject(400, "invalid_argument",
                     "invalid service name: %s: character is not allowed: %r" % (service, bad.group()))
    labels = {"__name__": service}
    key, value, state = "", "", "key"
    for ch in rest + "{":
        if state == "key":
            if ch == "}":
                state = "done"
            elif ch == "=":
                state, value = "value", ""
            else:
                key += ch
        elif state == "value":
            if ch in ",}":
                k = key.strip()
                if k != "__name__":
                    if not k:
                        raise Reject(400, "invalid_argument", "label name is required")
                    bad = re.search(r"[^A-Za-z0-9_.]", k)
                    if bad:
                        raise Reject(400, "invalid_argument",
                                     "invalid label name: %s: character is not allowed: %r" % (k, bad.group()))
                labels[k] = value.strip()
                key, state = "", ("key" if ch == "," else "done")
            else:
                value += ch
    return labels


# ---- multipart/form-data, keeping only what Go's ReadForm files as files ----

def parse_multipart(body, content_type):
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise Reject(422, "invalid_argument", "multipart without boundary")
    delim = b"--" + m.group(1).encode()
    chunks = body.split(delim)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise Reject(422, "invalid_argument", "malformed multipart body (no closing boundary)")
    parts = []
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise Reject(422, "invalid_argument", "malformed multipart part (CRLF framing)")
        head, sep, data = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise Reject(422, "invalid_argument", "malformed multipart part (no header end)")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        disp = headers.get("content-disposition", "")
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disp)
        filename = re.search(r'filename="([^"]*)"', disp)
        parts.append({"name": name.group(1) if name else None,
                      "filename": filename.group(1) if filename else None,
                      "content_type": headers.get("content-type"),
                      "data": data})
    return parts


# ---- pprof validity, the checks profile.Parse / CheckValid make ----

def varint(b, i):
    r = s = 0
    while True:
        if i >= len(b):
            raise ValueError("truncated varint")
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, t = key >> 3, key & 7
        if t == 0:
            v, i = varint(b, i)
            yield f, v
        elif t == 2:
            n, i = varint(b, i)
            if i + n > len(b):
                raise ValueError("truncated field %d" % f)
            yield f, b[i:i + n]
            i += n
        elif t == 1:
            i += 8
            yield f, None
        elif t == 5:
            i += 4
            yield f, None
        else:
            raise ValueError("wire type %d" % t)


def ints(v):
    if isinstance(v, int):
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(x)
    return out


def check_profile(raw):
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except Exception as e:
            raise Reject(422, "invalid_argument", "failed to decompress profile: %s" % e)
    if len(raw) > MAX_PROFILE_BYTES:
        raise Reject(422, "invalid_argument", "uncompressed profile too large: %d bytes" % len(raw))
    strings, types, samples, locs, funcs, time_nanos = [], 0, [], {}, set(), 0
    try:
        for f, v in fields(raw):
            if f == 1:
                types += 1
            elif f == 2:
                samples.append(v)
            elif f == 4:
                lid, lines = 0, []
                for g, w in fields(v):
                    if g == 1:
                        lid = w
                    elif g == 4:
                        lines.append(dict(fields(w)).get(1, 0))
                locs[lid] = lines
            elif f == 5:
                funcs.add(dict(fields(v)).get(1, 0))
            elif f == 6:
                strings.append(v)
            elif f == 9:
                time_nanos = v
    except (ValueError, TypeError) as e:
        raise Reject(422, "invalid_argument", "failed to parse profile: %s" % e)
    if not strings or strings[0] != b"":
        raise Reject(422, "invalid_argument", "failed to parse profile: string_table[0] must be empty")
    if not types:
        raise Reject(422, "invalid_argument", "failed to parse profile: no sample types")
    if len(samples) > MAX_SAMPLES:
        raise Reject(422, "invalid_argument", "profile has %d samples, limit %d" % (len(samples), MAX_SAMPLES))
    for lines in locs.values():
        for fid in lines:
            if fid not in funcs:
                raise Reject(422, "invalid_argument", "failed to parse profile: unknown function id %d" % fid)
    for s in samples:
        nvalues = 0
        for g, w in fields(s):
            if g == 1:
                for lid in ints(w):
                    if lid not in locs:
                        raise Reject(422, "invalid_argument", "failed to parse profile: unknown location id %d" % lid)
            elif g == 2:
                nvalues += len(ints(w))
        if nvalues != types:
            raise Reject(422, "invalid_argument",
                         "failed to parse profile: sample has %d values, %d sample types" % (nvalues, types))
    if time_nanos:
        now = time.time()
        t = time_nanos / 1e9
        if t < now - OLDEST_S:
            raise Reject(422, "invalid_argument", "profile timestamp %d is older than 1h" % int(t))
        if t > now + NEWEST_S:
            raise Reject(422, "invalid_argument", "profile timestamp %d is too far in the future" % int(t))
    return len(samples)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients reuse connections

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(405, {"code": "unimplemented", "message": "method not allowed"})

    do_PUT = do_GET

    def do_POST(self):
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        q = {k: v[-1] for k, v in query.items()}
        ctype = self.headers.get("Content-Type", "")
        with srv.lock:
            srv.count += 1
            n = srv.count
        rec = {"n": n, "path": url.path, "query": q, "content_type": ctype,
               "tenant": self.headers.get("X-Scope-OrgID"), "user_agent": self.headers.get("User-Agent"),
               "expect": self.headers.get("Expect"), "body_len": len(body)}
        try:
            if url.path not in ("/ingest", "/pyroscope/ingest"):
                raise Reject(404, "not_found", "404 page not found")
            if srv.tenant and not rec["tenant"]:
                raise Reject(401, "unauthenticated", "no org id")
            if n <= srv.fail:
                raise Reject(srv.fail_status, "resource_exhausted" if srv.fail_status == 429 else "unavailable",
                             "test server: failing request %d of the first %d on purpose" % (n, srv.fail))
            rec["labels"] = parse_name(q.get("name"))
            fmt = q.get("format")
            if fmt is not None:
                if fmt != "pprof":
                    raise Reject(422, "invalid_argument", "test server: only pprof is supported, got format=%s" % fmt)
                # format wins: the body is taken as the profile, whatever its type
                rec["parts"] = None
                profile, config = body, None
            elif "multipart/form-data" in ctype:
                parts = parse_multipart(body, ctype)
                rec["parts"] = [{k: (len(v) if k == "data" else v) for k, v in p.items()} for p in parts]
                files = {p["name"]: p for p in parts if p["filename"] is not None and p["data"]}
                if "prev_profile" in files:
                    raise Reject(422, "invalid_argument", "unsupported client version (prev_profile)")
                profile = files["profile"]["data"] if "profile" in files else None
                config = files.get("sample_type_config")
                if config is not None:
                    try:
                        rec["sample_type_config"] = json.loads(config["data"])
                    except ValueError as e:
                        raise Reject(422, "invalid_argument", "bad sample_type_config: %s" % e)
            else:
                raise Reject(422, "invalid_argument", "test server: folded text is not supported; send pprof")
            if not profile:
                rec["stored"] = None  # the real server: empty profile, 200, nothing stored
                status = 200
            else:
                rec["samples"] = check_profile(profile)
                with srv.lock:
                    srv.stored += 1
                    name = "%04d" % srv.stored
                with open(os.path.join(srv.dir, name + ".pb.gz"), "wb") as f:
                    f.write(profile)
                rec["stored"] = name
                with open(os.path.join(srv.dir, name + ".json"), "w") as f:
                    json.dump(rec, f, indent=1)
                status = 200
            rec["status"] = status
            answer = (200, None)
        except Reject as r:
            rec["status"] = r.status
            rec["message"] = r.message
            answer = (r.status, {"code": r.code, "message": r.message})
        # logged before the answer, so a client that got it finds it logged
        with srv.lock, open(os.path.join(srv.dir, "requests.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.answer(*answer)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=429)
    ap.add_argument("--tenant", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.dir, srv.fail, srv.fail_status, srv.tenant = a.dir, a.fail, a.fail_status, a.tenant
    srv.lock, srv.count, srv.stored = threading.Lock(), 0, 0
    tmp = os.path.join(a.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, os.path.join(a.dir, "port"))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
