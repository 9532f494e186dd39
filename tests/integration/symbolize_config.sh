#!/usr/bin/env bash
# The SYMBOLIZE key (docs/configuration.md), in the environment and in a
# HEAPPROF_CONFIG file:
#  - a bad value prints exactly one stderr line, "heapprof: " naming the key,
#    the value and what is used instead, and the program's stdout and exit
#    status are those of a plain run; the fallback is the previous value
#    (the default fast, or the file's);
#  - valid values (any case) take effect, and the environment wins over the
#    file. The mode is seen in the pprof file: the libc frame's mapping has
#    [FN] with fast, no flag with none.
source "$(dirname "$0")/lib/common.bash"
hp_need cc go readelf
unset DEBUGINFOD_URLS HEAPPROF_SYMBOLIZE

cat >sym_cfg.c <<'C'
#include <stdio.h>
#include <string.h>

int main(void) {
    char *s = strdup("a string long enough to be a block of its own");
    printf("%zu\n", strlen(s));
    return 7;
}
C
bin=$HP_TMP/sym_cfg
cc -std=gnu11 -O2 -g -Wall -Wextra -Werror sym_cfg.c -o "$bin" || hp_fail "cannot build $bin"
libc=$(readlink -f "$(ldd "$bin" | awk '/libc\.so\.6/ {print $3}')")
build_id=$(readelf -n "$libc" | awk '/Build ID/ {print $3}')
have_debug=0
[[ -n $build_id && -f /usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug ]] && have_debug=1
rc=0
"$bin" >plain.out 2>plain.err || rc=$?
[[ $rc -eq 7 && ! -s plain.err ]] || hp_fail "plain run: exit $rc, stderr $(cat plain.err)"

n=0 bad=0
# check NAME WANT_MODE WANT_STDERR_REGEX [VAR=VALUE...]: one run under heapprof
check() {
    local name=$1 want=$2 err_re=$3
    shift 3
    n=$((n + 1))
    local out=$HP_TMP/out$n rc=0
    env "$@" LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$out" HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof \
        "$bin" >run$n.out 2>run$n.err || rc=$?
    if [[ $rc -ne 7 ]] || ! cmp -s plain.out run$n.out; then
        echo "FAIL: $name: stdout or exit status ($rc) differ from a plain run" >&2
        bad=1
    fi
    local lines
    lines=$(wc -l <run$n.err)
    if [[ -z $err_re ]]; then
        [[ $lines -eq 0 ]] || { echo "FAIL: $name: stderr not empty: $(cat run$n.err)" >&2; bad=1; }
    elif [[ $lines -ne 1 ]] || ! grep -qxE "$err_re" run$n.err; then
        echo "FAIL: $name: want one stderr line matching '$err_re', got:" >&2
        cat run$n.err >&2
        bad=1
    fi
    local flags
    flags=$(HOME=$HP_TMP GOCACHE=$HP_TMP/gocache go tool pprof -symbolize=none -raw "$out"/heapprof.*.final.pb.gz 2>&1 |
        awk -v f="$libc" '/^Mappings/ { m = 1; next } m && $3 == f { print ($5 == "" ? "-" : $5) }')
    local mode=unknown
    case $flags in "[FN]") mode=fast ;; "[FN][FL][LN][IN]") mode=full ;; "-") mode=none ;; esac
    [[ $want == full && $mode == fast && $have_debug == 0 ]] && mode=full # full reads no more
    if [[ $mode != "$want" ]]; then
        echo "FAIL: $name: libc's mapping flags '$flags' say $mode, want $want" >&2
        bad=1
    fi
    echo "$name: $mode; stderr: $(cat run$n.err)" >&2
}

msg='heapprof: HEAPPROF_SYMBOLIZE="%s" is not valid \(give fast, full or none\); using %s'
# shellcheck disable=SC2059
check "env bad" fast "$(printf "$msg" fastest fast)" HEAPPROF_SYMBOLIZE=fastest
# shellcheck disable=SC2059
check "env empty" fast "$(printf "$msg" "" fast)" HEAPPROF_SYMBOLIZE=
check "env none" none "" HEAPPROF_SYMBOLIZE=none
check "env FULL" full "" HEAPPROF_SYMBOLIZE=FULL
check "env fast" fast "" HEAPPROF_SYMBOLIZE=fast

printf '# test\nsymbolize = none\n' >none.conf
printf 'symbolize = sometimes\n' >bad.conf
check "file none" none "" HEAPPROF_CONFIG="$HP_TMP/none.conf"
check "file bad" fast 'heapprof: symbolize="sometimes" is not valid \(give fast, full or none\); using fast' \
    HEAPPROF_CONFIG="$HP_TMP/bad.conf"
check "env over file" full "" HEAPPROF_CONFIG="$HP_TMP/none.conf" HEAPPROF_SYMBOLIZE=full
# shellcheck disable=SC2059
check "env bad over file" none "$(printf "$msg" often none)" HEAPPROF_CONFIG="$HP_TMP/none.conf" \
    HEAPPROF_SYMBOLIZE=often

[[ $bad -eq 0 ]] || hp_fail "SYMBOLIZE is not applied or reported as documented (see above)"
echo "symbolize_config: ok"
