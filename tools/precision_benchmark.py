#!/usr/bin/env python3
"""The Hamming look-up precision benchmark on Fashion-MNIST (protocol of the DH paper).

1,000 queries (100 per class, fixed seed), 69,000 database = training items, B in {16, 32, 64},
methods LSH, PCAH, PCA-ITQ, LDA-ITQ, DH, SDH, center, pairwise (supervised methods train with the
training labels). With an open-set split (fashion_split.py --unseen, which writes train.npy), the
encoders train on train.npy and the database and queries come from classes never seen in training.
Everything runs through the Python package (`pip install ./python`): train, encode, evaluate with
`hashidx.metrics.evaluate` (tie-aware and classic mAP, P@r<=2 with the empty rate, P@100, P@1000),
build an index that stores the encoder and time range queries at r = 2. Tie-aware mAP and P@r<=2
are recomputed independently in numpy from the same codes and must agree to 1e-9. Writes a
Markdown section, and SVG plots with `hashidx plot`.

    bash tools/setup.sh && swift build -c release && pip install ./python
    python3 tools/fashion_split.py /tmp/fm
    python3 tools/precision_benchmark.py /tmp/fm --out Benchmarks/precision
"""
import argparse, json, os, shutil, subprocess, time
import numpy as np

import hashidx

def tie_aware_ap(d, rel, bits):
    counts = np.bincount(d, minlength=bits + 1)
    relc = np.bincount(d, weights=rel, minlength=bits + 1)
    total = rel.sum()
    if total == 0:
        return 0.0
    ap, before, rbefore = 0.0, 0, 0
    for n, r in zip(counts, relc):
        n, r = int(n), int(r)
        if n == 0:
            continue
        if r > 0:
            t = np.arange(1, n + 1)
            extra = (t - 1) * (r - 1) / (n - 1) if n > 1 else 0
            ap += r * np.sum((rbefore + 1 + extra) / (before + t)) / n
        before += n; rbefore += r
    return ap / total

def numpy_check(db, q, dbl, ql, bits, radius=2):
    dbits = np.unpackbits(db, axis=1, bitorder="little")[:, :bits].astype(np.int32)
    qbits = np.unpackbits(q, axis=1, bitorder="little")[:, :bits].astype(np.int32)
    maps, precs = [], []
    for i in range(len(q)):
        d = (dbits != qbits[i]).sum(axis=1)
        rel = (dbl == ql[i]).astype(np.float64)
        maps.append(tie_aware_ap(d, rel, bits))
        within = d <= radius
        precs.append(rel[within].mean() if within.any() else 0.0)
    return float(np.mean(maps)), float(np.mean(precs))

