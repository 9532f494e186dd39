#!/usr/bin/env bash
# No dump is ever seen half-written. tests/programs/trigger_busy.c "tags 3000
# 2" (2 threads churning under 3,000 tags, so each stats.json and dhat.json
# is hundreds of KB) runs with HEAPPROF_SIGNAL=SIGUSR2 while SIGUSR2 is sent
# every 5 ms for 3 s (longer until 4 dumps are out) and a reader process lists the profile directory over
# and over and reads every heapprof.*.json (stats, dhat, the final links)
# and heapprof.*.pb.gz it can open: each must parse as JSON / gunzip
# completely. The reader also watches the directory with inotify: a profile
# may appear under its final name only through a rename, never be created or
# written there. Several dumps must have been read; no *.tmp.* is left; the
# program's output and exit status equal a plain run.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_busy)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP" <<'PY'
import gzip, json, os, signal, subprocess, sys, time, zlib

lib, prog, tmp = sys.argv[1:4]
out = os.path.join(tmp, "prof")
os.makedirs(out, mode=0o700)
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}

reader_src = r'''
import ctypes, gzip, hashlib, json, os, struct, sys, time, zlib
out, stop = sys.argv[1], sys.argv[2]
# inotify: a profile must appear under its final name only by a rename
# (IN_MOVED_TO), never be created, written or closed after writing there
libc = ctypes.CDLL(None, use_errno=True)
IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE, IN_Q_OVERFLOW = 0x2, 0x8, 0x80, 0x100, 0x4000
ino = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
if ino < 0 or libc.inotify_add_watch(ino, out.encode(), IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0:
    sys.exit("inotify unavailable")
in_place, events = [], 0
def drain():
    global events
    while True:
        try:
            data = os.read(ino, 1 << 16)
        except BlockingIOError:
            return
        i = 0
        while i < len(data):
            wd, mask, cookie, ln = struct.unpack_from("iIII", data, i)
            name = data[i + 16:i + 16 + ln].rstrip(b"\0").decode()
            i += 16 + ln
            events += 1
            if mask & IN_Q_OVERFLOW:
                in_place.append("inotify queue overflow")
            elif name.startswith("heapprof.") and ".tmp" not in name and mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE):
                in_place.append("%s: %s under its final name" % (
                    name, "created" if mask & IN_CREATE else "written" if mask & IN_MODIFY else "closed after writing"))
seen, good, bad, rounds = set(), set(), [], 0
while True:
    last = os.path.exists(stop)
    rounds += 1
    drain()
    for n in os.listdir(out):
        if not n.startswith("heapprof.") or not (n.endswith(".json") or n.endswith(".pb.gz")):
            continue
        try:
            with open(os.path.join(out, n), "rb") as f:
                data = f.read()
        except (FileNotFoundError, IsADirectoryError):
            continue
        key = (n, len(data), hashlib.sha1(data).digest())
        if key in good:  # these exact bytes were checked already
            continue
        try:
            if n.endswith(".json"):
                doc = json.loads(data)
                if n.endswith(".stats.json") and "profiler" not in doc:
                    raise ValueError("no profiler object")
            elif not gzip.decompress(data):
                raise ValueError("empty")
        except Exception as e:
            bad.append("%s (%d bytes): %s" % (n, len(data), str(e)[:100]))
            continue
        good.add(key)
        seen.add(n)
    if last:
        drain()
        break
print(json.dumps({"rounds": rounds, "seen": sorted(seen), "bad": bad[:20], "nbad": len(bad),
                  "events": events, "in_place": in_place[:20], "nin_place": len(in_place)}))
'''
stop = os.path.join(tmp, "stop-reader")
reader = subprocess.Popen([sys.executable, "-c", reader_src, out, stop], stdout=subprocess.PIPE, env=base_env)

plain = subprocess.Popen([prog, "tags", "3000", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=base_env)
time.sleep(0.3)
plain_out = plain.communicate(input=b"", timeout=60)

env = dict(base_env, LD_PRELOAD=lib, HEAPPROF_OUT=out, HEAPPROF_SIGNAL="SIGUSR2")
p = subprocess.Popen([prog, "tags", "3000", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, env=env)
first = p.stdout.readline()
# at least 3 s, and until 4 dumps are out (a loaded machine dumps slowly), at most 30 s
start = time.monotonic()
sent = 0
def dumps_out():
    return len([n for n in os.listdir(out) if n.startswith("heapprof.%d." % p.pid) and n.endswith(".stats.json")])
while time.monotonic() < start + 3 or (dumps_out() < 4 and time.monotonic() < start + 30):
    p.send_signal(signal.SIGUSR2)
    sent += 1
    time.sleep(0.005)
o, e = p.communicate(input=b"", timeout=60)
open(stop, "w").close()
r = json.loads(reader.communicate(timeout=60)[0])
stats_seen = [n for n in r["seen"] if n.endswith(".stats.json")]
print("--- %d signals sent; reader: %d rounds, %d files read completely (%d stats), %d bad; %d inotify events"
      % (sent, r["rounds"], len(r["seen"]), len(stats_seen), r["nbad"], r["events"]), file=sys.stderr)
fails = []
if (first + o, e, p.returncode) != plain_out[:2] + (plain.returncode,):
    fails.append("output differs: plain %r %r %d, heapprof %r %r %d"
                 % (plain_out[0], plain_out[1], plain.returncode, first + o, e, p.returncode))
if r["nbad"]:
    fails.append("the reader saw %d incomplete or invalid files, e.g.:\n  %s" % (r["nbad"], "\n  ".join(r["bad"])))
if r["nin_place"]:
    fails.append("%d profiles were created or written under their final names (not renamed into place), e.g.:\n  %s"
                 % (r["nin_place"], "\n  ".join(r["in_place"])))
if len(stats_seen) < 3:
    fails.append("the reader saw only %d stats files (%s)" % (len(stats_seen), stats_seen))
names = os.listdir(out)
if [n for n in names if ".tmp" in n]:
    fails.append("temporary files left: %s" % [n for n in names if ".tmp" in n])
signal_dumps = 0
for n in names:
    if n.endswith(".stats.json") and ".final." not in n:
        doc = json.load(open(os.path.join(out, n)))
        signal_dumps += doc["reason"] == "signal"
print("--- %d signal dumps written" % signal_dumps, file=sys.stderr)
if signal_dumps < 3:
    fails.append("only %d signal dumps for %d signals" % (signal_dumps, sent))
if not os.path.islink(os.path.join(out, "heapprof.%d.final.stats.json" % p.pid)):
    fails.append("no final stats link")
if fails:
    sys.exit("FAIL: " + "\nFAIL: ".join(fails))
PY
echo "triggers_atomic: ok"
