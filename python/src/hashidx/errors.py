"""hashidx's exceptions: one class per status of the C API, all under :class:`Error`.

Argument errors are also :class:`ValueError`; a missing index is also :class:`FileNotFoundError`,
an existing one :class:`FileExistsError`, a refused permission :class:`PermissionError`, and a
full disk or failed I/O :class:`OSError`.
"""


class Error(Exception):
    """Every failure hashidx reports. `status` is the C API's status code."""
    status = -1


class InvalidArgumentError(Error, ValueError):
    """A malformed argument: dtype, shape, a count, a thread count, a training option."""
    status = 1


class BadCodeError(Error, ValueError):
    """A malformed code or layout: padding bits set, an unsupported width or substring count."""
    status = 2


class CodeWidthError(Error, ValueError):
    """Codes of the wrong width for the index."""
    status = 3


class InvalidRadiusError(Error, ValueError):
    """A radius outside 0..bits."""
    status = 4


class InvalidKError(Error, ValueError):
    """k below 1."""
    status = 5


class NotAnIndexError(Error, FileNotFoundError):
    """The path holds no hashidx index."""
    status = 6


class AlreadyExistsError(Error, FileExistsError):
    """The path already holds an index."""
    status = 7


class NewerFormatError(Error):
    """The index was written by a newer format than this library reads."""
    status = 8


class OlderFormatError(Error):
    """The index has an older format: readable; upgrade it (`hashidx upgrade`) before writing."""
    status = 9


class ReadOnlyError(Error):
    """A write to an index opened read-only."""
    status = 10


class PermissionDeniedError(Error, PermissionError):
    """The operating system refused access."""
    status = 11


class BusyError(Error):
    """Every reader slot is held by live processes: retry later."""
    status = 12


class EncoderError(Error):
    """An encoder could not be trained, read or applied (for example NaN or infinite vectors)."""
    status = 13


class AlreadyOpenError(Error):
    """The index is already open in this process: share that object (it is thread-safe)."""
    status = 14


class ClosedError(Error):
    """The index or encoder was closed."""
    status = 15


class CorruptError(Error):
    """The stored data is damaged."""
    status = 16


class FullError(Error, OSError):
    """The disk is full or the map cannot grow."""
    status = 17


class StorageError(Error, OSError):
    """Another LMDB or file-system failure."""
    status = 18


class InternalError(Error):
    """A failure the library did not expect (a bug: please report it)."""
    status = 19


class FileError(Error, OSError):
    """An encoder file is missing, unreadable, malformed or cannot be written."""
    status = 20


_BY_STATUS = {cls.status: cls for cls in [
    InvalidArgumentError, BadCodeError, CodeWidthError, InvalidRadiusError, InvalidKError, NotAnIndexError,
    AlreadyExistsError, NewerFormatError, OlderFormatError, ReadOnlyError, PermissionDeniedError, BusyError,
    EncoderError, AlreadyOpenError, ClosedError, CorruptError, FullError, StorageError, InternalError, FileError]}


def from_status(status, message):
    """The exception for a status code and the library's message."""
    return _BY_STATUS.get(status, Error)(message)
