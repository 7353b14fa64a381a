"""The C API (hashidx.h) through ctypes: the library, its function signatures and its errors.

ctypes releases the GIL during every call into the library, so searches from several Python
threads run in parallel."""

import ctypes
import os
from ctypes import POINTER, c_char_p, c_double, c_int, c_int32, c_int64, c_size_t, c_uint8, c_uint64, c_void_p
from pathlib import Path

from . import errors


def _load():
    given = os.environ.get("HASHIDX_LIBRARY")
    candidates = [Path(given)] if given else [Path(__file__).with_name("libhashidx_c.so")]
    for path in candidates:
        if path.is_file():
            return ctypes.CDLL(str(path))
    raise ImportError(
        f"the hashidx library was not found at {candidates[0]}; install the package with pip "
        "(which builds it) or set HASHIDX_LIBRARY to a built libhashidx_c.so")


lib = _load()


class QueryStats(ctypes.Structure):
    """hashidx_query_stats."""
    _fields_ = [("lookups", c_int64), ("candidates", c_int64), ("duplicates", c_int64),
                ("radius_reached", c_int32), ("scanned", c_int32), ("switched_to_scan", c_int32),
                ("reserved", c_int32), ("seconds", c_double)]


class Evaluation(ctypes.Structure):
    """hashidx_evaluation."""
    _fields_ = [("map_tie_aware", c_double), ("map", c_double), ("queries", c_int64), ("database", c_int64)]


EXPORT_CALLBACK = ctypes.CFUNCTYPE(c_int, c_void_p, POINTER(c_uint64), POINTER(c_uint8), c_size_t)

u8p, u64p, i32p, i64p, f32p = POINTER(c_uint8), POINTER(c_uint64), POINTER(c_int32), POINTER(c_int64), POINTER(ctypes.c_float)
sizep, handlep = POINTER(c_size_t), POINTER(c_uint64)

_signatures = {
    "hashidx_version": (c_char_p, []),
    "hashidx_format_version": (c_int, []),
    "hashidx_last_error": (c_char_p, []),
    "hashidx_status_name": (c_char_p, [c_int]),
    "hashidx_free": (None, [c_void_p]),
    "hashidx_create": (c_int, [c_char_p, c_int, c_int, c_uint64, handlep]),
    "hashidx_open": (c_int, [c_char_p, c_int, handlep]),
    "hashidx_close": (c_int, [c_uint64]),
    "hashidx_info": (c_int, [c_uint64, POINTER(c_int), POINTER(c_int), sizep, POINTER(c_int)]),
    "hashidx_count": (c_int, [c_uint64, u64p]),
    "hashidx_add": (c_int, [c_uint64, u64p, u8p, c_size_t, c_size_t, u64p, u64p]),
    "hashidx_remove": (c_int, [c_uint64, u64p, c_size_t, u64p]),
    "hashidx_get": (c_int, [c_uint64, c_uint64, u8p, c_size_t, POINTER(c_int)]),
    "hashidx_verify": (c_int, [c_uint64, u64p]),
    "hashidx_compact": (c_int, [c_uint64, u64p]),
    "hashidx_stat_json": (c_int, [c_uint64, POINTER(c_void_p)]),
    "hashidx_export": (c_int, [c_uint64, EXPORT_CALLBACK, c_void_p]),
    "hashidx_search": (c_int, [c_uint64, u8p, c_size_t, c_size_t, c_int, c_int, i32p, i64p, POINTER(QueryStats)]),
    "hashidx_range_search": (c_int, [c_uint64, u8p, c_size_t, c_size_t, c_int, c_int, sizep, handlep, POINTER(QueryStats)]),
    "hashidx_range_result_get": (c_int, [c_uint64, POINTER(i32p), POINTER(i64p), sizep]),
    "hashidx_range_result_free": (c_int, [c_uint64]),
    "hashidx_train": (c_int, [c_char_p, f32p, c_size_t, c_size_t, i64p, c_int, c_char_p, c_int, handlep]),
    "hashidx_encoder_load": (c_int, [c_char_p, handlep]),
    "hashidx_encoder_save": (c_int, [c_uint64, c_char_p]),
    "hashidx_encoder_free": (c_int, [c_uint64]),
    "hashidx_encoder_info": (c_int, [c_uint64, POINTER(c_int), sizep, POINTER(c_char_p)]),
    "hashidx_encode": (c_int, [c_uint64, f32p, c_size_t, c_size_t, u8p, c_size_t]),
    "hashidx_create_with_encoder": (c_int, [c_char_p, c_uint64, c_int, c_uint64, handlep]),
    "hashidx_index_encoder": (c_int, [c_uint64, handlep]),
    "hashidx_add_vectors": (c_int, [c_uint64, u64p, f32p, c_size_t, c_size_t, u64p, u64p]),
    "hashidx_search_vectors": (c_int, [c_uint64, f32p, c_size_t, c_size_t, c_int, c_int, i32p, i64p, POINTER(QueryStats)]),
    "hashidx_range_search_vectors": (c_int, [c_uint64, f32p, c_size_t, c_size_t, c_int, c_int, sizep, handlep, POINTER(QueryStats)]),
    "hashidx_evaluate": (c_int, [u8p, c_size_t, u8p, c_size_t, c_int, i64p, i64p, sizep, c_size_t, c_int,
                                 POINTER(Evaluation), POINTER(c_double), POINTER(c_double), POINTER(c_double)]),
}

for _name, (_restype, _argtypes) in _signatures.items():
    _function = getattr(lib, _name)
    _function.restype = _restype
    _function.argtypes = _argtypes


def call(name, *args):
    """Calls `name`; raises the hashidx.Error subclass of a failed status with the library's message."""
    status = getattr(lib, name)(*args)
    if status != 0:
        message = lib.hashidx_last_error().decode("utf-8", "replace")
        raise errors.from_status(status, message)


def pointer(array, ctype):
    """A ctypes pointer to a numpy array's data (None for None)."""
    if array is None:
        return None
    return array.ctypes.data_as(POINTER(ctype))
