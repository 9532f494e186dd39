#!/usr/bin/env bash
# Invisible by default: under `heapprof run` (no interval, signal, peak or
# push configured) a program that allocates enough to be sampled many times
# sees the same open file descriptors, the same number of threads, the same
# signal dispositions and mask, no new files in its working directory, and
# the same environment but for LD_PRELOAD and HEAPPROF_OUT.
source "$(dirname "$0")/lib/common.bash"

workload() {
    hp_run ls /proc/self/fd
    hp_run grep -E '^(Threads|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):' /proc/self/status
    # ~60 MB allocated in total: at the default rate (512 KiB) about a hundred
    # samples, so stack capture has run before the checks below
    hp_run "$PY" -c '
import os, signal, threading
d = {}
for i in range(200000):
    d[i % 5000] = str(i) * 60
print("fds", sorted(os.listdir("/proc/self/fd"), key=int))
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
    grep -v -e '^LD_PRELOAD=' -e '^HEAPPROF_OUT=' -e '^_=' "$HP_TMP/env.$HP_MODE" | LC_ALL=C sort >"$HP_TMP/env2.$HP_MODE"
    cut -d= -f1 "$HP_TMP/env2.$HP_MODE"
    sha256sum <"$HP_TMP/env2.$HP_MODE"
    hp_run ls -A
}
hp_compare invisible workload
grep -q '^threads 1 1$' "$HP_TMP/invisible.hp.out" || hp_fail "python saw more than one thread under heapprof"
hp_check_stats "$HP_PROF" "ls /proc/self/fd" >/dev/null
echo "invisible: ok"
