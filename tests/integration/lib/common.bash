# Shared helpers for the integration tests (sourced, not run: tests/run.sh runs
# only tests/integration/*.sh). Each test runs with bash in a fresh temp dir as
# its cwd and gets HP_ROOT, HP_LIB, HP_CLI, HP_PROGRAMS and HP_TMP from run.sh.
#
#   source "$(dirname "$0")/lib/common.bash"
#
#   workload() { hp_run prog args...; hp_run other ...; }
#   hp_compare NAME workload      # runs workload plain, then under heapprof;
#                                 # fails unless stdout, stderr and every exit
#                                 # status are byte-identical and the same
#                                 # files were left in the working directory
#   hp_check_stats DIR [CMD...]   # every final stats file in DIR is valid JSON
#                                 # for its own pid; the process whose command
#                                 # line is CMD wrote one with alloc_objects > 0
set -euo pipefail

: "${HP_ROOT:?run through tests/run.sh (HP_ROOT unset)}"
: "${HP_LIB:?HP_LIB unset}" "${HP_CLI:?HP_CLI unset}" "${HP_PROGRAMS:?HP_PROGRAMS unset}"
: "${HP_TMP:=$(pwd)}"

# Debian's interpreter, not whatever python3 comes first in PATH (pyenv).
PY=/usr/bin/python3

# Keep the programs' behaviour independent of the caller's environment.
export LC_ALL=C TZ=UTC
unset LD_PRELOAD HEAPPROF_OUT HEAPPROF_RATE HEAPPROF_FORMAT HEAPPROF_INTERVAL HEAPPROF_SIGNAL \
    HEAPPROF_PEAK_DUMP HEAPPROF_TAG HEAPPROF_DEPTH HEAPPROF_SEED HEAPPROF_LOG HEAPPROF_CONFIG \
    HEAPPROF_FOLLOW_EXEC HEAPPROF_GPU HEAPPROF_SYMBOLIZE HEAPPROF_THP_ARENA HEAPPROF_PYROSCOPE_URL \
    HEAPPROF_APP HEAPPROF_CUPTI_PATH 2>/dev/null || true

hp_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

hp_note() { echo "--- $*" >&2; }

[[ -x $HP_CLI ]] || hp_fail "heapprof CLI not built: $HP_CLI"
[[ -f $HP_LIB ]] || hp_fail "library not built: $HP_LIB"

# hp_need PROG... : fail with a clear message when a tool is missing.
hp_need() {
    local p
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 ||
            hp_fail "'$p' is not installed (install the Debian packages in tests/integration/deps.txt: bash scripts/deps.sh)"
    done
}

# hp_program NAME : path of a built helper from tests/programs.
hp_program() {
    local p=$HP_PROGRAMS/$1
    [[ -x $p ]] || hp_fail "test program not built: $p (make -f tests/tests.mk)"
    printf '%s\n' "$p"
}

# hp_refuse_dlopen_shim : builds the shim that makes dlopen of a name
# containing $HP_REFUSE_DLOPEN fail (preload it before heapprof); prints its path.
hp_refuse_dlopen_shim() {
    cc -shared -fPIC -O1 -Wall -Wextra -Werror "$HP_ROOT/tests/integration/lib/refuse_dlopen.c" \
        -o "$HP_TMP/refuse_dlopen.so" -ldl || hp_fail "cannot build the dlopen shim"
    printf '%s\n' "$HP_TMP/refuse_dlopen.so"
}

# Set by hp_compare while a workload runs.
HP_MODE=plain       # plain | hp
HP_PROF=$HP_TMP/prof # where the heapprof run writes its profiles
HP_WORK=$HP_TMP/work # the workload's cwd (the same path in both modes)

# hp_run CMD ARGS... : runs CMD directly (plain mode) or under
# `heapprof run -q --out $HP_PROF` (hp mode), and records its exit status in
# the workload's status log so that statuses are compared too. Returns the
# status, so a workload can go on after a command that fails on purpose.
hp_run() {
    local rc=0
    if [[ $HP_MODE == hp ]]; then
        "$HP_CLI" run -q --out "$HP_PROF" -- "$@" || rc=$?
    else
        "$@" || rc=$?
    fi
    printf '%s => %d\n' "$*" "$rc" >>"$HP_TMP/status.$HP_MODE"
    return "$rc"
}

