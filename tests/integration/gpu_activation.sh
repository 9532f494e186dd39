# How GPU tracking starts and why it does not (with the fake libcupti):
# another CUPTI subscriber, a failing cuptiSubscribe, a missing
# HEAPPROF_CUPTI_PATH each give exactly one heapprof: line and no GPU data;
# the injection route (the library dlopen'd by "the driver", malloc not
# interposed) tracks GPU memory; both routes at once subscribe once; with
# sampling off GPU stacks are still captured; and libcupti of the toolkit
# links.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/gpu.bash"
hp_need go

callbacks=$(hp_program gpu_callbacks)
inject=$(hp_program gpu_inject)

# refused NAME PATTERN ENV... : gpu_callbacks cannot reach the callback; one line.
refused() {
    local name=$1 pattern=$2
    shift 2
    local rc=0
    env LD_PRELOAD="$HP_LIB" HEAPPROF_GPU=1 HEAPPROF_OUT="$HP_TMP/$name" "$@" "$callbacks" \
        >"$HP_TMP/$name.out" 2>"$HP_TMP/$name.err" || rc=$?
    hp_one_line "$HP_TMP/$name.err" "$pattern"
    # heapprof unloaded the library it could not use, so the program cannot find it
    [[ $rc -eq 2 ]] && grep -q 'the fake libcupti is not loaded' "$HP_TMP/$name.err" ||
        hp_fail "$name: gpu_callbacks exited $rc: $(cat "$HP_TMP/$name.err")"
    if ls "$HP_TMP/$name" 2>/dev/null | grep -q '\.gpu\.'; then hp_fail "$name: GPU files written"; fi
    hp_note "$name: exit $rc, no GPU files"
}

refused multiple 'another CUPTI client is subscribed (CUPTI for Nsight Systems' \
    HEAPPROF_CUPTI_PATH="$HP_FAKE_CUPTI" FAKE_CUPTI_SUBSCRIBE=multiple
refused no_driver 'cuptiSubscribe failed with CUPTI_ERROR_UNKNOWN' \
    HEAPPROF_CUPTI_PATH="$HP_FAKE_CUPTI" FAKE_CUPTI_SUBSCRIBE=unknown
refused missing "HEAPPROF_CUPTI_PATH=$HP_TMP/none/libcupti.so" \
    HEAPPROF_CUPTI_PATH="$HP_TMP/none/libcupti.so"

# gpu_stats DIR REASON : prints the gpu object of that dump's stats.json.
gpu_stats() {
    "$PY" - "$1" "$2" <<'PYEOF'
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/heapprof.*.[0-9]*.stats.json"):
    d = json.load(open(f))
    if d["reason"] == sys.argv[2]:
        g = d.get("gpu")
        print(json.dumps(None if g is None else
                         [g["activation"], g["live_bytes"], g["live_objects"], g["alloc_bytes"],
                          g["alloc_objects"], [t["name"] for t in g["tags"]],
                          d["process"]["alloc_objects"] > 0]))
PYEOF
}

# Injection route: dlopen'd into a process that did not preload it.
# cudaMalloc 1 MiB and cudaMallocManaged 64 KiB stay; cuMemAlloc_v2 4 KiB is freed.
rc=0
env CUDA_INJECTION64_PATH="$HP_LIB" HEAPPROF_CUPTI_PATH="$HP_FAKE_CUPTI" HEAPPROF_OUT="$HP_TMP/inj" \
    "$inject" "$HP_LIB" --alloc >"$HP_TMP/inj.out" 2>"$HP_TMP/inj.err" || rc=$?
cat "$HP_TMP/inj.out" "$HP_TMP/inj.err" >&2
[[ $rc -eq 0 ]] || hp_fail "gpu_inject --alloc exited $rc"
[[ -z $(hp_heapprof_lines "$HP_TMP/inj.err") ]] || hp_fail "heapprof complained: $(cat "$HP_TMP/inj.err")"
want='["CUDA_INJECTION64_PATH", 1114112, 2, 1118208, 3, ["main"], false]'
for reason in injected exit; do
    got=$(gpu_stats "$HP_TMP/inj" $reason)
    [[ $got == "$want" ]] || hp_fail "injection route, dump '$reason': got $got, want $want"
done
hp_note "injection route: GPU tracked, host allocator not interposed (no host allocations counted)"
ls "$HP_TMP"/inj/heapprof.*.final.gpu.pb.gz >/dev/null || hp_fail "no final gpu.pb.gz (injection)"

# Dlopen'd (not preloaded), HEAPPROF_GPU=1 does not start tracking from the
# constructor (the driver may be mid-cuInit); InitializeInjection does.
rc=0
env HEAPPROF_GPU=1 HEAPPROF_CUPTI_PATH="$HP_FAKE_CUPTI" HEAPPROF_OUT="$HP_TMP/dl" \
    "$inject" "$HP_LIB" --alloc >"$HP_TMP/dl.out" 2>"$HP_TMP/dl.err" || rc=$?
[[ $rc -eq 0 ]] || hp_fail "dlopen'd with HEAPPROF_GPU=1: exit $rc: $(cat "$HP_TMP/dl.err")"
got=$(gpu_stats "$HP_TMP/dl" exit)
want='["CUDA_INJECTION64_PATH", 1114112, 2, 1118208, 3, ["main"], false]'
[[ $got == "$want" ]] || hp_fail "dlopen'd with HEAPPROF_GPU=1: got $got, want $want"

