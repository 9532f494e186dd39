#!/usr/bin/env bash
# Debian's python3 under `heapprof run`: dicts, strings, threads and a
# subprocess give the same stdout, stderr and exit status as a plain run, and
# the interpreter (and the program it runs) each write final stats.
source "$(dirname "$0")/lib/common.bash"
[[ -x $PY ]] || hp_fail "$PY missing (Debian package python3, see tests/integration/deps.txt)"

cat >"$HP_TMP/work.py" <<'PY'
import hashlib, subprocess, sys, threading

# dicts and strings
words = {}
for i in range(20000):
    w = "w%x" % ((i * 2654435761) % 5003)
    words[w] = words.get(w, 0) + len(w) + i % 7
top = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
print("distinct", len(words), "top", top)
text = "-".join("%s:%d" % kv for kv in sorted(words.items()))
print("text", len(text), hashlib.sha256(text.encode()).hexdigest())
print("upper", "".join(w.upper() for w in list(words)[:8]), text.count("w1"))

# threads: each fills and folds its own structures; results by index
results = [None] * 4
def work(n):
    d, parts = {}, []
    for i in range(30000):
        k = (i * (n + 3)) % 997
        d[k] = d.get(k, []) + [i] if i % 50 == 0 else d.get(k, [])
        parts.append(str(i ^ n))
    s = ",".join(parts)
    results[n] = (n, len(d), sum(len(v) for v in d.values()), len(s), hashlib.md5(s.encode()).hexdigest())
threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
for r in results: print("thread", *r)

# a subprocess: another interpreter, output captured and echoed
r = subprocess.run([sys.executable, "-c", "import sys; print(sum(range(10**5))); sys.stderr.write('child err\\n'); sys.exit(3)"],
                   capture_output=True, text=True)
print("child rc", r.returncode, "out", r.stdout.strip(), "err", r.stderr.strip())
r = subprocess.run(["sort", "-r"], input="b\na\nc\n", capture_output=True, text=True)
print("sort", repr(r.stdout), r.returncode)
sys.stderr.write("done on stderr\n")
sys.exit(5)
PY

workload() {
    hp_run "$PY" "$HP_TMP/work.py" || true
}
hp_compare python3 workload
grep -q '^thread 3 ' "$HP_TMP/python3.plain.out" || hp_fail "workload did not run as expected"
pids=$(hp_check_stats "$HP_PROF" "$PY $HP_TMP/work.py" "sort -r")
# the interpreter, the child interpreter and sort: three processes, three files
[[ $(wc -l <<<"$pids") -eq 3 ]] || hp_fail "expected 3 final stats files, got: $pids"
echo "python3: ok"
