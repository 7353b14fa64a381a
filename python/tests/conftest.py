"""Shared helpers: seeded codes and the brute-force numpy oracle."""

import numpy as np
import pytest


def random_codes(rng, n, bits, clustered=False):
    """(n, ceil(bits/8)) uint8 codes with zero padding bits; clustered: few centres, few flips."""
    nbytes = (bits + 7) // 8
    if clustered:
        centres = rng.integers(0, 256, size=(4, nbytes), dtype=np.uint8)
        codes = centres[rng.integers(0, 4, size=n)].copy()
        for i in range(n):
            for b in rng.integers(0, bits, size=rng.integers(0, 4)):
                codes[i, b >> 3] ^= np.uint8(1 << (b & 7))
    else:
        codes = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    if bits % 8:
        codes[:, -1] &= np.uint8((1 << (bits % 8)) - 1)
    return codes


def distances(queries, codes):
    """(nq, n) Hamming distances."""
    if len(codes) == 0:
        return np.zeros((len(queries), 0), dtype=np.int64)
    x = np.bitwise_xor(queries[:, None, :], codes[None, :, :])
    return np.unpackbits(x, axis=2).sum(axis=2).astype(np.int64)


class Oracle:
    """What an index should hold, and its answers by brute force."""

    def __init__(self):
        self.codes = {}

    def add(self, ids, codes):
        for i, c in zip(ids, codes):
            self.codes[int(i)] = c.copy()

    def remove(self, ids):
        for i in ids:
            self.codes.pop(int(i), None)

    def arrays(self, code_bytes):
        ids = np.array(sorted(self.codes), dtype=np.int64)
        codes = np.array([self.codes[int(i)] for i in ids], dtype=np.uint8).reshape(len(ids), code_bytes)
        return ids, codes

    def knn(self, queries, k):
        ids, codes = self.arrays(queries.shape[1])
        d = distances(queries, codes)
        D = np.full((len(queries), k), -1, dtype=np.int32)
        I = np.full((len(queries), k), -1, dtype=np.int64)
        for q in range(len(queries)):
            order = np.lexsort((ids, d[q]))[:k]
            D[q, :len(order)] = d[q, order]
            I[q, :len(order)] = ids[order]
        return D, I

    def range(self, queries, radius):
        ids, codes = self.arrays(queries.shape[1])
        d = distances(queries, codes)
        lims, Ds, Is = [0], [], []
        for q in range(len(queries)):
            within = np.nonzero(d[q] <= radius)[0]
            order = within[np.lexsort((ids[within], d[q, within]))]
            Ds.append(d[q, order].astype(np.int32))
            Is.append(ids[order])
            lims.append(lims[-1] + len(order))
        return np.array(lims, dtype=np.int64), np.concatenate(Ds) if Ds else np.empty(0, np.int32), \
            np.concatenate(Is) if Is else np.empty(0, np.int64)


@pytest.fixture
def rng(request):
    return np.random.default_rng(abs(hash(request.node.name)) % (2**32))
