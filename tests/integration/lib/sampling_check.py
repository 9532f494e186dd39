"""Checks for the sampler acceptance tests (tests/integration/sampling_*.sh).

    sampling_check.py stats RUNS_DIR RATE   many seeds of sampling_workload: exact
                                            counters per run; mean, SD and stderr
                                            of the live estimates across runs
    sampling_check.py full RUN_DIR          one run of sampling_workload at rate 1:
                                            everything exact
    sampling_check.py sizes RUNS_DIR RATE   many seeds of sampling_sizes: no bias
                                            per size class
    sampling_check.py poll RUNS_DIR RATE    many seeds of sampling_poll: reading
                                            the counters does not bias sampling
    sampling_check.py tags RUN_DIR RATE     one run of tags_threads: every tag's
                                            numbers against truth and stats.json

A run directory holds `stdout` (the program's report), `rc` (its exit status)
and `prof/` (HEAPPROF_OUT, with heapprof.<pid>.final.stats.json). Prints a
table to stdout and every failed expectation to stderr; exits 1 on failure.
"""
import glob
import json
import math
import os
import sys

failures = []


def fail(msg):
    failures.append(msg)
    sys.stderr.write("FAIL: %s\n" % msg)


def finish(what):
    if failures:
        sys.stderr.write("%s: %d expectation(s) failed\n" % (what, len(failures)))
        sys.exit(1)
    print("%s: ok" % what)


def load_run(d):
    """The program's report, its last 'final' line (if any) and the stats.json."""
    rc = open(os.path.join(d, "rc")).read().strip()
    if rc != "0":
        err = ""
        if os.path.exists(os.path.join(d, "stderr")):
            err = open(os.path.join(d, "stderr")).read()[-2000:]
        raise RuntimeError("%s: program exited with status %s; stderr:\n%s" % (d, rc, err))
    text = open(os.path.join(d, "stdout")).read()
    final = None
    lines = text.splitlines()
    if lines and lines[-1].startswith("final "):
        final = json.loads(lines[-1][len("final "):])
        lines = lines[:-1]
    report = json.loads("\n".join(lines))
    files = glob.glob(os.path.join(d, "prof", "heapprof.*.final.stats.json"))
    if len(files) != 1:
        raise RuntimeError("%s: expected one final stats.json, found %r" % (d, files))
    with open(files[0]) as f:
        stats = json.load(f)
    return report, final, stats


def json_tags(stats):
    return {t["name"]: t for t in stats.get("tags", [])}


PROCESS_FIELDS = ("live_bytes", "live_objects", "peak_bytes", "peak_objects", "alloc_bytes",
                  "alloc_objects", "freed_bytes", "freed_objects")


