"""Indexes and encoders over the C API."""

import json
import os
import threading
from typing import List, Optional, Tuple, Union

import numpy as np

from . import _native
from ._native import NULL, buffer, call, call_json, ffi, lib
from .errors import ClosedError, InvalidArgumentError

PathLike = Union[str, "os.PathLike[str]"]


def _path(path: PathLike) -> bytes:
    return os.fsencode(os.fspath(path))


def _threads(threads: Optional[int]) -> int:
    if threads is None:
        return 0
    if type(threads) is int and 1 <= threads <= 2**31 - 1:      # the common case, checked first: calls are microseconds
        return threads
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise InvalidArgumentError(f"threads must be None (every core) or an integer of at least 1, found {threads!r}")
    if threads > 2**31 - 1:
        raise InvalidArgumentError(f"threads must be below 2**31, found {threads}")
    return int(threads)


def _physical_memory() -> int:
    """Bytes of physical memory (sysconf), or no limit where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**63


def _integer(value, name: str, minimum: Optional[int] = None) -> int:
    if type(value) is int and (minimum is None or value >= minimum) and value <= 2**31 - 1:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"{name} must be an integer, found {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{name} must be at least {minimum}, found {value}")
    if value > 2**31 - 1:
        raise InvalidArgumentError(f"{name} must be below 2**31, found {value}")
    return value


def _codes(x, code_bytes: int, name: str) -> np.ndarray:
    """`x` as a C-contiguous (n, code_bytes) uint8 array: refuses other dtypes and shapes; copies
    only to make a strided array contiguous."""
    if type(x) is np.ndarray and x.dtype.char == "B" and x.ndim == 2 and x.shape[1] == code_bytes and x.flags.c_contiguous:
        return x                                     # the common case, checked first
    if not isinstance(x, np.ndarray):
        raise InvalidArgumentError(f"{name} must be a numpy array of uint8, shape (n, {code_bytes}); found {type(x).__name__}")
    if x.dtype != np.uint8:
        raise InvalidArgumentError(f"{name} must have dtype uint8 (packed codes, shape (n, {code_bytes})); found {x.dtype}")
    if x.ndim != 2 or x.shape[1] != code_bytes:
        raise InvalidArgumentError(f"{name} must have shape (n, {code_bytes}): one packed code per row; found shape {x.shape}")
    return np.ascontiguousarray(x)


def _vectors(x, name: str) -> np.ndarray:
    """`x` as a C-contiguous (n, d) float32 array (float64 and other real dtypes are converted)."""
    if not isinstance(x, np.ndarray):
        raise InvalidArgumentError(f"{name} must be a numpy array of float32, shape (n, d); found {type(x).__name__}")
    if x.dtype.kind not in "fiu" or x.dtype == np.bool_:
        raise InvalidArgumentError(f"{name} must hold real numbers (float32), found dtype {x.dtype}")
    if x.ndim != 2:
        raise InvalidArgumentError(f"{name} must have shape (n, d): one vector per row; found shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def _ids(ids, n: int) -> Optional[np.ndarray]:
    if ids is None:
        return None
    if not isinstance(ids, np.ndarray):
        ids = np.asarray(ids)
    if ids.ndim != 1 or ids.shape[0] != n:
        raise InvalidArgumentError(f"ids must have shape ({n},): one id per row; found shape {ids.shape}")
    if ids.size == 0:
        return np.empty(0, dtype=np.uint64)
    if ids.dtype == np.uint64:
        return np.ascontiguousarray(ids)
    if ids.dtype.kind not in "iu":
        raise InvalidArgumentError(f"ids must be integers (int64 or uint64), found dtype {ids.dtype}")
    if ids.size and ids.min() < 0:
        raise InvalidArgumentError(f"ids must be at least 0, found {int(ids.min())}")
    return np.ascontiguousarray(ids, dtype=np.uint64)


def _stats_dicts(stats, n) -> list:
    return [{"lookups": s.lookups, "candidates": s.candidates, "duplicates": s.duplicates,
             "radius_reached": s.radius_reached, "path": "scan" if s.scanned else "probe",
             "switched_to_scan": bool(s.switched_to_scan), "seconds": s.seconds} for s in (stats[i] for i in range(n))]


class Encoder:
    """A trained hashing encoder: float32 vectors of `dim` dimensions to `bits`-bit codes.

    Made by :func:`hashidx.train`, :func:`hashidx.load_encoder` or :meth:`Index.encoder`."""

    def __init__(self, handle: int):
        self._handle = handle
        bits, dim, method = ffi.new("int *"), ffi.new("size_t *"), ffi.new("char **")
        call(lib.hashidx_encoder_info, handle, bits, dim, method)
        self.bits: int = bits[0]
        """Code width in bits."""
        self.dim: int = dim[0]
        """Input dimension."""
        self.method: str = ffi.string(method[0]).decode()
        """The method it was trained with ("itq", "center", ...)."""

    @property
    def code_bytes(self) -> int:
        """Bytes per packed code, ceil(bits / 8)."""
        return (self.bits + 7) // 8

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Codes of the rows of `x` ((n, dim) float32; other real dtypes are converted), packed as
        (n, ceil(bits/8)) uint8, bit i of a code = bit i % 8 of byte i // 8 (packbits, little).

        Raises InvalidArgumentError for a wrong shape, EncoderError for NaN or infinite values."""
        x = _vectors(x, "x")
        out = np.empty((x.shape[0], self.code_bytes), dtype=np.uint8)
        call(lib.hashidx_encode, self._handle, buffer(x, "float[]"), x.shape[0], x.shape[1],
             buffer(out, "uint8_t[]"), self.code_bytes)
        return out

    def save(self, path: PathLike) -> None:
        """Writes the encoder to `path` (written aside and renamed: the old file or the whole new one)."""
        call(lib.hashidx_encoder_save, self._handle, _path(path))

    def __repr__(self) -> str:
        return f"<hashidx.Encoder {self.method} {self.dim} -> {self.bits} bits>"

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", 0), 0
        if handle and _native is not None and _native.lib is not None:
            _native.lib.hashidx_encoder_free(handle)


