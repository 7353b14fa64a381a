#!/usr/bin/env python3
"""hashidx at scale on one machine: N 64-bit codes (default 100M) through the default path.

Writes N uniform 64-bit codes and a file of ids in random order, loads them with the default
`hashidx create` and `hashidx add` (durable, default batches), and reports load time, peak
memory, disk per code, and per-query engine times of range and kNN queries (near-duplicates with
2 flipped bits, and uniform random codes). Answers of the first queries of each kind are checked
against a numpy brute-force scan.

    swift build -c release
    python3 tools/bench_scale.py --n 100000000 --work /tmp/scale   # about 15 GB of scratch space

Needs about 8 GB of memory for N = 100M.
"""
import argparse, json, os, shutil, subprocess, sys, time
import numpy as np


def run(cmd):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr}")
    return p, time.perf_counter() - t, int(p.stderr.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--work", default="/tmp/hashidx-scale")
    ap.add_argument("--binary", default=".build/release/hashidx")
    ap.add_argument("--check", type=int, default=5, help="queries per kind checked against numpy")
    ap.add_argument("--batch-size", type=int, help="codes per write transaction (default: hashidx add's default)")
    ap.add_argument("--prefault", action="store_true", help="map the index into each query process first")
    ap.add_argument("--reuse", action="store_true", help="reuse the data files of an earlier run in --work")
    a = ap.parse_args()
    rng = np.random.default_rng(2026)
    os.makedirs(a.work, exist_ok=True)
    npy, idfile, index = (os.path.join(a.work, x) for x in ("db.npy", "ids.txt", "idx"))
    t = time.perf_counter()
    db = rng.integers(0, 2**64, size=a.n, dtype=np.uint64, endpoint=False)
    ids = rng.permutation(a.n).astype(np.uint64)
    if not (a.reuse and os.path.exists(npy) and os.path.exists(idfile)):
        np.save(npy, db.view(np.uint8).reshape(a.n, 8))
        with open(idfile, "w") as f:
            for start in range(0, a.n, 5_000_000):
                f.write("\n".join(map(str, ids[start:start + 5_000_000].tolist())) + "\n")
    print(f"# data ready in {time.perf_counter() - t:.0f} s", flush=True)
    shutil.rmtree(index, ignore_errors=True)
    run([a.binary, "create", index, "--bits", "64", "--expected-count", str(a.n)])
    _, load_s, load_kib = run([a.binary, "add", index, npy, "--input-format", "npy", "--ids", idfile]
                              + (["--batch-size", str(a.batch_size)] if a.batch_size else []))
    stat = json.loads(subprocess.run([a.binary, "stat", index, "--format", "json"], capture_output=True, text=True).stdout)
    report = dict(n=a.n, batch_size=a.batch_size or "default", load_s=load_s, load_peak_mib=load_kib / 1024, file_bytes_per_code=stat["file_bytes"] / a.n,
                  used_bytes_per_code=stat["used_bytes"] / a.n, m=stat["substring_count"])
    print(json.dumps(report), flush=True)
    picks = rng.integers(0, a.n, size=a.queries)
    near = db[picks] ^ (np.uint64(1) << rng.integers(0, 64, size=a.queries).astype(np.uint64)) \
                     ^ (np.uint64(1) << rng.integers(0, 64, size=a.queries).astype(np.uint64))
    sets = [("near-2", near), ("random", rng.integers(0, 2**64, size=a.queries, dtype=np.uint64))]
    for label, q in sets:
        qfile = os.path.join(a.work, "q.txt")
        open(qfile, "w").write("\n".join(x.tobytes().hex() for x in q.reshape(-1, 1).view(np.uint8).reshape(-1, 8)) + "\n")
        for mode, values in (("search", (0, 2, 4)), ("knn", (1, 10, 100))):
            for v in values:
                flag = ["--radius", str(v)] if mode == "search" else ["-k", str(v)]
                p, wall, peak = run([a.binary, mode, index] + flag + ["--queries", qfile, "--format", "jsonl", "--threads", "1"]
                                    + (["--prefault"] if a.prefault else []))
                out = [json.loads(line) for line in p.stdout.splitlines()]
                secs = np.array([o["stats"]["seconds"] for o in out])
                for i in range(min(a.check, len(q))):
                    d = np.bitwise_count(db ^ q[i])
                    if mode == "search":
                        rows = np.flatnonzero(d <= v)
                        want = sorted(zip(d[rows].tolist(), ids[rows].tolist()))
                        got = sorted((x["distance"], x["id"]) for x in out[i]["neighbors"])
                    else:
                        want = sorted(np.partition(d, v - 1)[:v].tolist())
                        got = [x["distance"] for x in out[i]["neighbors"]]
                    assert got == want, f"{mode} {v} {label} query {i} differs from the brute-force scan"
                row = dict(prefault=a.prefault, queries=label, mode=mode, value=v, mean_us=secs.mean() * 1e6, median_us=float(np.median(secs)) * 1e6,
                           probed=sum(o["stats"]["path"] == "probe" for o in out), peak_mib=peak / 1024,
                           results=float(np.mean([len(o["neighbors"]) for o in out])))
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