def plot(binary, spec, path):
    """Draws a line chart with `hashidx plot` (the plotter `eval --svg` uses)."""
    subprocess.run([binary, "plot", "-", "--output", path], input=json.dumps(spec), text=True, check=True)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("split")
    ap.add_argument("--out", default="Benchmarks/precision")
    ap.add_argument("--binary", default=".build/release/hashidx", help="the command, for its plotter (hashidx plot)")
    ap.add_argument("--methods", default="lsh,pcah,itq,lda-itq,dh,sdh,center,pairwise")
    ap.add_argument("--bits", default="16,32,64")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", action="store_true",
                    help="keep the rows of OUT/results.json and results.md that this run does not redo (re-run some methods or widths only)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    s = a.split
    dbl = np.load(f"{s}/database_labels.npy"); ql = np.load(f"{s}/queries_labels.npy")
    # The open-set split trains on other classes; the closed split on the database itself.
    train, train_labels = (f"{s}/train.npy", f"{s}/train_labels.npy") if os.path.exists(f"{s}/train.npy") else (f"{s}/database.npy", f"{s}/database_labels.npy")
    rows, results = {}, {}
    if a.keep and os.path.exists(f"{a.out}/results.json"):
        for key, ev in json.load(open(f"{a.out}/results.json")).items():
            m, b = key.rsplit(" ", 1)
            results[(m, int(b))] = ev
        for line in open(f"{a.out}/results.md"):
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 3 and cells[2].isdigit():
                rows[(cells[1], int(cells[2]))] = line.rstrip("\n")
    x_train = np.load(train).astype(np.float32)
    y_train = np.load(train_labels)
    x_db = np.load(f"{s}/database.npy").astype(np.float32)
    x_q = np.load(f"{s}/queries.npy").astype(np.float32)
    for bits in [int(b) for b in a.bits.split(",")]:
        for method in a.methods.split(","):
            options = {}
            if method in ("dh", "sdh"):
                # DH trains without labels: they only choose the epoch on 500 held-out training items.
                options["validation_queries"] = 500
            labels = y_train if method in ("lda-itq", "dh", "sdh", "center", "pairwise") else None
            t = time.perf_counter()
            enc = hashidx.train(method, x_train, bits=bits, labels=labels, threads=a.threads, **options)
            train_s = time.perf_counter() - t
            enc.save(f"{s}/{method}{bits}.model")
            t = time.perf_counter(); db = enc.encode(x_db); rate = int(len(x_db) / (time.perf_counter() - t))
            q = enc.encode(x_q)
            np.save(f"{s}/db{bits}{method}.npy", db); np.save(f"{s}/q{bits}{method}.npy", q)
            index_path = f"{s}/idx{bits}{method}"
            shutil.rmtree(index_path, ignore_errors=True)
            with hashidx.create(index_path, encoder=enc, expected_count=len(dbl)) as index:
                t = time.perf_counter(); index.add_vectors(x_db); build_s = time.perf_counter() - t
                _, _, _, stats = index.range_search(q, 2, threads=1, return_stats=True)
                look = [st["seconds"] for st in stats]
            ev = hashidx.metrics.evaluate(db, q, dbl, ql, bits=bits, cutoffs=(100, 1000), threads=a.threads)
            ev["precision_at_radius"] = ev["precision_within_radius"][2]
            ev["empty_at_radius"] = ev["empty_within_radius"][2]
            np_map, np_p2 = numpy_check(db, q, dbl, ql, bits)
            assert abs(np_map - ev["mean_average_precision_tie_aware"]) < 1e-9, (np_map, ev["mean_average_precision_tie_aware"])
            assert abs(np_p2 - ev["precision_at_radius"]) < 1e-9, (np_p2, ev["precision_at_radius"])
            results[(method, bits)] = ev
            rows[(method, bits)] = (f"| {method} | {bits} | {100*ev['mean_average_precision_tie_aware']:.2f} | {100*ev['mean_average_precision']:.2f} | "
                        f"{100*ev['precision_at_radius']:.2f} ({100*ev['empty_at_radius']:.1f}% empty) | {100*ev['precision_at'][100]:.2f} | "
                        f"{100*ev['precision_at'][1000]:.2f} | {train_s:.1f} | {rate:,} | {build_s:.2f} | {1e3*np.median(look):.3f} |")
            print(rows[(method, bits)], flush=True)
    order = "lsh,pcah,itq,lda-itq,dh,sdh,center,pairwise".split(",")
    methods = [m for m in order if any(k[0] == m for k in results)] + sorted({k[0] for k in results} - set(order))
    bitss = sorted({k[1] for k in results})
    split = "open-set split" if train.endswith("train.npy") else "DH protocol"
    plot(a.binary, {"title": f"Fashion-MNIST, {split}: mAP by code width", "x_label": "bits", "y_label": "mAP (tie-aware)",
                    "x_ticks": bitss, "y_range": [0, 1],
                    "series": [{"name": m, "x": bitss, "y": [results[(m, b)]["mean_average_precision_tie_aware"] for b in bitss]} for m in methods]},
         f"{a.out}/map-vs-bits.svg")
    for b in bitss:
        plot(a.binary, {"title": f"Fashion-MNIST, {split}: precision and recall within radius r ({b} bits)",
                        "x_label": "recall within radius r", "y_label": "precision within radius r (empty = 0)", "x_range": [0, 1], "y_range": [0, 1],
                        "series": [{"name": m, "x": results[(m, b)]["recall_within_radius"], "y": results[(m, b)]["precision_within_radius"]} for m in methods]},
             f"{a.out}/pr-by-radius-{b}.svg")
    with open(f"{a.out}/results.json", "w") as f:
        json.dump({f"{m} {b}": results[(m, b)] for (m, b) in results}, f)
    with open(f"{a.out}/results.md", "w") as f:
        f.write("| method | bits | mAP tie-aware % | mAP ties by id % | P@r≤2 % | P@100 % | P@1000 % | train s | encode vectors/s | index build s | r=2 look-up ms |\n")
        f.write("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
        f.write("\n".join(rows[k] for k in sorted(rows, key=lambda k: (k[1], methods.index(k[0]) if k[0] in methods else 99))) + "\n")

if __name__ == "__main__":
    main()
