#!/usr/bin/env bash
# heapprof_dump() (tests/programs/trigger_api.c):
#   1. heapprof_dump("checkpoint") returns 0 and writes a dump with that
#      reason; heapprof_dump(NULL) one with reason "api"; then the exit dump
#      and the final link. A missing nested HEAPPROF_OUT is created 0700.
#   2. HEAPPROF_OUT under a regular file (unwritable even for root):
#      heapprof_dump returns -1, each failed dump prints exactly one
#      "heapprof:" line (docs/formats.md: one line per dump, whatever the
#      number of formats), the program goes on, stdout and exit status are
#      unchanged.
#   3. A directory where seq 1's stats file and the final link go (rename
#      fails): heapprof_dump returns -1, one line each for the file and the
#      link, the earlier stats file is byte-for-byte intact, no *.tmp.* left.
#   4. A file size limit (RLIMIT_FSIZE, like a full disk: write fails half
#      way): -1, one line for the dump, no partial or temporary file; the
#      next dump works again.
#   5. 8 threads calling heapprof_dump at once, 5 times each: all return 0,
#      40 dumps with distinct seq 0..39 and their reasons, then the exit dump.
#   6. Reasons that need escaping (quote, backslash, control characters),
#      invalid UTF-8 and a 5000-byte reason give valid JSON with the reason
#      as given (invalid bytes as U+FFFD); "" means "api".
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_api)

"$PY" - "$HP_LIB" "$prog" "$HP_TMP" <<'PY'
import glob, gzip, json, os, stat, subprocess, sys

lib, prog, tmp = sys.argv[1:4]
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
fails = []

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)

