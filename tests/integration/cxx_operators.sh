#!/usr/bin/env bash
# tests/programs/cxx_operators.cc under the preloaded library: every operator
# new/delete variant (plain, array, nothrow, sized, aligned to 16..64 MiB,
# aligned nothrow, sized+aligned) honours its alignment, returns distinct
# non-null pointers for size 0, throws std::bad_alloc (or returns nullptr) on
# impossible sizes, drives the new_handler as the standard says, and moves
# heapprof's counters by exactly the usable size of each block.
set -euo pipefail
: "${HP_LIB:?run through tests/run.sh}" "${HP_PROGRAMS:?run through tests/run.sh}"
prog=$HP_PROGRAMS/cxx_operators
[[ -x $prog ]] || { echo "FAIL: $prog not built (make -f tests/tests.mk)" >&2; exit 1; }
export HEAPPROF_OUT=${HP_TMP:-$(pwd)}/out
status=0
env LD_PRELOAD="$HP_LIB" timeout 300 "$prog" || status=$?
if [[ $status -ne 0 ]]; then
    echo "FAIL: cxx_operators exited with status $status" >&2
    exit 1
fi
echo "cxx_operators: ok"
