import Hamming
internal import LMDB

/// Why an index operation failed. Each case carries what was expected and what was found; a
/// failed call leaves the index exactly as it was before the call.
public enum HashIdxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A malformed code, code width or substring layout.
    case code(CodeError)
    /// A code of the wrong width for this index.
    case codeWidth(expectedBits: Int, foundBits: Int)
    /// A range-query radius outside 0…B.
    case invalidRadius(Int, bits: Int)
    /// A k ≤ 0 for a nearest-neighbour query.
    case invalidK(Int)
    /// The directory holds no hashidx index.
    case notAnIndex(path: String, reason: String)
    /// The directory already holds an index (on create).
    case alreadyExists(path: String)
    /// The index was written by a newer format version than this code reads.
    case newerFormat(found: UInt32, supported: UInt32)
    /// A write was attempted on an index written by an older format version, which this build
    /// reads but does not write until it is upgraded (`HashIndex.upgrade(at:)`, `hashidx upgrade`).
    case olderFormat(path: String, found: UInt32, current: UInt32)
    /// A write was attempted on an index opened read-only.
    case readOnly(path: String)
    /// The operating system refused access: the files or directory are not writable (or not
    /// readable) by this user, or the file system is mounted read-only.
    case permissionDenied(path: String, reason: String)
    /// Every reader slot of the index is held by live processes; retry when some have finished.
    case busy(String)
    /// The index's stored encoder could not be read or applied (a missing encoder, vectors of the
    /// wrong dimension, non-finite values): the encoder's own message.
    case encoder(String)
    /// The directory is already open in this process (LMDB forbids a second open of the same
    /// file in one process: its locks would not protect the two instances from each other).
    case alreadyOpen(path: String)
    /// ``HashIndex/close()`` was called on this instance.
    case closed(path: String)
    /// The stored data breaks an invariant of the format.
    case corrupt(String)
    /// The index has no room left: the disk is full, or the map cannot grow further.
    case full(String)
    /// An LMDB or file-system failure: its code (an `errno` value when positive, an LMDB code
    /// when negative), the system's message for it, and the operation that failed.
    case storage(code: Int32, message: String, operation: String)
    /// An argument outside what the call accepts (a null pointer, a count, a thread count, a
    /// training option): what was expected and what was found.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .code(let e): return e.description
        case .codeWidth(let e, let f): return "the index holds \(e)-bit codes, found a \(f)-bit code"
        case .invalidRadius(let r, let b): return "radius must be between 0 and \(b) (the code width), found \(r)"
        case .invalidK(let k): return "k must be at least 1, found \(k)"
        case .notAnIndex(let p, let why): return "'\(p)' is not a hashidx index: \(why)"
        case .alreadyExists(let p): return "'\(p)' already holds an index"
        case .newerFormat(let f, let s):
            return "the index has format version \(f), newer than the newest this build reads (\(s)); upgrade hashidx"
        case .olderFormat(let p, let f, let c):
            return "the index '\(p)' has format version \(f); this build reads it but writes only version \(c): run 'hashidx upgrade \(p)' first"
        case .readOnly(let p): return "the index '\(p)' was opened read-only and cannot be written"
        case .permissionDenied(let p, let why): return "permission denied for '\(p)': \(why)"
        case .busy(let what): return "the index is busy: \(what)"
        case .encoder(let why): return why
        case .closed(let p): return "the index '\(p)' was closed; open it again to use it"
        case .alreadyOpen(let p): return "the index '\(p)' is already open in this process; use that instance (it is thread-safe)"
        case .corrupt(let what): return "the index is corrupt: \(what)"
        case .full(let what): return "no room left: \(what)"
        case .storage(_, let message, let op): return "\(op) failed: \(message)"
        case .invalidArgument(let why): return why
        }
    }
}

extension HashIdxError {
    /// An LMDB or system failure (`LMDBError` stays inside the library).
    static func lmdb(_ e: LMDBError, operation: String) -> HashIdxError {
        .storage(code: e.code, message: e.description, operation: operation)
    }

