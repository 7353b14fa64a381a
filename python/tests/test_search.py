"""Every search against the numpy oracle over sweeps of width, m, k, r, distribution and seed;
faiss as a second oracle where it is installed."""

import numpy as np
import pytest

import hashidx
from conftest import Oracle, random_codes

WIDTHS = [(8, 2), (12, 2), (13, 3), (64, 4), (100, 5), (256, 8), (1024, 32)]


@pytest.mark.parametrize("bits,m", WIDTHS)
@pytest.mark.parametrize("clustered", [False, True])
def test_search_equals_oracle(tmp_path, bits, m, clustered):
    rng = np.random.default_rng(bits * 2 + clustered)
    n, nq = 400, 10
    codes = random_codes(rng, n, bits, clustered)
    ids = rng.permutation(10 * n)[:n].astype(np.uint64) + 5
    queries = np.concatenate([codes[:nq // 2], random_codes(rng, nq - nq // 2, bits, clustered)])
    oracle = Oracle()
    with hashidx.create(tmp_path / "i", bits=bits, substrings=m) as index:
        assert index.add(codes, ids) == (n, 0)
        oracle.add(ids, codes)
        # Upserts, removes, then a compaction: each state against the oracle.
        new = random_codes(rng, 30, bits, clustered)
        assert index.add(new, ids[:30]) == (0, 30)
        oracle.add(ids[:30], new)
        assert index.remove(ids[50:90]) == 40
        oracle.remove(ids[50:90])
        for step in ("delta", "compacted"):
            if step == "compacted":
                assert index.compact() == len(oracle.codes)
            assert len(index) == len(oracle.codes)
            for k in (1, 5, 17, len(oracle.codes) + 3):
                index.force_path("scan" if k > 17 or bits > 64 else ("probe", "auto", "scan")[k % 3])
                D, I = index.search(queries, k)
                wantD, wantI = oracle.knn(queries, k)
                np.testing.assert_array_equal(D, wantD, err_msg=f"k={k} {step}")
                np.testing.assert_array_equal(I, wantI, err_msg=f"k={k} {step}")
                assert D.dtype == np.int32 and I.dtype == np.int64 and D.shape == (nq, k)
            for j, r in enumerate((0, bits // 10, bits // 10 + 1, bits // 4)):
                index.force_path(("auto", "probe", "scan")[j % 3] if r <= 12 else "auto")
                lims, D, I = index.range_search(queries, r)
                wl, wD, wI = oracle.range(queries, r)
                np.testing.assert_array_equal(lims, wl, err_msg=f"r={r} {step}")
                np.testing.assert_array_equal(D, wD, err_msg=f"r={r} {step}")
                np.testing.assert_array_equal(I, wI, err_msg=f"r={r} {step}")
        assert index.verify() == len(oracle.codes)
        got_ids, got_codes = index.export()
        order = np.argsort(got_ids)
        want_ids, want_codes = oracle.arrays(index.code_bytes)
        np.testing.assert_array_equal(got_ids[order].astype(np.int64), want_ids)
        np.testing.assert_array_equal(got_codes[order], want_codes)


def test_ties_at_the_kth_distance_go_to_the_smaller_id(tmp_path):
    codes = np.zeros((50, 8), dtype=np.uint8)           # fifty identical codes
    ids = np.arange(50, dtype=np.uint64)[::-1].copy()    # inserted in descending id order
    with hashidx.create(tmp_path / "t", bits=64) as index:
        index.add(codes, ids)
        D, I = index.search(codes[:1], 7)
        assert D.tolist() == [[0] * 7] and I.tolist() == [list(range(7))]


def test_empty_index_and_empty_batches(tmp_path):
    with hashidx.create(tmp_path / "e", bits=16) as index:
        q = np.zeros((3, 2), dtype=np.uint8)
        D, I = index.search(q, 4)
        assert (D == -1).all() and (I == -1).all()
        lims, D, I = index.range_search(q, 16)
        assert lims.tolist() == [0, 0, 0, 0] and len(D) == 0 and len(I) == 0
        D, I = index.search(np.zeros((0, 2), dtype=np.uint8), 4)
        assert D.shape == (0, 4)
        assert index.add(np.zeros((0, 2), dtype=np.uint8)) == (0, 0)
        assert len(index) == 0 and index.export()[0].shape == (0,)


def test_sequential_ids_and_get(tmp_path):
    rng = np.random.default_rng(4)
    codes = random_codes(rng, 20, 64)
    with hashidx.create(tmp_path / "s", bits=64) as index:
        index.add(codes[:10])
        index.add(codes[10:])
        for i in (0, 9, 10, 19):
            np.testing.assert_array_equal(index.get(i), codes[i])
        assert index.get(20) is None
        assert index.ntotal == 20


def test_stats_and_reopen_read_only(tmp_path):
    rng = np.random.default_rng(5)
    codes = random_codes(rng, 100, 32)
    index = hashidx.create(tmp_path / "r", bits=32, substrings=2)
    index.add(codes)
    s = index.stats()
    assert s["bits"] == 32 and s["count"] == 100 and s["substring_count"] == 2
    index.close()
    index.close()
    with hashidx.open(tmp_path / "r", readonly=True) as again:
        assert len(again) == 100 and again.read_only
        with pytest.raises(hashidx.ReadOnlyError):
            again.add(codes[:1])
        D, I = again.search(codes[:2], 1)
        assert I[:, 0].tolist() == [0, 1]


def test_statistics_on_request(tmp_path):
    rng = np.random.default_rng(6)
    codes = random_codes(rng, 300, 64, clustered=True)
    with hashidx.create(tmp_path / "q", bits=64) as index:
        index.add(codes)
        D, I, stats = index.search(codes[:4], 3, return_stats=True)
        assert len(stats) == 4 and all(s["path"] in ("probe", "scan") and s["seconds"] >= 0 for s in stats)
        lims, D, I, stats = index.range_search(codes[:4], 2, return_stats=True)
        assert all(s["radius_reached"] == 2 for s in stats)


@pytest.mark.parametrize("bits,m", [(13, 2), (64, 4), (100, 7)])
def test_bucket_stats_equal_a_numpy_count(tmp_path, bits, m):
    rng = np.random.default_rng(bits + m)
    codes = random_codes(rng, 400, bits, clustered=True)
    codes[:60] = codes[0]                                    # one crowded code
    with hashidx.create(tmp_path / "b", bits=bits, substrings=m) as index:
        index.add(codes)
        index.compact()
        index.add(codes[:25])                                # rows since the merge (new ids)
        index.remove(np.arange(100, 140, dtype=np.uint64))   # removed sealed rows
        live = np.concatenate([np.delete(codes, np.arange(100, 140), axis=0), codes[:25]])
        stats = index.bucket_stats(largest=3)
        widths = index.stats()["substring_widths"]
        bitmatrix = np.unpackbits(live, axis=1, bitorder="little")[:, :bits]
        assert len(stats) == m
        start = 0
        for k, (s, w) in enumerate(zip(stats, widths)):
            values = (bitmatrix[:, start:start + w].astype(np.int64) << np.arange(w)).sum(axis=1)
            start += w
            keys, sizes = np.unique(values, return_counts=True)
            assert (s["table"], s["bits"], s["buckets"], s["rows"]) == (k, w, len(keys), len(live))
            levels = np.floor(np.log2(sizes)).astype(int)
            assert s["histogram"] == np.bincount(levels).tolist()
            order = sorted(zip(-sizes, keys))[:3]
            assert [(b["rows"], b["key"]) for b in s["largest"]] == [(-r, int(key)) for r, key in order]
            assert s["rows_sharing_a_bucket"] == pytest.approx((sizes.astype(float) ** 2).sum() / len(live))
        with pytest.raises(hashidx.InvalidArgumentError):
            index.bucket_stats(largest=-1)


try:
    import faiss as _faiss
except ImportError:  # faiss is a second oracle when installed
    _faiss = None


@pytest.mark.skipif(_faiss is None, reason="faiss is not installed")
@pytest.mark.parametrize("bits", [64, 256])
def test_faiss_agrees(tmp_path, bits):
    rng = np.random.default_rng(bits)
    codes = random_codes(rng, 2000, bits, clustered=True)
    queries = random_codes(rng, 20, bits, clustered=True)
    flat = _faiss.IndexBinaryFlat(bits)
    flat.add(codes)
    with hashidx.create(tmp_path / "f", bits=bits) as index:
        index.add(codes)
        D, I = index.search(queries, 10)
        fD, fI = flat.search(queries, 10)
        np.testing.assert_array_equal(D, fD)   # distances agree; ids may differ among ties
        for r in (0, 3, bits // 8):
            lims, D, I = index.range_search(queries, r)
            flims, fD, fI = flat.range_search(queries, r + 1)   # faiss's radius is strict
            np.testing.assert_array_equal(lims, flims.astype(np.int64))
            for q in range(len(queries)):
                assert sorted(I[lims[q]:lims[q + 1]].tolist()) == sorted(fI[flims[q]:flims[q + 1]].tolist())
