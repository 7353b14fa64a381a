import Hamming
import LMDB

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
    /// An LMDB or file-system failure.
    case storage(LMDBError, operation: String)

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
        case .storage(let e, let op): return "\(op) failed: \(e)"
        }
    }
}

extension HashIdxError {
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
            default: return .storage(e, operation: operation)
            }
        }
        return .storage(LMDBError(code: -1), operation: "\(operation): \(error)")
    }
}
