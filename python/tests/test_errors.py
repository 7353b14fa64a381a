"""Bad input raises a hashidx.Error (never a crash) and changes nothing."""

import os

import numpy as np
import pytest

import hashidx
from conftest import random_codes


@pytest.fixture
def index(tmp_path):
    rng = np.random.default_rng(1)
    ix = hashidx.create(tmp_path / "bad", bits=12, substrings=2)
    ix.add(random_codes(rng, 50, 12))
    yield ix
    ix.close()


def test_wrong_dtype_shape_and_padding(index):
    q = np.zeros((2, 2), dtype=np.uint8)
    bad = [
        (q.astype(np.int64), hashidx.InvalidArgumentError),
        (q.astype(np.float32), hashidx.InvalidArgumentError),
        (np.zeros((2, 3), dtype=np.uint8), hashidx.InvalidArgumentError),
        (np.zeros(2, dtype=np.uint8), hashidx.InvalidArgumentError),
        (np.zeros((1, 2, 2), dtype=np.uint8), hashidx.InvalidArgumentError),
        ([[0, 0]], hashidx.InvalidArgumentError),
        (np.array([[0x00, 0x10]], dtype=np.uint8), hashidx.BadCodeError),    # a padding bit set
    ]
    for queries, error in bad:
        with pytest.raises(error):
            index.search(queries, 3)
        with pytest.raises(error):
            index.range_search(queries, 3)
        with pytest.raises(error):
            index.add(queries if isinstance(queries, np.ndarray) and queries.ndim == 2 else q, ids=None) \
                if error is hashidx.BadCodeError else index.add(queries)
    assert len(index) == 50
    assert issubclass(hashidx.InvalidArgumentError, ValueError)


def test_non_contiguous_arrays_are_read_correctly(index):
    wide = np.zeros((4, 4), dtype=np.uint8)
    wide[:, 0] = [1, 2, 3, 4]
    strided = wide[:, ::2]                           # (4, 2), not contiguous
    assert not strided.flags.c_contiguous
    D1, I1 = index.search(strided, 3)
    D2, I2 = index.search(np.ascontiguousarray(strided), 3)
    np.testing.assert_array_equal(D1, D2)
    np.testing.assert_array_equal(I1, I2)


def test_bad_k_radius_threads_and_ids(index):
    q = np.zeros((1, 2), dtype=np.uint8)
    for k in (0, -1):
        with pytest.raises(hashidx.InvalidArgumentError):
            index.search(q, k)
    for k in (1.5, "3", None, True, 2**40):
        with pytest.raises(hashidx.InvalidArgumentError):
            index.search(q, k)
    with pytest.raises(hashidx.InvalidRadiusError):
        index.range_search(q, -1)
    with pytest.raises(hashidx.InvalidRadiusError):
        index.range_search(q, 13)
    # An answer (nq × k slots, all written) larger than the machine's memory: refused before
    # any allocation (it would otherwise be written until the process is killed).
    with pytest.raises(hashidx.InvalidArgumentError, match="memory"):
        index.search(np.zeros((4096, 2), dtype=np.uint8), 2**31 - 1)
    for threads in (0, -2, 1.0, 2**31, 2**40, np.int64(2**40)):
        with pytest.raises(hashidx.InvalidArgumentError):
            index.search(q, 1, threads=threads)
    codes = np.zeros((2, 2), dtype=np.uint8)
    for ids in ([1], [-1, 2], np.array([1.5, 2.5]), np.array([[1, 2]])):
        with pytest.raises(hashidx.InvalidArgumentError):
            index.add(codes, ids=ids)
    with pytest.raises(hashidx.InvalidArgumentError):
        index.get(-1)
    assert len(index) == 50


def test_closed_index(index):
    index.close()
    index.close()
    q = np.zeros((1, 2), dtype=np.uint8)
    for call in (lambda: index.search(q, 1), lambda: index.add(q), lambda: len(index), lambda: index.stats(),
                 lambda: index.verify(), lambda: index.export(), lambda: index.remove([1])):
        with pytest.raises(hashidx.ClosedError):
            call()


def test_create_and_open_errors(tmp_path):
    with pytest.raises(hashidx.BadCodeError):
        hashidx.create(tmp_path / "x", bits=7)
    with pytest.raises(hashidx.BadCodeError):
        hashidx.create(tmp_path / "x", bits=64, substrings=65)
    with pytest.raises(hashidx.InvalidArgumentError):
        hashidx.create(tmp_path / "x")
    with pytest.raises(hashidx.NotAnIndexError):
        hashidx.open(tmp_path / "missing")
    assert issubclass(hashidx.NotAnIndexError, FileNotFoundError)
    with hashidx.create(tmp_path / "x", bits=64):
        with pytest.raises(hashidx.AlreadyOpenError):
            hashidx.open(tmp_path / "x")
        with pytest.raises(hashidx.AlreadyExistsError):
            hashidx.create(tmp_path / "x", bits=64)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_or_truncated_file_raises(tmp_path, damage):
    rng = np.random.default_rng(2)
    path = tmp_path / "d"
    with hashidx.create(path, bits=64) as ix:
        ix.add(random_codes(rng, 3000, 64))
    data = path / "data.mdb"
    size = data.stat().st_size
    if damage == "truncate":
        os.truncate(data, size // 2)
    elif damage == "empty":
        os.truncate(data, 0)
    else:
        with open(data, "r+b") as f:
            f.write(b"\xAB" * 8192)
    with pytest.raises(hashidx.Error):
        with hashidx.open(path) as ix:
            ix.verify()
            ix.search(random_codes(rng, 4, 64), 5)


def test_vectors_errors(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.random((200, 16)).astype(np.float32)
    enc = hashidx.train("lsh", x, bits=16)
    with pytest.raises(hashidx.InvalidArgumentError):
        enc.encode(x[:, :5])
    bad = x[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(hashidx.EncoderError):
        enc.encode(bad)
    with pytest.raises(hashidx.InvalidArgumentError):
        enc.encode(x.astype(np.complex64))
    with pytest.raises(hashidx.InvalidArgumentError):
        hashidx.train("itq", x, bits=16, learning_rate=float("inf"))
    with pytest.raises(hashidx.InvalidArgumentError):
        hashidx.train("dh", x, bits=16, lambda1=-1)
    with pytest.raises(hashidx.InvalidArgumentError):
        hashidx.train("dh", x, bits=16, hidden=[4_000_000], epochs=1)
    with pytest.raises(hashidx.InvalidArgumentError):
        hashidx.train("dh", x, bits=16, no_such_option=3)
    with pytest.raises(hashidx.InvalidArgumentError):
        hashidx.train("center", x, bits=16)                       # needs labels
    with pytest.raises(hashidx.EncoderError):
        hashidx.train("nonsense", x, bits=16)
    with pytest.raises(hashidx.InvalidArgumentError):
        hashidx.train("itq", bad, bits=16)
    with pytest.raises(hashidx.FileError):
        hashidx.load_encoder(tmp_path / "missing.hxm")
    with pytest.raises(hashidx.ClosedError):
        plain = hashidx.create(tmp_path / "plain", bits=16)
        plain.close()
        plain.search_vectors(x[:1], 1)
    with hashidx.open(tmp_path / "plain") as plain:
        with pytest.raises(hashidx.EncoderError):
            plain.search_vectors(x[:1], 1)
