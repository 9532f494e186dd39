# GPU tracking through CUPTI callbacks, without a GPU: tests/programs/
# gpu_callbacks.c fires every allocation and free callback id through a fake
# libcupti (the real headers' CUpti_CallbackData and *_params), and
# lib/gpu_check.py compares every dump with numbers worked out from the
# program: counters per device, kind and tag, event counts (failures, nested
# driver calls, unknown frees), the pprof samples (values, labels, call
# stacks), the DHAT points and the Prometheus series.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/gpu.bash"
hp_need go

prog=$(hp_program gpu_callbacks)
out=$HP_TMP/out
rc=0
env LD_PRELOAD="$HP_LIB" HEAPPROF_GPU=1 HEAPPROF_CUPTI_PATH="$HP_FAKE_CUPTI" HEAPPROF_OUT="$out" \
    HEAPPROF_FORMAT=pprof,dhat,stats,prom "$prog" >"$HP_TMP/stdout" 2>"$HP_TMP/stderr" || rc=$?
cat "$HP_TMP/stderr" >&2
[[ $rc -eq 0 ]] || hp_fail "gpu_callbacks exited $rc (its CHECKs are above)"
lines=$(hp_heapprof_lines "$HP_TMP/stderr")
[[ -z $lines ]] || hp_fail "GPU tracking started with the fake libcupti, yet heapprof said: $lines"
grep -q '^delivered 256 callbacks$' "$HP_TMP/stdout" ||
    hp_fail "the fake libcupti delivered $(tail -n1 "$HP_TMP/stdout"), want 256 callbacks"
ls "$out" >&2
"$PY" "$HP_ROOT/tests/integration/lib/gpu_check.py" "$out"

# The host profile is still there and still valid beside the GPU files.
hp_check_stats "$out" "$prog" >/dev/null

# The GPU DHAT file loads in Valgrind's own viewer (dh_view.html in jsdom),
# every sort metric renders, and the top point ends with the [gpu:N] frame.
hp_need node
[[ -d $HP_ROOT/tests/node/node_modules/jsdom ]] ||
    hp_fail "jsdom is not installed (bash scripts/deps.sh installs tests/node)"
view=$(NODE_PATH=$HP_ROOT/tests/node/node_modules node "$HP_ROOT/tests/integration/lib/dhat_view.js" \
    "$out"/heapprof.*.final.gpu.dhat.json) || { echo "$view" >&2; hp_fail "dh_view.html rejected gpu.dhat.json"; }
"$PY" -c '
import json, sys
r = json.loads(sys.argv[1])
bad = [m for m in r["metrics"] if m["status"].startswith("ERROR")]
top = r["metrics"][0]["top"]
if not r["ok"] or r["jsErrors"] or bad or not top or not top[-1].startswith("[gpu:"):
    sys.exit("FAIL: dh_view.html on gpu.dhat.json: %r" % r)
print("--- dh_view.html: %d metrics, top point %s" % (len(r["metrics"]), top[-2:]), file=sys.stderr)
' "$view"
