#!/usr/bin/env bash
# The default profile directory, ${TMPDIR:-/tmp}/heapprof-<euid>:
#  1. follows the effective uid at each dump: a server that drops
#     privileges after an earlier dump as root (nginx's workers, postgres)
#     writes its profiles to the new user's directory instead of failing on
#     root's 0700 one (found with nginx in the real-program sweep);
#  2. is used only when it is ours alone: one made first by someone else
#     mode 0777, or a symlink to a directory, gets one line naming it and
#     the fix, and no file is written there.
# Needs root (to drop privileges as a server does).
source "$(dirname "$0")/lib/common.bash"
[[ $(id -u) == 0 ]] || hp_fail "run as root: this test drops privileges like a server"
nobody=65534

shared=$(mktemp -d /tmp/heapprof-shared.XXXXXX) # like /tmp: anyone may create in it
trap 'rm -rf "$shared"' EXIT
chmod 1777 "$shared"

# 1. dump as root, then a child becomes nobody and exits
TMPDIR=$shared LD_PRELOAD=$HP_LIB HEAPPROF_RATE=1 "$PY" - "$nobody" 2>err1.txt <<'PY' || hp_fail "the program failed: $(cat err1.txt)"
import ctypes, os, sys
lib = ctypes.CDLL(None)
lib.heapprof_dump.argtypes = [ctypes.c_char_p]
if lib.heapprof_dump(b"as-root") != 0:
    sys.exit("the dump as root failed")
pid = os.fork()
if pid == 0:
    uid = int(sys.argv[1])
    os.setgid(uid)
    os.setuid(uid)
    keep = [bytearray(1000) for _ in range(100)]
    sys.exit(0)  # its exit dump
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
PY
hp_note "stderr: $(cat err1.txt)"
[[ ! -s err1.txt ]] || hp_fail "diagnostics after dropping privileges: $(cat err1.txt)"
ls "$shared/heapprof-0/"heapprof.*.0.pb.gz >/dev/null 2>&1 || hp_fail "no profile from the dump as root"
child=$(ls "$shared/heapprof-$nobody/"heapprof.*.final.pb.gz 2>/dev/null | head -1)
[[ -n $child ]] || hp_fail "the child that became uid $nobody wrote no exit profile: $(ls -laR "$shared")"
[[ $(stat -c %u "$shared/heapprof-$nobody") == "$nobody" && $(stat -c %a "$shared/heapprof-$nobody") == 700 ]] ||
    hp_fail "the child's directory: $(stat -c '%U %a' "$shared/heapprof-$nobody")"
"$HP_CLI" top "$child" >/dev/null || hp_fail "the child's profile does not read"

# 2. someone else's directory (here: world-writable), then a symlink
rm -rf "$shared/heapprof-0"
mkdir -m 0777 "$shared/heapprof-0"
chmod 0777 "$shared/heapprof-0"
TMPDIR=$shared LD_PRELOAD=$HP_LIB "$PY" -c 'x = [bytearray(100) for _ in range(1000)]' 2>err2.txt ||
    hp_fail "the program failed"
hp_note "world-writable: $(cat err2.txt)"
[[ $(wc -l <err2.txt) == 1 ]] && grep -q "not writing to $shared/heapprof-0: another user owns it or can write to it; set HEAPPROF_OUT" err2.txt ||
    hp_fail "want one line refusing the directory, got: $(cat err2.txt)"
[[ -z $(ls -A "$shared/heapprof-0") ]] || hp_fail "files written to a world-writable directory: $(ls "$shared/heapprof-0")"

rm -rf "$shared/heapprof-0"
mkdir -m 0700 "$shared/elsewhere"
ln -s "$shared/elsewhere" "$shared/heapprof-0"
TMPDIR=$shared LD_PRELOAD=$HP_LIB "$PY" -c 'x = [bytearray(100) for _ in range(1000)]' 2>err3.txt ||
    hp_fail "the program failed"
hp_note "symlink: $(cat err3.txt)"
grep -q "not writing to $shared/heapprof-0" err3.txt || hp_fail "a symlinked directory was not refused: $(cat err3.txt)"
[[ -z $(ls -A "$shared/elsewhere") ]] || hp_fail "files written through a symlinked directory"
echo "out_default_dir: ok"
