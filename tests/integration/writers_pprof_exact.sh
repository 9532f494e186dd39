#!/usr/bin/env bash
# Profile writers, full mode (HEAPPROF_RATE=1), on tests/programs/writers_workload.c:
#  - go tool pprof (-raw, -top -sample_index=alloc_space, -traces) and the
#    pprof-format npm package accept the pprof file; sample types, period
#    type, string table[0] == "", ids, labels (tag, trace_id, bytes);
#  - per-function alloc_objects/alloc_space/inuse_objects/inuse_space, read
#    from pprof's own -top output (and -raw, and pprof-format), equal the
#    truth the program computed with malloc_usable_size;
#  - the DHAT file's tb/tbk/eb/ebk per function equal the requested bytes;
#  - the exit dump has heapprof.<pid>.final.<ext> links, no *.tmp.* is left.
source "$(dirname "$0")/lib/common.bash"
hp_need go node
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
prog=$(hp_program writers_workload)
out=$HP_TMP/out

LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$out HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof,dhat,stats \
    "$prog" >truth.txt 2>err.txt || hp_fail "writers_workload failed: $(cat err.txt)"
[[ ! -s err.txt ]] || hp_fail "unexpected stderr from the preloaded workload: $(cat err.txt)"
grep -q '^done$' truth.txt || hp_fail "writers_workload did not finish: $(cat truth.txt)"
cat truth.txt >&2

shopt -s nullglob
finals=("$out"/heapprof.*.final.pb.gz)
[[ ${#finals[@]} -eq 1 ]] || hp_fail "want one heapprof.<pid>.final.pb.gz in $out, have: $(ls "$out")"
pid=${finals[0]#"$out"/heapprof.}
pid=${pid%%.*}
for ext in pb.gz dhat.json stats.json; do
    link=$out/heapprof.$pid.final.$ext
    [[ -L $link ]] || hp_fail "$link is not a symlink"
    target=$(readlink "$link")
    [[ $target =~ ^heapprof\.$pid\.[0-9]+\.$ext$ ]] || hp_fail "$link points to '$target'"
    [[ -s $out/$target ]] || hp_fail "$link points to a missing or empty file"
done
tmps=("$out"/*.tmp.*)
[[ ${#tmps[@]} -eq 0 ]] || hp_fail "temporary files left behind: ${tmps[*]}"

"${W[@]}" pprof-accept --labels tag,trace_id,bytes "$out"/heapprof.*.[0-9]*.pb.gz
"${W[@]}" pprof-truth --exact --truth truth.txt --pprof "$out/heapprof.$pid.final.pb.gz"
"${W[@]}" dhat-truth --exact --truth truth.txt --dhat "$out/heapprof.$pid.final.dhat.json"
echo "writers_pprof_exact: ok"
