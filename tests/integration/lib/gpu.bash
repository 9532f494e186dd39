# Shared set-up of the GPU tests (sourced after common.bash). There is no GPU
# on CI: tests drive heapprof through a fake libcupti built by tests/gpu.mk,
# and check that with the real libcupti and no driver nothing changes.
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
HP_FAKE_CUPTI=$HP_ROOT/build/tests/gpu/fake/libcupti.so

# Without a CUDA toolkit there is nothing to build the GPU tests with, and
# libheapprof was built without GPU support: the test passes, saying so.
if [[ ! -f $CUDA_HOME/include/cupti.h ]]; then
    echo "SKIP: no CUDA toolkit at $CUDA_HOME (cupti.h); GPU support is compiled out" >&2
    exit 0
fi
[[ -f $HP_FAKE_CUPTI ]] || hp_fail "fake libcupti not built: $HP_FAKE_CUPTI (make -f tests/tests.mk)"

# The real libcupti heapprof finds by itself.
hp_real_cupti() {
    local p
    for p in "$CUDA_HOME/lib64/libcupti.so" "$CUDA_HOME/lib/libcupti.so" \
        "$CUDA_HOME/extras/CUPTI/lib64/libcupti.so"; do
        [[ -f $p ]] && { printf '%s\n' "$p"; return 0; }
    done
    return 1
}

# hp_heapprof_lines FILE : the "heapprof:" lines of a stderr capture.
hp_heapprof_lines() { grep '^heapprof:' "$1" || true; }

# hp_one_line FILE PATTERN : FILE holds exactly one heapprof: line, matching PATTERN.
hp_one_line() {
    local n
    n=$(grep -c '^heapprof:' "$1" || true)
    [[ $n -eq 1 ]] || { cat "$1" >&2; hp_fail "$1: $n heapprof: lines, want exactly 1"; }
    grep -q -- "$2" "$1" || { cat "$1" >&2; hp_fail "$1: the heapprof: line does not match '$2'"; }
    hp_note "one line: $(grep '^heapprof:' "$1")"
}
