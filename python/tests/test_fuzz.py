"""A short property-based fuzz over the Python API (longer: HASHIDX_FUZZ_EXAMPLES=5000): random
operations on an index against the oracle; arbitrary arguments raise hashidx.Error or succeed,
never crash."""

import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hashidx
from conftest import Oracle

EXAMPLES = int(os.environ.get("HASHIDX_FUZZ_EXAMPLES", "60"))

operation = st.one_of(
    st.tuples(st.just("add"), st.lists(st.integers(0, 40), min_size=0, max_size=12), st.integers(0, 2**32)),
    st.tuples(st.just("remove"), st.lists(st.integers(0, 45), min_size=0, max_size=6), st.just(0)),
    st.tuples(st.just("compact"), st.just([]), st.just(0)),
    st.tuples(st.just("knn"), st.integers(-2, 50), st.integers(0, 2**32)),
    st.tuples(st.just("range"), st.integers(-2, 20), st.integers(0, 2**32)),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(bits=st.sampled_from([8, 11, 16, 64]), ops=st.lists(operation, min_size=1, max_size=12))
def test_random_operations_equal_the_oracle(bits, ops):
    nbytes = (bits + 7) // 8
    mask = (1 << (bits % 8)) - 1 if bits % 8 else 0xFF
    with tempfile.TemporaryDirectory() as d, hashidx.create(os.path.join(d, "f"), bits=bits) as index:
        oracle = Oracle()
        for kind, arg, seed in ops:
            rng = np.random.default_rng(seed)
            if kind == "add":
                codes = rng.integers(0, 256, size=(len(arg), nbytes), dtype=np.uint8)
                codes[:, -1] &= mask
                index.add(codes, ids=np.array(arg, dtype=np.uint64))
                oracle.add(arg, codes)
            elif kind == "remove":
                assert index.remove(arg) == len({a for a in arg if a in oracle.codes})
                oracle.remove(arg)
            elif kind == "compact":
                assert index.compact() == len(oracle.codes)
            else:
                q = rng.integers(0, 256, size=(3, nbytes), dtype=np.uint8)
                q[:, -1] &= mask
                if kind == "knn":
                    if arg < 1:
                        try:
                            index.search(q, arg)
                            raise AssertionError("k < 1 was accepted")
                        except hashidx.InvalidArgumentError:
                            continue
                    D, I = index.search(q, arg)
                    wD, wI = oracle.knn(q, arg)
                    np.testing.assert_array_equal(D, wD)
                    np.testing.assert_array_equal(I, wI)
                else:
                    if not 0 <= arg <= bits:
                        try:
                            index.range_search(q, arg)
                            raise AssertionError("a bad radius was accepted")
                        except hashidx.InvalidRadiusError:
                            continue
                    lims, D, I = index.range_search(q, arg)
                    wl, wD, wI = oracle.range(q, arg)
                    np.testing.assert_array_equal(lims, wl)
                    np.testing.assert_array_equal(I, wI)
            assert len(index) == len(oracle.codes)


junk = st.one_of(st.none(), st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.text(max_size=5),
                 st.lists(st.integers(-5, 300), max_size=4),
                 st.builds(lambda s, t: np.zeros(s, dtype=t), st.tuples(st.integers(0, 3), st.integers(0, 9)),
                           st.sampled_from([np.uint8, np.int64, np.float32, np.float64, np.bool_])))


@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["search", "range_search", "add", "remove", "get", "search_vectors"]), a=junk, b=junk)
def test_arbitrary_arguments_raise_cleanly(method, a, b):
    with tempfile.TemporaryDirectory() as d, hashidx.create(os.path.join(d, "j"), bits=16) as index:
        index.add(np.zeros((3, 2), dtype=np.uint8))
        try:
            getattr(index, method)(a, b) if method != "get" and method != "remove" else getattr(index, method)(a)
        except (hashidx.Error, TypeError):
            pass
        assert len(index) >= 0
