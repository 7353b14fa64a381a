"""Shards on Ray against one index on this machine: batch kNN and range throughput and latency
with S = 1, 2 and 4 shards of N codes each, against one index of S x N codes; and the fan-out
cost of a call through Ray (an empty-ish batch of one query).

Every sharded answer is checked against the single index, byte for byte. Best of --repeats runs.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install "./python[ray]"
    /tmp/v/bin/python tools/bench_ray.py --n 1000000 --out /tmp/ray.jsonl
"""
import argparse, json, os, tempfile, time

import numpy as np
import ray

import hashidx
import hashidx.ray as hxr
from bench_common import append_rows, best


def clustered(rng, n, bits):
    centres = rng.normal(size=(1000, 32)) * 3.0
    projection = np.random.default_rng(99).normal(size=(32, bits))
    out = []
    for start in range(0, n, 500_000):
        k = min(500_000, n - start)
        x = centres[rng.integers(0, 1000, size=k)] + rng.normal(size=(k, 32))
        out.append(np.packbits((x @ projection > 0).astype(np.uint8), axis=1, bitorder="little"))
    return np.concatenate(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000, help="codes per shard")
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--shards", default="1,2,4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out")
    a = ap.parse_args()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    rows = []
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as d:
        for S in [int(x) for x in a.shards.split(",")]:
            total = S * a.n
            codes = clustered(rng, total, a.bits)
            ids = rng.permutation(total).astype(np.uint64)
            queries = clustered(np.random.default_rng(2), a.queries, a.bits)
            one = hashidx.create(f"{d}/one{S}", bits=a.bits, expected_count=total)
            one.add(codes, ids)
            s = hxr.ShardedIndex.create(f"{d}/s{S}", bits=a.bits, shards=S, expected_count=total, num_cpus=os.cpu_count() / S)
            t = time.perf_counter(); s.add(codes, ids); load = time.perf_counter() - t
            for kind, arg in (("knn", 10), ("range", 4)):
                call_one = (lambda: one.search(queries, arg)) if kind == "knn" else (lambda: one.range_search(queries, arg))
                call_s = (lambda: s.search(queries, arg)) if kind == "knn" else (lambda: s.range_search(queries, arg))
                want, t_one = best(a.repeats, call_one)
                got, t_s = best(a.repeats, call_s)
                assert all(np.array_equal(x, y) for x, y in zip(got, want)), f"{kind}: shards differ from one index"
                _, t_one1 = best(a.repeats * 5, lambda: (one.search if kind == "knn" else one.range_search)(queries[:1], arg))
                _, t_s1 = best(a.repeats * 5, lambda: (s.search if kind == "knn" else s.range_search)(queries[:1], arg))
                row = dict(shards=S, codes=total, kind=kind, arg=arg, queries=a.queries,
                           one_batch_ms=t_one * 1e3, sharded_batch_ms=t_s * 1e3, ratio=t_s / t_one,
                           sharded_qps=a.queries / t_s, one_qps=a.queries / t_one,
                           one_call_ms=t_one1 * 1e3, sharded_call_ms=t_s1 * 1e3, fanout_ms=(t_s1 - t_one1) * 1e3,
                           sharded_load_s=load)
                rows.append(row)
                print(json.dumps(row), flush=True)
            s.close()
            one.close()
    ray.shutdown()
    append_rows(a.out, rows)


if __name__ == "__main__":
    main()