def check_exact_counters(where, report, final, stats, rate):
    """What must hold in every run, sampled or not."""
    if stats.get("sample_rate") != rate or stats.get("sampling", {}).get("rate") != rate:
        fail("%s: stats.json sample_rate %r, sampling.rate %r, expected %d"
             % (where, stats.get("sample_rate"), stats.get("sampling", {}).get("rate"), rate))
    jt = json_tags(stats)
    for t in report["tags"]:
        name, tr, got = t["name"], t["truth"], t["got"]
        for k in ("alloc_bytes", "alloc_objects"):
            if got[k] != tr[k]:
                fail("%s: tag %s: heapprof_tag_stats %s = %d, truth %d (lifetime counters are exact)"
                     % (where, name, k, got[k], tr[k]))
        j = jt.get(name)
        if j is None:
            fail("%s: tag %s missing from stats.json (tags there: %s)" % (where, name, sorted(jt)))
            continue
        for k in ("alloc_bytes", "alloc_objects"):
            if j[k] != tr[k]:
                fail("%s: tag %s: stats.json %s = %r, truth %d" % (where, name, k, j[k], tr[k]))
        # Nothing is allocated under the test's tags after the program read
        # them, so the exit dump must show the same estimates (to the
        # precision stats.json prints them with).
        for k, prec in (("live_bytes", 0.5), ("live_objects", 0.5), ("peak_bytes", 0.5),
                        ("peak_objects", 0.5), ("live_bytes_stderr", 0.05),
                        ("live_objects_stderr", 0.005)):
            if abs(j[k] - got[k]) > prec + 1e-9 * abs(got[k]):
                fail("%s: tag %s: stats.json %s = %r but heapprof_tag_stats said %r"
                     % (where, name, k, j[k], got[k]))
        if j["exact"] != (rate == 1) or bool(got["exact"]) != (rate == 1):
            fail("%s: tag %s: exact flag stats.json %r, heapprof_tag_stats %r at rate %d"
                 % (where, name, j["exact"], got["exact"], rate))

    # Process counters: the workload's own blocks move them exactly...
    proc = report["process"]
    base, end, ptruth = proc["base"], proc["end"], proc["truth"]
    d_alloc = sum(t["truth"]["alloc_bytes"] for t in report["tags"])
    d_objs = sum(t["truth"]["alloc_objects"] for t in report["tags"])
    expect = {
        "alloc_bytes": base["alloc_bytes"] + d_alloc,
        "alloc_objects": base["alloc_objects"] + d_objs,
        "live_bytes": ptruth["live_bytes"],
        "live_objects": ptruth["live_objects"],
        "peak_bytes": ptruth["peak_bytes"],
        "peak_objects": ptruth["peak_objects"],
    }
    expect["freed_bytes"] = expect["alloc_bytes"] - expect["live_bytes"]
    expect["freed_objects"] = expect["alloc_objects"] - expect["live_objects"]
    for k, v in expect.items():
        if end[k] != v:
            fail("%s: heapprof_stats %s after the workload = %d, truth %d (base %d)"
                 % (where, k, end[k], v, base[k]))
    # ... and the exit dump repeats the program's last snapshot.
    if final is not None:
        for k in PROCESS_FIELDS:
            if stats["process"].get(k) != final["process"][k]:
                fail("%s: stats.json process.%s = %r, but heapprof_stats just before exit said %d"
                     % (where, k, stats["process"].get(k), final["process"][k]))
    # The tags partition every allocation of the process.
    s = sum(t["alloc_bytes"] for t in stats.get("tags", []))
    o = sum(t["alloc_objects"] for t in stats.get("tags", []))
    if (s, o) != (stats["process"]["alloc_bytes"], stats["process"]["alloc_objects"]):
        fail("%s: tags in stats.json add up to %d bytes / %d objects allocated, process says %d / %d"
             % (where, s, o, stats["process"]["alloc_bytes"], stats["process"]["alloc_objects"]))


def mean_sd(xs):
    n = len(xs)
    m = sum(xs) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    return m, sd


def load_runs(runs_dir):
    dirs = sorted(glob.glob(os.path.join(runs_dir, "*")), key=lambda p: int(os.path.basename(p)))
    runs = []
    for d in dirs:
        try:
            runs.append((os.path.basename(d),) + load_run(d))
        except (RuntimeError, ValueError, OSError) as e:
            fail("seed %s: %s" % (os.path.basename(d), e))
    return runs


