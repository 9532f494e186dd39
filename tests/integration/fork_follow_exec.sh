#!/usr/bin/env bash
# fork + exec (tests/programs/trigger_fork.c "exec": the child execs the same
# dynamically linked program as "probe", which allocates and records whether
# libheapprof is mapped (/proc/self/maps) and what LD_PRELOAD holds):
#   1. default: the exec'd program is profiled - libheapprof mapped, its own
#      complete files under its pid (cmd "... probe ..."), final link.
#   2. HEAPPROF_FOLLOW_EXEC=0 (also "false", and "follow_exec = no" in a
#      HEAPPROF_CONFIG file), with LD_PRELOAD="<libheapprof>:<libc>": the
#      exec'd program has no libheapprof mapped, LD_PRELOAD is exactly
#      "<libc>", it writes no files; the parent is still profiled.
# stdout, stderr and exit status equal a plain run each time.
source "$(dirname "$0")/lib/common.bash"
prog=$(hp_program trigger_fork)
# a second, harmless preload entry that must survive: the libc the program uses
other=$(ldd "$prog" | awk '$1 ~ /^libc\.so/ {print $3}')
[[ -f $other ]] || hp_fail "cannot find the libc $prog links"

"$PY" - "$HP_LIB" "$prog" "$HP_TMP" "$other" <<'PY'
import json, os, subprocess, sys

lib, prog, tmp, other = sys.argv[1:5]
base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPPROF_") and k != "LD_PRELOAD"}
fails = []

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)

plain = subprocess.run([prog, "exec", os.path.join(tmp, "results.plain")], capture_output=True, env=base_env, timeout=120)

def case(name, extra_env, follow):
    out = os.path.join(tmp, "prof-" + name)
    res = os.path.join(tmp, "results." + name)
    env = dict(base_env, HEAPPROF_OUT=out, **extra_env)
    env.setdefault("LD_PRELOAD", lib)
    hp = subprocess.run([prog, "exec", res], capture_output=True, env=env, timeout=120)
    if (plain.stdout, plain.stderr, plain.returncode) != (hp.stdout, hp.stderr, hp.returncode):
        fail("%s: differs from a plain run: plain %r %r %d, heapprof %r %r %d" % (
            name, plain.stdout, plain.stderr, plain.returncode, hp.stdout, hp.stderr, hp.returncode))
    lines = [l.split(" ", 2) for l in open(res).read().splitlines()]
    parent = int(lines[0][1])
    probe = [l for l in lines if l[0] == "probe"]
    pre = [l[2] for l in lines if l[0] == "probe-preload"]
    if len(probe) != 1:
        fail("%s: the exec'd program did not run (results %r)" % (name, lines))
        return
    child = int(probe[0][1])
    mapped = probe[0][2]
    names = os.listdir(out) if os.path.isdir(out) else []
    child_files = [n for n in names if n.startswith("heapprof.%d." % child)]
    print("--- %s: exec'd program: %s, LD_PRELOAD %r, files %s" % (name, mapped, pre, sorted(child_files)), file=sys.stderr)
    # the parent is profiled either way
    try:
        pd = json.load(open(os.path.join(out, "heapprof.%d.final.stats.json" % parent)))
        if pd["pid"] != parent or pd["reason"] != "exit" or pd["process"]["alloc_objects"] <= 0:
            fail("%s: parent's final stats wrong: %r" % (name, pd))
    except (OSError, ValueError) as e:
        fail("%s: parent %d not profiled: %s" % (name, parent, e))
    if follow:
        if mapped != "mapped 1 preload-names-it 1":
            fail("%s: the exec'd program is not profiled: %s" % (name, mapped))
        try:
            cd = json.load(open(os.path.join(out, "heapprof.%d.final.stats.json" % child)))
            if cd["pid"] != child or not cd["cmd"].endswith(" probe " + res) or cd["process"]["alloc_objects"] < 3000:
                fail("%s: exec'd program's final stats wrong: pid %r cmd %r allocs %r" % (
                    name, cd["pid"], cd["cmd"], cd["process"]["alloc_objects"]))
        except (OSError, ValueError) as e:
            fail("%s: no valid final stats for the exec'd program %d: %s" % (name, child, e))
    else:
        if mapped != "mapped 0 preload-names-it 0":
            fail("%s: with follow-exec off the exec'd program still has heapprof: %s" % (name, mapped))
        if pre != [other]:
            fail("%s: the exec'd program's LD_PRELOAD is %r, expected exactly %r" % (name, pre, other))
        if child_files:
            fail("%s: the exec'd program wrote files: %s" % (name, child_files))
    if [n for n in names if ".tmp" in n]:
        fail("%s: temporary files left" % name)

case("follow", {}, True)
both = lib + ":" + other
case("nofollow-0", {"HEAPPROF_FOLLOW_EXEC": "0", "LD_PRELOAD": both}, False)
case("nofollow-false", {"HEAPPROF_FOLLOW_EXEC": "false", "LD_PRELOAD": lib + " " + other}, False)
cfg = os.path.join(tmp, "nofollow.conf")
open(cfg, "w").write("# no profiling of exec'd programs\nfollow_exec = no\n")
case("nofollow-config", {"HEAPPROF_CONFIG": cfg, "LD_PRELOAD": both}, False)

if fails:
    sys.exit("%d failure(s)" % len(fails))
PY
echo "fork_follow_exec: ok"
