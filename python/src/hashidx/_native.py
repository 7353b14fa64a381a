"""The C API through cffi in ABI mode: the library, the declarations of hashidx.h, and errors.

The declarations are read from the header itself (shipped inside the package), so the binding
cannot drift from the contract. cffi releases the GIL during every call into the library, so
searches from several Python threads run in parallel; numpy memory is passed in place
(`ffi.from_buffer`), never copied."""

import json
import os
import re
from pathlib import Path

from cffi import FFI

from . import errors

_here = Path(__file__).parent


def _find(name, candidates):
    for path in candidates:
        if path and Path(path).is_file():
            return Path(path)
    raise ImportError(
        f"{name} was not found (looked in {', '.join(str(c) for c in candidates if c)}); install the package "
        "with pip, which builds the library, or set HASHIDX_LIBRARY to a built libhashidx_c.so")


def _declarations(header_text):
    """hashidx.h without what cffi's parser does not take: preprocessor guards and includes, the
    extern "C" block (its #defines of integer constants stay)."""
    keep = []
    for line in header_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not re.match(r"#define\s+HASHIDX_[A-Z_]+\s+-?\d+", stripped):
            continue
        if stripped in ('extern "C" {', "}"):
            continue
        keep.append(line)
    return "\n".join(keep)


_library = _find("libhashidx_c.so", [os.environ.get("HASHIDX_LIBRARY"), _here / "libhashidx_c.so"])
_header = _find("hashidx.h", [_here / "hashidx.h", _here.parent.parent.parent / "include" / "hashidx.h"])

ffi = FFI()
ffi.cdef(_declarations(_header.read_text()))
# Never unloaded (as the library is linked: -z nodelete): the Swift runtime inside it keeps worker
# threads, and cffi would dlclose the library when Python exits, under their feet.
lib = ffi.dlopen(str(_library), ffi.RTLD_NOW | getattr(ffi, "RTLD_NODELETE", 0))
NULL = ffi.NULL


def call(function, *args):
    """Calls a library function; raises the hashidx.Error subclass of a failed status, with the
    library's message."""
    status = function(*args)
    if status:
        raise errors.from_status(status, ffi.string(lib.hashidx_last_error()).decode("utf-8", "replace"))


def call_json(function, *args):
    """Calls a library function whose last argument receives a JSON text the library allocated;
    returns the decoded value and frees the text."""
    text = ffi.new("char **")
    call(function, *args, text)
    try:
        return json.loads(ffi.string(text[0]).decode())
    finally:
        lib.hashidx_free(text[0])


def buffer(array, ctype):
    """The memory of a C-contiguous numpy array as a `ctype[]` (NULL for None), read in place."""
    if array is None:
        return NULL
    return ffi.from_buffer(ctype, array)
