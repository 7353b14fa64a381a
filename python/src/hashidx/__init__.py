"""hashidx: an embedded, exact Hamming-distance index of binary codes.

Codes are stored on disk (LMDB) and indexed by multi-index hashing; range and k-nearest-neighbour
queries are exact on every path (the planner probes substring tables or scans, whichever is
cheaper). Encoders (LSH, PCAH, ITQ, LDA-ITQ, DH, SDH, center, pairwise) turn float vectors into
codes and can be stored in the index. Shaped like faiss's binary indexes::

    import numpy as np, hashidx
    index = hashidx.create("/tmp/idx", bits=64)      # hashidx.open(path, readonly=True)
    index.add(xb)                      # (n, 8) uint8, np.packbits(bits, axis=1, bitorder="little")
    D, I = index.search(xq, 10)        # (nq, 10) int32 distances, int64 ids; ties by smaller id
    lims, D, I = index.range_search(xq, 3)   # inclusive: distance <= 3
    index.close()                      # or `with hashidx.create(...) as index:`

    enc = hashidx.train("itq", x, bits=64)   # any method of `hashidx train`, options by name
    codes = enc.encode(x); enc.save("model.hxm"); enc = hashidx.load_encoder("model.hxm")
    vindex = hashidx.create("/tmp/vidx", encoder=enc); vindex.add_vectors(x)
    D, I = vindex.search_vectors(xq, 10)
    hashidx.metrics.mean_average_precision(db_codes, q_codes, db_labels, q_labels)

Every failure raises a subclass of :class:`hashidx.Error` carrying the library's message (see
:mod:`hashidx.errors`). Calls release the GIL (cffi); an index may be used from many threads.
"""

from . import errors, metrics
from ._index import Encoder, Index, create, load_encoder, open, train
from ._native import ffi as _ffi, lib as _lib
from ._version import __version__
from .errors import (AlreadyExistsError, AlreadyOpenError, BadCodeError, BusyError, ClosedError, CodeWidthError,
                     CorruptError, EncoderError, Error, FileError, FullError, InternalError, InvalidArgumentError,
                     InvalidKError, InvalidRadiusError, NewerFormatError, NotAnIndexError, OlderFormatError,
                     PermissionDeniedError, ReadOnlyError, StorageError)

library_version: str = _ffi.string(_lib.hashidx_version()).decode()
"""The version of the library inside the package."""
format_version: int = _lib.hashidx_format_version()
"""The newest on-disk format version the library reads and writes."""

__all__ = [
    "create", "open", "train", "load_encoder", "Index", "Encoder", "metrics", "errors", "Error",
    "InvalidArgumentError", "BadCodeError", "CodeWidthError", "InvalidRadiusError", "InvalidKError", "NotAnIndexError",
    "AlreadyExistsError", "NewerFormatError", "OlderFormatError", "ReadOnlyError", "PermissionDeniedError",
    "BusyError", "EncoderError", "AlreadyOpenError", "ClosedError", "CorruptError", "FullError", "StorageError",
    "InternalError", "FileError", "library_version", "format_version", "__version__",
]
