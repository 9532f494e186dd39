#!/usr/bin/env bash
# Where `heapprof run` puts profiles when the command changes directory: the
# default ./heapprof-<prog>-<pid>/ and a relative --out DIR both mean the
# directory where `heapprof run` was started (resolved before the command
# runs), so a command that cds elsewhere still writes there, and the summary
# finds the final profile.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program exit_signal)
mkdir -p "$HP_TMP/start" "$HP_TMP/elsewhere"
cd "$HP_TMP/start"

# 1. default directory, command that changes directory and then execs
"$HP_CLI" run -- sh -c "cd '$HP_TMP/elsewhere' && exec '$prog' exit 0" >/dev/null 2>"$HP_TMP/default.err"
cat "$HP_TMP/default.err" >&2
dir=$(sed -n 's|^heapprof:   profiles in \(.*\)/$|\1|p' "$HP_TMP/default.err")
[[ -n $dir ]] || hp_fail "no 'profiles in' line in the summary"
[[ $dir == "$HP_TMP/start/heapprof-sh-"* ]] || hp_fail "default profile directory $dir is not under the start directory"
hp_check_stats "$dir" "$prog exit 0" >/dev/null
[[ -z $(ls -A "$HP_TMP/elsewhere") ]] || hp_fail "profiles written to the command's new directory: $(ls -A "$HP_TMP/elsewhere")"

# 2. relative --out
"$HP_CLI" run --out rel-prof -- sh -c "cd '$HP_TMP/elsewhere' && exec '$prog' exit 0" >/dev/null 2>"$HP_TMP/rel.err"
cat "$HP_TMP/rel.err" >&2
if [[ -d $HP_TMP/elsewhere/rel-prof ]]; then
    hp_fail "--out rel-prof was resolved against the command's working directory after it changed" \
        "(profiles went to $HP_TMP/elsewhere/rel-prof, not $HP_TMP/start/rel-prof)"
fi
hp_check_stats "$HP_TMP/start/rel-prof" "$prog exit 0" >/dev/null
grep -q '^heapprof:   no final profile' "$HP_TMP/rel.err" && hp_fail "the summary did not find the final profile of --out rel-prof"
grep -Eq "^heapprof:   profiles in ($HP_TMP/start/)?rel-prof/\$" "$HP_TMP/rel.err" ||
    hp_fail "the summary does not name the profile directory rel-prof"
echo "out_dir: ok"
