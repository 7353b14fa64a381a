#!/usr/bin/env python3
"""hashidx against faiss's binary indexes, batch against batch, in one run on one machine.

For one (N, B, code kind) it builds the codes, loads them into hashidx the way a user does by
default (`hashidx create` with no tuning, `hashidx add` of an npy file with ids in random order,
fsync on), builds faiss IndexBinaryFlat and IndexBinaryMultiHash (m = hashidx's default, b = B // m)
on the same codes, and for each query set runs every range radius and k:

- headline, batch against batch: all queries in one faiss call (1 OpenMP thread) against one
  `hashidx search|knn --queries FILE --threads 1` run; mean engine time per query; each batch
  is timed --repeats times (default 3) on both sides and each side's best run is kept. hashidx's
  engine time is the sum of its per-query times (stats.seconds: planning, probing or scanning,
  verification, result assembly), without process start, file parsing or JSON output;
- per query, a harness of the same kind on both sides: the median of hashidx's per-query engine
  times, and faiss called once per query from Python (which adds Python call overhead, about
  2-5 microseconds per call);
- every hashidx answer is checked against faiss Flat (range: the sorted (distance, id) list,
  whose radius is passed to faiss as r + 1 because faiss's range is strict; kNN: the distances);
- MultiHash runs at its smallest exact setting for a range query, nflip = ceil((r + 1) / m) - 1.

Load time is the wall time of the whole `hashidx add` process (durable, fsync on, includes
reading the npy and id files) against MultiHash's in-memory `add`; disk is data.mdb's size;
memory is the peak resident set of the hashidx query process and the growth of this Python
process's resident set while faiss builds MultiHash.

    pip install faiss-cpu numpy
    swift build -c release
    python3 tools/bench_engine.py --n 1000000 --bits 64 --kind clustered --out /tmp/bench.json
"""
import argparse, json, math, os, resource, shutil, subprocess, sys, tempfile, time
import numpy as np
import faiss


def cpu_line():
    model, flags = "?", set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and model == "?":
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
    wanted = [f for f in ("popcnt", "avx2", "avx512f", "avx512bw", "avx512_vpopcntdq") if f in flags]
    return f"{model}, {os.cpu_count()} cores, flags: {' '.join(wanted)}"


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


def hashidx(binary, args, timed=False):
    cmd = ([shutil.which("time") or "/usr/bin/time", "-f", "%M"] if timed else []) + [binary] + args
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"hashidx {' '.join(args)} failed: {p.stderr}")
    peak = int(p.stderr.strip().splitlines()[-1]) if timed else 0
    return p, peak


def best_of(times, run):
    """Runs `run` (returning (result, seconds)) `times` times; returns the run with the least seconds."""
    best = None
    for _ in range(times):
        result, secs = run()
        if best is None or secs < best[1]:
            best = (result, secs)
    return best


def hashidx_batch(binary, args, repeats):
    """Best of `repeats` runs of one `hashidx search|knn` batch on one thread with --prefault:
    (answers, peak resident KiB, per-query engine seconds)."""
    def once():
        p, peak = hashidx(binary, args + ["--format", "jsonl", "--threads", "1", "--prefault"], timed=True)
        out = [json.loads(line) for line in p.stdout.splitlines()]
        return (out, peak), sum(o["stats"]["seconds"] for o in out)
    (out, peak), _ = best_of(repeats, once)
    return out, peak, np.array([o["stats"]["seconds"] for o in out])