def cmd_stats(runs_dir, rate):
    runs = load_runs(runs_dir)
    if len(runs) < 50:
        fail("only %d usable runs (need at least 50)" % len(runs))
        finish("sampling stats")
    n = len(runs)
    truth0 = runs[0][1]["tags"]
    for seed, report, final, stats in runs:
        if [t["truth"] for t in report["tags"]] != [t["truth"] for t in truth0]:
            fail("seed %s: the workload's truth differs from seed %s's; it must not depend on the seed"
                 % (seed, runs[0][0]))
        check_exact_counters("seed %s" % seed, report, final, stats, rate)

    print("%d runs at HEAPPROF_RATE=%d (HEAPPROF_SEED=%s..%s)" % (n, rate, runs[0][0], runs[-1][0]))
    print("%-7s %-8s %12s %12s %8s %8s %10s %10s %10s %6s %6s" % (
        "tag", "what", "truth", "mean", "err%", "SE%", "obs SD", "mean SE", "theory SD",
        "SD/SE", "SE/th"))
    for i, t in enumerate(truth0):
        name, tr = t["name"], t["truth"]
        for what in ("bytes", "objects"):
            truth = tr["live_" + what]
            est = [r[1]["tags"][i]["got"]["live_" + what] for r in runs]
            se = [r[1]["tags"][i]["got"]["live_%s_stderr" % what] for r in runs]
            m, sd = mean_sd(est)
            mean_se = sum(se) / n
            rms_se = math.sqrt(sum(x * x for x in se) / n)
            theory = math.sqrt(tr["var_" + what])
            err = (m - truth) / truth
            se_of_mean = theory / math.sqrt(n) / truth
            ratio = sd / mean_se if mean_se > 0 else float("inf")
            print("%-7s %-8s %12d %12.0f %+7.2f%% %7.2f%% %10.1f %10.1f %10.1f %6.2f %6.2f" % (
                name, what, truth, m, 100 * err, 100 * se_of_mean, sd, mean_se, theory, ratio,
                rms_se / theory if theory else float("nan")))
            # The design must make the 2% bound a safe one (>= 4 standard errors).
            if se_of_mean > 0.005:
                fail("test design: tag %s live %s: the mean's standard error is %.2f%% of truth "
                     "(> 0.5%%); make the workload larger" % (name, what, 100 * se_of_mean))
            if abs(err) > 0.02:
                fail("tag %s: mean live %s estimate over %d seeds is %.0f, truth %d: off by %+.2f%% "
                     "(limit 2%%, the mean's standard error is %.2f%%)"
                     % (name, what, n, m, truth, 100 * err, 100 * se_of_mean))
            if not 0.7 <= ratio <= 1.3:
                fail("tag %s: observed SD of the live %s estimate across seeds is %.1f, the mean "
                     "reported stderr %.1f: ratio %.2f outside [0.7, 1.3]"
                     % (name, what, sd, mean_se, ratio))
            # The reported variance must estimate sum((w-1)u^2) (resp. (w-1))
            # over the live blocks; its mean over the runs is close to it.
            if theory > 0 and not 0.85 <= rms_se / theory <= 1.15:
                fail("tag %s: reported live_%s_stderr (rms %.1f over the runs) does not match the "
                     "sampling variance of the live blocks, sqrt(sum (w-1)%s) = %.1f"
                     % (name, what, rms_se, "u^2" if what == "bytes" else "", theory))
    finish("sampling stats")


def cmd_full(run_dir):
    try:
        report, final, stats = load_run(run_dir)
    except (RuntimeError, ValueError, OSError) as e:
        fail(str(e))
        finish("full mode")
    check_exact_counters("rate 1", report, final, stats, 1)
    jt = json_tags(stats)
    print("%-7s %-13s %12s %14s %14s" % ("tag", "what", "truth", "tag_stats", "stats.json"))
    for t in report["tags"]:
        name, tr, got = t["name"], t["truth"], t["got"]
        j = jt.get(name, {})
        for k in ("live_bytes", "live_objects", "peak_bytes", "peak_objects"):
            print("%-7s %-13s %12d %14r %14r" % (name, k, tr[k], got[k], j.get(k)))
            if got[k] != tr[k]:
                fail("rate 1: tag %s: heapprof_tag_stats %s = %r, truth %d (must be exact)"
                     % (name, k, got[k], tr[k]))
            if j.get(k) != tr[k]:
                fail("rate 1: tag %s: stats.json %s = %r, truth %d (must be exact)"
                     % (name, k, j.get(k), tr[k]))
        for k in ("live_bytes_stderr", "live_objects_stderr"):
            if got[k] != 0 or j.get(k) != 0:
                fail("rate 1: tag %s: %s = %r (heapprof_tag_stats), %r (stats.json); must be 0"
                     % (name, k, got[k], j.get(k)))
        if got["exact"] != 1 or j.get("exact") is not True:
            fail("rate 1: tag %s: exact flag %r (heapprof_tag_stats), %r (stats.json)"
                 % (name, got["exact"], j.get("exact")))
    if stats.get("sampling", {}).get("exact") is not True:
        fail("rate 1: stats.json sampling.exact is %r" % stats.get("sampling", {}).get("exact"))
    finish("full mode")


