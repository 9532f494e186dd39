#!/usr/bin/env bash
# free() reads block sizes from mimalloc's page metadata only after a
# start-up check against mi_usable_size() (alloc/mi_layout.c). On the
# mimalloc this layout was written for (2.0.9, mi_version 209) the check must
# pass, or every free pays an extra call; on any other version the reader
# must stay off. The debug log says which; tests/unit/usable_size_reader.c
# checks the answers themselves.
set -euo pipefail
: "${HP_LIB:?run through tests/run.sh}"
line=$(LD_PRELOAD="$HP_LIB" HEAPPROF_LOG=debug HEAPPROF_OUT="$HP_TMP/out" /bin/true 2>&1 |
    grep '^heapprof: mimalloc ' || true)
echo "$line"
version=$(sed -n 's/^heapprof: mimalloc \([0-9]*\): .*/\1/p' <<<"$line")
[[ -n $version ]] || { echo "FAIL: no mimalloc line in the debug log" >&2; exit 1; }
if [[ $version == 209 ]]; then
    [[ $line == *"page layout verified"* ]] || { echo "FAIL: layout check failed on mimalloc 2.0.9" >&2; exit 1; }
else
    [[ $line == *"not verified"* ]] || { echo "FAIL: reader on for unchecked mimalloc $version" >&2; exit 1; }
fi
echo "mi_layout: ok"
