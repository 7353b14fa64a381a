import CLMDB

/// A non-zero return code of an LMDB call, with named constants that a `catch` can match.
///
/// Every `mdb_*` call in this module goes through ``check(_:)``, the single place where C
/// return codes become Swift errors.
public struct LMDBError: Error, Equatable, Hashable, CustomStringConvertible, Sendable {
    /// The raw return code: an LMDB code (negative) or an `errno` value (positive).
    public let code: Int32

    public init(code: Int32) { self.code = code }

    public static let keyExists = LMDBError(code: MDB_KEYEXIST)
    public static let notFound = LMDBError(code: MDB_NOTFOUND)
    public static let mapFull = LMDBError(code: MDB_MAP_FULL)
    public static let mapResized = LMDBError(code: MDB_MAP_RESIZED)
    public static let readersFull = LMDBError(code: MDB_READERS_FULL)
    public static let transactionFull = LMDBError(code: MDB_TXN_FULL)
    public static let databasesFull = LMDBError(code: MDB_DBS_FULL)
    public static let invalid = LMDBError(code: MDB_INVALID)
    public static let versionMismatch = LMDBError(code: MDB_VERSION_MISMATCH)
    public static let incompatible = LMDBError(code: MDB_INCOMPATIBLE)
    public static let badValueSize = LMDBError(code: MDB_BAD_VALSIZE)
    /// The disk is full (`ENOSPC`).
    public static let noSpace = LMDBError(code: 28)
    /// Permission denied (`EACCES`), also returned when writing to a read-only environment.
    public static let accessDenied = LMDBError(code: 13)
    /// No such file or directory (`ENOENT`).
    public static let noEntry = LMDBError(code: 2)

    public var description: String {
        String(cString: mdb_strerror(code)) + " (LMDB code \(code))"
    }
}

/// Turns an LMDB return code into a thrown ``LMDBError``.
@inline(__always)
func check(_ rc: Int32) throws(LMDBError) {
    if rc != 0 { throw LMDBError(code: rc) }
}