def timed(call):
    t = time.perf_counter()
    out = call()
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--kind", choices=["uniform", "clustered", "learned"], default="clustered")
    ap.add_argument("--learned", help="for --kind learned: an npy file of packed codes (database), e.g. Fashion-MNIST through ITQ")
    ap.add_argument("--learned-queries", help="for --kind learned: an npy file of packed query codes")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--binary", default=".build/release/hashidx")
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
        npy, idfile = os.path.join(tmp, "db.npy"), os.path.join(tmp, "ids.txt")
        np.save(npy, db)
        ids = rng.permutation(n).astype(np.uint64)  # ids in random order, as users have them
        open(idfile, "w").write("\n".join(map(str, ids.tolist())) + "\n")
        index = os.path.join(tmp, "idx")
        hashidx(a.binary, ["create", index, "--bits", str(B), "--expected-count", str(n)])
        t = time.perf_counter()
        hashidx(a.binary, ["add", index, npy, "--input-format", "npy", "--ids", idfile])
        load = time.perf_counter() - t
        disk = os.path.getsize(os.path.join(index, "data.mdb"))
        stat = json.loads(hashidx(a.binary, ["stat", index, "--format", "json"])[0].stdout)

        flat = faiss.IndexBinaryFlat(B)
        flat.add(db)
        before = rss_kib()
        mh = faiss.IndexBinaryMultiHash(B, m, B // m)
        t = time.perf_counter()
        mh.add(db)
        mh_add = time.perf_counter() - t
        mh_rss = (rss_kib() - before) * 1024
        # What --prefault costs: one query with it, against one without (whole processes, best of 3).
        q1 = os.path.join(tmp, "q1.txt")
        open(q1, "w").write(db[0].tobytes().hex() + "\n")
        def one(extra):
            t = time.perf_counter(); hashidx(a.binary, ["search", index, "--radius", "0", "--queries", q1] + extra)
            return None, time.perf_counter() - t
        prefault_s = max(0.0, best_of(3, lambda: one(["--prefault"]))[1] - best_of(3, lambda: one([]))[1])
        emit(dict(row="load", hashidx_s=load, multihash_add_s=mh_add, ratio=load / mh_add, prefault_ms=prefault_s * 1e3,
                  disk_bytes_per_code=disk / n, used_bytes_per_code=stat["used_bytes"] / n,
                  multihash_ram_bytes_per_code=mh_rss / n))

        near = [0, 1, 2, 4] if B <= 128 else [0, 4, 16, 31]
        sets = [(f"near-{f}", flip(db[rng.integers(0, n, size=a.queries)], f, rng)) for f in near]
        sets += [("fresh", fresh), ("random", pack(rng.integers(0, 2, size=(a.queries, B), dtype=np.uint8)))]
        radii = [0, 1, 2, 3, 4, 5, 6] if B <= 128 else [0, 8, 16, 24, 31]
        for label, q in sets:
            qfile = os.path.join(tmp, "q.txt")
            open(qfile, "w").write("\n".join(r.tobytes().hex() for r in q) + "\n")
            id_of = ids  # row i of db has id ids[i]
            for r in radii:
                out, peak, secs = hashidx_batch(a.binary, ["search", index, "--radius", str(r), "--queries", qfile], a.repeats)
                (lims, D, I), flat_s = best_of(a.repeats, lambda: timed(lambda: flat.range_search(q, r + 1)))
                mh.nflip = max(0, math.ceil((r + 1) / m) - 1)
                _, mh_s = best_of(a.repeats, lambda: timed(lambda: mh.range_search(q, r + 1)))
                per = []
                for i in range(len(q)):
                    t = time.perf_counter(); mh.range_search(q[i:i + 1], r + 1); per.append(time.perf_counter() - t)
                for i, o in enumerate(out):
                    got = sorted((x["distance"], x["id"]) for x in o["neighbors"])
                    want = sorted(zip(D[lims[i]:lims[i + 1]].tolist(), id_of[I[lims[i]:lims[i + 1]]].tolist()))
                    assert got == want, f"range r={r} {label} query {i}: hashidx differs from faiss Flat"
                emit(dict(row="range", queries=label, r=r, hashidx_batch_us=secs.mean() * 1e6,
                          multihash_batch_us=mh_s / len(q) * 1e6, flat_batch_us=flat_s / len(q) * 1e6,
                          hashidx_median_us=float(np.median(secs)) * 1e6, multihash_median_us=float(np.median(per)) * 1e6,
                          vs_multihash=secs.mean() / (mh_s / len(q)), vs_flat=secs.mean() / (flat_s / len(q)),
                          nflip=mh.nflip, probed=sum(o["stats"]["path"] == "probe" for o in out),
                          results=float(np.mean([len(o["neighbors"]) for o in out])), hashidx_peak_rss_kib=peak))
            for k in (1, 10, 100):
                knn_args = ["knn", index, "-k", str(k), "--queries", qfile]
                out, peak, secs = hashidx_batch(a.binary, knn_args, a.repeats)
                (D, I), flat_s = best_of(a.repeats, lambda: timed(lambda: flat.search(q, k)))
                for i, o in enumerate(out):
                    assert [x["distance"] for x in o["neighbors"]] == D[i].tolist(), f"knn k={k} {label} query {i}: distances differ from faiss Flat"
                row = dict(row="knn", queries=label, k=k, hashidx_batch_us=secs.mean() * 1e6, flat_batch_us=flat_s / len(q) * 1e6,
                           hashidx_median_us=float(np.median(secs)) * 1e6, vs_flat=secs.mean() / (flat_s / len(q)),
                           probed=sum(o["stats"]["path"] == "probe" for o in out), hashidx_peak_rss_kib=peak)
                if a.paths:
                    forced = {}
                    for path in ("probe", "scan"):
                        forced[path] = hashidx_batch(a.binary, knn_args + ["--path", path], 1)[2]
                    # Per query: the automatic path against the better forced path for that query.
                    best = np.minimum(forced["probe"], forced["scan"])
                    row.update(probe_batch_us=forced["probe"].mean() * 1e6, scan_batch_us=forced["scan"].mean() * 1e6,
                               auto_vs_best_batch=secs.mean() / min(forced["probe"].mean(), forced["scan"].mean()),
                               auto_vs_best_query_p90=float(np.percentile(secs / best, 90)))
                emit(row)
    finally:
        shutil.rmtree(tmp)
        if a.out:
            with open(a.out, "a") as f:
                for row in rows:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
