import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// One LMDB environment: a directory holding `data.mdb` and `lock.mdb`, memory-mapped.
///
/// Opened with `MDB_NOTLS`, so read transactions are not tied to a thread (Swift tasks hop
/// threads). Open a path at most once per process: LMDB forbids two environments on the same
/// file in one process. A write transaction must begin and end on one thread; ``Transaction``
/// is only ever used inside a synchronous closure by the layers above.
public final class Environment: @unchecked Sendable {
    let handle: OpaquePointer
    /// Whether the environment was opened read-only (`MDB_RDONLY`).
    public let isReadOnly: Bool
    /// The directory that holds the environment.
    public let path: String

    /// Opens (and, unless read-only, creates) the environment in directory `path`.
    /// - Parameters:
    ///   - mapSize: initial map size in bytes; the map grows later through ``setMapSize(_:)``.
    ///   - maxDatabases: the number of named databases that may be opened.
    ///   - readOnly: open with `MDB_RDONLY`; writes then fail with ``LMDBError/accessDenied``.
    ///   - noSync: skip the fsync at commit (`MDB_NOSYNC`): faster, but a system crash may lose
    ///     the last transactions. Never corrupts the file.
    /// - Throws: ``LMDBError``, for example ``LMDBError/noEntry`` if the directory does not exist,
    ///   or ``LMDBError/invalid`` if the file is not an LMDB file.
    public init(path: String, mapSize: Int, maxDatabases: UInt32, maxReaders: UInt32 = 126,
                readOnly: Bool = false, noSync: Bool = false) throws(LMDBError) {
        var env: OpaquePointer?
        try check(mdb_env_create(&env))
        guard let env else { throw LMDBError(code: 12) }
        do {
            try check(mdb_env_set_maxdbs(env, maxDatabases))
            try check(mdb_env_set_maxreaders(env, maxReaders))
            try check(mdb_env_set_mapsize(env, mapSize))
            // MDB_NORDAHEAD (MADV_RANDOM): look-ups touch scattered pages, and with read-ahead a
            // first touch of each page cost about ten times more (measured: 1,000 cold r = 0
            // queries averaged 17 µs with it, 1.4 µs without).
            var flags = UInt32(MDB_NOTLS) | UInt32(MDB_NORDAHEAD)
            if readOnly { flags |= UInt32(MDB_RDONLY) }
            if noSync { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(env, path, flags, 0o644))
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
        self.isReadOnly = readOnly
        self.path = path
    }

    deinit { mdb_env_close(handle) }

    /// The current map size in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_mapsize
    }

    /// Information about the environment: map size, last page used, last transaction id, readers.
    public var info: MDB_envinfo {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info
    }

    /// Page size of the database file in bytes.
    public var pageSize: Int {
        var stat = MDB_stat()
        mdb_env_stat(handle, &stat)
        return Int(stat.ms_psize)
    }

    /// Sets the map size. Only valid while this process has no transaction open. Passing 0
    /// adopts the size another process grew the map to (after ``LMDBError/mapResized``).
    public func setMapSize(_ bytes: Int) throws(LMDBError) {
        try check(mdb_env_set_mapsize(handle, bytes))
    }

    /// Writes a compacted copy of the environment (free pages dropped, pages renumbered) as
    /// `data.mdb` in the existing, empty directory `directory` (`mdb_env_copy2` with
    /// `MDB_CP_COMPACT`); the copy is a consistent snapshot and is synced unless `noSync`.
    public func copyCompacted(to directory: String) throws(LMDBError) {
        try check(mdb_env_copy2(handle, directory, UInt32(MDB_CP_COMPACT)))
    }

    /// Maps the given ranges of the memory map (pointers from this environment's transactions)
    /// into this process's page tables (`madvise(MADV_POPULATE_READ)`; on kernels without it,
    /// one read per page), so that their first reads do not fault one page at a time. A hint:
    /// never fails.
    public static func populate(_ ranges: [(start: UnsafeRawPointer, count: Int)]) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for (start, count) in ranges where count > 0 {
            let address = Int(bitPattern: start)
            let first = address & ~(page - 1)
            let length = (address + count - first + page - 1) & ~(page - 1)
            guard let base = UnsafeMutableRawPointer(bitPattern: first) else { continue }
            if madvise(base, length, 22 /* MADV_POPULATE_READ */) == 0 { continue }
            var sum: UInt8 = 0
            var offset = address - first
            while offset < length {
                sum &+= base.load(fromByteOffset: offset, as: UInt8.self)
                offset += page
            }
            withExtendedLifetime(sum) {}
        }
    }

    /// Flushes buffers to disk (only needed with `noSync`).
    public func sync(force: Bool = true) throws(LMDBError) {
        try check(mdb_env_sync(handle, force ? 1 : 0))
    }

    /// Begins a transaction. Read-write transactions must end on the thread that began them.
    public func begin(readOnly: Bool) throws(LMDBError) -> Transaction {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn))
        return Transaction(handle: txn!, environment: self, readOnly: readOnly)
    }
}
