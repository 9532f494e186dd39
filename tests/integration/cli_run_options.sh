#!/usr/bin/env bash
# heapprof run turns its options into the HEAPPROF_* variables of the child:
# every option of the table in tools/cmd_run.c reaches the program's
# environment with its value, and --symbolize changes what the profile holds
# (function names by default; addresses only with none).
source "$(dirname "$0")/lib/common.bash"
hp_need gcc

# The environment the preloaded program sees (env prints it, then exits).
"$HP_CLI" run -q --out envout --rate 4096 --format stats --depth 9 --seed 7 --tag t1 \
    --log quiet --symbolize none --pyroscope-url http://127.0.0.1:9/ --app demo \
    -- /usr/bin/env >env.txt
for want in HEAPPROF_RATE=4096 HEAPPROF_FORMAT=stats HEAPPROF_DEPTH=9 HEAPPROF_SEED=7 \
    HEAPPROF_TAG=t1 HEAPPROF_LOG=quiet HEAPPROF_SYMBOLIZE=none \
    HEAPPROF_PYROSCOPE_URL=http://127.0.0.1:9/ HEAPPROF_APP=demo; do
    grep -qx "$want" env.txt || hp_fail "$want not in the child's environment: $(grep HEAPPROF_ env.txt)"
done

# --symbolize: names by default, addresses with none.
gcc -g -O0 "$HP_ROOT/tests/programs/cli/leaky.c" -o leaky
"$HP_CLI" run -q --rate 1 --out named -- ./leaky 50 >/dev/null
"$HP_CLI" run -q --rate 1 --symbolize none --out bare -- ./leaky 50 >/dev/null
"$HP_CLI" top named/heapprof.*.final.pb.gz >named.txt
"$HP_CLI" top bare/heapprof.*.final.pb.gz >bare.txt
grep -q make_node named.txt || hp_fail "no make_node in the default profile: $(cat named.txt)"
if grep -q make_node bare.txt; then hp_fail "--symbolize none still named make_node"; fi
grep -q '0x[0-9a-f]' bare.txt || hp_fail "--symbolize none: no addresses in top: $(cat bare.txt)"
echo "cli_run_options: ok"