# Both routes at once: one subscription (the fake refuses a second, which
# would show as a heapprof: line), activation named by the first.
rc=0
env LD_PRELOAD="$HP_LIB" HEAPPROF_GPU=1 CUDA_INJECTION64_PATH="$HP_LIB" \
    HEAPPROF_CUPTI_PATH="$HP_FAKE_CUPTI" HEAPPROF_OUT="$HP_TMP/both" HEAPPROF_RATE=0 \
    "$inject" "$HP_LIB" --alloc >"$HP_TMP/both.out" 2>"$HP_TMP/both.err" || rc=$?
[[ $rc -eq 0 ]] || hp_fail "both routes: exit $rc: $(cat "$HP_TMP/both.err")"
[[ -z $(hp_heapprof_lines "$HP_TMP/both.err") ]] || hp_fail "both routes: $(cat "$HP_TMP/both.err")"
want='["HEAPPROF_GPU", 1114112, 2, 1118208, 3, ["main"], true]'
got=$(gpu_stats "$HP_TMP/both" exit)
[[ $got == "$want" ]] || hp_fail "both routes: got $got, want $want"
hp_note "both routes: subscribed once"

# ... and with HEAPPROF_RATE=0 (no host sampling) the GPU stacks are still there.
traces=$(go tool pprof -traces -symbolize=none "$HP_TMP"/both/heapprof.*.final.gpu.pb.gz 2>&1)
grep -q 'sim_cudaMallocManaged' <<<"$traces" || { echo "$traces" >&2; hp_fail "no stack in gpu.pb.gz at rate 0"; }
grep -q 'main$' <<<"$traces" || hp_fail "gpu stack lacks main"

# A libcupti without cuptiSubscribe_v2 (older CUDA): the plain call is used.
rc=0
env LD_PRELOAD="$HP_LIB" HEAPPROF_GPU=1 HEAPPROF_CUPTI_PATH="$HP_ROOT/build/tests/gpu/fake_v1/libcupti.so" \
    HEAPPROF_OUT="$HP_TMP/v1" "$inject" "$HP_LIB" --alloc >"$HP_TMP/v1.out" 2>"$HP_TMP/v1.err" || rc=$?
[[ $rc -eq 0 && -z $(hp_heapprof_lines "$HP_TMP/v1.err") ]] || hp_fail "cuptiSubscribe only: exit $rc: $(cat "$HP_TMP/v1.err")"
got=$(gpu_stats "$HP_TMP/v1" exit)
want='["HEAPPROF_GPU", 1114112, 2, 1118208, 3, ["main"], true]'
[[ $got == "$want" ]] || hp_fail "cuptiSubscribe only: got $got, want $want"
refused multiple_v1 'another CUPTI client is subscribed (CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;' \
    HEAPPROF_CUPTI_PATH="$HP_ROOT/build/tests/gpu/fake_v1/libcupti.so" FAKE_CUPTI_SUBSCRIBE=multiple

# Four threads allocating and freeing at once, each under its own tag:
# every count exact (each cudaMalloc/cudaFree also makes one driver call).
rc=0
env LD_PRELOAD="$HP_LIB" HEAPPROF_GPU=1 HEAPPROF_CUPTI_PATH="$HP_FAKE_CUPTI" HEAPPROF_OUT="$HP_TMP/thr" \
    "$(hp_program gpu_threads)" >"$HP_TMP/thr.out" 2>"$HP_TMP/thr.err" || rc=$?
[[ $rc -eq 0 && -z $(hp_heapprof_lines "$HP_TMP/thr.err") ]] || hp_fail "gpu_threads: exit $rc: $(cat "$HP_TMP/thr.err")"
"$PY" - "$HP_TMP/thr" <<'PYEOF'
import glob, json, sys
THREADS, ROUNDS = 4, 500
doc = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/heapprof.*.[0-9]*.stats.json")
       if json.load(open(f))["reason"] == "threads"][0]
g = doc["gpu"]
size = lambda k: sum(1000 + 10 * k + i % 7 for i in range(ROUNDS))
want_total = (0, 0, sum(size(k) for k in range(THREADS)), THREADS * ROUNDS)
got_total = (g["live_bytes"], g["live_objects"], g["alloc_bytes"], g["alloc_objects"])
want_tags = {"t%d" % k: (size(k), ROUNDS, 0, size(k), ROUNDS) for k in range(THREADS)}
got_tags = {t["name"]: (t["alloc_bytes"], t["alloc_objects"], t["live_bytes"], t["freed_bytes"],
                        t["freed_objects"]) for t in g["tags"]}
ev = g["events"]
want_ev = dict(failed_calls=0, nested_driver_calls=2 * THREADS * ROUNDS, unknown_frees=0,
               reused_addresses=0, dropped=0)
bad = []
if got_total != want_total: bad.append("totals %r, want %r" % (got_total, want_total))
if got_tags != want_tags: bad.append("tags %r, want %r" % (got_tags, want_tags))
if ev != want_ev: bad.append("events %r, want %r" % (ev, want_ev))
# each thread holds two blocks for a moment; how many threads overlap varies
if g["peak_objects"] < 2 or g["peak_objects"] > 2 * THREADS:
    bad.append("peak_objects %d outside [2, %d]" % (g["peak_objects"], 2 * THREADS))
if bad: sys.exit("FAIL: gpu_threads: " + "; ".join(bad))
print("--- gpu_threads: %d allocations on %d threads, exact" % (THREADS * ROUNDS, THREADS), file=sys.stderr)
PYEOF

# The toolkit's libcupti links and answers (heapprof itself only dlopens it).
"$(hp_program gpu_cupti_link)" >&2 || hp_fail "gpu_cupti_link failed"