def run(mode, name, extra_env):
    res = os.path.join(tmp, "results." + name)
    plain = subprocess.run([prog, mode, res + ".plain"], capture_output=True, env=base_env, timeout=60)
    env = dict(base_env, LD_PRELOAD=lib, **extra_env)
    p = subprocess.Popen([prog, mode, res], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate(timeout=60)
    if out != plain.stdout or p.returncode != plain.returncode:
        fail("%s: stdout/exit differ: plain %r %d, heapprof %r %d" % (name, plain.stdout, plain.returncode, out, p.returncode))
    lines = err.decode(errors="replace").splitlines()
    print("--- %s: pid %d, stderr %r, results %r" % (name, p.pid, lines, open(res).read()), file=sys.stderr)
    return p.pid, lines, open(res).read().split("\n")[:-1], res

def stats(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: %s" % (path, e))
        return {}

def no_tmp(d, name):
    t = [n for n in os.listdir(d) if ".tmp" in n]
    if t:
        fail("%s: temporary files left: %s" % (name, t))

# 1. checkpoint, and a nested missing directory
out = os.path.join(tmp, "new", "nested", "prof")
pid, err, results, _ = run("checkpoint", "checkpoint", {"HEAPPROF_OUT": out})
if results != ["checkpoint 0", "NULL 0"]:
    fail("checkpoint: heapprof_dump returned %r, expected 0 and 0" % results)
if err:
    fail("checkpoint: stderr %r" % err)
for d in (os.path.join(tmp, "new"), os.path.join(tmp, "new", "nested"), out):
    if os.path.isdir(d) and stat.S_IMODE(os.stat(d).st_mode) != 0o700:
        fail("checkpoint: %s created with mode %o, expected 0700" % (d, stat.S_IMODE(os.stat(d).st_mode)))
want = ["checkpoint", "api", "exit"]
for seq, reason in enumerate(want):
    doc = stats(os.path.join(out, "heapprof.%d.%d.stats.json" % (pid, seq)))
    if doc.get("reason") != reason or doc.get("seq") != seq or doc.get("pid") != pid:
        fail("checkpoint: seq %d has reason %r seq %r pid %r, expected %r" % (seq, doc.get("reason"), doc.get("seq"), doc.get("pid"), reason))
final = os.path.join(out, "heapprof.%d.final.stats.json" % pid)
if not os.path.islink(final) or os.readlink(final) != "heapprof.%d.2.stats.json" % pid:
    fail("checkpoint: final link missing or wrong")
no_tmp(out, "checkpoint")
per_dump = sorted(n.split(".", 3)[3] for n in os.listdir(out) if n.startswith("heapprof.%d.0." % pid))
print("--- files per dump: %s" % per_dump, file=sys.stderr)

# 2. HEAPPROF_OUT below a regular file
blocker = os.path.join(tmp, "a-regular-file")
open(blocker, "w").write("not a directory\n")
for name, env in (("unwritable-stats", {"HEAPPROF_FORMAT": "stats"}), ("unwritable-default", {})):
    env = dict(env, HEAPPROF_OUT=os.path.join(blocker, "prof"))
    pid, err, results, _ = run("twice", name, env)
    if results != ["a -1", "b -1"]:
        fail("%s: heapprof_dump returned %r, expected -1 and -1" % (name, results))
    # dumps a, b and the exit dump fail: one line each
    if len(err) != 3 or not all(l.startswith("heapprof: ") and blocker in l for l in err):
        fail("%s: expected 3 'heapprof:' lines naming %s (one per failed dump: a, b, exit), got %r"
             % (name, blocker, err))
    if open(blocker).read() != "not a directory\n":
        fail("%s: the regular file in the way was changed" % name)

# 3. rename fails: the earlier file stays as it was
out = os.path.join(tmp, "prof-rename")
pid, err, results, res = run("rename", "rename", {"HEAPPROF_OUT": out})
if results != ["first 0", "second -1"]:
    fail("rename: heapprof_dump returned %r, expected 0 then -1" % results)
seq1 = os.path.join(out, "heapprof.%d.1.stats.json" % pid)
if len(err) != 2 or not err[0].startswith("heapprof: ") or seq1 not in err[0] \
        or not err[1].startswith("heapprof: ") or ("heapprof.%d.final.stats.json" % pid) not in err[1]:
    fail("rename: expected one 'heapprof:' line for %s and one for the final link, got %r" % (seq1, err))
first = os.path.join(out, "heapprof.%d.0.stats.json" % pid)
if open(first, "rb").read() != open(res + ".first", "rb").read():
    fail("rename: %s changed after the failed write" % first)
if stats(first).get("reason") != "first":
    fail("rename: earlier dump lost its reason")
if not os.path.isdir(seq1) or os.listdir(seq1):
    fail("rename: the directory in the way is gone or not empty")
if stats(os.path.join(out, "heapprof.%d.2.stats.json" % pid)).get("reason") != "exit":
    fail("rename: no exit dump after the failed one")
no_tmp(out, "rename")

# 4. file size limit: the write fails part of the way
out = os.path.join(tmp, "prof-fsize")
pid, err, results, res = run("fsize", "fsize", {"HEAPPROF_OUT": out})
if results != ["before 0", "toobig -1", "after 0"]:
    fail("fsize: heapprof_dump returned %r, expected 0, -1, 0" % results)
if len(err) != 1 or not all(l.startswith("heapprof: ") and ("heapprof.%d.1." % pid) in l for l in err):
    fail("fsize: expected one 'heapprof:' line for the failed dump (seq 1), got %r" % err)
names = sorted(os.listdir(out))
reasons = {}
for n in names:
    if n.endswith(".stats.json") and ".final." not in n:
        reasons[stats(os.path.join(out, n)).get("reason")] = n
if sorted(reasons) != ["after", "before", "exit"]:
    fail("fsize: stats files have reasons %s; expected before, after, exit (and nothing of toobig)" % sorted(reasons))
for n in names:
    p = os.path.join(out, n)
    if n.endswith(".json"):
        stats(p)
    elif n.endswith(".gz"):
        try:
            gzip.open(p).read()
        except Exception as e:
            fail("fsize: %s does not gunzip: %s" % (n, e))
no_tmp(out, "fsize")

# 5. concurrent heapprof_dump calls
out = os.path.join(tmp, "prof-threads")
pid, err, results, _ = run("threads", "threads", {"HEAPPROF_OUT": out, "HEAPPROF_FORMAT": "stats"})
if sorted(results) != sorted("t%d 0" % i for i in range(8) for _ in range(5)) or err:
    fail("threads: results %r, stderr %r; expected 40 zeros and no stderr" % (results, err))
docs = [stats(os.path.join(out, n)) for n in os.listdir(out) if n.endswith(".stats.json") and ".final." not in n]
seqs = sorted(d.get("seq") for d in docs)
reasons = sorted(d.get("reason") for d in docs)
if seqs != list(range(41)) or reasons != sorted(["t%d" % i for i in range(8) for _ in range(5)] + ["exit"]):
    fail("threads: seqs %s, reasons %s" % (seqs, reasons))
no_tmp(out, "threads")

# 6. reasons that need care
out = os.path.join(tmp, "prof-reasons")
pid, err, results, _ = run("reasons", "reasons", {"HEAPPROF_OUT": out})
if results != ["odd 0", "odd 0", "odd 0", "odd 0"] or err:
    fail("reasons: results %r, stderr %r" % (results, err))
want = ['quote " backslash \\ newline \n tab \t ctrl \x01 utf8 \u00e9', "bad utf8 \ufffd\ufffd end", "r" * 5000, "api", "exit"]
for seq, reason in enumerate(want):
    p = os.path.join(out, "heapprof.%d.%d.stats.json" % (pid, seq))
    if stats(p).get("reason") != reason:
        fail("reasons: seq %d has reason %r, expected %r" % (seq, stats(p).get("reason", "")[:80], reason[:80]))
    dh = p[:-len("stats.json")] + "dhat.json"
    if os.path.exists(dh):
        stats(dh)

if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "triggers_api: ok"
