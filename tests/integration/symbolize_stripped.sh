#!/usr/bin/env bash
# Stripped binaries (`strip` on copies of tests/programs/symbolize_frames.c
# built with -O2 -g): no DWARF and no .symtab is left, so
#  - linked with -rdynamic: exported functions (sym_inline_caller -- the
#    physical function, the inlined helper is gone --, sym_exported, main)
#    are named from .dynsym: DHAT "0xADDR: fn (in /path/to/copy)", pprof
#    function "fn"; the static sym_static_alloc is not exported and shows as
#    "??? (in /path)" in DHAT and as "[copy-name]" (or "??") in pprof, never
#    under a wrong name such as a neighbouring exported symbol;
#  - linked without -rdynamic: every frame of the program is "??? (in /path)".
# The files still load in go tool pprof, pprof-format and dh_view.html.
source "$(dirname "$0")/lib/common.bash"
hp_need cc strip go node
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
src=$HP_ROOT/tests/programs/symbolize_frames.c
dyn=$HP_TMP/frames_dyn_stripped
plain=$HP_TMP/frames_stripped
cc -std=gnu11 -O2 -g -fno-omit-frame-pointer -rdynamic "$src" -o "$dyn" || hp_fail "cannot build $dyn"
cc -std=gnu11 -O2 -g -fno-omit-frame-pointer "$src" -o "$plain" || hp_fail "cannot build $plain"
strip "$dyn" "$plain" || hp_fail "strip failed"
readelf -S "$dyn" | grep -q '\.debug_info\|\.symtab' && hp_fail "$dyn still has .debug_info or .symtab"
nm -D --defined-only "$dyn" | grep -w 'sym_exported' >/dev/null || hp_fail "sym_exported is not in .dynsym of $dyn"

unknown() { # NAME PATH: what an unnamed frame of PATH may be called in pprof
    printf '{"fn": "???", "in": "%s", "pprof_fn": ["[%s]", "??"]}' "$2" "$(basename "$2")"
}
named() { printf '{"fn": "%s", "in": "%s"}' "$1" "$2"; }

bad=0
for bin in "$dyn" "$plain"; do
    out=$HP_TMP/out-$(basename "$bin")
    LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$out HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof,dhat "$bin" >run.out 2>run.err ||
        hp_fail "$bin failed: $(cat run.err)"
    dhat=$(echo "$out"/heapprof.*.final.dhat.json)
    pprof=$(echo "$out"/heapprof.*.final.pb.gz)
    if [[ $bin == "$dyn" ]]; then
        caller=$(named sym_inline_caller "$bin") exported=$(named sym_exported "$bin") main=$(named main "$bin")
    else
        caller=$(unknown x "$bin") exported=$(unknown x "$bin") main=$(unknown x "$bin")
    fi
    cat >spec.json <<JSON
[
 {"tb": 300000, "frames": [$(unknown x "$bin"), $main]},
 {"tb": 200000, "frames": [$caller, $main]},
 {"tb": 51600, "frames": [$exported, $main]}
]
JSON
    echo "=== $bin" >&2
    "${W[@]}" expect --dhat "$dhat" --pprof "$pprof" --spec spec.json || bad=1
    "${W[@]}" pprof-accept "$pprof" || bad=1
    files+=("$dhat")
done
"${W[@]}" dhat-view "${files[@]}" || bad=1
[[ $bad -eq 0 ]] || hp_fail "stripped frames are not named as expected (see above)"
echo "symbolize_stripped: ok"
