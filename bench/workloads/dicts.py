"""Dict- and string-heavy Python workload for bench/run.sh.

usage: python3 dicts.py SCALE   (1.0 is about 1-2 s)
Builds an inverted index over generated documents, merges and rebuilds
dicts, formats records as text and parses them back. Deterministic.
"""
import random
import sys


def words(rng, n):
    syll = ["ka", "lo", "mi", "ne", "su", "ta", "vo", "re", "zi", "pa", "qu", "ex"]
    return ["".join(rng.choice(syll) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rng = random.Random(42)
    vocab = words(rng, 5000)
    total = 0
    for rnd in range(max(1, int(12 * scale))):
        docs = [" ".join(rng.choices(vocab, k=rng.randint(20, 200))) for _ in range(1500)]
        index = {}
        for i, doc in enumerate(docs):
            for w in doc.split():
                index.setdefault(w, []).append(i)
        counts = {w: len(v) for w, v in index.items()}
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:100]
        records = [
            {"id": i, "name": f"doc-{rnd}-{i}", "len": len(d), "head": d[:32], "tags": d.split()[:5]}
            for i, d in enumerate(docs)
        ]
        text = "\n".join(f"{r['id']}|{r['name']}|{r['len']}|{r['head']}|{','.join(r['tags'])}"
                         for r in records)
        parsed = {}
        for line in text.splitlines():
            rid, name, ln, head, tags = line.split("|")
            parsed[name] = (int(rid), int(ln), head.upper(), tags.split(","))
        merged = dict(counts)
        merged.update({k: v[1] for k, v in parsed.items()})
        total += len(merged) + sum(c for _, c in top) + len(text)
    print(total)


main()
