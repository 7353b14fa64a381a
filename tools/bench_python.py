"""The Python package beside faiss, from one Python harness, on one thread both sides.

For one code set (learned: Fashion-MNIST through `hashidx.train`, or synthetic clustered/uniform)
it loads the codes into a hashidx index (default create, ids in random order) and into faiss
IndexBinaryFlat and IndexBinaryMultiHash, then times, best of --repeats runs per side:

- batch kNN (k = 1, 10, 100) and range (r = 0..6 or a width-scaled set): one call with every
  query; hashidx's wall time per query against its own engine time (the per-query seconds the
  engine reports, summed: what the command reports), and against faiss's wall time;
- single-query calls: one query per call (no statistics asked), the median wall time; hashidx's
  per-call overhead is the median over queries of (call time − that query's engine time in the
  batch), faiss's the median call time on an index of one code (its fixed cost per call);
- memory: this process's peak resident set before and after, against data.mdb's size (the
  database is mapped, never copied into Python).

Every hashidx answer is checked against faiss Flat (kNN distances; range (distance, id) sets).
Prints one JSON object per row; --out appends them to a file.

    python3 tools/bench_python.py --kind learned --method itq     # Fashion-MNIST (tools/fashion_split.py)
    python3 tools/bench_python.py --kind clustered --n 1000000
"""

import argparse, json, math, os, resource, shutil, sys, tempfile, time

import numpy as np

import faiss
import hashidx
from bench_common import append_rows, best, cpu_line


def peak_rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_parts():
    """This process's resident anonymous and file-backed memory, KiB (/proc/self/status)."""
    parts = {}
    for line in open("/proc/self/status"):
        if line.startswith(("RssAnon", "RssFile")):
            key, value = line.split(":")
            parts[key] = int(value.split()[0])
    return parts