class Index:
    """An open hashidx index of `bits`-bit binary codes (made by :func:`hashidx.create` or
    :func:`hashidx.open`).

    Thread-safe: any number of threads may search while one writes; writes are serialised.
    Use it as a context manager, or call :meth:`close`; the index also closes when collected.

    Codes are numpy uint8 arrays of shape (n, ceil(bits/8)), packed as
    ``np.packbits(bits, axis=1, bitorder="little")`` packs them (faiss's binary layout); padding
    bits past `bits` must be zero. Ids are unsigned 64-bit; results give them as int64, bit for bit.
    """

    def __init__(self, handle: int, path: PathLike):
        self._handle = handle
        self._lock = threading.Lock()
        self.path = os.fspath(path)
        bits, m, code_bytes, read_only = ffi.new("int *"), ffi.new("int *"), ffi.new("size_t *"), ffi.new("int *")
        call(lib.hashidx_info, handle, bits, m, code_bytes, read_only)
        self.bits: int = bits[0]
        """Code width B in bits."""
        self.substrings: int = m[0]
        """The substring count m of multi-index hashing."""
        self.code_bytes: int = code_bytes[0]
        """Bytes per packed code, ceil(B / 8)."""
        self.read_only: bool = bool(read_only[0])

    # -- lifetime --

    def close(self) -> None:
        """Closes the index (waits for calls in flight in other threads). Later calls raise
        ClosedError; closing twice does nothing."""
        with self._lock:
            handle, self._handle = self._handle, 0
        if handle:
            call(lib.hashidx_close, handle)

    @property
    def closed(self) -> bool:
        return self._handle == 0

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", 0), 0
        if handle and _native is not None and _native.lib is not None:
            _native.lib.hashidx_close(handle)

    def _h(self) -> int:
        handle = self._handle
        if not handle:
            raise ClosedError(f"the index '{self.path}' was closed; open it again to use it")
        return handle

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self)} codes"
        return f"<hashidx.Index '{self.path}' {self.bits} bits, m={self.substrings}, {state}>"

    # -- writes --

    def add(self, codes: np.ndarray, ids=None) -> Tuple[int, int]:
        """Stores `codes` ((n, code_bytes) uint8) in one transaction: all of them or, on error, none.

        `ids`: (n,) integers ≥ 0 (uint64 or int64). An id already stored gets the new code
        (upsert); a repeated id's last code wins. Without ids, codes get c, c+1, ..., c+n-1
        where c is the count stored when the write begins (faiss's sequential ids; after
        removals c may be an id still in use, which is then replaced: pass ids then).
        Returns (inserted, replaced)."""
        codes = _codes(codes, self.code_bytes, "codes")
        ids = _ids(ids, codes.shape[0])
        counts = ffi.new("uint64_t[2]")
        call(lib.hashidx_add, self._h(), buffer(ids, "uint64_t[]"), buffer(codes, "uint8_t[]"), codes.shape[0],
             self.code_bytes, counts, counts + 1)
        return counts[0], counts[1]

    def remove(self, ids) -> int:
        """Removes the codes of `ids` in one transaction (ids not stored are ignored); returns
        how many were removed."""
        ids = np.atleast_1d(np.asarray(ids))
        ids = _ids(ids, ids.shape[0])
        removed = ffi.new("uint64_t *")
        call(lib.hashidx_remove, self._h(), buffer(ids, "uint64_t[]"), ids.shape[0], removed)
        return removed[0]

    def compact(self) -> int:
        """Merges recent rows into the sealed base and drops removed rows; returns the count."""
        live = ffi.new("uint64_t *")
        call(lib.hashidx_compact, self._h(), live)
        return live[0]

    # -- reads --

    def __len__(self) -> int:
        count = ffi.new("uint64_t *")
        call(lib.hashidx_count, self._h(), count)
        return count[0]

    @property
    def ntotal(self) -> int:
        """The number of stored codes (faiss's name for len(index))."""
        return len(self)

    def get(self, id: int) -> Optional[np.ndarray]:
        """The stored code of `id` as a (code_bytes,) uint8 array, or None."""
        out = np.empty(self.code_bytes, dtype=np.uint8)
        found = ffi.new("int *")
        call(lib.hashidx_get, self._h(), _integer_id(id), buffer(out, "uint8_t[]"), self.code_bytes, found)
        return out if found[0] else None

    def search(self, queries: np.ndarray, k: int, threads: Optional[int] = None,
               return_stats: bool = False):
        """Exact k nearest neighbours of each query ((nq, code_bytes) uint8).

        Returns (D, I): (nq, k) int32 Hamming distances and int64 ids, each row sorted by
        (distance, id): ties at the k-th distance go to the smaller id. Where fewer than k codes
        are stored, the rest of the row is distance -1, id -1. With `return_stats`, also a list
        of per-query counters. `threads`: None uses every core."""
        queries = _codes(queries, self.code_bytes, "queries")
        return _knn(self._h(), lib.hashidx_search, buffer(queries, "uint8_t[]"), queries.shape[0], self.code_bytes,
                    k, threads, return_stats)

    def range_search(self, queries: np.ndarray, radius: int, threads: Optional[int] = None,
                     return_stats: bool = False):
        """Every stored code within Hamming distance `radius` of each query, INCLUSIVE
        (distance <= radius; faiss's binary range_search is strict, distance < radius).

        Returns (lims, D, I) as faiss does: query i's results are D[lims[i]:lims[i+1]] (int32)
        and I[lims[i]:lims[i+1]] (int64), sorted by (distance, id); lims has nq + 1 entries."""
        queries = _codes(queries, self.code_bytes, "queries")
        radius = _integer(radius, "radius")
        return _range(self._h(), lib.hashidx_range_search, buffer(queries, "uint8_t[]"), queries.shape[0], self.code_bytes,
                      radius, threads, return_stats)

    def force_path(self, path: str) -> None:
        """Makes later searches through this object take `path`: "auto" (the planner's choice, the
        default), "probe" or "scan". For measurements and tests: answers are identical on every path."""
        values = {"auto": 0, "probe": 1, "scan": 2}
        if path not in values:
            raise InvalidArgumentError(f"path must be 'auto', 'probe' or 'scan', found {path!r}")
        call(lib.hashidx_force_path, self._h(), values[path])

    def stats(self) -> dict:
        """Size and shape: format version, bits, m, count, rows, file and map bytes, tables."""
        return call_json(lib.hashidx_stat_json, self._h())

    def bucket_stats(self, largest: int = 5) -> List[dict]:
        """How the live codes spread over each substring table's buckets, one dict per table:
        table, bits, buckets (non-empty), rows, histogram (histogram[i] buckets hold 2**i to
        2**(i+1) - 1 rows), largest (the fullest buckets as {"key", "rows"}) and
        rows_sharing_a_bucket (the rows in a stored code's own bucket, on average). One pass
        over the postings."""
        largest = _integer(largest, "largest", 0)
        return call_json(lib.hashidx_bucket_stats_json, self._h(), largest)

    def verify(self) -> int:
        """Checks every invariant of the stored format; returns the number of codes checked.
        Raises CorruptError naming the first broken invariant."""
        checked = ffi.new("uint64_t *")
        call(lib.hashidx_verify, self._h(), checked)
        return checked[0]

    def export(self) -> Tuple[np.ndarray, np.ndarray]:
        """Every stored (id, code) from one consistent snapshot: (ids (n,) uint64, codes (n, code_bytes) uint8)."""
        id_parts, code_parts = [], []
        code_bytes = self.code_bytes

        @ffi.callback("int(void *, const uint64_t *, const uint8_t *, size_t)")
        def collect(_context, ids, codes, n):
            id_parts.append(np.frombuffer(ffi.buffer(ids, 8 * n), dtype=np.uint64).copy())
            code_parts.append(np.frombuffer(ffi.buffer(codes, n * code_bytes), dtype=np.uint8).copy().reshape(n, code_bytes))
            return 0

        call(lib.hashidx_export, self._h(), collect, NULL)
        if not id_parts:
            return np.empty(0, dtype=np.uint64), np.empty((0, code_bytes), dtype=np.uint8)
        return np.concatenate(id_parts), np.concatenate(code_parts)

    # -- vectors, through the stored encoder --

    def encoder(self) -> Encoder:
        """The encoder stored in the index (EncoderError if it has none)."""
        handle = ffi.new("uint64_t *")
        call(lib.hashidx_index_encoder, self._h(), handle)
        return Encoder(handle[0])

    def add_vectors(self, x: np.ndarray, ids=None) -> Tuple[int, int]:
        """Encodes the rows of `x` ((n, dim) float32) with the stored encoder and adds them (see :meth:`add`)."""
        x = _vectors(x, "x")
        ids = _ids(ids, x.shape[0])
        counts = ffi.new("uint64_t[2]")
        call(lib.hashidx_add_vectors, self._h(), buffer(ids, "uint64_t[]"), buffer(x, "float[]"), x.shape[0], x.shape[1],
             counts, counts + 1)
        return counts[0], counts[1]

    def search_vectors(self, x: np.ndarray, k: int, threads: Optional[int] = None, return_stats: bool = False):
        """:meth:`search` for float32 query vectors, encoded by the stored encoder."""
        x = _vectors(x, "x")
        return _knn(self._h(), lib.hashidx_search_vectors, buffer(x, "float[]"), x.shape[0], x.shape[1],
                    k, threads, return_stats)

    def range_search_vectors(self, x: np.ndarray, radius: int, threads: Optional[int] = None, return_stats: bool = False):
        """:meth:`range_search` for float32 query vectors, encoded by the stored encoder."""
        x = _vectors(x, "x")
        radius = _integer(radius, "radius")
        return _range(self._h(), lib.hashidx_range_search_vectors, buffer(x, "float[]"), x.shape[0], x.shape[1],
                      radius, threads, return_stats)