    /// Wraps an LMDB error raised during `operation`, mapping the disk-full case.
    static func wrap(_ error: any Error, _ operation: String) -> HashIdxError {
        if let e = error as? HashIdxError { return e }
        if let e = error as? CodeError { return .code(e) }
        if let e = error as? LMDBError {
            switch e.code {
            case 28, 122: return .full("the disk is full during \(operation) (\(e))")
            case 27: return .full("the file-size limit (ulimit -f) was reached during \(operation)")
            case -30796, -30797, -30793, -30794:  // MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH
                return .corrupt("LMDB reports damage in data.mdb during \(operation): \(e)")
            case LMDBError.readersFull.code:
                return .busy("all reader slots are held by live processes during \(operation); retry when some have finished")
            default: return .lmdb(e, operation: operation)
            }
        }
        return .storage(code: -1, message: "\(error)", operation: operation)
    }
}

/// A stable number for each kind of failure: the status codes of the C API and the categories
/// of the command's exit statuses. Numbers are never reused or renumbered; new kinds get new
/// numbers.
public enum HashIdxStatus: Int32, Sendable, CaseIterable {
    case ok = 0
    /// A malformed argument: a null pointer, a count or byte length, a thread count, an option.
    case invalidArgument = 1
    /// A malformed code, code width or substring layout.
    case badCode = 2
    /// A code of the wrong width for the index.
    case codeWidth = 3
    /// A radius outside 0…B.
    case invalidRadius = 4
    /// A k below 1.
    case invalidK = 5
    /// The path holds no index (or the input file does not exist).
    case notAnIndex = 6
    /// The path already holds an index.
    case alreadyExists = 7
    /// Written by a newer format than this build reads.
    case newerFormat = 8
    /// Written by an older format; upgrade it before writing.
    case olderFormat = 9
    /// The index was opened read-only.
    case readOnly = 10
    /// The operating system refused access.
    case permissionDenied = 11
    /// Every reader slot is taken; retry later.
    case busy = 12
    /// An encoder could not be trained, read or applied; or a vector or data file is malformed.
    case encoder = 13
    /// The index is already open in this process.
    case alreadyOpen = 14
    /// The index (or handle) was closed.
    case closed = 15
    /// The stored data is damaged.
    case corrupt = 16
    /// The disk is full or the map cannot grow.
    case full = 17
    /// Another LMDB or file-system failure.
    case storage = 18
    /// A failure the library did not expect (a bug): the message says what.
    case `internal` = 19
    /// A file other than the index (an encoder file, a vector or label file) is missing,
    /// unreadable, malformed or cannot be written.
    case file = 20

    /// The status's name, as the C header spells it without its `HASHIDX_` prefix.
    public var name: String {
        switch self {
        case .ok: "OK"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .badCode: "BAD_CODE"
        case .codeWidth: "CODE_WIDTH"
        case .invalidRadius: "INVALID_RADIUS"
        case .invalidK: "INVALID_K"
        case .notAnIndex: "NOT_AN_INDEX"
        case .alreadyExists: "ALREADY_EXISTS"
        case .newerFormat: "NEWER_FORMAT"
        case .olderFormat: "OLDER_FORMAT"
        case .readOnly: "READ_ONLY"
        case .permissionDenied: "PERMISSION_DENIED"
        case .busy: "BUSY"
        case .encoder: "ENCODER"
        case .alreadyOpen: "ALREADY_OPEN"
        case .closed: "CLOSED"
        case .corrupt: "CORRUPT"
        case .full: "FULL"
        case .storage: "STORAGE"
        case .internal: "INTERNAL"
        case .file: "FILE"
        }
    }
}

extension HashIdxError {
    /// This error's stable status number.
    public var status: HashIdxStatus {
        switch self {
        case .code: .badCode
        case .codeWidth: .codeWidth
        case .invalidRadius: .invalidRadius
        case .invalidK: .invalidK
        case .notAnIndex: .notAnIndex
        case .alreadyExists: .alreadyExists
        case .newerFormat: .newerFormat
        case .olderFormat: .olderFormat
        case .readOnly: .readOnly
        case .permissionDenied: .permissionDenied
        case .busy: .busy
        case .encoder: .encoder
        case .alreadyOpen: .alreadyOpen
        case .closed: .closed
        case .corrupt: .corrupt
        case .full: .full
        case .storage: .storage
        case .invalidArgument: .invalidArgument
        }
    }
}
