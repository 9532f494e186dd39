#!/usr/bin/env bash
# The background thread (interval, signal, peak dumps) holds no descriptor:
#   1. a program that closes every descriptor it did not open (closefrom(3))
#      and then opens a pipe on the lowest numbers gets back all it wrote
#      into the pipe (an eventfd there had the thread read the program's
#      bytes), and does not burn CPU while it sleeps (a closed eventfd made
#      the thread spin on POLLNVAL);
#   2. a program started with stdin closed gets descriptor 0 from its first
#      open(), as without heapprof (the eventfd took 0).
# Output and exit status equal a plain run in every configuration.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_closefd)
out=$HP_TMP/prof
confs=("HEAPPROF_INTERVAL=0.1" "HEAPPROF_SIGNAL=SIGUSR2" "HEAPPROF_PEAK_DUMP=1.01 HEAPPROF_RATE=1"
       "HEAPPROF_INTERVAL=0.1 HEAPPROF_SIGNAL=SIGUSR2 HEAPPROF_PEAK_DUMP=1.5")

# the plain run ignores SIGUSR2, which heapprof handles in the signal configurations
plain=$(trap '' USR2; "$prog" 2>&1; echo "rc=$?")
plain_nostdin=$("$prog" nostdin <&- 2>&1; echo "rc=$?")
hp_note "plain: $plain / $plain_nostdin"
[[ $plain == *"read 36 bytes"* && $plain == *"cpu under 300 ms: yes"* ]] || hp_fail "plain run: $plain"
for conf in "${confs[@]}"; do
    # shellcheck disable=SC2086
    got=$(trap '' USR2; env LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$out" $conf "$prog" 2>&1; echo "rc=$?")
    hp_note "$conf: $got"
    [[ $got == "$plain" ]] || hp_fail "$conf: closefrom(3) run differs: '$got' vs '$plain'"
    # shellcheck disable=SC2086
    got=$(env LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$out" $conf "$prog" nostdin <&- 2>&1; echo "rc=$?")
    [[ $got == "$plain_nostdin" ]] || hp_fail "$conf: stdin closed: '$got' vs '$plain_nostdin'"
done
# the signal dumps still happen after the close
n=$(find "$out" -name 'heapprof.*.stats.json' ! -name '*final*' | wc -l)
hp_note "dump files: $n"
(( n >= 10 )) || hp_fail "only $n dumps written"
echo "triggers_closefd: ok"
