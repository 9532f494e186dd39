#!/usr/bin/env bash
# Frames in libraries that were dlclose'd before the dump
# (tests/programs/symbolize_dlclose.c): the program dlopens libsymone.so,
# allocates through symlib_one_alloc, dlcloses it, then dlopens libsymtwo.so
# (typically at the same address), allocates through symlib_two_alloc and
# dlcloses it too; at exit both libraries are unmapped. The exit dump must
# still name symlib_one_alloc and symlib_two_alloc with file:line, both in
# DHAT and pprof, their pprof locations must belong to mappings of the right
# library files, and the frames of the program (use, main) stay named.
source "$(dirname "$0")/lib/common.bash"
hp_need cc go node
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
src=$HP_ROOT/tests/programs/symbolize_dlclose.c
prog=$(hp_program symbolize_dlclose)
one=$HP_TMP/libsymone.so
two=$HP_TMP/libsymtwo.so
cc -shared -fPIC -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -DSYMLIB_VARIANT=1 "$src" -o "$one" ||
    hp_fail "cannot build $one"
cc -shared -fPIC -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -DSYMLIB_VARIANT=2 "$src" -o "$two" ||
    hp_fail "cannot build $two"
line() { grep -n "LINE:$1 " "$src" | cut -d: -f1; }

LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/out HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof,dhat "$prog" "$one" "$two" \
    >run.out 2>run.err || hp_fail "symbolize_dlclose failed: $(cat run.err)"
cat run.out >&2
grep -q '^done$' run.out || hp_fail "symbolize_dlclose did not finish"
[[ $(sed -n 's/^one at //p' run.out) == $(sed -n 's/^two at //p' run.out) ]] &&
    hp_note "libsymtwo.so was loaded where libsymone.so had been"
dhat=$(echo "$HP_TMP"/out/heapprof.*.final.dhat.json)
pprof=$(echo "$HP_TMP"/out/heapprof.*.final.pb.gz)

cat >spec.json <<JSON
[
 {"tb": 250000, "frames": [{"fn": "symlib_one_alloc", "file": "symbolize_dlclose.c", "line": $(line one_malloc), "mapping": "$one"},
                           {"fn": "use", "file": "symbolize_dlclose.c"}, {"fn": "main", "file": "symbolize_dlclose.c"}]},
 {"tb": 210000, "frames": [{"fn": "symlib_two_alloc", "file": "symbolize_dlclose.c", "line": $(line two_malloc), "mapping": "$two"},
                           {"fn": "use", "file": "symbolize_dlclose.c"}, {"fn": "main", "file": "symbolize_dlclose.c"}]}
]
JSON
"${W[@]}" expect --dhat "$dhat" --pprof "$pprof" --spec spec.json
"${W[@]}" pprof-accept "$pprof"
"${W[@]}" dhat-view "$dhat@symlib_one_alloc"
echo "symbolize_dlclose: ok"
