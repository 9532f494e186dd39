#!/usr/bin/env bash
# `heapprof run` ends the way its command ends: the same exit status, the same
# fatal signal re-raised (a shell sees 128+N), 127/126 with one "heapprof:"
# line for a command that cannot run; stdin reaches the command; -q prints
# nothing; TERM sent to `heapprof run` reaches the command.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program exit_signal)
ulimit -c 0

# 1. the same endings, plain and under heapprof (compared by hp_compare)
workload() {
    local m
    for m in "exit 0" "exit 7" "exit 255" "_exit 3" "return 42" "segv" "abort" "kill 15" "kill 9" "kill 10" \
        "kill 13"; do
        hp_run_how "$prog" $m
    done
    hp_run_how sh -c 'exit 7'
    hp_run_how sh -c 'kill -SEGV $$'
    hp_run_how false
    seq 1 300000 | hp_run_how "$prog" stdin | sha256sum
}
hp_compare exit_status workload
for want in "$prog segv: signal 11" "$prog abort: signal 6" "$prog exit 7: exit 7" "$prog kill 9: signal 9" \
    "sh -c exit 7: exit 7" "$prog _exit 3: exit 3"; do
    grep -qxF "$want" "$HP_TMP/exit_status.hp.out" || hp_fail "expected '$want' under heapprof"
done
# the processes that exited normally wrote final stats; _exit and signals none
hp_check_stats "$HP_PROF" "$prog exit 7" "$prog return 42" "$prog stdin" >/dev/null
got=$("$PY" -c '
import glob, json, sys
print("\n".join(sorted(json.load(open(f))["cmd"] for f in glob.glob(sys.argv[1] + "/*.final.stats.json"))))
' "$HP_PROF")
want=$(printf '%s\n' "$prog exit 0" "$prog exit 7" "$prog exit 255" "$prog return 42" "$prog stdin" false | sort)
[[ $got == "$want" ]] ||
    hp_fail "final stats written by: $(echo; echo "$got"); want exactly those that exited normally: $(echo; echo "$want")"

# 2. what a shell sees, with the summary on (not -q)
rc=0
"$HP_CLI" run --out "$HP_TMP/p2" -- sh -c 'exit 7' 2>"$HP_TMP/exit7.err" || rc=$?
[[ $rc -eq 7 ]] || hp_fail "heapprof run -- sh -c 'exit 7' returned $rc, want 7"
grep -q '^heapprof: sh (pid [0-9]*) exited with status 7$' "$HP_TMP/exit7.err" ||
    { cat "$HP_TMP/exit7.err" >&2; hp_fail "no 'exited with status 7' summary line"; }
for sig in SEGV ABRT; do
    case $sig in SEGV) mode=segv n=11 ;; ABRT) mode=abort n=6 ;; esac
    rc=0
    ("$HP_CLI" run --out "$HP_TMP/p2" -- "$prog" $mode) >/dev/null 2>"$HP_TMP/sig.err" || rc=$?
    [[ $rc -eq $((128 + n)) ]] || hp_fail "heapprof run on a SIG$sig crash returned $rc, want $((128 + n))"
    grep -q "^heapprof: exit_signal (pid [0-9]*) was killed by signal $n " "$HP_TMP/sig.err" ||
        { cat "$HP_TMP/sig.err" >&2; hp_fail "no 'killed by signal $n' summary line"; }
    echo "--- SIG$sig: rc $rc" >&2
done

# 3. a command that cannot be run: 127 (not found) / 126 (not executable),
# exactly one "heapprof:" line, nothing on stdout, no profile directory
mkdir -p "$HP_TMP/cwd" && cd "$HP_TMP/cwd"
printf 'not a program\n' >not-exec && chmod 644 not-exec
for case in "127 no-such-command-xyz" "127 $HP_TMP/no/such/path" "126 ./not-exec"; do
    want=${case%% *} cmd=${case#* }
    rc=0
    "$HP_CLI" run -- "$cmd" arg >"$HP_TMP/missing.out" 2>"$HP_TMP/missing.err" || rc=$?
    [[ $rc -eq $want ]] || hp_fail "heapprof run -- $cmd returned $rc, want $want"
    [[ ! -s $HP_TMP/missing.out ]] || hp_fail "heapprof run -- $cmd wrote to stdout"
    lines=$(wc -l <"$HP_TMP/missing.err")
    if [[ $lines -ne 1 ]] || ! grep -q "^heapprof: .*$(basename "$cmd")" "$HP_TMP/missing.err"; then
        cat "$HP_TMP/missing.err" >&2
        hp_fail "heapprof run -- $cmd: want exactly one 'heapprof: ...' error line naming the command, got $lines lines"
    fi
    echo "--- $cmd: rc $rc, $(cat "$HP_TMP/missing.err")" >&2
done
leftover=$(ls -A | grep -v '^not-exec$' || true)
[[ -z $leftover ]] || hp_fail "a command that could not run left files in the working directory: $leftover"
cd "$HP_TMP"

# 4. stdin passes through; -q prints nothing of its own
got=$(echo data | "$HP_CLI" run -q --out "$HP_TMP/p3" -- cat 2>"$HP_TMP/cat.err")
[[ $got == data ]] || hp_fail "echo data | heapprof run -q -- cat gave '$got'"
[[ ! -s $HP_TMP/cat.err ]] || { cat "$HP_TMP/cat.err" >&2; hp_fail "-q still wrote to stderr"; }
seq 1 200000 >"$HP_TMP/in.txt"
"$HP_CLI" run -q --out "$HP_TMP/p3" -- "$prog" stdin <"$HP_TMP/in.txt" 2>/dev/null | tail -n +2 >"$HP_TMP/in.copy"
cmp "$HP_TMP/in.txt" "$HP_TMP/in.copy" || hp_fail "stdin from a file did not pass through unchanged"
got=$(printf 'a\nb\n' | "$HP_CLI" run -q --out "$HP_TMP/p3" -- sh -c 'read x; read y; echo "$y$x"')
[[ $got == ba ]] || hp_fail "stdin to sh read gave '$got'"

# 5. TERM sent to `heapprof run` reaches the command, which dies of it
"$HP_CLI" run -q --out "$HP_TMP/p4" -- sleep 30 &
hp=$!
for _ in $(seq 100); do
    kid=$(awk -v ppid="$hp" '$4 == ppid && $2 == "(sleep)" {print $1}' /proc/[0-9]*/stat 2>/dev/null || true)
    [[ -n $kid ]] && break
    sleep 0.05
done
[[ -n $kid ]] || { kill -9 "$hp"; hp_fail "sleep did not start under heapprof run"; }
sleep 0.3 # let heapprof run install its forwarding handlers after the exec
kill -TERM "$hp"
rc=0
wait "$hp" || rc=$?
if kill -0 "$kid" 2>/dev/null; then kill -9 "$kid"; hp_fail "TERM to heapprof run did not reach the command"; fi
[[ $rc -eq 143 ]] || hp_fail "heapprof run killed by forwarded TERM returned $rc, want 143"
echo "exit_status: ok"
