#!/usr/bin/env bash
# DHAT files from tests/programs/writers_workload.c, in full mode (with an
# odd tag name: quote, backslash, newline), in sampled mode, with sampling off
# (HEAPPROF_RATE=0, no program points) and zstd-compressed, load into
# Valgrind's real viewer (/usr/libexec/valgrind/dh_view.html, its own
# loadFile(), in jsdom via lib/dhat_view.js) with no error for any sort
# metric; under "Total (bytes)" the top program point is wl_churn (and in
# full mode, under "At t-end (bytes)", wl_keep_big). The .dhat.json.zst file decompresses to
# the .dhat.json of the same dump.
source "$(dirname "$0")/lib/common.bash"
hp_need node zstd
[[ -f /usr/libexec/valgrind/dh_view.html ]] || hp_fail "Valgrind's dh_view.html is not installed (valgrind package, tests/integration/deps.txt)"
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
prog=$(hp_program writers_workload)

run() { # DIR RATE ARGS...
    local dir=$1 rate=$2
    shift 2
    LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$dir HEAPPROF_RATE=$rate HEAPPROF_SEED=3 \
        HEAPPROF_FORMAT=dhat,dhat.zst,stats "$prog" "$@" >"$dir.out" 2>"$dir.err" ||
        hp_fail "writers_workload $* (rate $rate) failed: $(cat "$dir.err")"
    grep -q '^done$' "$dir.out" || hp_fail "writers_workload $* did not finish"
}
run "$HP_TMP/full" 1 1 0 oddtag
run "$HP_TMP/sampled" 65536 20 65536
run "$HP_TMP/off" 0 1 0

files=()
for dir in full sampled off; do
    shopt -s nullglob
    f=("$HP_TMP/$dir"/heapprof.*.final.dhat.json)
    [[ ${#f[@]} -eq 1 ]] || hp_fail "no final DHAT file in $HP_TMP/$dir: $(ls "$HP_TMP/$dir")"
    zst=${f[0]}.zst
    [[ -f $zst ]] || hp_fail "no $zst"
    zstd -q -d -c <"$zst" >"$HP_TMP/$dir.from-zst.dhat.json" || hp_fail "zstd cannot decompress $zst"
    cmp -s "$HP_TMP/$dir.from-zst.dhat.json" "$(readlink -f "${f[0]}")" ||
        hp_fail "$zst does not decompress to ${f[0]}"
    files+=("${f[0]}")
done
grep -q '"\[tag: odd \\"tag\\" \\\\ with\\u000anewline\]"\|"\[tag: odd \\"tag\\" \\\\ with\\nnewline\]"' "${files[0]}" ||
    hp_fail "the odd tag is not a [tag: ...] frame in ${files[0]}"

# (the RATE=0 file has no program points at all)
"${W[@]}" dhat-view "${files[0]}@wl_churn@wl_keep_big" "$HP_TMP/full.from-zst.dhat.json@wl_churn@wl_keep_big" \
    "${files[1]}@wl_churn" "${files[2]}@"
echo "writers_dhat_viewer: ok"