def codes_for(a, rng):
    if a.kind == "learned":
        d = a.fashion
        x = np.load(os.path.join(d, "database.npy")).astype(np.float32)
        q = np.load(os.path.join(d, "queries.npy")).astype(np.float32)[: a.queries]
        y = np.load(os.path.join(d, "database_labels.npy")) if a.method in ("center", "pairwise", "sdh", "lda-itq") else None
        enc = hashidx.train(a.method, x, bits=a.bits, labels=y, seed=1)
        return enc.encode(x), enc.encode(q)
    nbytes = a.bits // 8
    if a.kind == "uniform":
        db = rng.integers(0, 256, size=(a.n, nbytes), dtype=np.uint8)
        q = rng.integers(0, 256, size=(a.queries, nbytes), dtype=np.uint8)
        return db, q
    centres = rng.integers(0, 256, size=(max(1, a.n // 50), nbytes), dtype=np.uint8)
    def sample(n):
        c = centres[rng.integers(0, len(centres), size=n)]
        bits = np.unpackbits(c, axis=1, bitorder="little")
        flips = rng.random(bits.shape) < (2.0 / a.bits)
        return np.packbits(bits ^ flips, axis=1, bitorder="little")
    return sample(a.n), sample(a.queries)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["learned", "clustered", "uniform"], default="learned")
    ap.add_argument("--method", default="itq", help="for --kind learned: the hashidx train method")
    ap.add_argument("--fashion", default="/tmp/fm", help="for --kind learned: tools/fashion_split.py's output directory")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--single", type=int, default=300, help="queries timed one call at a time")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(a.seed)
    db, queries = codes_for(a, rng)
    n, B = len(db), db.shape[1] * 8
    label = a.method if a.kind == "learned" else a.kind
    rows = []

    def emit(row):
        row.update(codes=label, n=n, bits=B, isa=os.environ.get("HASHIDX_ISA", "best"))
        rows.append(row)
        print(json.dumps(row), flush=True)

    tmp = tempfile.mkdtemp(prefix="hashidx-pybench-")
    try:
        print(f"# {cpu_line()}; faiss {faiss.__version__}; hashidx {hashidx.library_version}; N={n} B={B} {label}, "
              f"{len(queries)} queries, 1 thread", flush=True)
        ids = rng.permutation(n).astype(np.uint64)
        index = hashidx.create(os.path.join(tmp, "idx"), bits=B, expected_count=n)
        t = time.perf_counter()
        index.add(db, ids=ids)
        load = time.perf_counter() - t
        m = index.substrings
        flat = faiss.IndexBinaryFlat(B)
        flat.add(db)
        mh = faiss.IndexBinaryMultiHash(B, m, B // m)
        t = time.perf_counter()
        mh.add(db)
        mh_add = time.perf_counter() - t
        tiny = faiss.IndexBinaryFlat(B)
        tiny.add(db[:1])
        emit(dict(row="load", hashidx_add_s=load, multihash_add_s=mh_add, ratio=load / mh_add,
                  disk_bytes_per_code=os.path.getsize(os.path.join(tmp, "idx", "data.mdb")) / n))

        faiss_call = float(np.median([best(1, lambda: tiny.search(queries[i:i + 1], 1))[1] for i in range(200)]))
        for k in (1, 10, 100):
            (D, I, stats), h_s = best(a.repeats, lambda: index.search(queries, k, threads=1, return_stats=True))
            engine = sum(s["seconds"] for s in stats)
            (fD, fI), f_s = best(a.repeats, lambda: flat.search(queries, k))
            assert (D == fD).all(), f"kNN k={k}: distances differ from faiss Flat"
            single, overhead = [], []
            for i in range(min(a.single, len(queries))):
                t = time.perf_counter()
                index.search(queries[i:i + 1], k, threads=1)
                wall = time.perf_counter() - t
                single.append(wall)
                overhead.append(wall - stats[i]["seconds"])
            f_single = [best(1, lambda: flat.search(queries[i:i + 1], k))[1] for i in range(min(a.single, len(queries)))]
            nq = len(queries)
            emit(dict(row="knn", k=k, hashidx_batch_us=h_s / nq * 1e6, engine_us=engine / nq * 1e6,
                      batch_vs_engine=h_s / engine, flat_batch_us=f_s / nq * 1e6, vs_flat=h_s / f_s,
                      hashidx_single_us=float(np.median(single)) * 1e6, flat_single_us=float(np.median(f_single)) * 1e6,
                      hashidx_call_overhead_us=float(np.median(overhead)) * 1e6, faiss_call_us=faiss_call * 1e6,
                      probed=sum(s["path"] == "probe" for s in stats)))
        radii = [0, 1, 2, 3, 4, 6] if B <= 128 else [0, 8, 16, 24]
        for r in radii:
            (lims, D, I, stats), h_s = best(a.repeats, lambda: index.range_search(queries, r, threads=1, return_stats=True))
            engine = sum(s["seconds"] for s in stats)
            (flims, fD, fI), f_s = best(a.repeats, lambda: flat.range_search(queries, r + 1))
            mh.nflip = max(0, math.ceil((r + 1) / m) - 1)
            _, mh_s = best(a.repeats, lambda: mh.range_search(queries, r + 1))
            for i in range(len(queries)):
                got = sorted(zip(D[lims[i]:lims[i + 1]].tolist(), I[lims[i]:lims[i + 1]].tolist()))
                want = sorted(zip(fD[flims[i]:flims[i + 1]].tolist(), ids[fI[flims[i]:flims[i + 1]]].astype(np.int64).tolist()))
                assert got == want, f"range r={r} query {i}: hashidx differs from faiss Flat"
            single, overhead = [], []
            for i in range(min(a.single, len(queries))):
                t = time.perf_counter()
                index.range_search(queries[i:i + 1], r, threads=1)
                wall = time.perf_counter() - t
                single.append(wall)
                overhead.append(wall - stats[i]["seconds"])
            nq = len(queries)
            better = min(f_s, mh_s)
            emit(dict(row="range", r=r, results=float(lims[-1]) / nq, hashidx_batch_us=h_s / nq * 1e6,
                      engine_us=engine / nq * 1e6, batch_vs_engine=h_s / engine, flat_batch_us=f_s / nq * 1e6,
                      multihash_batch_us=mh_s / nq * 1e6, vs_better_faiss=h_s / better,
                      hashidx_single_us=float(np.median(single)) * 1e6, hashidx_call_overhead_us=float(np.median(overhead)) * 1e6,
                      probed=sum(s["path"] == "probe" for s in stats)))
        index.close()
        # Memory: the index reopened and searched again; what grows is anonymous memory (copies)
        # or file pages mapped from data.mdb (shared with the page cache, never copied).
        del flat, mh
        before = rss_parts()
        index = hashidx.open(os.path.join(tmp, "idx"), readonly=True)
        index.search(queries, 10, threads=1)
        index.range_search(queries, radii[2], threads=1)
        after = rss_parts()
        index.close()
        emit(dict(row="memory", anon_growth_mib=(after["RssAnon"] - before["RssAnon"]) / 1024,
                  file_growth_mib=(after["RssFile"] - before["RssFile"]) / 1024,
                  data_mdb_mib=os.path.getsize(os.path.join(tmp, "idx", "data.mdb")) / 2**20,
                  codes_mib=db.nbytes / 2**20, peak_rss_mib=peak_rss_kib() / 1024))
    finally:
        shutil.rmtree(tmp)
        append_rows(a.out, rows)


if __name__ == "__main__":
    main()