def _integer_id(id) -> int:
    if isinstance(id, bool) or not isinstance(id, (int, np.integer)) or not 0 <= int(id) < 2**64:
        raise InvalidArgumentError(f"an id must be an integer between 0 and 2**64 - 1, found {id!r}")
    return int(id)


def _knn(handle, function, queries, nq, width, k, threads, return_stats):
    k = _integer(k, "k")
    if k < 1:
        raise InvalidArgumentError(f"k must be at least 1, found {k}")
    # The answer is nq × k slots of 12 bytes, every one written (−1 past the stored codes): an
    # answer larger than the machine's memory would be allocated lazily and then written until
    # the process is killed, so it is refused before anything is allocated.
    need = nq * k * 12
    if need > 2**30 and need > (memory := _physical_memory()):
        raise InvalidArgumentError(f"{nq} queries × k = {k} need {need} bytes of results, more than this machine's "
                                   f"{memory} bytes of memory")
    D = np.empty((nq, k), dtype=np.int32)
    I = np.empty((nq, k), dtype=np.int64)
    stats = ffi.new("hashidx_query_stats[]", nq) if return_stats else NULL
    call(function, handle, queries, nq, width, k, _threads(threads), buffer(D, "int32_t[]"), buffer(I, "int64_t[]"), stats)
    return (D, I, _stats_dicts(stats, nq)) if return_stats else (D, I)