# hp_show FILE LABEL : print a file (trimmed) into the test log.
hp_show() {
    echo "----- $2 ($(wc -c <"$1") bytes) -----" >&2
    head -c 3000 "$1" >&2 || true
    echo >&2
}

# hp_compare NAME FUNC : runs FUNC twice in a fresh $HP_WORK (same path both
# times): once with hp_run running plainly, once under heapprof. Compares
# stdout, stderr, the exit statuses and the names of the files left in
# $HP_WORK; on any difference prints a diff and fails. Leaves the outputs in $HP_TMP/NAME.{plain,hp}.{out,err} and the
# profiles of the heapprof run in $HP_PROF.
hp_compare() {
    local name=$1 func=$2 mode rc
    rm -rf "$HP_PROF" "$HP_TMP/status.plain" "$HP_TMP/status.hp"
    for mode in plain hp; do
        rm -rf "$HP_WORK" && mkdir -p "$HP_WORK"
        rc=0
        (cd "$HP_WORK" && HP_MODE=$mode && "$func") \
            >"$HP_TMP/$name.$mode.out" 2>"$HP_TMP/$name.$mode.err" </dev/null || rc=$?
        echo "workload => $rc" >>"$HP_TMP/status.$mode"
        # what the workload left in its working directory (names and types)
        (cd "$HP_WORK" && find . -mindepth 1 -printf '%y %p\n' | LC_ALL=C sort) >"$HP_TMP/$name.$mode.tree"
    done
    local bad=0 what
    for what in out err; do
        if ! cmp -s "$HP_TMP/$name.plain.$what" "$HP_TMP/$name.hp.$what"; then
            echo "MISMATCH in std$what of '$name' (plain vs heapprof run):" >&2
            diff -u --label "plain std$what" --label "heapprof std$what" \
                "$HP_TMP/$name.plain.$what" "$HP_TMP/$name.hp.$what" | head -n 60 >&2 || true
            bad=1
        fi
    done
    if ! cmp -s "$HP_TMP/$name.plain.tree" "$HP_TMP/$name.hp.tree"; then
        echo "MISMATCH in the files left in the working directory by '$name' (plain vs heapprof run):" >&2
        diff -u --label "plain" --label "heapprof" "$HP_TMP/$name.plain.tree" "$HP_TMP/$name.hp.tree" |
            head -n 40 >&2 || true
        bad=1
    fi
    if ! cmp -s "$HP_TMP/status.plain" "$HP_TMP/status.hp"; then
        echo "MISMATCH in exit statuses of '$name' (plain vs heapprof run):" >&2
        diff -u --label "plain" --label "heapprof" "$HP_TMP/status.plain" "$HP_TMP/status.hp" >&2 || true
        bad=1
    fi
    if [[ $bad -ne 0 ]]; then
        hp_show "$HP_TMP/$name.plain.err" "plain stderr"
        hp_show "$HP_TMP/$name.hp.err" "heapprof stderr"
        hp_fail "'$name' behaves differently under heapprof"
    fi
    hp_note "$name: stdout ($(wc -c <"$HP_TMP/$name.plain.out") bytes), stderr ($(wc -c <"$HP_TMP/$name.plain.err") bytes) and exit statuses identical"
    cat "$HP_TMP/status.plain" >&2
}

# hp_check_stats DIR [CMDLINE...] : every heapprof.<pid>.final.stats.json in
# DIR parses as JSON, names its own pid, and has a process object; for each
# CMDLINE given (the process's argv joined by spaces, as the library reads
# /proc/self/cmdline) one such file exists with process.alloc_objects > 0.
# Prints the pids found, one per line, to stdout.
hp_check_stats() {
    local dir=$1
    shift
    [[ -d $dir ]] || hp_fail "no profile directory $dir"
    "$PY" - "$dir" "$@" <<'EOF'
import glob, json, os, re, sys
d, want = sys.argv[1], sys.argv[2:]
files = sorted(glob.glob(os.path.join(d, "heapprof.*.final.stats.json")))
if not files:
    sys.exit("FAIL: no heapprof.<pid>.final.stats.json in %s (has: %s)" % (d, sorted(os.listdir(d))))
cmds = {}
for f in files:
    pid = int(re.match(r"heapprof\.(\d+)\.final\.stats\.json$", os.path.basename(f)).group(1))
    try:
        with open(f) as fh:
            doc = json.load(fh)
    except ValueError as e:
        sys.exit("FAIL: %s is not valid JSON: %s" % (f, e))
    if doc.get("pid") != pid:
        sys.exit("FAIL: %s says pid %r" % (f, doc.get("pid")))
    proc = doc.get("process")
    if not isinstance(proc, dict) or not isinstance(proc.get("alloc_objects"), int):
        sys.exit("FAIL: %s has no process.alloc_objects" % f)
    cmds.setdefault(doc.get("cmd"), []).append((pid, proc["alloc_objects"]))
    print(pid)
for c in want:
    if c not in cmds:
        sys.exit("FAIL: no final stats for command %r in %s; commands seen: %r" % (c, d, sorted(cmds, key=str)))
    if not any(n > 0 for _, n in cmds[c]):
        sys.exit("FAIL: final stats for %r show alloc_objects == 0: %r" % (c, cmds[c]))
    sys.stderr.write("--- stats ok for %r: pid/alloc_objects %r\n" % (c, cmds[c]))
EOF
}

