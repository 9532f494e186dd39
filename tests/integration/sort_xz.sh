#!/usr/bin/env bash
# sort and xz under `heapprof run` on a generated file of a few MB: the sorted
# output, the compressed bytes and the decompressed round trip are the same as
# in a plain run.
source "$(dirname "$0")/lib/common.bash"
hp_need sort xz cmp sha256sum

# ~2.7 MB of lines with repeated and distinct keys, some numeric fields
"$PY" - "$HP_TMP/input.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    x = 12345
    for i in range(90000):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        f.write("%08x key%05d %d %s\n" % (x, x % 20011, (x >> 7) % 100000 - 50000, "abcdefgh"[x % 8] * (x % 9)))
PY
[[ $(stat -c %s "$HP_TMP/input.txt") -gt 2000000 ]] || hp_fail "input too small"

workload() {
    hp_run sort -o sorted.txt "$HP_TMP/input.txt"
    hp_run sort -S 1M --parallel=2 -k2,2 -k3,3n -t ' ' "$HP_TMP/input.txt" >bykey.txt
    hp_run sort -u -k2,2 "$HP_TMP/input.txt" | wc -l
    hp_run sort -c "$HP_TMP/input.txt" || true # unsorted: exits 1 with a message
    hp_run xz -T1 -2 -c sorted.txt >sorted.txt.xz
    hp_run xz -T2 -1 -k bykey.txt
    hp_run xz -d -c sorted.txt.xz >roundtrip.txt
    hp_run xz -d -c -T2 bykey.txt.xz | cmp - bykey.txt
    hp_run xz -t -v bykey.txt.xz 2>&1
    hp_run xz -d -c "$HP_TMP/input.txt" || true # not xz: exits 1 with a message
    cmp roundtrip.txt sorted.txt && echo "round trip ok"
    sha256sum sorted.txt bykey.txt sorted.txt.xz bykey.txt.xz
}
hp_compare sort_xz workload
grep -q 'round trip ok' "$HP_TMP/sort_xz.hp.out" || hp_fail "xz round trip failed under heapprof"
hp_check_stats "$HP_PROF" "sort -o sorted.txt $HP_TMP/input.txt" "xz -T1 -2 -c sorted.txt" \
    "xz -d -c sorted.txt.xz" >/dev/null
echo "sort_xz: ok"
