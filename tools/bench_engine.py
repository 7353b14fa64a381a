#!/usr/bin/env python3
"""hashidx against faiss's binary indexes, batch against batch, in one run on one machine.

For one (N, B, code kind) it builds the codes, loads them into hashidx through the Python package
the way a user does by default (`hashidx.create` with no tuning, one `add` of every code with ids
in random order, fsync on), builds faiss IndexBinaryFlat and IndexBinaryMultiHash (m = hashidx's
default, b = B // m) on the same codes, and for each query set runs every range radius and k:

- headline, batch against batch: all queries in one faiss call (1 OpenMP thread) against one
  `index.search|range_search(queries, ..., threads=1)` call; mean engine time per query; each
  batch is timed --repeats times (default 3) on both sides and each side's best run is kept.
  hashidx's engine time is the sum of its per-query times (statistics' seconds: planning, probing
  or scanning, verification, result assembly), without the Python call around the batch; beside
  it, the whole call's wall time as a user makes it (no statistics asked for), from Python's
  side of the call to the arrays it returns, which is what faiss's figure is;
- per query, a harness of the same kind on both sides: the median of hashidx's per-query engine
  times, and faiss called once per query from Python (which adds Python call overhead, about
  2-5 microseconds per call);
- every hashidx answer is checked against faiss Flat (range: the sorted (distance, id) list,
  whose radius is passed to faiss as r + 1 because faiss's range is strict; kNN: the distances);
- MultiHash runs at its smallest exact setting for a range query, nflip = ceil((r + 1) / m) - 1.

Load time is the wall time of `add` (durable, fsync on) against MultiHash's in-memory `add`; disk
is data.mdb's size; memory is the growth of this process's resident set while faiss builds
MultiHash (tools/bench_python.py measures hashidx's own).

    pip install faiss-cpu numpy ./python
    python3 tools/bench_engine.py --n 1000000 --bits 64 --kind clustered --out /tmp/bench.json
"""
import argparse, json, math, os, shutil, sys, tempfile, time
# numpy's OpenBLAS threads spin after each call and would take the second core from the
# single-threaded measurements on both sides.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import faiss
import hashidx
from bench_common import append_rows, best, best_of, cpu_line


def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pack(bits):
    return np.packbits(bits, axis=1, bitorder="little")


class Codes:
    """uniform: independent fair bits. clustered: a mixture of 1,000 Gaussians in 32 dimensions,
    binarised by B random projections through the origin (codes of nearby points share most bits)."""

    def __init__(self, kind, bits, seed):
        self.kind, self.bits = kind, bits
        self.rng = np.random.default_rng(seed)
        if kind == "clustered":
            self.centres = self.rng.normal(size=(1000, 32)) * 3.0
            self.projection = self.rng.normal(size=(32, bits))

    def sample(self, n, rng=None):
        rng = rng or self.rng
        if self.kind == "uniform":
            return pack(rng.integers(0, 2, size=(n, self.bits), dtype=np.uint8))
        out = []
        for start in range(0, n, 1_000_000):
            k = min(1_000_000, n - start)
            x = self.centres[rng.integers(0, len(self.centres), size=k)] + rng.normal(size=(k, 32))
            out.append(pack((x @ self.projection > 0).astype(np.uint8)))
        return np.concatenate(out)


def flip(codes, flips, rng):
    bits = np.unpackbits(codes, axis=1, bitorder="little")
    for row in bits:
        row[rng.choice(bits.shape[1], size=flips, replace=False)] ^= 1
    return pack(bits)