def _range(handle, function, queries, nq, width, radius, threads, return_stats):
    lims = np.empty(nq + 1, dtype=np.int64)
    result = ffi.new("uint64_t *")
    stats = ffi.new("hashidx_query_stats[]", nq) if return_stats else NULL
    call(function, handle, queries, nq, width, radius, _threads(threads), buffer(lims, "size_t[]"), result, stats)
    total = int(lims[nq])
    D = np.empty(total, dtype=np.int32)
    I = np.empty(total, dtype=np.int64)
    call(lib.hashidx_range_result_take, result[0], buffer(D, "int32_t[]"), buffer(I, "int64_t[]"))
    return (lims, D, I, _stats_dicts(stats, nq)) if return_stats else (lims, D, I)


def create(path: PathLike, bits: Optional[int] = None, substrings: Optional[int] = None,
           expected_count: Optional[int] = None, encoder: Optional[Encoder] = None) -> Index:
    """Creates an empty index in directory `path` (made if missing; an existing one must be empty)
    and opens it for reading and writing.

    `bits`: code width, 8..1024 (taken from `encoder` when one is given: the encoder is stored in
    the index, for :meth:`Index.add_vectors` and the vector searches). `substrings`: m, or None
    to choose it from `expected_count` (the number of codes expected, default one million).
    Raises AlreadyExistsError, BadCodeError (bits or m), PermissionDeniedError, FullError."""
    m = 0 if substrings is None else _integer(substrings, "substrings", 1)
    expected = 0 if expected_count is None else _integer_id(expected_count)
    handle = ffi.new("uint64_t *")
    if encoder is not None:
        if not isinstance(encoder, Encoder):
            raise InvalidArgumentError(f"encoder must be a hashidx.Encoder, found {type(encoder).__name__}")
        if bits is not None and bits != encoder.bits:
            raise InvalidArgumentError(f"bits={bits} differs from the encoder's {encoder.bits} bits")
        call(lib.hashidx_create_with_encoder, _path(path), encoder._handle, m, expected, handle)
    else:
        if bits is None:
            raise InvalidArgumentError("create needs bits= (or encoder=)")
        call(lib.hashidx_create, _path(path), _integer(bits, "bits"), m, expected, handle)
    return Index(handle[0], path)


