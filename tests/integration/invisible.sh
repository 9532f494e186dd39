#!/usr/bin/env bash
# Invisible by default: under `heapprof run` (no interval, signal, peak or
# push configured) a program that allocates enough to be sampled many times
# sees the same open file descriptors, the same number of threads, the same
# signal dispositions and mask, no new files in its working directory, and
# the same environment but for LD_PRELOAD and HEAPPROF_OUT. The one
# documented exception (docs/internals.md): libunwind's validation pipe,
# which heapprof parks on two descriptors just below 1024. Descriptors from
# 1000 up are listed apart, and must be exactly that pipe under heapprof and
# nothing in the plain run.
source "$(dirname "$0")/lib/common.bash"

workload() {
    export HP_MODE HP_TMP
    hp_run sh -c 'ls /proc/self/fd | awk "\$1 < 1000"'
    hp_run grep -E '^(Threads|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):' /proc/self/status
    # ~60 MB allocated in total: at the default rate (512 KiB) about a hundred
    # samples, so stack capture has run before the checks below
    hp_run "$PY" -c '
import os, signal, threading
d = {}
for i in range(200000):
    d[i % 5000] = str(i) * 60
fds = sorted(os.listdir("/proc/self/fd"), key=int)
print("fds", [f for f in fds if int(f) < 1000])
with open(os.environ["HP_TMP"] + "/high." + os.environ["HP_MODE"], "w") as out:
    print([(f, os.readlink("/proc/self/fd/" + f)) for f in fds if int(f) >= 1000], file=out)
print("threads", len(os.listdir("/proc/self/task")), threading.active_count())
print("handlers", [(s.name, str(signal.getsignal(s))) for s in sorted(signal.valid_signals())
                   if isinstance(s, signal.Signals) and s not in (signal.SIGKILL, signal.SIGSTOP)])
print("cwd", sorted(os.listdir(".")))
with open("/proc/self/status") as f:
    print([l.split()[0] + l.split()[1] for l in f if l.startswith(("Threads", "Sig")) and not l.startswith("SigQ")])
r = os.open("/dev/null", os.O_RDONLY)
print("next fd", r)
'
    # the names, and a hash of the values (no values in the logs)
    hp_run env >"$HP_TMP/env.$HP_MODE"
    grep -v -e '^LD_PRELOAD=' -e '^HEAPPROF_OUT=' -e '^HP_MODE=' -e '^_=' "$HP_TMP/env.$HP_MODE" | LC_ALL=C sort >"$HP_TMP/env2.$HP_MODE"
    cut -d= -f1 "$HP_TMP/env2.$HP_MODE"
    sha256sum <"$HP_TMP/env2.$HP_MODE"
    hp_run ls -A
}
hp_compare invisible workload
# plain: nothing high; heapprof: one pipe on two adjacent descriptors
grep -qx '\[\]' "$HP_TMP/high.plain" || hp_fail "plain run has descriptors >= 1000: $(cat "$HP_TMP/high.plain")"
"$PY" - "$HP_TMP/high.hp" <<'PYEOF' || hp_fail "unexpected descriptors >= 1000 under heapprof: $(cat "$HP_TMP/high.hp")"
import ast, sys
high = ast.literal_eval(open(sys.argv[1]).read())
assert len(high) == 2, high
(a, ta), (b, tb) = high
assert int(b) == int(a) + 1 and ta == tb and ta.startswith("pipe:["), high
PYEOF
grep -q '^threads 1 1$' "$HP_TMP/invisible.hp.out" || hp_fail "python saw more than one thread under heapprof"
hp_check_stats "$HP_PROF" "ls /proc/self/fd" >/dev/null
echo "invisible: ok"
