#!/usr/bin/env bash
# A dump never writes through a name someone else put in the profile
# directory. The default directory is ${TMPDIR:-/tmp}/heapprof-<uid>: another
# local user can create it first (mode 0777) and, once a process's first dump
# shows its pid, plant heapprof.<pid>.<seq>.<ext>.tmp.<pid> as a symlink to a
# file of the profiled user's (or a hard link to it); the temporary file was
# opened with O_TRUNC and no O_EXCL/O_NOFOLLOW, so a root process with an
# interval overwrote the target with its profile (found with nginx, redis and
# postgres in the real-program sweep).
#   1. symlinks planted at seq 1's temporary names (after dump 0): the second
#      heapprof_dump() still returns 0, the victim is unchanged, seq 1's files
#      are regular files with the dump's content, no *.tmp.* is left.
#   2. a hard link to the victim and a stale regular file (a crashed earlier
#      process with the same pid) at seq 2's temporary names: the same.
source "$(dirname "$0")/lib/common.bash"

out=$HP_TMP/prof
victim=$HP_TMP/victim
printf 'precious data\n' >"$victim"

LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$out HEAPPROF_RATE=1 "$PY" - "$out" "$victim" <<'PY' || hp_fail "the dumps failed (see above)"
import ctypes, os, sys
out, victim = sys.argv[1:3]
lib = ctypes.CDLL(None)
lib.heapprof_dump.argtypes = [ctypes.c_char_p]
pid = os.getpid()
exts = ("pb.gz", "dhat.json", "stats.json")
keep = [b"x" * 1000 for _ in range(100)]
if lib.heapprof_dump(b"first") != 0:
    sys.exit("dump 0 failed")
for e in exts:
    os.symlink(victim, os.path.join(out, "heapprof.%d.1.%s.tmp.%d" % (pid, e, pid)))
if lib.heapprof_dump(b"second") != 0:
    sys.exit("dump 1 failed (symlinks planted at its temporary names)")
os.link(victim, os.path.join(out, "heapprof.%d.2.pb.gz.tmp.%d" % (pid, pid)))
open(os.path.join(out, "heapprof.%d.2.stats.json.tmp.%d" % (pid, pid)), "w").write("stale")
if lib.heapprof_dump(b"third") != 0:
    sys.exit("dump 2 failed (hard link and stale file at its temporary names)")
print("pid", pid)
PY

[[ $(cat "$victim") == "precious data" ]] || hp_fail "the victim file was overwritten: $(head -c 200 "$victim")"
pid=$(ls "$out" | sed -n 's/^heapprof\.\([0-9]*\)\.0\.stats\.json$/\1/p')
[[ -n $pid ]] || hp_fail "no dump 0 in $out: $(ls "$out")"
for seq in 1 2; do
    for e in pb.gz dhat.json stats.json; do
        f=$out/heapprof.$pid.$seq.$e
        [[ -f $f && ! -L $f ]] || hp_fail "$f is not a regular file: $(ls -l "$f" 2>&1)"
    done
done
grep -q '"reason": *"second"' "$out/heapprof.$pid.1.stats.json" || hp_fail "seq 1 is not the second dump"
grep -q '"reason": *"third"' "$out/heapprof.$pid.2.stats.json" || hp_fail "seq 2 is not the third dump"
"$HP_CLI" top "$out/heapprof.$pid.2.pb.gz" >/dev/null || hp_fail "seq 2's pprof file does not read"
left=$(ls "$out" | grep '\.tmp\.' || true)
[[ -z $left ]] || hp_fail "temporary files left: $left"
echo "out_symlink: ok"