def hashidx_batch(index, method, queries, arg, repeats, path="auto"):
    """Best of `repeats` runs of one batch on one thread: (answers, per-query engine seconds, stats,
    wall seconds of the whole call). `method` is "search" (arg = k) or "range_search" (arg = radius);
    answers as the call returns them. The whole call is timed apart, as a user makes it (no
    statistics asked for), best of `repeats` runs too."""
    index.force_path(path)
    def once():
        out = getattr(index, method)(queries, arg, threads=1, return_stats=True)
        return out, sum(s["seconds"] for s in out[-1])
    out, _ = best_of(repeats, once)
    _, call = best(repeats, lambda: getattr(index, method)(queries, arg, threads=1))
    index.force_path("auto")
    return out[:-1], np.array([s["seconds"] for s in out[-1]]), out[-1], call


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--kind", choices=["uniform", "clustered", "learned"], default="clustered")
    ap.add_argument("--learned", help="for --kind learned: an npy file of packed codes (database), e.g. Fashion-MNIST through ITQ")
    ap.add_argument("--learned-queries", help="for --kind learned: an npy file of packed query codes")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="append the rows as JSON lines to this file")
    ap.add_argument("--repeats", type=int, default=3,
                    help="time every batch this many times on both sides and keep each side's best (the machine is shared)")
    ap.add_argument("--label", help="a name for the code set in the report (e.g. itq, center for --kind learned)")
    ap.add_argument("--paths", action="store_true",
                    help="also time kNN with the path forced (probe, scan): how far the planner's choice is from the better one")
    a = ap.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(a.seed + 1)
    B, nbytes = a.bits, (a.bits + 7) // 8
    if a.kind == "learned":
        db = np.load(a.learned)
        fresh = np.load(a.learned_queries)[: a.queries]
        B, nbytes = db.shape[1] * 8, db.shape[1]
        gen = None
    else:
        gen = Codes(a.kind, B, a.seed)
        db = gen.sample(a.n)
        fresh = gen.sample(a.queries, rng)
    n = len(db)
    m = max(1, round(B / math.log2(n)))
    tmp = tempfile.mkdtemp(prefix="hashidx-bench-")
    rows = []

    # The kernel hashidx runs with: its best, or the one HASHIDX_ISA forces (capped at the CPU's).
    isa = os.environ.get("HASHIDX_ISA", "best")

    def emit(row):
        row.update(n=n, bits=B, kind=a.kind, m=m, isa=isa, **({"label": a.label} if a.label else {}))
        rows.append(row)
        print(json.dumps(row), flush=True)

    try:
        print(f"# {cpu_line()}; faiss {faiss.__version__}; N={n} B={B} {a.kind}, m={m}, {a.queries} queries, 1 thread, hashidx kernel {isa}", flush=True)
        ids = rng.permutation(n).astype(np.uint64)  # ids in random order, as users have them
        index = hashidx.create(os.path.join(tmp, "idx"), bits=B, expected_count=n)
        t = time.perf_counter()
        index.add(db, ids=ids)
        load = time.perf_counter() - t
        disk = os.path.getsize(os.path.join(tmp, "idx", "data.mdb"))
        stat = index.stats()

        flat = faiss.IndexBinaryFlat(B)
        flat.add(db)
        before = rss_kib()
        mh = faiss.IndexBinaryMultiHash(B, m, B // m)
        t = time.perf_counter()
        mh.add(db)
        mh_add = time.perf_counter() - t
        mh_rss = (rss_kib() - before) * 1024
        emit(dict(row="load", hashidx_s=load, multihash_add_s=mh_add, ratio=load / mh_add,
                  disk_bytes_per_code=disk / n, used_bytes_per_code=stat["used_bytes"] / n,
                  multihash_ram_bytes_per_code=mh_rss / n))

        near = [0, 1, 2, 4] if B <= 128 else [0, 4, 16, 31]
        sets = [(f"near-{f}", flip(db[rng.integers(0, n, size=a.queries)], f, rng)) for f in near]
        sets += [("fresh", fresh), ("random", pack(rng.integers(0, 2, size=(a.queries, B), dtype=np.uint8)))]
        radii = [0, 1, 2, 3, 4, 5, 6] if B <= 128 else [0, 8, 16, 24, 31]
        for label, q in sets:
            id_of = ids.astype(np.int64)  # row i of db has id ids[i]
            for r in radii:
                (lims, hD, hI), secs, stats, call = hashidx_batch(index, "range_search", q, r, a.repeats)
                (flims, D, I), flat_s = best(a.repeats, lambda: flat.range_search(q, r + 1))
                mh.nflip = max(0, math.ceil((r + 1) / m) - 1)
                _, mh_s = best(a.repeats, lambda: mh.range_search(q, r + 1))
                per = []
                for i in range(len(q)):
                    t = time.perf_counter(); mh.range_search(q[i:i + 1], r + 1); per.append(time.perf_counter() - t)
                for i in range(len(q)):
                    got = sorted(zip(hD[lims[i]:lims[i + 1]].tolist(), hI[lims[i]:lims[i + 1]].tolist()))
                    want = sorted(zip(D[flims[i]:flims[i + 1]].tolist(), id_of[I[flims[i]:flims[i + 1]]].tolist()))
                    assert got == want, f"range r={r} {label} query {i}: hashidx differs from faiss Flat"
                emit(dict(row="range", queries=label, r=r, hashidx_batch_us=secs.mean() * 1e6, hashidx_call_us=call / len(q) * 1e6,
                          multihash_batch_us=mh_s / len(q) * 1e6, flat_batch_us=flat_s / len(q) * 1e6,
                          hashidx_median_us=float(np.median(secs)) * 1e6, multihash_median_us=float(np.median(per)) * 1e6,
                          vs_multihash=secs.mean() / (mh_s / len(q)), vs_flat=secs.mean() / (flat_s / len(q)),
                          nflip=mh.nflip, probed=sum(s["path"] == "probe" for s in stats),
                          results=float(lims[-1]) / len(q)))
            for k in (1, 10, 100):
                (hD, hI), secs, stats, call = hashidx_batch(index, "search", q, k, a.repeats)
                (D, I), flat_s = best(a.repeats, lambda: flat.search(q, k))
                for i in range(len(q)):
                    assert hD[i].tolist() == D[i].tolist(), f"knn k={k} {label} query {i}: distances differ from faiss Flat"
                row = dict(row="knn", queries=label, k=k, hashidx_batch_us=secs.mean() * 1e6, hashidx_call_us=call / len(q) * 1e6,
                           flat_batch_us=flat_s / len(q) * 1e6,
                           hashidx_median_us=float(np.median(secs)) * 1e6, vs_flat=secs.mean() / (flat_s / len(q)),
                           probed=sum(s["path"] == "probe" for s in stats))
                if a.paths:
                    forced = {path: hashidx_batch(index, "search", q, k, 1, path=path)[1] for path in ("probe", "scan")}
                    # Per query: the automatic path against the better forced path for that query.
                    better = np.minimum(forced["probe"], forced["scan"])
                    row.update(probe_batch_us=forced["probe"].mean() * 1e6, scan_batch_us=forced["scan"].mean() * 1e6,
                               auto_vs_best_batch=secs.mean() / min(forced["probe"].mean(), forced["scan"].mean()),
                               auto_vs_best_query_p90=float(np.percentile(secs / better, 90)))
                emit(row)
        index.close()
    finally:
        shutil.rmtree(tmp)
        append_rows(a.out, rows)


if __name__ == "__main__":
    main()
