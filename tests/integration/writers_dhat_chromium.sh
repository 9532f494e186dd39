#!/usr/bin/env bash
# The full-mode and sampled DHAT files of tests/programs/writers_workload.c
# load into Valgrind's real dh_view.html in headless Chromium (Debian's
# chromium, from tests/integration/deps.txt): the file is handed to the
# viewer's own <input type=file> and loadFile(), every sort metric is
# selected in turn, the DOM (--dump-dom) shows no error, and the top program
# point under "Total (bytes)" is wl_churn (in full mode, under "At t-end
# (bytes)": wl_keep_big). See lib/dhat_chromium.py.
source "$(dirname "$0")/lib/common.bash"
hp_need chromium
[[ -f /usr/libexec/valgrind/dh_view.html ]] || hp_fail "Valgrind's dh_view.html is not installed (valgrind package, tests/integration/deps.txt)"
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
prog=$(hp_program writers_workload)

LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/full HEAPPROF_RATE=1 HEAPPROF_FORMAT=dhat "$prog" 1 0 oddtag >full.out ||
    hp_fail "writers_workload (full) failed"
LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/sampled HEAPPROF_RATE=65536 HEAPPROF_SEED=3 HEAPPROF_FORMAT=dhat \
    "$prog" 20 65536 >sampled.out || hp_fail "writers_workload (sampled) failed"
full=$(echo "$HP_TMP"/full/heapprof.*.final.dhat.json)
sampled=$(echo "$HP_TMP"/sampled/heapprof.*.final.dhat.json)
"${W[@]}" dhat-view --chromium "$full@wl_churn@wl_keep_big" "$sampled@wl_churn"
echo "writers_dhat_chromium: ok"
