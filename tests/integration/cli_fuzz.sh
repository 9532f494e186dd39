#!/usr/bin/env bash
# A bounded, deterministic run of the input fuzzer (lib/fuzz_inputs.py, fixed
# seed): 200 mutants of every input kind the CLI reads — heapprof's pprof,
# DHAT JSON (plain and zstd), stats JSON, Valgrind DHAT, gperftools, jemalloc
# and Go text heap profiles — through top and, for those it reads, convert to
# pprof, flame and diff (tags for stats files), under the AddressSanitizer +
# UBSan build where the compiler can build it. Each must be read or refused
# with one `heapprof:` line: never a signal, a hang or a sanitizer report.
# Every command, more mutants: run lib/fuzz_inputs.py by hand (its header).
source "$(dirname "$0")/lib/common.bash"
hp_need gcc nm
cli=$(hp_asan_cli)
[[ -n $cli ]] || cli=$HP_CLI

gcc -g -O0 "$HP_ROOT/tests/programs/cli/leaky.c" -o leaky
mkdir seeds
"$HP_CLI" run -q --rate 1 --out prof -- ./leaky 20 >/dev/null
cp "$(ls prof/heapprof.*.final.pb.gz)" seeds/leaky.pb.gz
cp "$(ls prof/heapprof.*.final.dhat.json)" seeds/leaky.dhat.json
cp "$(ls prof/heapprof.*.final.stats.json)" seeds/leaky.stats.json
if command -v zstd >/dev/null; then
    "$HP_CLI" run -q --rate 1 --format dhat.zst --out profz -- ./leaky 20 >/dev/null
    cp "$(ls profz/heapprof.*.final.dhat.json.zst)" seeds/leaky.dhat.json.zst
fi

# Text heap profiles and a Valgrind DHAT file of leaky's own functions, so
# the addresses resolve through MAPPED_LIBRARIES as in real ones.
base=0x555555554000
pc() { printf '0x%x' $((base + 0x$(nm leaky | awk -v f="$1" '$3 == f { print $1 }') + 8)); }
stack="$(pc make_node) $(pc build_cache) $(pc main)"
maps="MAPPED_LIBRARIES:
555555554000-555555555000 r--p 00000000 00:00 0 $PWD/leaky
555555555000-555555556000 r-xp 00001000 00:00 0 $PWD/leaky"
printf 'heap profile: 20: 4000 [20: 4000] @ heapprofile\n20: 4000 [20: 4000] @ %s\n1: 1000 [5: 5000] @ %s\n\n%s\n' \
    "$stack" "$(pc churn) $(pc main)" "$maps" >seeds/gp.heap
printf 'heap_v2/524288\n  t*: 21: 5000 [0: 0]\n@ %s\n  t*: 20: 4000 [0: 0]\n  t0: 20: 4000 [0: 0]\n\n%s\n' \
    "$stack" "$maps" >seeds/je.heap
printf 'heap profile: 2: 8192 [4: 16384] @ heap/1048576\n2: 8192 [4: 16384] @ 0x4b3c31 0x437452\n#\t0x4b3c30\tmain.grow+0x50\t\t/src/main.go:14\n#\t0x437451\truntime.main+0x211\t/go/src/runtime/proc.go:267\n\n# runtime.MemStats\n# Alloc = 1\n' \
    >seeds/go.txt
"$PY" - <<'PY'
import json
json.dump({"dhatFileVersion": 2, "mode": "heap", "verb": "Allocated", "bklt": True, "bkacc": False,
           "tu": "instrs", "Mtu": "instr", "tuth": 500, "cmd": "./leaky 20", "pid": 1, "te": 1000,
           "tg": 500, "pps": [
               {"tb": 4000, "tbk": 20, "tl": 900, "mb": 4000, "mbk": 20, "gb": 4000, "gbk": 20,
                "eb": 4000, "ebk": 20, "fs": [1, 2, 3, 4]},
               {"tb": 5000, "tbk": 5, "tl": 10, "mb": 1000, "mbk": 1, "gb": 0, "gbk": 0,
                "eb": 0, "ebk": 0, "fs": [1, 5, 4]}],
           "ftbl": ["[root]",
                    "0x483DFAF: malloc (in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)",
                    "0x109189: make_node (leaky.c:12)", "0x1091C4: build_cache (leaky.c:20)",
                    "0x10925A: main (leaky.c:40)", "0x1091F0: churn (leaky.c:28)"]},
          open("seeds/vg.dhat", "w"))
PY
for s in seeds/*; do
    cmd=top
    [[ $s == *.stats.json ]] && cmd=tags
    env "${HP_ASAN_ENV[@]}" "$cli" $cmd "$s" >seed.out || hp_fail "seed $s is not read"
    [[ $cmd == tags ]] || grep -q 'make_node\|main.grow' seed.out || hp_fail "seed $s: frames not named"
done

n=$(ls seeds | wc -l)
per=$(((200 + n - 1) / n))
hp_note "fuzzing $n seeds x $per mutants with ${cli#"$HP_ROOT"/}"
start=$SECONDS
env "${HP_ASAN_ENV[@]}" "$PY" "$HP_ROOT/tests/integration/lib/fuzz_inputs.py" "$cli" seeds work \
    --per-seed "$per" --seed 1 --timeout 30 --commands top,convert-pb,flame,diff,tags >fuzz.log 2>&1 || {
    cat fuzz.log >&2
    hp_fail "the fuzzer found inputs the CLI mishandles (kept in work/fail/)"
}
tail -n 2 fuzz.log >&2
echo "cli_fuzz: ok ($((n * per)) mutants in $((SECONDS - start)) s)"
