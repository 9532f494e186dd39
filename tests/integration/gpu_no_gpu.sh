# On a machine without a GPU or driver, asking for GPU tracking prints exactly
# one "heapprof:" line and changes nothing else: stdout, the rest of stderr,
# the exit status and the working directory stay as they are without
# heapprof, and no GPU file or stats section appears. Uses the real libcupti
# of the CUDA toolkit (found by heapprof's own search).
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/gpu.bash"

hp_real_cupti >/dev/null || hp_fail "no libcupti.so under $CUDA_HOME"
if ls /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1 >/dev/null 2>&1; then
    echo "SKIP: a CUDA driver (libcuda.so.1) is installed; this test is for machines without one" >&2
    exit 0
fi
cudart=$(hp_program gpu_cudart)
inject=$(hp_program gpu_inject)

# same NAME EXPECTED_LINES PATTERN -- ENV... -- CMD... : runs CMD plainly, then
# with ENV; both in an empty directory of their own.
same() {
    local name=$1 want=$2 pattern=$3
    shift 3
    [[ $1 == -- ]] || hp_fail "same: missing --"
    shift
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    local mode rc
    for mode in plain hp; do
        rm -rf "$HP_TMP/w.$mode" && mkdir -p "$HP_TMP/w.$mode"
        rc=0
        if [[ $mode == plain ]]; then
            (cd "$HP_TMP/w.$mode" && "$@") >"$HP_TMP/$name.$mode.out" 2>"$HP_TMP/$name.$mode.err" || rc=$?
        else
            (cd "$HP_TMP/w.$mode" && env "${envs[@]}" "$@") >"$HP_TMP/$name.$mode.out" \
                2>"$HP_TMP/$name.$mode.err" || rc=$?
        fi
        echo "$rc" >"$HP_TMP/$name.$mode.rc"
        (cd "$HP_TMP/w.$mode" && find . -mindepth 1 | sort) >"$HP_TMP/$name.$mode.tree"
    done
    grep -v '^heapprof:' "$HP_TMP/$name.hp.err" >"$HP_TMP/$name.hp.rest" || true
    local what
    for what in out rc tree; do
        cmp -s "$HP_TMP/$name.plain.$what" "$HP_TMP/$name.hp.$what" || {
            diff -u "$HP_TMP/$name.plain.$what" "$HP_TMP/$name.hp.$what" >&2
            hp_fail "$name: $what differs under heapprof"
        }
    done
    cmp -s "$HP_TMP/$name.plain.err" "$HP_TMP/$name.hp.rest" || {
        diff -u "$HP_TMP/$name.plain.err" "$HP_TMP/$name.hp.rest" >&2
        hp_fail "$name: stderr (besides heapprof: lines) differs under heapprof"
    }
    if [[ $want -eq 0 ]]; then
        [[ -z $(hp_heapprof_lines "$HP_TMP/$name.hp.err") ]] ||
            hp_fail "$name: unexpected heapprof: lines: $(hp_heapprof_lines "$HP_TMP/$name.hp.err")"
        hp_note "$name: identical, no heapprof: line"
    else
        hp_one_line "$HP_TMP/$name.hp.err" "$pattern"
        hp_note "$name: identical besides that line (exit $(cat "$HP_TMP/$name.plain.rc"))"
    fi
}

no_gpu_files() { # DIR: profiles were written, none of them GPU ones
    local dir=$1
    ls "$dir"/heapprof.*.final.stats.json >/dev/null 2>&1 || hp_fail "no profiles in $dir"
    if ls "$dir" | grep -q '\.gpu\.'; then hp_fail "GPU files written with tracking off: $(ls "$dir")"; fi
    if grep -l '"gpu"' "$dir"/*.stats.json; then hp_fail "a gpu section with tracking off"; fi
    if compgen -G "$dir/*.prom" >/dev/null && grep -q heapprof_gpu_ "$dir"/*.prom; then
        hp_fail "GPU metrics with tracking off"
    fi
}

off='GPU tracking is off: cuptiSubscribe failed with CUPTI_ERROR_'
py='import json; print(len(json.dumps([{"k": str(i)} for i in range(50000)])))'

# A CPU program.
same cpu_python 1 "$off" -- LD_PRELOAD="$HP_LIB" HEAPPROF_GPU=1 HEAPPROF_OUT="$HP_TMP/p1" \
    HEAPPROF_FORMAT=pprof,dhat,stats,prom -- "$PY" -c "$py"
no_gpu_files "$HP_TMP/p1"
printf '%s\n' pear apple fig >"$HP_TMP/fruit"
same cpu_sort 1 "$off" -- LD_PRELOAD="$HP_LIB" HEAPPROF_GPU=1 HEAPPROF_OUT="$HP_TMP/p2" -- \
    sort "$HP_TMP/fruit"

# A program linked against libcudart: CUDA's own errors are unchanged.
same cudart 1 "$off" -- LD_PRELOAD="$HP_LIB" HEAPPROF_GPU=1 HEAPPROF_OUT="$HP_TMP/p3" \
    HEAPPROF_FORMAT=pprof,dhat,stats,prom -- "$cudart"
[[ $(cat "$HP_TMP/cudart.plain.rc") -eq 3 ]] || hp_fail "gpu_cudart found a GPU? $(cat "$HP_TMP/cudart.plain.out")"
no_gpu_files "$HP_TMP/p3"

# CUDA_INJECTION64_PATH alone: without a driver nothing loads the injection
# library, so heapprof is never in the process and cannot say anything.
same inject_only 0 "" -- CUDA_INJECTION64_PATH="$HP_LIB" -- "$cudart"
# ... preloaded as well, the injection route starts from the constructor.
same inject_preloaded 1 "$off" -- LD_PRELOAD="$HP_LIB" CUDA_INJECTION64_PATH="$HP_LIB" \
    HEAPPROF_OUT="$HP_TMP/p4" -- "$cudart"
# Loaded the way the driver loads it (dlopen, then InitializeInjection): no
# crash, the one line, and InitializeInjection still reports success so
# that CUDA's initialisation goes on as without heapprof.
rc=0
CUDA_INJECTION64_PATH="$HP_LIB" HEAPPROF_OUT="$HP_TMP/p5" "$inject" "$HP_LIB" \
    >"$HP_TMP/inject_dlopen.out" 2>"$HP_TMP/inject_dlopen.err" || rc=$?
[[ $rc -eq 0 ]] || hp_fail "gpu_inject exited $rc: $(cat "$HP_TMP/inject_dlopen.err")"
grep -qx 'InitializeInjection() = 1' "$HP_TMP/inject_dlopen.out" ||
    hp_fail "InitializeInjection did not return 1: $(cat "$HP_TMP/inject_dlopen.out")"
hp_one_line "$HP_TMP/inject_dlopen.err" "$off"
[[ $(grep -vc '^heapprof:' "$HP_TMP/inject_dlopen.err") -eq 0 ]] ||
    hp_fail "gpu_inject wrote more to stderr: $(cat "$HP_TMP/inject_dlopen.err")"
no_gpu_files "$HP_TMP/p5"

# HEAPPROF_LOG=quiet silences even that line.
same quiet 0 "" -- LD_PRELOAD="$HP_LIB" HEAPPROF_GPU=1 HEAPPROF_LOG=quiet \
    HEAPPROF_OUT="$HP_TMP/p6" -- "$cudart"