def open(path: PathLike, readonly: bool = False) -> Index:
    """Opens the index in `path`; `readonly` for queries only (many processes may read an index
    while one writes). Raises NotAnIndexError, NewerFormatError, CorruptError, AlreadyOpenError."""
    handle = ffi.new("uint64_t *")
    call(lib.hashidx_open, _path(path), 1 if readonly else 0, handle)
    return Index(handle[0], path)


def train(method: str, x: np.ndarray, bits: int, labels=None, threads: Optional[int] = None, **options) -> Encoder:
    """Trains an encoder of `bits` bits on the rows of `x` ((n, d) float32).

    `method`: "lsh", "pcah", "itq", "lda-itq", "dh", "sdh", "center" or "pairwise"; `labels`
    ((n,) integers) are needed by lda-itq, sdh, center and pairwise. `options` are those of
    `hashidx train`, by name: seed, epochs, hidden (a list of sizes), learning_rate, schedule,
    batch_size, optimizer, quantization_weight, inner_product_scale, lambda1, lambda2, lambda3,
    alpha, pairs, paper_recipe, paper_scaling, initialization, validation_queries,
    validation_database. Unknown or out-of-range options and networks too large for this
    machine raise InvalidArgumentError before training starts. `threads`: linear-algebra threads."""
    x = _vectors(x, "x")
    y = None
    if labels is not None:
        y = np.asarray(labels)
        if y.ndim != 1 or y.shape[0] != x.shape[0] or y.dtype.kind not in "iu":
            raise InvalidArgumentError(f"labels must be ({x.shape[0]},) integers, one per vector; found shape {y.shape}, dtype {y.dtype}")
        y = np.ascontiguousarray(y, dtype=np.int64)
    text = json.dumps(options, default=lambda o: o.item() if isinstance(o, np.generic) else str(o))
    handle = ffi.new("uint64_t *")
    call(lib.hashidx_train, str(method).encode(), buffer(x, "float[]"), x.shape[0], x.shape[1],
         buffer(y, "int64_t[]"), _integer(bits, "bits"), text.encode(), 0 if threads is None else _threads(threads), handle)
    return Encoder(handle[0])


def load_encoder(path: PathLike) -> Encoder:
    """Reads an encoder saved by :meth:`Encoder.save` or `hashidx train`. Raises FileError."""
    handle = ffi.new("uint64_t *")
    call(lib.hashidx_encoder_load, _path(path), handle)
    return Encoder(handle[0])
