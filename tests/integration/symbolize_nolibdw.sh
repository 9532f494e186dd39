#!/usr/bin/env bash
# libdw is dlopen'd at the first dump that may read DWARF (here: the program
# is built with -g). When it cannot be loaded (here a preloaded shim makes
# dlopen("libdw.so.1") fail), dumps still succeed, with function names from
# the symbol tables (read without libdw, heapprof/elf_names.c) and no file
# or line anywhere -- and the process prints exactly one "heapprof: cannot
# load libdw.so.1" line, however many dumps and files follow (an API dump
# and the exit dump, pprof and DHAT each). The program's own output and exit
# status are unchanged.
source "$(dirname "$0")/lib/common.bash"
hp_need cc go node
unset DEBUGINFOD_URLS HEAPPROF_SYMBOLIZE
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")

cat >prog.c <<'C'
#include <heapprof.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    char *s[100];
    for (int i = 0; i < 100; i++) s[i] = strdup("a string long enough to be a block of its own");
    if (heapprof_dump) printf("api dump: %d\n", heapprof_dump("mid"));
    printf("%zu\n", strlen(s[99]));
    return 5;
}
C
shim=$(hp_refuse_dlopen_shim)
cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$HP_ROOT/include" prog.c -o "$HP_TMP/prog" || hp_fail "cannot build prog"

rc=0
HP_REFUSE_DLOPEN=libdw LD_PRELOAD="$shim $HP_LIB" HEAPPROF_OUT=$HP_TMP/out HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof,dhat \
    "$HP_TMP/prog" >run.out 2>run.err || rc=$?
cat run.out run.err >&2
[[ $rc -eq 5 ]] || hp_fail "exit status $rc, want 5"
grep -qx 'api dump: 0' run.out || hp_fail "the API dump did not succeed: $(cat run.out)"
[[ $(wc -l <run.err) -eq 1 ]] && grep -q '^heapprof: cannot load libdw\.so\.1 ' run.err ||
    hp_fail "want exactly one 'heapprof: cannot load libdw.so.1' line on stderr, got: $(cat run.err)"

bad=0
files=("$HP_TMP"/out/heapprof.*.pb.gz)
[[ ${#files[@]} -ge 2 ]] || hp_fail "want the API and the exit dump, found ${files[*]}"
for pprof in "${files[@]}"; do
    HOME=$HP_TMP GOCACHE=$HP_TMP/gocache go tool pprof -symbolize=none -raw "$pprof" >raw.txt 2>&1 ||
        hp_fail "go tool pprof -raw $pprof: $(head -3 raw.txt)"
    if ! awk '/^Locations/ { l = 1; next } /^Mappings/ { l = 0; next }
              l && / main / { named = 1 }
              l && /:[0-9]+ *$/ && !/ M=[0-9]+ *$/ { print "location with a line: " $0; bad = 1 }
              END { if (!named) print "main is not named"; exit bad || !named }' raw.txt >&2; then
        echo "FAIL: $pprof does not have names without lines" >&2
        bad=1
    fi
    "${W[@]}" pprof-accept "$pprof" || bad=1
done
dhat=$(echo "$HP_TMP"/out/heapprof.*.final.dhat.json)
if grep -oE '"0x[0-9A-F]+: [^"]*"' "$dhat" | grep -vE '"0x[0-9A-F]+: [^ ]+ \(in /[^"]*\)"' >&2; then
    echo "FAIL: DHAT frames other than '0xADDR: NAME (in PATH)' (above)" >&2
    bad=1
fi
grep -qE '"0x[0-9A-F]+: main \(in /' "$dhat" || { echo "FAIL: DHAT does not name main" >&2; bad=1; }
"$HP_CLI" top "$HP_TMP"/out/heapprof.*.final.pb.gz >top.txt 2>&1 || hp_fail "heapprof top: $(cat top.txt)"
grep -qE ' main$' top.txt || { echo "FAIL: heapprof top does not show main: $(cat top.txt)" >&2; bad=1; }
[[ $bad -eq 0 ]] || hp_fail "dumps without libdw are not as expected (see above)"
echo "symbolize_nolibdw: ok"