def cmd_sizes(runs_dir, rate):
    runs = load_runs(runs_dir)
    if len(runs) < 50:
        fail("only %d usable runs (need at least 50)" % len(runs))
        finish("size classes")
    n = len(runs)
    classes = runs[0][1]["classes"]
    for seed, report, final, stats in runs:
        if report["classes"] != classes:
            fail("seed %s: the workload's truth differs from seed %s's" % (seed, runs[0][0]))
        if stats.get("sample_rate") != rate:
            fail("seed %s: stats.json sample_rate %r, expected %d" % (seed, stats.get("sample_rate"), rate))
    print("%d runs at HEAPPROF_RATE=%d; same total bytes per class" % (n, rate))
    print("%-7s %-13s %12s %14s %8s %8s" % ("class", "estimate", "truth", "mean", "err%", "SE%"))
    for c in classes:
        name, tr = c["name"], c["truth"]
        per_run = []
        for seed, report, final, stats in runs:
            got = [g for g in report["got"] if g["name"] == name][0]
            if got["alloc_bytes"] != tr["alloc_bytes"] or got["alloc_objects"] != tr["alloc_objects"]:
                fail("seed %s: class %s: heapprof_tag_stats alloc %d/%d, truth %d/%d (exact)"
                     % (seed, name, got["alloc_bytes"], got["alloc_objects"], tr["alloc_bytes"],
                        tr["alloc_objects"]))
            j = json_tags(stats).get(name)
            if j is None:
                fail("seed %s: class %s missing from stats.json" % (seed, name))
                continue
            if j["alloc_bytes"] != tr["alloc_bytes"] or j["alloc_objects"] != tr["alloc_objects"]:
                fail("seed %s: class %s: stats.json alloc %d/%d, truth %d/%d"
                     % (seed, name, j["alloc_bytes"], j["alloc_objects"], tr["alloc_bytes"],
                        tr["alloc_objects"]))
            per_run.append({
                "live_bytes": got["live_bytes"], "live_objects": got["live_objects"],
                "live_bytes_se": got["live_bytes_stderr"], "live_objects_se": got["live_objects_stderr"],
                # every sampled block of the run, live or freed: the estimate of
                # all the class's allocations
                "alloc_bytes": j["live_bytes"] + j["freed_bytes"],
                "alloc_objects": j["live_objects"] + j["freed_objects"],
            })
        if len(per_run) != n:
            continue
        for est, truth, theory_var, tol in (
                ("alloc_bytes", tr["alloc_bytes"], tr["alloc_var_bytes"], 0.03),
                ("alloc_objects", tr["alloc_objects"], tr["alloc_var_objects"], 0.03),
                ("live_bytes", tr["live_bytes"], tr["live_var_bytes"], None),
                ("live_objects", tr["live_objects"], tr["live_var_objects"], None)):
            m, sd = mean_sd([r[est] for r in per_run])
            err = (m - truth) / truth
            se_of_mean = math.sqrt(theory_var) / math.sqrt(n) / truth
            print("%-7s %-13s %12d %14.0f %+7.2f%% %7.2f%%" % (name, est, truth, m, 100 * err,
                                                            100 * se_of_mean))
            if tol is None:
                # The live set is an eighth of what was allocated, too little
                # for a 3% bound on the 8-byte class at this rate: the bound is
                # four standard errors of the mean (at least 3%).
                tol = max(0.03, 4 * se_of_mean)
            elif se_of_mean > tol / 4:
                fail("test design: class %s %s: the mean's standard error %.2f%% is more than a "
                     "quarter of the %.0f%% bound" % (name, est, 100 * se_of_mean, 100 * tol))
            if abs(err) > tol:
                fail("class %s: mean %s estimate over %d seeds is %.0f, truth %d: off by %+.2f%% "
                     "(limit %.1f%%; the mean's standard error is %.2f%%)"
                     % (name, est, n, m, truth, 100 * err, 100 * tol, 100 * se_of_mean))
    finish("size classes")


