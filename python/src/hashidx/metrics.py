"""Retrieval quality of binary codes against class labels, as `hashidx eval` computes it.

The database is ranked by Hamming distance to each query; an item is relevant when its label
equals the query's. Codes are packed uint8 arrays, shape (n, ceil(bits/8))."""

from typing import Optional, Sequence

import numpy as np

from ._index import _codes, _threads
from ._native import buffer, call_json, lib
from .errors import InvalidArgumentError


def _labels(y, n: int, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n or y.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{name} must be ({n},) integers, one class label per code; found shape {y.shape}, dtype {y.dtype}")
    return np.ascontiguousarray(y, dtype=np.int64)


def evaluate(database: np.ndarray, queries: np.ndarray, database_labels, query_labels, bits: Optional[int] = None,
             cutoffs: Sequence[int] = (100, 1000), threads: Optional[int] = None) -> dict:
    """Every metric of `hashidx eval`, as its JSON gives them:

    - ``mean_average_precision_tie_aware``: codes at equal distance share their average precision;
    - ``mean_average_precision``: ties broken by database order;
    - ``mean_average_precision_at``, ``precision_at``, ``recall_at``: dicts by cutoff K (int);
    - ``precision_within_radius``, ``recall_within_radius``, ``empty_within_radius``: lists indexed
      by radius r = 0..bits (precision of the items within distance r, queries retrieving nothing
      counting 0; the share of such queries);
    - ``queries``, ``database_size``, ``bits``.

    `bits` defaults to 8 x the code bytes; `cutoffs` are positive integers."""
    if not isinstance(database, np.ndarray) or database.ndim != 2:
        raise InvalidArgumentError("database must be a 2-D uint8 array of packed codes, shape (n, code_bytes)")
    code_bytes = database.shape[1]
    bits = code_bytes * 8 if bits is None else bits
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or (int(bits) + 7) // 8 != code_bytes:
        raise InvalidArgumentError(f"bits={bits} does not fit codes of {code_bytes} bytes")
    database = _codes(database, code_bytes, "database")
    queries = _codes(queries, code_bytes, "queries")
    db_labels = _labels(database_labels, database.shape[0], "database_labels")
    q_labels = _labels(query_labels, queries.shape[0], "query_labels")
    if any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or int(c) < 1 for c in cutoffs):
        raise InvalidArgumentError(f"cutoffs must be integers of at least 1, found {list(cutoffs)}")
    cuts = np.ascontiguousarray([int(c) for c in cutoffs], dtype=np.uint64)
    report = call_json(lib.hashidx_evaluate_json, buffer(database, "uint8_t[]"), database.shape[0],
                       buffer(queries, "uint8_t[]"), queries.shape[0], int(bits), buffer(db_labels, "int64_t[]"),
                       buffer(q_labels, "int64_t[]"), buffer(cuts, "size_t[]"), len(cuts), _threads(threads))
    for key in ("mean_average_precision_at", "precision_at", "recall_at"):
        report[key] = {int(k): v for k, v in report[key].items()}
    return report


def mean_average_precision(database: np.ndarray, queries: np.ndarray, database_labels, query_labels,
                           bits: Optional[int] = None, tie_aware: bool = True) -> float:
    """Mean average precision of the ranking by Hamming distance; `tie_aware` (the default)
    averages over every order of the codes at equal distance instead of taking database order."""
    report = evaluate(database, queries, database_labels, query_labels, bits=bits, cutoffs=())
    return report["mean_average_precision_tie_aware"] if tie_aware else report["mean_average_precision"]
