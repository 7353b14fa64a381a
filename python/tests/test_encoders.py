"""Encoders, indexes that store them, and the metrics, against numpy."""

import numpy as np
import pytest

import hashidx


def labelled(rng, n=600, d=24, classes=4):
    y = rng.integers(0, classes, size=n)
    centres = rng.normal(0, 3, size=(classes, d))
    return (centres[y] + rng.normal(0, 1, size=(n, d))).astype(np.float32), y


@pytest.mark.parametrize("method,options", [
    ("lsh", {}), ("pcah", {}), ("itq", {"epochs": 10}), ("lda-itq", {"epochs": 5}),
    ("dh", {"epochs": 2, "hidden": [32]}), ("sdh", {"epochs": 2, "hidden": [32]}),
    ("center", {"epochs": 2, "hidden": [32], "batch_size": 64}), ("pairwise", {"epochs": 2, "hidden": [32], "batch_size": 64}),
])
def test_every_method_trains_encodes_saves_and_loads(tmp_path, method, options):
    rng = np.random.default_rng(7)
    x, y = labelled(rng)
    enc = hashidx.train(method, x, bits=16, labels=y, seed=3, **options)
    assert (enc.bits, enc.dim, enc.method) == (16, 24, method)
    codes = enc.encode(x)
    assert codes.shape == (600, 2) and codes.dtype == np.uint8
    np.testing.assert_array_equal(enc.encode(x.astype(np.float64)), codes)
    enc.save(tmp_path / "m.hxm")
    again = hashidx.load_encoder(tmp_path / "m.hxm")
    np.testing.assert_array_equal(again.encode(x), codes)


def test_vector_index_equals_code_index(tmp_path):
    rng = np.random.default_rng(8)
    x, y = labelled(rng, d=40)
    enc = hashidx.train("itq", x, bits=32, epochs=10)
    codes = enc.encode(x)
    with hashidx.create(tmp_path / "v", encoder=enc) as vindex:
        vindex.add_vectors(x)
        D, I = vindex.search_vectors(x[:20], 7)
        D2, I2 = vindex.search(codes[:20], 7)
        np.testing.assert_array_equal(D, D2)
        np.testing.assert_array_equal(I, I2)
        lims, D, I = vindex.range_search_vectors(x[:20], 3)
        lims2, D2, I2 = vindex.range_search(codes[:20], 3)
        np.testing.assert_array_equal(lims, lims2)
        np.testing.assert_array_equal(I, I2)
        assert vindex.encoder().bits == 32
    with hashidx.open(tmp_path / "v", readonly=True) as reopened:
        np.testing.assert_array_equal(reopened.encoder().encode(x[:5]), codes[:5])


def numpy_map(db, q, dbl, ql):
    """Classic mAP, ties by database order, from a numpy ranking."""
    d = np.unpackbits(np.bitwise_xor(q[:, None, :], db[None, :, :]), axis=2).sum(axis=2)
    aps = []
    for i in range(len(q)):
        order = np.argsort(d[i], kind="stable")
        rel = (dbl[order] == ql[i]).astype(float)
        if rel.sum() == 0:
            aps.append(0.0)
            continue
        precision = np.cumsum(rel) / np.arange(1, len(rel) + 1)
        aps.append(float((precision * rel).sum() / rel.sum()))
    return float(np.mean(aps))


def test_metrics_agree_with_numpy():
    rng = np.random.default_rng(9)
    x, y = labelled(rng, n=400)
    enc = hashidx.train("itq", x, bits=16, epochs=5)
    codes = enc.encode(x)
    report = hashidx.metrics.evaluate(codes, codes[:40], y, y[:40], cutoffs=[10, 50])
    assert abs(report["mean_average_precision"] - numpy_map(codes, codes[:40], y, y[:40])) < 1e-9
    assert 0 < report["mean_average_precision_tie_aware"] <= 1 and set(report["mean_average_precision_at"]) == {10, 50}
    assert len(report["precision_within_radius"]) == 17 and len(report["recall_within_radius"]) == 17
    assert report["queries"] == 40 and report["database_size"] == 400
    perfect = np.zeros((400, 2), dtype=np.uint8)
    perfect[:, 0] = y.astype(np.uint8) * 0x11
    assert hashidx.metrics.mean_average_precision(perfect, perfect[:30], y, y[:30]) == pytest.approx(1.0)
    with pytest.raises(hashidx.InvalidArgumentError):
        hashidx.metrics.evaluate(codes, codes[:4], y[:3], y[:4])
