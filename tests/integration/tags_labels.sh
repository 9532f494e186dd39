#!/usr/bin/env bash
# Labels (tests/programs/tags_labels.c): heapprof_label_set/clear refuse the
# key "tag", bad keys and values and a 17th label per thread, and hold up
# under 8 threads setting, replacing and clearing labels while allocating,
# freeing each other's blocks and pushing tags, with a dump in the middle.
# Run sampled (every sampled block records its labels) and at rate 1 (every
# block does), writing every format; the program checks each return value.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program tags_labels)

for rate in 4096 1; do
    d=$HP_TMP/rate$rate
    rc=0
    env LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$d" HEAPPROF_RATE=$rate HEAPPROF_SEED=3 \
        "$prog" >"$HP_TMP/out.$rate" 2>"$HP_TMP/err.$rate" </dev/null || rc=$?
    cat "$HP_TMP/err.$rate" >&2
    [[ $rc -eq 0 ]] || hp_fail "tags_labels at rate $rate: exit status $rc (failed checks above)"
    grep -qx 'tags_labels: 0 failures' "$HP_TMP/out.$rate" || hp_fail "tags_labels at rate $rate did not finish"
    # the mid-run dump and the exit dump were both written
    n=$(grep -l '"reason": "labels"' "$d"/heapprof.*.stats.json 2>/dev/null | wc -l)
    [[ $n -eq 1 ]] || hp_fail "rate $rate: expected one stats.json from heapprof_dump(\"labels\"), found $n"
    hp_check_stats "$d" "$prog" >/dev/null
    hp_note "rate $rate: ok ($(ls "$d" | wc -l) files)"
done
echo "tags_labels: ok"
