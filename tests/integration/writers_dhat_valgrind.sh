#!/usr/bin/env bash
# Full-mode DHAT output against `valgrind --tool=dhat` on the same program
# (tests/programs/writers_dhat_small.c: malloc, calloc, aligned_alloc,
# posix_memalign, memalign, zero-byte and 1-3 MiB blocks, freed at once, later
# or never; no realloc, no stdio): per allocating function (matched by the
# innermost frame that names a dh_* function) the number of program points
# and tb, tbk, eb, ebk agree exactly. Both count requested bytes; Valgrind
# counts a zero-byte block as 1 byte, so for dh_zero tb/eb are compared as
# Valgrind's minus its block counts. heapprof's files also load in
# dh_view.html (jsdom) and go tool pprof / pprof-format.
source "$(dirname "$0")/lib/common.bash"
hp_need valgrind node go
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
prog=$(hp_program writers_dhat_small)

valgrind --tool=dhat --dhat-out-file="$HP_TMP/valgrind.dhat" "$prog" >vg.out 2>vg.err ||
    hp_fail "valgrind --tool=dhat failed: $(tail -5 vg.err)"
[[ -s $HP_TMP/valgrind.dhat ]] || hp_fail "valgrind wrote no DHAT file"
LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/out HEAPPROF_RATE=1 HEAPPROF_FORMAT=dhat,pprof "$prog" >hp.out 2>hp.err ||
    hp_fail "writers_dhat_small failed under heapprof: $(cat hp.err)"
[[ ! -s hp.out && ! -s hp.err ]] || hp_fail "unexpected output under heapprof: $(cat hp.out hp.err)"
dhat=$(echo "$HP_TMP"/out/heapprof.*.final.dhat.json)
[[ -f $dhat ]] || hp_fail "no final DHAT file in $HP_TMP/out: $(ls "$HP_TMP/out")"

"${W[@]}" dhat-vs-valgrind --heapprof "$dhat" --valgrind "$HP_TMP/valgrind.dhat" \
    --funcs dh_malloc,dh_calloc,dh_aligned_alloc,dh_posix_memalign,dh_memalign,dh_big \
    --zero-byte-funcs dh_zero
"${W[@]}" dhat-view "$dhat@dh_big" "$HP_TMP/valgrind.dhat"
"${W[@]}" pprof-accept "$HP_TMP"/out/heapprof.*.final.pb.gz
echo "writers_dhat_valgrind: ok"
