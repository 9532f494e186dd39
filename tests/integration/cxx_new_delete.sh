#!/usr/bin/env bash
# tests/programs/cxx_all_new_delete.cc (every operator new/delete form incl.
# sized, nothrow and aligned to 64 and 4096, containers, threads) prints the
# same checksums and exits the same under `heapprof run` as plainly, and the
# library saw its C++ allocations.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program cxx_all_new_delete)

workload() {
    hp_run "$prog"
    hp_run "$prog" # twice: the output does not depend on addresses or timing
}
hp_compare cxx_new_delete workload
grep -q '^checks failed: 0$' "$HP_TMP/cxx_new_delete.hp.out" || hp_fail "a check failed under heapprof"
grep -q '^thread 3: ' "$HP_TMP/cxx_new_delete.plain.out" || hp_fail "program did not run to the end"
hp_check_stats "$HP_PROF" "$prog" >/dev/null
# ~99,000 operator new calls (and the C++ runtime's mallocs): the library must
# have counted the C++ allocations, not just a few mallocs.
"$PY" - "$HP_PROF" <<'PY'
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/heapprof.*.final.stats.json"):
    p = json.load(open(f))["process"]
    print("--- %s: alloc_objects %d, freed_objects %d, live_objects %d" % (f, p["alloc_objects"], p["freed_objects"], p["live_objects"]), file=sys.stderr)
    if p["alloc_objects"] < 90000:
        sys.exit("FAIL: %s counts only %d allocations; operator new is not counted" % (f, p["alloc_objects"]))
    if p["freed_objects"] < 90000:
        sys.exit("FAIL: %s counts only %d frees; operator delete is not counted" % (f, p["freed_objects"]))
PY
echo "cxx_new_delete: ok"
