# Where no CUDA toolkit is installed the library still builds, with GPU
# support compiled out, and make says so; asking for GPU tracking then gets
# exactly one heapprof: line and changes nothing else. tests/gpu.mk builds
# that library (CUDA_HOME=/nonexistent/cuda) on every run.
source "$(dirname "$0")/lib/common.bash"

dir=$HP_ROOT/build/tests/gpu/nocuda
lib=$dir/libheapprof.so
[[ -f $lib ]] || hp_fail "the no-CUDA build is missing: $lib (make -f tests/tests.mk)"
grep -q '^heapprof: no CUDA toolkit (/nonexistent/cuda/include/cupti.h not found): building without GPU support' \
    "$dir/make.log" || { head -n 3 "$dir/make.log" >&2; hp_fail "make did not say GPU support is compiled out"; }
if nm -D "$lib" | grep -qi cupti || strings "$lib" | grep -q cuptiSubscribe; then
    hp_fail "the no-CUDA build still refers to CUPTI"
fi
nm -D --defined-only "$lib" | grep -qw InitializeInjection || hp_fail "no InitializeInjection in the no-CUDA build"

for how in HEAPPROF_GPU=1 "CUDA_INJECTION64_PATH=$lib"; do
    rc_plain=0 rc_hp=0
    "$PY" -c 'print("hello")' >"$HP_TMP/plain.out" 2>"$HP_TMP/plain.err" || rc_plain=$?
    env LD_PRELOAD="$lib" "$how" HEAPPROF_OUT="$HP_TMP/prof" "$PY" -c 'print("hello")' \
        >"$HP_TMP/hp.out" 2>"$HP_TMP/hp.err" || rc_hp=$?
    cmp -s "$HP_TMP/plain.out" "$HP_TMP/hp.out" || hp_fail "$how: stdout differs"
    [[ $rc_plain -eq $rc_hp ]] || hp_fail "$how: exit $rc_hp, plain $rc_plain"
    [[ $(grep -c . "$HP_TMP/hp.err") -eq 1 ]] || { cat "$HP_TMP/hp.err" >&2; hp_fail "$how: want one line on stderr"; }
    grep -q '^heapprof: GPU tracking is off (.*): this libheapprof was built without CUDA support' \
        "$HP_TMP/hp.err" || { cat "$HP_TMP/hp.err" >&2; hp_fail "$how: not the compiled-out line"; }
    hp_note "$how: $(cat "$HP_TMP/hp.err")"
done
if ls "$HP_TMP/prof" | grep -q '\.gpu\.'; then hp_fail "GPU files from a build without GPU support"; fi
hp_check_stats "$HP_TMP/prof" >/dev/null
