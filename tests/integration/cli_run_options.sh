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
# A statically linked command cannot be preloaded: said before it runs, and
# it still runs with its own output and status; a dynamic one gets no such line.
printf '#include <stdio.h>\nint main(void) { puts("static here"); return 4; }\n' >st.c
gcc -static -O1 st.c -o st
set +e
out=$("$HP_CLI" run --out st-out -- ./st 2>st.err)
status=$?
set -e
[[ $out == "static here" && $status == 4 ]] || hp_fail "static program: output '$out', status $status"
grep -q '^heapprof: ./st is statically linked' st.err || hp_fail "no static-link warning: $(cat st.err)"
"$HP_CLI" run --out dyn-out -- ./leaky 5 >/dev/null 2>dyn.err
if grep -q 'statically linked:' dyn.err; then hp_fail "warning for a dynamic program: $(cat dyn.err)"; fi
echo "cli_run_options: ok"
