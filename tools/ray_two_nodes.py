"""Two Ray nodes, shards on both, answering exactly as one index.

Connects to a running cluster of two nodes (--address; started with `ray start --head` and
`ray start --address=…`), or starts one on this machine with ray.cluster_utils.Cluster (a head
raylet and a second raylet, each with its own resources, object store and worker processes);
places four shards two per node with NodeAffinitySchedulingStrategy, loads codes, and checks kNN
and range answers against one index holding every code, byte for byte.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install "./python[ray]"
    /tmp/v/bin/ray start --head --port=6391 --num-cpus=1
    /tmp/v/bin/ray start --address=127.0.0.1:6391 --num-cpus=1
    /tmp/v/bin/python tools/ray_two_nodes.py --address 127.0.0.1:6391
    /tmp/v/bin/ray stop
"""
import argparse
import tempfile

import numpy as np
import ray
from ray.cluster_utils import Cluster
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

import hashidx
import hashidx.ray as hxr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", help="a running cluster's address (else two nodes are started here)")
    a = ap.parse_args()
    cluster = None
    if a.address:
        ray.init(address=a.address, log_to_driver=False)
    else:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, log_to_driver=False)
    try:
        nodes = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
        print(f"nodes: {len(nodes)} ({', '.join(n[:12] for n in nodes)})")
        assert len(nodes) == 2, "expected a cluster of two nodes"
        rng = np.random.default_rng(7)
        codes = rng.integers(0, 256, size=(100_000, 8), dtype=np.uint8)
        ids = rng.permutation(10**9)[:100_000].astype(np.uint64)
        queries = np.concatenate([codes[:500], rng.integers(0, 256, size=(500, 8), dtype=np.uint8)])
        with tempfile.TemporaryDirectory() as d:
            s = hxr.ShardedIndex.create(d + "/sharded", bits=64, shards=4, num_cpus=0.25,
                                        scheduling_strategy=lambda i: NodeAffinitySchedulingStrategy(nodes[i % 2], soft=False))
            placed = ray.get([a.node.remote() for a in s.actors()])
            print("shards on nodes:", [nodes.index(p) for p in placed])
            assert sorted(placed) == sorted([nodes[0], nodes[0], nodes[1], nodes[1]]), "the shards are not on both nodes"
            s.add(codes, ids)
            with hashidx.create(d + "/one", bits=64) as one:
                one.add(codes, ids)
                for k in (1, 10, 100):
                    got, want = s.search(queries, k), one.search(queries, k)
                    assert all(np.array_equal(a, b) for a, b in zip(got, want)), f"kNN k={k} differs"
                for r in (0, 4, 8, 12):
                    got, want = s.range_search(queries, r), one.range_search(queries, r)
                    assert all(np.array_equal(a, b) for a, b in zip(got, want)), f"range r={r} differs"
            print(f"{len(s)} codes in 4 shards on 2 nodes: kNN (k = 1, 10, 100) and range (r = 0, 4, 8, 12) "
                  f"answers for {len(queries)} queries equal one index's, byte for byte")
            s.close()
    finally:
        ray.shutdown()
        if cluster:
            cluster.shutdown()


if __name__ == "__main__":
    main()