def cmd_poll(runs_dir, rate):
    runs = load_runs(runs_dir)
    if len(runs) < 10:
        fail("only %d usable runs (need at least 10)" % len(runs))
        finish("polling")
    n = len(runs)
    print("%d runs at HEAPPROF_RATE=%d" % (n, rate))
    print("%-15s %12s %14s %8s %8s" % ("tag", "truth", "mean", "err%", "SE%"))
    for i, t in enumerate(runs[0][1]["tags"]):
        name, truth = t["name"], t["truth_bytes"]
        for seed, report, final, stats in runs:
            g = report["tags"][i]
            if (g["alloc_bytes"], g["alloc_objects"]) != (g["truth_bytes"], g["truth_objects"]):
                fail("seed %s: tag %s: alloc %d/%d, truth %d/%d" % (
                    seed, name, g["alloc_bytes"], g["alloc_objects"], g["truth_bytes"],
                    g["truth_objects"]))
        m, sd = mean_sd([r[1]["tags"][i]["live_bytes"] for r in runs])
        err = (m - truth) / truth
        se_of_mean = math.sqrt(t["var_bytes"]) / math.sqrt(n) / truth
        print("%-15s %12d %14.0f %+7.2f%% %7.2f%%" % (name, truth, m, 100 * err, 100 * se_of_mean))
        if se_of_mean > 0.0075:
            fail("test design: tag %s: the mean's standard error %.2f%% is too large for a 3%% bound"
                 % (name, 100 * se_of_mean))
        if abs(err) > 0.03:
            fail("tag %s: mean live bytes estimate over %d seeds is %.0f, truth %d: off by %+.2f%% "
                 "(limit 3%%, standard error of the mean %.2f%%)"
                 % (name, n, m, truth, 100 * err, 100 * se_of_mean))
    finish("polling")


