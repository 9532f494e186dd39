#!/usr/bin/env bash
# tests/programs/malloc_edges.c: the C allocation API at its edges (ENOMEM and
# EINVAL results, zero sizes, NULL, alignments, calloc zeroing, realloc
# contents) prints the same under `heapprof run` as with glibc.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program malloc_edges)

workload() {
    hp_run "$prog"
}
hp_compare malloc_edges workload
grep -q '^realloc grow/shrink keeps    1$' "$HP_TMP/malloc_edges.hp.out" || hp_fail "program did not run to the end"
hp_check_stats "$HP_PROF" "$prog" >/dev/null
echo "malloc_edges: ok"
