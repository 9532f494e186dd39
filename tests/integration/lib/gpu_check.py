#!/usr/bin/python3
"""Checks the files heapprof wrote for tests/programs/gpu_callbacks.c against
numbers worked out by hand from that program (not from heapprof's output).

    gpu_check.py DIR            # DIR = HEAPPROF_OUT of the run

Every value is exact: GPU allocations are never sampled.
"""
import glob, gzip, json, os, re, subprocess, sys

out_dir = sys.argv[1]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def eq(what, got, want):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def counts(live, live_objects, peak, peak_objects, alloc, alloc_objects, freed, freed_objects):
    return dict(live_bytes=live, live_objects=live_objects, peak_bytes=peak,
                peak_objects=peak_objects, alloc_bytes=alloc, alloc_objects=alloc_objects,
                freed_bytes=freed, freed_objects=freed_objects)


def alive(n, objects):  # allocated, never freed, never less
    return counts(n, objects, n, objects, n, objects, 0, 0)


def gone(n, objects):  # allocated and freed, one at a time or all together
    return counts(0, 0, n, objects, n, objects, n, objects)


# ---- the program's allocations (tests/programs/gpu_callbacks.c) ----
# phase "allocs": one block per callback id, tag "ids"; (api, kind, bytes, device)
IDS = [
    ("cuMemAlloc", "device", 1000, 0),
    ("cuMemAlloc_v2", "device", 2000, 0),
    ("cuMemAllocPitch", "device", 512 * 10, 0),
    ("cuMemAllocPitch_v2", "device", 1024 * 7, 0),
    ("cuMemAllocManaged", "managed", 3000, 0),
    ("cuMemAllocHost", "pinned_host", 4000, 0),
    ("cuMemAllocHost_v2", "pinned_host", 5000, 0),
    ("cuMemHostAlloc", "pinned_host", 6000, 0),
    ("cuMemAllocAsync", "async_pool", 7000, 0),
    ("cuMemAllocAsync_ptsz", "async_pool", 8000, 0),
    ("cuMemAllocFromPoolAsync", "async_pool", 9000, 0),
    ("cuMemAllocFromPoolAsync_ptsz", "async_pool", 10000, 0),
    ("cuMemCreate", "vmm", 2097152, 1),  # device 1 from the allocation's properties
    ("cudaMalloc", "device", 11000, 0),
    ("cudaMallocPitch", "device", 512 * 3, 0),
    ("cudaMalloc3D", "device", 256 * 4 * 6, 0),
    ("cudaMallocManaged", "managed", 12000, 0),
    ("cudaMallocHost", "pinned_host", 13000, 0),
    ("cudaHostAlloc", "pinned_host", 14000, 0),
    ("cudaMallocAsync", "async_pool", 15000, 0),
    ("cudaMallocAsync_ptsz", "async_pool", 16000, 0),
    ("cudaMallocFromPoolAsync", "async_pool", 17000, 0),
    ("cudaMallocFromPoolAsync_ptsz", "async_pool", 18000, 0),
]
assert len(IDS) == 23
IDS_BYTES = sum(b for _, _, b, _ in IDS)  # 2288120
assert IDS_BYTES == 2288120
DEV0 = [(k, b) for _, k, b, d in IDS if d == 0]
DEV0_BYTES = sum(b for _, b in DEV0)  # 190968


def kind_sum(kind):
    return sum(b for _, b in DEV0 if _ == kind), sum(1 for k, _ in DEV0 if k == kind)


RUNTIME_IDS = [a for a, _, _, _ in IDS if a.startswith("cuda")]
assert len(RUNTIME_IDS) == 10

