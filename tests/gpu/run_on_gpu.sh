#!/usr/bin/env bash
# Runs tests/gpu/vector_add.cu under heapprof on a machine WITH an NVIDIA GPU
# and driver, and checks the GPU memory heapprof reports against what the
# program allocated (docs/gpu.md#checking-on-a-real-gpu). Not part of
# `make test` (CI has no GPU, and nvcc is slow).
#   tests/gpu/run_on_gpu.sh          both activation routes
# Needs: make (libheapprof.so), nvcc (CUDA_HOME, default /usr/local/cuda).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
nvcc=$(command -v nvcc || echo "$CUDA_HOME/bin/nvcc")
[[ -x $nvcc ]] || { echo "run_on_gpu: nvcc not found (set CUDA_HOME)" >&2; exit 2; }
lib=$root/build/libheapprof.so
make -C "$root" --no-print-directory -s build/libheapprof.so
bin=$root/build/tests/gpu/vector_add
mkdir -p "$(dirname "$bin")"
if [[ ! -x $bin || $root/tests/gpu/vector_add.cu -nt $bin ]]; then
    "$nvcc" -O2 -I"$root/include" "$root/tests/gpu/vector_add.cu" -o "$bin"
fi
echo "nvcc: ${bin#"$root"/}"
out=$(mktemp -d /tmp/heapprof-gpu.XXXXXX)

check() { # ROUTE DIR
    /usr/bin/python3 - "$@" <<'PYEOF'
import glob, json, sys
route, d = sys.argv[1], sys.argv[2]
MiB = 1 << 20
want_exit = {"device": (12 * MiB, 4 * MiB), "pinned_host": (4 * MiB, 0), "managed": (2 * MiB, 0)}
dumps = {}
for f in glob.glob(d + "/heapprof.*.[0-9]*.stats.json"):
    doc = json.load(open(f))
    dumps[doc["reason"]] = doc
problems = []
def kinds(doc):
    g = doc.get("gpu")
    if not g:
        problems.append("%s dump has no gpu section (was GPU tracking on?)" % doc["reason"])
        return {}
    devs = g["devices"]
    if len(devs) != 1:
        problems.append("allocations on %d devices: %r" % (len(devs), [x["device"] for x in devs]))
    return {k: (v["alloc_bytes"], v["live_bytes"]) for k, v in devs[0]["kinds"].items()} if devs else {}
if "exit" not in dumps:
    sys.exit("FAIL %s: no exit dump in %s" % (route, d))
got = kinds(dumps["exit"])
if got != want_exit:
    problems.append("exit dump: (alloc, live) per kind %r, want %r" % (got, want_exit))
if "kernel-done" in dumps:  # only when preloaded (the program's heapprof_dump call)
    live = {k: v[1] for k, v in kinds(dumps["kernel-done"]).items()}
    want = {"device": 12 * MiB, "pinned_host": 4 * MiB, "managed": 2 * MiB}
    if live != want:
        problems.append("kernel-done dump: live per kind %r, want %r" % (live, want))
ev = dumps["exit"].get("gpu", {}).get("events", {})
if problems:
    print("FAIL %s:\n  %s\n  events %r" % (route, "\n  ".join(problems), ev))
    sys.exit(1)
g = dumps["exit"]["gpu"]
print("PASS %s: device %d: device alloc %d live %d%s; pinned_host alloc %d live %d; "
      "managed alloc %d live %d; events %r" % (
          route, g["devices"][0]["device"], *got["device"],
          " (kernel-done: live %d)" % (12 * MiB) if "kernel-done" in dumps else "",
          *got["pinned_host"], *got["managed"], ev))
PYEOF
}

status=0
echo "--- preload: LD_PRELOAD=libheapprof.so HEAPPROF_GPU=1"
LD_PRELOAD=$lib HEAPPROF_GPU=1 HEAPPROF_OUT=$out/preload "$bin"
check preload "$out/preload" || status=1
echo "--- injection: CUDA_INJECTION64_PATH=libheapprof.so"
CUDA_INJECTION64_PATH=$lib HEAPPROF_OUT=$out/injection "$bin"
check injection "$out/injection" || status=1
echo "profiles: $out"
exit $status