def cmd_tags(run_dir, rate):
    what = "tags at rate %d" % rate
    rc = open(os.path.join(run_dir, "rc")).read().strip()
    err = open(os.path.join(run_dir, "stderr")).read()
    if err:
        sys.stderr.write("program stderr:\n%s\n" % err[-4000:])
    try:
        report = json.loads(open(os.path.join(run_dir, "stdout")).read())
    except ValueError as e:
        fail("%s: no report from the program (exit status %s): %s" % (what, rc, e))
        finish(what)
    if rc != "0" or report["api_failures"]:
        fail("%s: the program's own checks failed %d time(s) (exit status %s; see its stderr above)"
             % (what, report["api_failures"], rc))
    files = glob.glob(os.path.join(run_dir, "prof", "heapprof.*.final.stats.json"))
    if len(files) != 1:
        fail("%s: expected one final stats.json, found %r" % (what, files))
        finish(what)
    with open(files[0]) as f:
        jt = json_tags(json.load(f))
    tags = report["tags"]
    print("%s: %d threads, %d tags used, %d of them by more than one thread"
          % (what, report["threads"], report["tags_used"], report["tags_shared"]))
    phases = {}
    for t in tags:
        phases[t["truth"]["peak_phase"]] = phases.get(t["truth"]["peak_phase"], 0) + 1
    print("%s: tags peaking after phase 1/3: %d/%d; ending at live 0: %d; blocks allocated %d, live at end %d"
          % (what, phases.get(1, 0), phases.get(3, 0),
             sum(1 for t in tags if t["truth"]["live_objects"] == 0),
             sum(t["truth"]["alloc_objects"] for t in tags), sum(t["truth"]["live_objects"] for t in tags)))
    if report["tags_used"] < 1000 or report["tags_shared"] < 240:
        fail("%s: test design: only %d tags used, %d shared" % (what, report["tags_used"],
                                                                 report["tags_shared"]))
    exact_fields = ("live_bytes", "live_objects", "peak_bytes", "peak_objects")
    bad = {}

    def mismatch(kind, msg):
        bad[kind] = bad.get(kind, 0) + 1
        if bad[kind] <= 5:
            fail(msg)

    for t in tags:
        name, tr, got = t["name"], t["truth"], t["got"]
        if t["rc"] != 0:
            mismatch("rc", "%s: heapprof_tag_stats(%s) returned %d" % (what, name, t["rc"]))
            continue
        for k in ("alloc_bytes", "alloc_objects"):
            if got[k] != tr[k]:
                mismatch("alloc", "%s: tag %s: heapprof_tag_stats %s = %d, truth %d (threads: %d)"
                         % (what, name, k, got[k], tr[k], t["threads"]))
        if rate == 1:
            for k in exact_fields:
                if got[k] != tr[k]:
                    mismatch("exact", "%s: tag %s: heapprof_tag_stats %s = %r, truth %d (peak in "
                             "phase %d)" % (what, name, k, got[k], tr[k], tr["peak_phase"]))
            if got["exact"] != 1 or got["live_bytes_stderr"] != 0 or got["live_objects_stderr"] != 0:
                mismatch("flag", "%s: tag %s: exact %r, stderr %r/%r" % (
                    what, name, got["exact"], got["live_bytes_stderr"], got["live_objects_stderr"]))
        elif got["exact"] != 0:
            mismatch("flag", "%s: tag %s: exact = %r when sampling" % (what, name, got["exact"]))
        j = jt.get(name)
        if j is None:
            mismatch("json", "%s: tag %s (%d objects allocated) missing from stats.json"
                     % (what, name, tr["alloc_objects"]))
            continue
        for k in ("alloc_bytes", "alloc_objects"):
            if j[k] != got[k]:
                mismatch("json", "%s: tag %s: stats.json %s = %r, heapprof_tag_stats %r"
                         % (what, name, k, j[k], got[k]))
        for k, prec in (("live_bytes", 0.5), ("live_objects", 0.5), ("peak_bytes", 0.5),
                        ("peak_objects", 0.5), ("live_bytes_stderr", 0.05),
                        ("live_objects_stderr", 0.005)):
            if abs(j[k] - got[k]) > prec + 1e-9 * abs(got[k]):
                mismatch("json", "%s: tag %s: stats.json %s = %r, heapprof_tag_stats %r"
                         % (what, name, k, j[k], got[k]))
        if j["exact"] != (rate == 1):
            mismatch("json", "%s: tag %s: stats.json exact = %r" % (what, name, j["exact"]))
    for kind, n in sorted(bad.items()):
        if n > 5:
            fail("%s: ... %d mismatches of kind '%s' in all (first 5 shown)" % (what, n, kind))
    finish(what)


def main(argv):
    if len(argv) >= 3 and argv[0] == "stats":
        cmd_stats(argv[1], int(argv[2]))
    elif len(argv) >= 2 and argv[0] == "full":
        cmd_full(argv[1])
    elif len(argv) >= 3 and argv[0] == "sizes":
        cmd_sizes(argv[1], int(argv[2]))
    elif len(argv) >= 3 and argv[0] == "tags":
        cmd_tags(argv[1], int(argv[2]))
    elif len(argv) >= 3 and argv[0] == "poll":
        cmd_poll(argv[1], int(argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