# With every phase-1 block alive:
ALLOCS = {
    "total": alive(IDS_BYTES, 23),
    "devices": {
        0: alive(DEV0_BYTES, 22),
        1: alive(2097152, 1),
    },
    "kinds": {
        (0, k): alive(*kind_sum(k)) for k in ("device", "managed", "pinned_host", "async_pool")
    },
    "tags": {"ids": alive(IDS_BYTES, 23)},
    "device_tags": {(0, "ids"): alive(DEV0_BYTES, 22), (1, "ids"): alive(2097152, 1)},
    # each id fails once; each runtime call makes one driver call
    "events": dict(failed_calls=23, nested_driver_calls=10, unknown_frees=0, reused_addresses=0,
                   dropped=0),
}
ALLOCS["kinds"][(1, "vmm")] = alive(2097152, 1)
assert ALLOCS["kinds"][(0, "device")] == alive(33968, 7)

# each free fails once: only the count of failed calls moves
FAILED_FREES = dict(ALLOCS, events=dict(ALLOCS["events"], failed_calls=46))


def all_gone(section):
    return {k: gone(v["alloc_bytes"], v["alloc_objects"]) for k, v in section.items()}


FREED = dict(
    total=gone(IDS_BYTES, 23),
    devices=all_gone(ALLOCS["devices"]),
    kinds=all_gone(ALLOCS["kinds"]),
    tags=all_gone(ALLOCS["tags"]),
    device_tags=all_gone(ALLOCS["device_tags"]),
    events=dict(ALLOCS["events"], failed_calls=46, nested_driver_calls=20),
)

# Phase "devices-tags", in order (bytes alive on the GPU after each step):
#   cudaMalloc 100000 on device 1, tag model, label trace_id=t-1     100000
#   cuMemAlloc_v2 200000, unknown context (device unknown), tag main 300000
#   cudaMallocAsync 300000 device 0, tag cache                       600000
#   ... freed with cudaFreeAsync on another stream by a thread       300000
#   cudaFree(0xdead0000): unknown, ignored; cudaFree(NULL): nothing
#   cudaMalloc 500000 failing after its driver call: not recorded
#   cuMemAlloc_v2 400000 at 0x5000000, device 0, tag main            700000
#   cuMemCreate 2 MiB, handle 0x5000000, device 0, tag main         2797152  <- GPU peak
#   cuMemRelease(0x5000000): the VMM block, not the address          700000
#   cuMemAlloc_v2 50000 at 0x5000000 again: the 400000 block's
#   free went unseen, so it is taken as freed                        350000
PHASE4 = dict(
    total=counts(350000, 3, 2797152, 23, IDS_BYTES + 100000 + 200000 + 300000 + 400000 + 2097152 +
                 50000, 29, IDS_BYTES + 300000 + 2097152 + 400000, 26),
    devices={
        -1: alive(200000, 1),
        0: counts(50000, 1, 400000 + 2097152, 22, DEV0_BYTES + 300000 + 400000 + 2097152 + 50000,
                  26, DEV0_BYTES + 300000 + 2097152 + 400000, 25),
        1: counts(100000, 1, 2097152, 1, 2097152 + 100000, 2, 2097152, 1),
    },
    kinds={
        (-1, "device"): alive(200000, 1),
        (0, "device"): counts(50000, 1, 400000, 7, 33968 + 400000 + 50000, 9, 33968 + 400000, 8),
        (0, "managed"): gone(15000, 2),
        (0, "pinned_host"): gone(42000, 5),
        (0, "async_pool"): counts(0, 0, 300000, 8, 100000 + 300000, 9, 100000 + 300000, 9),
        (0, "vmm"): gone(2097152, 1),
        (1, "vmm"): gone(2097152, 1),
        (1, "device"): alive(100000, 1),
    },
    tags={
        "ids": gone(IDS_BYTES, 23),
        "model": alive(100000, 1),
        "main": counts(250000, 2, 200000 + 400000 + 2097152, 3, 200000 + 400000 + 2097152 + 50000,
                       4, 400000 + 2097152, 2),
        "cache": gone(300000, 1),
    },
    device_tags={
        (-1, "main"): alive(200000, 1),
        (0, "ids"): gone(DEV0_BYTES, 22),
        (0, "main"): counts(50000, 1, 400000 + 2097152, 2, 400000 + 2097152 + 50000, 3,
                            400000 + 2097152, 2),
        (0, "cache"): gone(300000, 1),
        (1, "ids"): gone(2097152, 1),
        (1, "model"): alive(100000, 1),
    },
    events=dict(failed_calls=47, nested_driver_calls=25, unknown_frees=1, reused_addresses=1,
                dropped=0),
)
EXPECT = {"allocs": ALLOCS, "failed-frees": FAILED_FREES, "freed": FREED,
          "devices-tags": PHASE4, "exit": PHASE4}
