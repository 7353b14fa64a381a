"""Shards on Ray against one index holding every code, and against the numpy oracle: equal
answers, byte for byte, over seeded sweeps; then with shard actors killed mid-stream."""

import os
import signal

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install './python[ray]')")

import hashidx
import hashidx.ray as hxr
from conftest import Oracle, random_codes


@pytest.fixture(scope="module")
def ray_session():
    # One local Ray instance for every test of the file: its start-up costs seconds.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def assert_same(a, b, what):
    assert len(a) == len(b), what
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), what


@pytest.mark.parametrize("bits,clustered", [(16, True), (64, True), (64, False), (100, True)])
def test_shards_equal_one_index(ray_session, tmp_path, bits, clustered):
    rng = np.random.default_rng(bits + clustered)
    n = 600
    codes = random_codes(rng, n, bits, clustered)
    ids = rng.permutation(50 * n)[:n].astype(np.uint64) * np.uint64(7919)
    queries = np.concatenate([codes[:6], random_codes(rng, 6, bits, clustered)])
    with hashidx.create(tmp_path / "one", bits=bits) as one, \
            hxr.ShardedIndex.create(str(tmp_path / "sharded"), bits=bits, shards=4, num_cpus=0.25) as many:
        oracle = Oracle()
        for index in (one, many):
            index.add(codes, ids)
        oracle.add(ids, codes)
        # Upserts and removes, routed to their shards.
        new = random_codes(rng, 40, bits, clustered)
        for index in (one, many):
            index.add(new, ids[:40])
        oracle.add(ids[:40], new)
        assert one.remove(ids[100:160]) == many.remove(ids[100:160]) == 60
        oracle.remove(ids[100:160])
        assert len(one) == len(many) == len(oracle.codes)
        owners = hxr.shard_of(ids, 4)
        assert set(owners.tolist()) == {0, 1, 2, 3}
        for k in (1, 3, 10, 40, n + 5):
            assert_same(many.search(queries, k), one.search(queries, k), f"k={k}")
            D, I = many.search(queries, k)
            wD, wI = oracle.knn(queries, k)
            assert np.array_equal(D, wD) and np.array_equal(I, wI), f"oracle k={k}"
        for r in (0, bits // 8, bits // 8 + 1, bits // 4):
            assert_same(many.range_search(queries, r), one.range_search(queries, r), f"r={r}")
        assert many.verify() == len(oracle.codes)
        many.compact()
        assert_same(many.search(queries, 10), one.search(queries, 10), "after compact")
        assert len(many.stats()) == 4
        # Bucket statistics per shard: every shard's rows add up to the codes, table by table.
        spread = many.bucket_stats(largest=2)
        assert len(spread) == 4 and all(len(tables) == len(one.bucket_stats()) for tables in spread)
        for t in range(len(spread[0])):
            assert sum(tables[t]["rows"] for tables in spread) == len(oracle.codes)
        with pytest.raises(hashidx.InvalidArgumentError):
            many.bucket_stats(largest=-1)


def test_empty_shards_and_reopen(ray_session, tmp_path):
    rng = np.random.default_rng(3)
    codes = random_codes(rng, 3, 32)
    path = str(tmp_path / "few")
    s = hxr.ShardedIndex.create(path, bits=32, shards=8, num_cpus=0.1)
    s.add(codes, np.array([5, 6, 7], dtype=np.uint64))      # at most three of eight shards hold codes
    D, I = s.search(codes, 5)
    assert (I[:, 3:] == -1).all() and (D[:, 3:] == -1).all() and sorted(I[0, :3].tolist()) == [5, 6, 7]
    s.close()
    again = hxr.ShardedIndex.open(path, num_cpus=0.1)
    assert len(again) == 3 and again.shards == 8 and again.bits == 32
    assert_same(again.search(codes, 5), (D, I), "reopened")
    again.close()
    with pytest.raises(hashidx.NotAnIndexError):
        hxr.ShardedIndex.open(str(tmp_path / "missing"))
    with pytest.raises(hashidx.AlreadyExistsError):
        hxr.ShardedIndex.create(path, bits=32, shards=8)
    with pytest.raises(hashidx.InvalidArgumentError):
        s.add(codes, None)


def test_manifest_mismatch_is_refused(ray_session, tmp_path):
    path = str(tmp_path / "m")
    hxr.ShardedIndex.create(path, bits=64, shards=2, num_cpus=0.1).close()
    manifest = os.path.join(path, hxr.MANIFEST)
    text = open(manifest).read()
    open(manifest, "w").write(text.replace(hxr.ROUTING, "python hash(id) mod shards"))
    with pytest.raises(hashidx.InvalidArgumentError, match="routing"):
        hxr.ShardedIndex.open(path)


def test_routing_is_fixed():
    # splitmix64 of these ids, mod 4 and mod 7: a change of the rule would strand stored codes.
    ids = np.array([0, 1, 2, 12345, 2**63, 2**64 - 1], dtype=np.uint64)
    assert hxr.shard_of(ids, 4).tolist() == [hxr.shard_of(np.array([i], dtype=np.uint64), 4)[0] for i in ids.tolist()]
    z = (0 + 0x9E3779B97F4A7C15) & (2**64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    z ^= z >> 31
    assert hxr.shard_of(np.array([0], dtype=np.uint64), 7)[0] == z % 7


@pytest.mark.parametrize("how", ["ray.kill", "SIGKILL"])
def test_killed_shard_restarts_and_answers_the_same(ray_session, tmp_path, how):
    rng = np.random.default_rng(11)
    codes = random_codes(rng, 2000, 64, clustered=True)
    ids = np.arange(2000, dtype=np.uint64) * np.uint64(3)
    queries = random_codes(rng, 20, 64, clustered=True)
    with hxr.ShardedIndex.create(str(tmp_path / "k"), bits=64, shards=4, num_cpus=0.25) as s:
        s.add(codes, ids)
        want = s.search(queries, 10)
        want_range = s.range_search(queries, 6)
        victim = s.actors()[1]
        before = ray.get(victim.pid.remote())
        if how == "ray.kill":
            ray.kill(victim, no_restart=False)
        else:
            os.kill(ray.get(victim.pid.remote()), signal.SIGKILL)
        # Queries keep coming while the actor restarts: each is retried and answers the same.
        for _ in range(5):
            assert_same(s.search(queries, 10), want, "kNN after the kill")
        assert_same(s.range_search(queries, 6), want_range, "range after the kill")
        assert ray.get(victim.pid.remote()) != before, "the shard's process was not replaced"
        # No write that returned is lost; a new write after the restart lands.
        more = random_codes(rng, 50, 64, clustered=True)
        s.add(more, np.arange(50, dtype=np.uint64) * np.uint64(3) + np.uint64(1))
        assert len(s) == 2050 and s.verify() == 2050


def test_shard_killed_during_writes_loses_no_returned_write(ray_session, tmp_path):
    import threading
    rng = np.random.default_rng(21)
    batches = [random_codes(rng, 400, 64, clustered=True) for _ in range(12)]
    queries = random_codes(rng, 10, 64, clustered=True)
    oracle = Oracle()
    with hxr.ShardedIndex.create(str(tmp_path / "w"), bits=64, shards=4, num_cpus=0.25) as s:
        victim = s.actors()[2]
        pid = ray.get(victim.pid.remote())
        third = threading.Event()

        def kill():
            third.wait()
            os.kill(pid, signal.SIGKILL)   # while the next batches are being written

        killer = threading.Thread(target=kill)
        killer.start()
        for b, codes in enumerate(batches):
            if b == 3:
                third.set()
            ids = np.arange(b * 400, (b + 1) * 400, dtype=np.uint64)
            try:
                s.add(codes, ids)
            except hxr.ShardWriteError:
                s.add(codes, ids)          # a write in flight is reported; retrying it is safe
            oracle.add(ids, codes)
        killer.join()
        assert ray.get(victim.pid.remote()) != pid, "the shard's process was not replaced"
        assert len(s) == len(oracle.codes) == 4800 and s.verify() == 4800
        D, I = s.search(queries, 10)
        wD, wI = oracle.knn(queries, 10)
        assert np.array_equal(D, wD) and np.array_equal(I, wI)


def test_a_write_that_reaches_some_shards_says_which(ray_session, tmp_path):
    rng = np.random.default_rng(31)
    codes = random_codes(rng, 400, 32)
    ids = np.arange(400, dtype=np.uint64)
    s = hxr.ShardedIndex.create(str(tmp_path / "p"), bits=32, shards=4, num_cpus=0.25)
    ray.kill(s.actors()[3], no_restart=True)          # shard 3 is gone for good
    with pytest.raises(hxr.ShardWriteError) as failure:
        s.add(codes, ids)
    assert failure.value.failed == [3] and failure.value.committed == [0, 1, 2]
    assert "committed on shards [0, 1, 2] and failed on shards [3]" in str(failure.value)
    # The shards that committed hold exactly their part.
    owners = hxr.shard_of(ids, 4)
    counts = ray.get([a.count.remote() for a in s.actors()[:3]])
    assert counts == [int((owners == i).sum()) for i in range(3)]
    s.close()                                        # a dead shard does not stop the others closing
