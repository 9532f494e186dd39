#!/usr/bin/env bash
# A program that closes a descriptor twice (as bash does) while dumps run on
# heapprof's background thread (tests/programs/double_close.c, 4 s, a dump
# every 0.1 s). Its second close used to hit the profile being written
# ("cannot write ... Bad file descriptor"), the /proc/self/maps libdw was
# reading ("cannot read this process's modules") or the files the loader had
# open for libdw; had the program opened a file on that number meanwhile,
# the dump would have written into it. Now: no diagnostic, the program's
# data intact, every interval dump complete and symbolized.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program double_close)

LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/prof HEAPPROF_RATE=1 HEAPPROF_INTERVAL=0.1 \
    "$prog" "$HP_TMP/data" 4 >rounds.txt 2>err.txt || hp_fail "the program failed: $(cat err.txt)"
rounds=$(cat rounds.txt)
lines=$(wc -l <"$HP_TMP/data")
dumps=$(ls "$HP_TMP/prof" | grep -c '\.[0-9]*\.pb\.gz$' || true)
hp_note "rounds $rounds, data lines $lines, dumps $dumps, stderr: $(cat err.txt)"
[[ ! -s err.txt ]] || hp_fail "diagnostics: $(cat err.txt)"
[[ $lines == "$rounds" ]] || hp_fail "the program's data file has $lines lines for $rounds rounds"
((dumps >= 10)) || hp_fail "only $dumps interval dumps in 4 s"
for f in "$HP_TMP"/prof/*.pb.gz; do
    [[ -L $f ]] && continue
    "$HP_CLI" top --json "$f" >top.json || hp_fail "$f does not read"
done
"$PY" - top.json <<'PY' || hp_fail "the last profile is not symbolized (see above)"
import json, sys
rows = json.load(open(sys.argv[1]))["functions"]
main = [r for r in rows if r["function"] == "main"]
assert main and main[0].get("file", "").endswith("double_close.c"), rows[:5]
PY
echo "fd_double_close: ok"