COUNT_KEYS = list(counts(*range(8)).keys())


def pick(d):
    return {k: d.get(k) for k in COUNT_KEYS}


def check_stats(reason, doc):
    want = EXPECT[reason]
    g = doc.get("gpu")
    if not isinstance(g, dict):
        fail("%s: stats.json has no gpu object" % reason)
        return
    eq(reason + ": gpu.activation", g.get("activation"), "HEAPPROF_GPU")
    eq(reason + ": gpu.cupti", os.path.basename(g.get("cupti", "")), "libcupti.so")
    eq(reason + ": gpu.exact", g.get("exact"), True)
    eq(reason + ": gpu totals", pick(g), want["total"])
    eq(reason + ": gpu.events", g.get("events"), want["events"])
    devices = {d["device"]: d for d in g.get("devices", [])}
    eq(reason + ": devices", sorted(devices), sorted(want["devices"]))
    for dev, c in want["devices"].items():
        if dev in devices:
            eq("%s: device %d" % (reason, dev), pick(devices[dev]), c)
    kinds = {(dev, k): pick(v) for dev, d in devices.items() for k, v in d.get("kinds", {}).items()}
    eq(reason + ": kinds per device", kinds, want["kinds"])
    tags = {t["name"]: pick(t) for t in g.get("tags", [])}
    eq(reason + ": tags", tags, want["tags"])
    dtags = {(dev, t["name"]): pick(t) for dev, d in devices.items() for t in d.get("tags", [])}
    eq(reason + ": tags per device", dtags, want["device_tags"])


stats = {}
for f in glob.glob(os.path.join(out_dir, "heapprof.*.[0-9]*.stats.json")):
    with open(f) as fh:
        doc = json.load(fh)
    stats[doc["reason"]] = (doc, f)
eq("dump reasons", sorted(stats), sorted(EXPECT))
for reason, (doc, f) in sorted(stats.items()):
    check_stats(reason, doc)
    for ext in ("gpu.pb.gz", "gpu.dhat.json", "pb.gz", "dhat.json", "prom"):
        g = f.replace(".stats.json", "." + ext)
        if not os.path.exists(g):
            fail("%s: no %s" % (reason, os.path.basename(g)))


# ---- pprof (read by go tool pprof) ----
def pprof_raw(path):
    r = subprocess.run(["go", "tool", "pprof", "-raw", "-symbolize=none", path],
                       capture_output=True, text=True)
    if r.returncode:
        fail("go tool pprof -raw %s: %s" % (path, r.stderr.strip()))
        return None
    text = r.stdout
    head, _, rest = text.partition("\nSamples:\n")
    sample_text, _, rest = rest.partition("\nLocations\n")
    loc_text = rest.split("\nMappings\n")[0]
    functions = {}
    for line in loc_text.splitlines():
        m = re.match(r"\s*(\d+): 0x[0-9a-f]+ M=\d+ (\S+)", line)
        if m:
            functions[int(m.group(1))] = m.group(2)
    lines = sample_text.splitlines()
    types = lines[0].split()
    samples = []
    for line in lines[1:]:
        m = re.match(r"\s*([\d ]+):([\d ]+)$", line)
        if m:
            samples.append(dict(values=[int(v) for v in m.group(1).split()],
                                stack=[functions.get(int(i), "?") for i in m.group(2).split()],
                                labels={}))
            continue
        for key, value in re.findall(r"(\w+):\[([^\]]*)\]", line):
            samples[-1]["labels"][key] = value
    return dict(head=head, types=types, samples=samples)


