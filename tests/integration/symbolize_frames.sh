#!/usr/bin/env bash
# Symbolization of tests/programs/symbolize_frames.c built with -O2 -g:
#  - a static function (which GCC clones to sym_static_alloc.constprop.0)
#    is named sym_static_alloc, with its file:line, in DHAT and pprof;
#  - an always_inline helper calling malloc is a frame of its own
#    (sym_inline_helper at the malloc line) followed by the function it was
#    inlined into (sym_inline_caller at the call line) at the same address:
#    DHAT has two frames with one address, pprof one Location with two Lines
#    (helper first) -- and go tool pprof -top gives the helper the flat bytes
#    and the caller the same cum bytes;
#  - an ordinary function is named with file:line; main is its caller.
source "$(dirname "$0")/lib/common.bash"
hp_need cc go node
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
src=$HP_ROOT/tests/programs/symbolize_frames.c
bin=$HP_TMP/symbolize_frames
cc -std=gnu11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror "$src" -o "$bin" || hp_fail "cannot build $bin"
line() { grep -n "LINE:$1 " "$src" | cut -d: -f1; }
static_l=$(line static_malloc) inline_l=$(line inline_malloc) call_l=$(line inline_call) exp_l=$(line exported_malloc)
nm "$bin" | grep ' sym_' >&2

LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/out HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof,dhat "$bin" >run.out 2>run.err ||
    hp_fail "symbolize_frames failed: $(cat run.err)"
dhat=$(echo "$HP_TMP"/out/heapprof.*.final.dhat.json)
pprof=$(echo "$HP_TMP"/out/heapprof.*.final.pb.gz)
"${W[@]}" frames --dhat "$dhat" >&2

cat >spec.json <<JSON
[
 {"tb": 300000, "frames": [{"fn": "sym_static_alloc", "file": "symbolize_frames.c", "line": $static_l},
                           {"fn": "main", "file": "symbolize_frames.c"}]},
 {"tb": 200000, "same_address": [[0, 1]],
  "frames": [{"fn": "sym_inline_helper", "file": "symbolize_frames.c", "line": $inline_l},
             {"fn": "sym_inline_caller", "file": "symbolize_frames.c", "line": $call_l},
             {"fn": "main", "file": "symbolize_frames.c"}]},
 {"tb": 51600, "frames": [{"fn": "sym_exported", "file": "symbolize_frames.c", "line": $exp_l},
                          {"fn": "main", "file": "symbolize_frames.c"}]}
]
JSON
bad=0
"${W[@]}" expect --dhat "$dhat" --pprof "$pprof" --spec spec.json || bad=1

# pprof's own view of the inline frame: flat in the helper, cum in the caller
HOME=$HP_TMP GOCACHE=$HP_TMP/gocache go tool pprof -symbolize=none -top -nodecount=100 -unit=B \
    -sample_index=alloc_space "$pprof" >top.txt 2>&1 || hp_fail "go tool pprof -top failed: $(cat top.txt)"
cat top.txt >&2
awk '/ sym_inline_helper( \(inline\))?$/ && $1 != "0" { found = 1 } END { exit !found }' top.txt ||
    { echo "FAIL: pprof -top gives sym_inline_helper no flat bytes" >&2; bad=1; }
awk '/ sym_inline_caller$/ && $4 != "0" { found = 1 } END { exit !found }' top.txt ||
    { echo "FAIL: pprof -top does not list sym_inline_caller with cum bytes" >&2; bad=1; }

"${W[@]}" pprof-accept "$pprof"
"${W[@]}" dhat-view "$dhat@sym_static_alloc"
[[ $bad -eq 0 ]] || hp_fail "frames are not symbolized as expected (see above)"
echo "symbolize_frames: ok"
