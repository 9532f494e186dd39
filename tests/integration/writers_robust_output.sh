#!/usr/bin/env bash
# Profile output that cannot be written does not disturb the program:
#  - HEAPPROF_OUT under a regular file, and HEAPPROF_OUT=/proc/self (exists,
#    no files can be created there): the program's stdout and exit status are
#    those of a normal profiled run, and stderr is exactly one line, starting
#    with "heapprof:" (docs/formats.md: a failed write "prints one heapprof:
#    line");
#  - writes that fail half-way (RLIMIT_FSIZE 2 KiB, SIGXFSZ ignored, so
#    write(2) fails with EFBIG): nothing but "heapprof:" lines on stderr, no
#    *.tmp.* file left, no truncated profile (every file present is complete:
#    the pprof loads in go tool pprof, the JSON parses), the program unchanged;
#  - a normal run leaves no *.tmp.* file either.
source "$(dirname "$0")/lib/common.bash"
hp_need go node
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
prog=$(hp_program writers_workload)
small=$(hp_program writers_dhat_small)
shopt -s nullglob

# what a normal profiled run prints
rc=0
LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/ok HEAPPROF_RATE=1 "$prog" >ok.out 2>ok.err || rc=$?
echo "exit $rc" >>ok.out
[[ ! -s ok.err ]] || hp_fail "a normal profiled run wrote to stderr: $(cat ok.err)"
ls "$HP_TMP/ok" >&2
tmps=("$HP_TMP"/ok/*.tmp.*)
[[ ${#tmps[@]} -eq 0 ]] || hp_fail "a normal run left temporary files: ${tmps[*]}"

touch "$HP_TMP/a-file"
bad=0
for dir in "$HP_TMP/a-file/profiles" /proc/self; do
    for p in "$prog" "$small"; do
        name=$(basename "$p")
        rc=0
        LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$dir HEAPPROF_RATE=1 "$p" >bad.out 2>bad.err || rc=$?
        echo "exit $rc" >>bad.out
        if [[ $p == "$prog" ]] && ! cmp -s ok.out bad.out; then
            diff ok.out bad.out >&2 || true
            hp_fail "$name with HEAPPROF_OUT=$dir: stdout or exit status differ from a normal run"
        fi
        [[ $p == "$prog" ]] || grep -qx 'exit 0' bad.out || hp_fail "$name with HEAPPROF_OUT=$dir: $(cat bad.out)"
        n=$(wc -l <bad.err)
        echo "--- HEAPPROF_OUT=$dir, $name: $n line(s) on stderr:" >&2
        cat bad.err >&2
        if [[ $n -ne 1 ]] || ! grep -q '^heapprof: ' bad.err; then
            echo "FAIL: HEAPPROF_OUT=$dir ($name): want exactly one 'heapprof:' line on stderr, got $n" >&2
            bad=1
        fi
    done
done

# failing half-way: RLIMIT_FSIZE
mkdir -p "$HP_TMP/small-files"
(
    trap '' XFSZ
    ulimit -f 2
    rc=0
    LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/small-files HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof,dhat,stats,prom \
        "$prog" 1 0 >fsize.out 2>fsize.err || rc=$?
    echo "exit $rc" >>fsize.out
)
cmp -s ok.out fsize.out || hp_fail "with RLIMIT_FSIZE the program's stdout or exit status changed"
echo "--- RLIMIT_FSIZE 2 KiB: stderr:" >&2
cat fsize.err >&2
grep -qv '^heapprof: ' fsize.err && hp_fail "with RLIMIT_FSIZE, stderr has lines not from heapprof"
grep -q '^heapprof: ' fsize.err || hp_fail "with RLIMIT_FSIZE, heapprof did not report the failed writes"
ls -la "$HP_TMP/small-files" >&2
tmps=("$HP_TMP"/small-files/*.tmp.*)
[[ ${#tmps[@]} -eq 0 ]] || hp_fail "failed writes left temporary files: ${tmps[*]}"
for f in "$HP_TMP"/small-files/heapprof.*.[0-9]*.*; do
    case $f in
    *.pb.gz) "${W[@]}" pprof-accept "$f" || hp_fail "$f is incomplete" ;;
    *.json) "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" || hp_fail "$f is incomplete" ;;
    *.prom) tail -c 1 "$f" | od -c | grep -q '\\n' || hp_fail "$f is truncated" ;;
    esac
done
for f in "$HP_TMP"/small-files/heapprof.*.final.*; do
    [[ -e $f ]] || hp_fail "dangling final link $f (its file was not written)"
done
[[ $bad -eq 0 ]] || hp_fail "an unwritable HEAPPROF_OUT gives more than one heapprof: line (see above)"
echo "writers_robust_output: ok"