final = glob.glob(os.path.join(out_dir, "heapprof.*.final.gpu.pb.gz"))
eq("final gpu.pb.gz links", len(final), 1)
prof = pprof_raw(final[0]) if final else None
if prof:
    eq("sample types", prof["types"], ["alloc_objects/count", "alloc_space/bytes",
                                       "inuse_objects/count", "inuse_space/bytes"])
    if "Period: 1\n" not in prof["head"] + "\n":
        fail("gpu.pb.gz period is not 1: %r" % prof["head"])
    if "GPU memory" not in prof["head"]:
        fail("gpu.pb.gz comment does not say GPU memory: %r" % prof["head"])
    samples = prof["samples"]
    eq("gpu.pb.gz samples", len(samples), 29)
    own = [f for s in samples for f in s["stack"]
           if f.startswith(("hp_", "fake_cupti", "unw_")) or "cupti" in f.lower()]
    eq("frames of heapprof or CUPTI left in stacks", own, [])

    def find(bytes_, tag):
        hits = [s for s in samples if s["values"][1] == bytes_ and s["labels"].get("tag") == tag]
        if len(hits) != 1:
            fail("%d samples of %d bytes under tag %s" % (len(hits), bytes_, tag))
            return None
        return hits[0]

    for api, kind, bytes_, dev in IDS:
        s = find(bytes_, "ids")
        if not s:
            continue
        eq(api + ": values", s["values"], [1, bytes_, 0, 0])
        eq(api + ": labels", s["labels"], {"device": str(dev), "kind": kind, "tag": "ids",
                                           "bytes": str(bytes_)})
        # the call site: the API function (its callback helper sim_exit above it),
        # called by the test's wrapper, called by phase_ids
        eq(api + ": stack top", s["stack"][:4], ["sim_exit", "sim_" + api, "a_" + api, "phase_ids"])
    s = find(100000, "model")
    if s:
        eq("cudaMalloc on device 1: labels", s["labels"],
           {"device": "1", "kind": "device", "tag": "model", "trace_id": "t-1", "bytes": "100000"})
        eq("cudaMalloc on device 1: values", s["values"], [1, 100000, 1, 100000])
        # recorded at the runtime level: the stack starts at cudaMalloc, not cuMemAlloc_v2
        eq("cudaMalloc on device 1: stack", s["stack"][:3],
           ["sim_exit", "sim_cudaMalloc", "phase_devices_tags"])
    s = find(200000, "main")
    if s:
        eq("unknown context: device label", s["labels"].get("device"), "unknown")
        eq("unknown context: stack", s["stack"][:3],
           ["sim_exit", "sim_cuMemAlloc_v2", "phase_devices_tags"])
    s = find(300000, "cache")
    if s:
        eq("async block freed by another thread", s["values"], [1, 300000, 0, 0])
        eq("async block kind", s["labels"].get("kind"), "async_pool")
    s = find(400000, "main")
    if s:
        eq("address reused while recorded", s["values"], [1, 400000, 0, 0])
    s = find(50000, "main")
    if s:
        eq("block at the reused address", s["values"], [1, 50000, 1, 50000])
    vmm = [s for s in samples if s["labels"].get("kind") == "vmm"]
    eq("VMM samples (device, tag, values)",
       sorted((s["labels"]["device"], s["labels"]["tag"], tuple(s["values"])) for s in vmm),
       [("0", "main", (1, 2097152, 0, 0)), ("1", "ids", (1, 2097152, 0, 0))])
    if [s for s in samples if s["values"][1] == 500000]:
        fail("the cudaMalloc that failed after its driver call was recorded")
    eq("gpu.pb.gz inuse total", sum(s["values"][3] for s in samples), 350000)

