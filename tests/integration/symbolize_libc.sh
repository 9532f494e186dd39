#!/usr/bin/env bash
# HEAPPROF_SYMBOLIZE=fast (the default) and full on a program (built -O2 -g)
# that allocates through libc's strdup:
#  - fast: the libc frame is named (__strdup) with no file:line -- DHAT
#    "0xADDR: __strdup (in /path/libc.so.6)", pprof line 0 -- while the
#    program's frames keep file:line; libc's pprof mapping says [FN] only,
#    the program's [FN][FL][LN][IN]. With libc6-dbg's debug file installed,
#    a static libc function (__libc_start_call_main, absent from .dynsym) is
#    named too: names come from the debug file's .symtab, without its DWARF.
#  - full, with the debug file installed: the libc frame has strdup.c and a
#    line, the mapping [FN][FL][LN][IN]. Without it, the names-only path is
#    checked instead, and the log says so.
# Both files load in go tool pprof and pprof-format.
source "$(dirname "$0")/lib/common.bash"
hp_need cc go node readelf
unset DEBUGINFOD_URLS HEAPPROF_SYMBOLIZE
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")

cp "$HP_ROOT/tests/programs/symbolize/strdup.c" sym_libc.c
bin=$HP_TMP/sym_libc
cc -std=gnu11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror sym_libc.c -o "$bin" || hp_fail "cannot build $bin"
line() { grep -n "LINE:$1 " sym_libc.c | cut -d: -f1; }
call_l=$(line strdup_call) main_l=$(line main_call)

libc=$(readlink -f "$(ldd "$bin" | awk '/libc\.so\.6/ {print $3}')")
[[ -f $libc ]] || hp_fail "cannot find the libc of $bin (ldd: $(ldd "$bin"))"
build_id=$(readelf -n "$libc" | awk '/Build ID/ {print $3}')
debug=/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug
if [[ -n $build_id && -f $debug ]]; then
    have_debug=1
    hp_note "libc $libc, debug file $debug (libc6-dbg): checking names from its .symtab (fast) and its DWARF (full)"
else
    have_debug=0
    hp_note "libc $libc has no debug file ($debug missing; libc6-dbg not installed): checking the names-only path in both modes"
fi

run() { # MODE -> prints the out dir
    local out=$HP_TMP/out-$1
    LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$out HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof,dhat \
        HEAPPROF_SYMBOLIZE=$1 "$bin" >"run-$1.out" 2>"run-$1.err" || hp_fail "$bin ($1) failed: $(cat "run-$1.err")"
    [[ ! -s run-$1.err ]] || hp_fail "$1: heapprof wrote to stderr: $(cat "run-$1.err")"
    printf '%s\n' "$out"
}

# mapping flags by file, from go tool pprof -raw: "FILE FLAGS"
flags() {
    HOME=$HP_TMP GOCACHE=$HP_TMP/gocache go tool pprof -symbolize=none -raw "$1" 2>/dev/null |
        awk '/^Mappings/ { m = 1; next } m && NF >= 3 { print $3, ($5 == "" ? "-" : $5) }'
}
want_flags() { # PPROF FILE FLAGS
    local got
    got=$(flags "$1" | awk -v f="$2" '$1 == f { print $2 }')
    [[ $got == "$3" ]] || { echo "FAIL: mapping $2 has flags '$got', want '$3'" >&2; bad=1; }
}

bad=0
strdup='{"fn": "(regex)", "fn_re": "(__)?strdup"'
prog_frames='{"fn": "dup_strings", "file": "sym_libc.c", "line": '$call_l'},
              {"fn": "main", "file": "sym_libc.c", "line": '$main_l'}'

out=$(run fast)
dhat=$(echo "$out"/heapprof.*.final.dhat.json) pprof=$(echo "$out"/heapprof.*.final.pb.gz)
"${W[@]}" frames --dhat "$dhat" >&2
start=""
[[ $have_debug == 1 ]] &&
    start=', {"fn": "__libc_start_call_main", "in": "'$libc'", "line": 0, "mapping": "'$libc'"}'
cat >spec-fast.json <<JSON
[{"tb": 200000, "frames": [$strdup, "in": "$libc", "line": 0, "mapping": "$libc"}, $prog_frames $start]}]
JSON
echo "=== fast" >&2
"${W[@]}" expect --dhat "$dhat" --pprof "$pprof" --spec spec-fast.json || bad=1
want_flags "$pprof" "$libc" "[FN]"
want_flags "$pprof" "$bin" "[FN][FL][LN][IN]"
"${W[@]}" pprof-accept "$pprof" || bad=1

out=$(run full)
dhat=$(echo "$out"/heapprof.*.final.dhat.json) pprof=$(echo "$out"/heapprof.*.final.pb.gz)
echo "=== full" >&2
"${W[@]}" frames --dhat "$dhat" --pprof "$pprof" >frames.txt
grep -E 'strdup|start_call_main' frames.txt >&2 || true
if [[ $have_debug == 1 ]]; then
    cat >spec-full.json <<JSON
[{"tb": 200000, "frames": [{"fn": "(regex)", "fn_re": "(__GI_)?(__)?strdup", "file": "strdup.c", "mapping": "$libc"},
                           $prog_frames,
                           {"fn": "__libc_start_call_main", "file": "libc_start_call_main.h"}]}]
JSON
    "${W[@]}" expect --dhat "$dhat" --pprof "$pprof" --spec spec-full.json || bad=1
    # a line, not just a file
    "${W[@]}" frames --pprof "$pprof" >frames-full.txt
    grep -qE 'fn=(__GI_)?(__)?strdup file=\S*strdup\.c line=[1-9]' frames-full.txt ||
        { echo "FAIL: full: the strdup frame has no line" >&2; bad=1; }
    want_flags "$pprof" "$libc" "[FN][FL][LN][IN]"
else
    cat >spec-full.json <<JSON
[{"tb": 200000, "frames": [$strdup, "in": "$libc", "line": 0, "mapping": "$libc"}, $prog_frames]}]
JSON
    "${W[@]}" expect --dhat "$dhat" --pprof "$pprof" --spec spec-full.json || bad=1
    hp_note "full without libc's debug file: names only, as checked (not file:line)"
fi
want_flags "$pprof" "$bin" "[FN][FL][LN][IN]"
"${W[@]}" pprof-accept "$pprof" || bad=1

[[ $bad -eq 0 ]] || hp_fail "libc frames are not symbolized as expected (see above)"
echo "symbolize_libc: ok (libc debug file: $([[ $have_debug == 1 ]] && echo present || echo absent))"
