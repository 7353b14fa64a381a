#!/usr/bin/env python3
"""Side-by-side speed of hashidx and faiss's binary indexes, measured in one run.

Builds N random or clustered B-bit codes, loads them into a hashidx index (durable, fsync on)
and into faiss IndexBinaryFlat and IndexBinaryMultiHash, runs the same range and kNN queries on
each, checks that hashidx's answers equal faiss's, and prints times per query and their ratios.

    pip install faiss-cpu numpy
    swift build -c release
    python3 tools/bench_faiss.py --n 1000000 --bits 64 --queries 200

hashidx times are medians of engine times per query (reported by `hashidx --format json`),
single-threaded; faiss times are medians over the same queries run one at a time, with one
thread (omp_set_num_threads(1)). Medians, because the machine is shared and noisy.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
import numpy as np
import faiss

def codes(n, nbytes, kind, rng):
    if kind == "uniform":
        return rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    centres = rng.integers(0, 256, size=(max(1, n // 1000), nbytes), dtype=np.uint8)
    x = centres[rng.integers(0, len(centres), size=n)]
    bits = np.unpackbits(x, axis=1, bitorder="little")
    flips = rng.random(bits.shape) < 0.06
    return np.packbits(bits ^ flips, axis=1, bitorder="little")

def near_queries(db, q, rng, flips):
    picks = db[rng.integers(0, len(db), size=q)].copy()
    bits = np.unpackbits(picks, axis=1, bitorder="little")
    for row in bits:
        row[rng.choice(bits.shape[1], size=flips, replace=False)] ^= 1
    return np.packbits(bits, axis=1, bitorder="little")

def run_hashidx(binary, args, stdin=None):
    p = subprocess.run([binary] + args, input=stdin, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"hashidx {' '.join(args)} failed: {p.stderr}")
    return p

def hashidx_queries(binary, index, mode, value, qfile):
    flag = ["--radius", str(value)] if mode == "range" else ["-k", str(value)]
    p = run_hashidx(binary, [mode if mode == "knn" else "search", index] + flag + ["--queries", qfile, "--format", "json", "--threads", "1"])
    rows = [json.loads(l) for l in p.stdout.splitlines()]
    secs = np.array([r["stats"]["seconds"] for r in rows])
    paths = [r["stats"]["path"] for r in rows]
    return rows, float(np.median(secs)) * 1e3, paths

def per_query_ms(call, q):
    times = []
    for i in range(len(q)):
        t = time.perf_counter(); call(q[i:i + 1]); times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--kind", choices=["uniform", "clustered"], default="uniform")
    ap.add_argument("--binary", default=".build/release/hashidx")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(a.seed)
    nbytes = a.bits // 8
    db = codes(a.n, nbytes, a.kind, rng)
    tmp = tempfile.mkdtemp(prefix="hashidx-bench-")
    try:
        npy = os.path.join(tmp, "db.npy"); np.save(npy, db)
        index = os.path.join(tmp, "idx")
        m = max(1, round(a.bits / np.log2(a.n)))
        run_hashidx(a.binary, ["create", index, "--bits", str(a.bits), "--substrings", str(m), "--expected-count", str(a.n)])
        t = time.perf_counter()
        run_hashidx(a.binary, ["add", index, npy, "--input-format", "npy", "--batch-size", "1000000"])
        load = time.perf_counter() - t
        size = os.path.getsize(os.path.join(index, "data.mdb"))

        flat = faiss.IndexBinaryFlat(a.bits)
        t = time.perf_counter(); flat.add(db); flat_build = time.perf_counter() - t
        mh = faiss.IndexBinaryMultiHash(a.bits, m, a.bits // m)
        t = time.perf_counter(); mh.add(db); mh_build = time.perf_counter() - t
        mh.nflip = a.bits // m

        print(f"# N={a.n} B={a.bits} m={m} {a.kind}, {a.queries} queries, 1 thread")
        print(f"load: hashidx {load:.2f} s (durable, incl. process start and npy read), faiss MultiHash build {mh_build:.2f} s, ratio {load / mh_build:.2f}")
        print(f"disk: hashidx {size / a.n:.1f} bytes per code")

        for label, flips in (("near (3 flips)", 3), ("random", None)):
            q = near_queries(db, a.queries, rng, flips) if flips else codes(a.queries, nbytes, "uniform", rng)
            qfile = os.path.join(tmp, "q.txt")
            open(qfile, "w").write("\n".join(row.tobytes().hex() for row in q) + "\n")
            for r in (0, 2, 4):
                rows, ms, paths = hashidx_queries(a.binary, index, "range", r, qfile)
                lims, D, I = flat.range_search(q, r + 1)
                flat_ms = per_query_ms(lambda x: flat.range_search(x, r + 1), q)
                mh.nflip = r // m   # pigeonhole: exact for radius r
                mh_ms = per_query_ms(lambda x: mh.range_search(x, r + 1), q)
                for i, row in enumerate(rows):
                    got = sorted((n["distance"], n["id"]) for n in row["neighbors"])
                    want = sorted(zip(D[lims[i]:lims[i + 1]].tolist(), I[lims[i]:lims[i + 1]].tolist()))
                    assert got == want, f"range r={r} query {i} differs from faiss"
                print(f"range {label:15} r={r}: hashidx {ms:.4f} ms ({paths.count('probe')}/{len(paths)} probe) | faiss Flat {flat_ms:.4f} ms | MultiHash {mh_ms:.4f} ms | hashidx/MultiHash {ms / mh_ms:.2f}, hashidx/Flat {ms / flat_ms:.3f}")
            for k in (1, 10, 100):
                rows, ms, paths = hashidx_queries(a.binary, index, "knn", k, qfile)
                D, I = flat.search(q, k)
                flat_ms = per_query_ms(lambda x: flat.search(x, k), q)
                for i, row in enumerate(rows):
                    got = [n["distance"] for n in row["neighbors"]]
                    assert got == D[i].tolist(), f"knn k={k} query {i}: distances differ from faiss"
                print(f"knn   {label:15} k={k}: hashidx {ms:.4f} ms ({paths.count('probe')}/{len(paths)} probe) | faiss Flat {flat_ms:.4f} ms | hashidx/Flat {ms / flat_ms:.3f}")
    finally:
        shutil.rmtree(tmp)

if __name__ == "__main__":
    main()