# The dump taken with every phase-1 block alive
allocs_pb = stats.get("allocs", (None, ""))[1].replace(".stats.json", ".gpu.pb.gz")
if os.path.exists(allocs_pb):
    p = pprof_raw(allocs_pb)
    if p:
        eq("allocs dump: samples", len(p["samples"]), 23)
        eq("allocs dump: inuse = alloc", [s["values"][1] for s in p["samples"]],
           [s["values"][3] for s in p["samples"]])
        eq("allocs dump: inuse total", sum(s["values"][3] for s in p["samples"]), IDS_BYTES)

# ---- DHAT ----
for f in glob.glob(os.path.join(out_dir, "heapprof.*.final.gpu.dhat.json")):
    with open(f) as fh:
        d = json.load(fh)
    eq("dhat version", d.get("dhatFileVersion"), 2)
    if "GPU memory" not in d.get("mode", ""):
        fail("gpu.dhat.json mode: %r" % d.get("mode"))
    roots = sorted({d["ftbl"][pp["fs"][-1]] for pp in d["pps"]})
    eq("dhat root frames", roots, ["[gpu:0]", "[gpu:1]", "[gpu:unknown]"])
    tags = sorted({d["ftbl"][pp["fs"][-2]] for pp in d["pps"]})
    eq("dhat tag frames", tags, ["[tag: cache]", "[tag: ids]", "[tag: main]", "[tag: model]"])
    eq("dhat tb", sum(pp["tb"] for pp in d["pps"]), PHASE4["total"]["alloc_bytes"])
    eq("dhat tbk", sum(pp["tbk"] for pp in d["pps"]), 29)
    eq("dhat eb", sum(pp["eb"] for pp in d["pps"]), 350000)
    # alive at the GPU's own peak: 100000 + 200000 + 400000 + 2 MiB
    eq("dhat gb", sum(pp["gb"] for pp in d["pps"]), 2797152)
    frames = [d["ftbl"][i] for pp in d["pps"] for i in pp["fs"]]
    if any("fake_cupti" in t or ": hp_" in t for t in frames):
        fail("dhat frames contain heapprof or CUPTI frames")

# ---- Prometheus ----
for f in glob.glob(os.path.join(out_dir, "heapprof.*.final.prom")):
    metrics = {}
    with open(f) as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            name, value = line.rsplit(" ", 1)
            metrics[re.sub(r'pid="\d+",?', "", name)] = int(value)
    want = {
        'heapprof_gpu_live_bytes{device="unknown",kind="device"}': 200000,
        'heapprof_gpu_live_bytes{device="0",kind="device"}': 50000,
        'heapprof_gpu_live_bytes{device="1",kind="device"}': 100000,
        'heapprof_gpu_live_bytes{device="0",kind="async_pool"}': 0,
        'heapprof_gpu_alloc_bytes_total{device="0",kind="pinned_host"}': 42000,
        'heapprof_gpu_alloc_objects_total{device="0",kind="async_pool"}': 9,
        'heapprof_gpu_peak_bytes{device="0"}': 2497152,
        'heapprof_gpu_peak_bytes{device="1"}': 2097152,
        'heapprof_gpu_tag_live_bytes{device="1",tag="model"}': 100000,
        'heapprof_gpu_tag_peak_bytes{device="0",tag="main"}': 2497152,
        'heapprof_gpu_tag_alloc_bytes_total{device="0",tag="cache"}': 300000,
    }
    for k, v in want.items():
        eq("prom " + k, metrics.get(k), v)
    eq("prom gpu series", len([k for k in metrics if k.startswith("heapprof_gpu_")]), 53)

if failures:
    sys.exit("%d GPU expectation(s) failed" % len(failures))
print("gpu files: all expectations met (%d dumps)" % len(stats), file=sys.stderr)