# hp_how FILE CMD... : runs CMD (from Python, so that no shell reports a death
# by signal with a pid on stderr) and writes "exit N" or "signal N" to FILE.
# CMD's stdin, stdout and stderr are the caller's.
hp_how() {
    local file=$1
    shift
    "$PY" -c '
import subprocess, sys
r = subprocess.run(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write("signal %d\n" % -r.returncode if r.returncode < 0 else "exit %d\n" % r.returncode)
' "$file" "$@"
}

# hp_run_how CMD... : like hp_run, through hp_how: after CMD's own output,
# prints "CMD: exit N" or "CMD: signal N" (under heapprof: how `heapprof run`
# ended) to stdout and records it in the status log.
hp_run_how() {
    local how=$HP_TMP/how.$HP_MODE
    if [[ $HP_MODE == hp ]]; then
        hp_how "$how" "$HP_CLI" run -q --out "$HP_PROF" -- "$@"
    else
        hp_how "$how" "$@"
    fi
    printf '%s => %s\n' "$*" "$(cat "$how")" >>"$HP_TMP/status.$HP_MODE"
    printf '%s: %s\n' "$*" "$(cat "$how")"
}

# hp_seed_runs PROG RATE RUNS [ARGS...] : runs PROG RUNS times under heapprof
# (stats files only, HEAPPROF_SEED=1..RUNS, in parallel), each in
# $HP_TMP/runs/<seed>/ with stdout, stderr, rc and prof/. For the sampling
# statistics tests, which check the spread across seeds.
hp_seed_runs() {
    local prog=$1 rate=$2 runs=$3 seed
    shift 3
    local jobs_max=$(($(nproc) * 2)) # the exit dump's fsync leaves a core idle for a while
    for seed in $(seq 1 "$runs"); do
        (
            d=$HP_TMP/runs/$seed rc=0
            mkdir -p "$d"
            env LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$d/prof" HEAPPROF_FORMAT=stats \
                HEAPPROF_RATE="$rate" HEAPPROF_SEED="$seed" "$prog" "$@" \
                >"$d/stdout" 2>"$d/stderr" </dev/null || rc=$?
            echo "$rc" >"$d/rc"
        ) &
        while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
    done
    wait
}

# hp_asan_cli : builds the CLI with AddressSanitizer and UBSan into
# $HP_ROOT/build/asan (make keeps it up to date; the first build takes about
# half a minute) and prints its path; prints nothing when this compiler
# cannot build sanitized programs, and the caller tests the normal build only.
# Run it with HP_ASAN_ENV: leaks are not checked (the CLI frees little at
# exit), and an impossible allocation fails as malloc's would.
HP_ASAN_ENV=(ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1)
hp_asan_cli() {
    local cc="cc -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all"
    echo 'int main(void) { return 0; }' >"$HP_TMP/asan_probe.c"
    if ! $cc "$HP_TMP/asan_probe.c" -o "$HP_TMP/asan_probe" 2>/dev/null ||
        ! env "${HP_ASAN_ENV[@]}" "$HP_TMP/asan_probe"; then
        hp_note "cc cannot build with -fsanitize=address,undefined here: normal build only"
        return 0
    fi
    make -s -C "$HP_ROOT" BUILD=build/asan CC="$cc" build/asan/heapprof >&2 ||
        hp_fail "cannot build the sanitized CLI (make BUILD=build/asan CC='$cc' build/asan/heapprof)"
    printf '%s\n' "$HP_ROOT/build/asan/heapprof"
}
