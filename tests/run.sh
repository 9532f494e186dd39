#!/usr/bin/env bash
# Runs every test: the unit binaries in build/tests/unit under the preloaded
# library, then every tests/integration/*.sh. One line per test, a log per
# failure, and the closing "N passed, N failed" line.
#   tests/run.sh [PATTERN]   run only tests whose name contains PATTERN
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
export HP_ROOT=$root HP_BUILD=$root/build
export HP_LIB=$root/build/libheapprof.so HP_CLI=$root/build/heapprof
export HP_PROGRAMS=$root/build/tests/programs
logdir=$root/build/test-logs
mkdir -p "$logdir"
filter=${1:-}
passed=0 failed=0 failed_names=()

run_one() { # name, command...
    local name=$1; shift
    [[ -n $filter && $name != *"$filter"* ]] && return
    local log=$logdir/${name//\//_}.log
    local tmp; tmp=$(mktemp -d /tmp/heapprof-test.XXXXXX)
    local start=$SECONDS
    if (cd "$tmp" && HP_TMP=$tmp timeout 600 "$@") >"$log" 2>&1; then
        passed=$((passed + 1)); printf 'PASS %-40s %3ds\n' "$name" $((SECONDS - start))
    else
        failed=$((failed + 1)); failed_names+=("$name")
        printf 'FAIL %-40s %3ds  (log: %s)\n' "$name" $((SECONDS - start)) "${log#"$root"/}"
        tail -n 15 "$log" | sed 's/^/     | /'
    fi
    rm -rf "$tmp"
}

for src in "$root"/tests/unit/*.c; do
    t=$root/build/tests/unit/$(basename "$src" .c)
    [[ -x $t ]] || { echo "unit test not built: $t" >&2; failed=$((failed + 1)); continue; }
    run_one "unit/$(basename "$t")" env LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="/tmp/heapprof-unit-$$" "$t"
done
for t in "$root"/tests/integration/*.sh; do
    [[ -f $t ]] || continue
    run_one "integration/$(basename "$t" .sh)" bash "$t"
done
rm -rf "/tmp/heapprof-unit-$$"

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
