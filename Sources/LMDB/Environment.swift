import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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
            if !readOnly { try Self.reserveLockFile(directory: path, maxReaders: maxReaders) }
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
        // Slots of reader processes that died without closing (kill -9) pin old snapshots
        // (the file grows) and, once all are taken, block every reader: free them now.
        clearStaleReaders()
    }

    /// Frees the reader slots of processes that no longer exist (`mdb_reader_check`); returns
    /// how many were freed.
    @discardableResult
    public func clearStaleReaders() -> Int {
        var dead: Int32 = 0
        return mdb_reader_check(handle, &dead) == 0 ? Int(dead) : 0
    }

    /// Creates lock.mdb with its blocks allocated, if it does not exist yet. LMDB sizes the lock
    /// file with ftruncate and then maps it, so on a full file system its first write to the map
    /// would fault (SIGBUS); allocating the blocks first turns that into a plain ENOSPC here.
    /// The size is what LMDB asks for `maxReaders` readers (a 192-byte header and 64-byte slots).
    static func reserveLockFile(directory: String, maxReaders: UInt32) throws(LMDBError) {
        let path = directory + "/lock.mdb"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            if errno == EEXIST { return }
            // Leave other failures (a missing directory, a read-only file system) to LMDB's own
            // open, which reports them with its usual codes.
            return
        }
        defer { closeDescriptor(fd) }
        let size = 192 + 64 * (Int(maxReaders) - 1)
        #if canImport(Glibc)
        let rc = posix_fallocate(fd, 0, off_t(size))
        #else
        let rc: Int32 = ftruncate(fd, off_t(size)) == 0 ? 0 : errno
        #endif
        if rc != 0 {
            unlink(path)
            throw LMDBError(code: rc)
        }
    }

    /// Checks a data file against what its own meta pages say, without mapping it: both meta
    /// pages carry LMDB's magic, the page size is sane, and the file is long enough to hold every
    /// page the newest committed transaction uses. Mapping a truncated file would fault (SIGBUS)
    /// on the first read past its end instead of failing cleanly.
    /// - Returns: nil if the file looks whole, else what is wrong and whether the file is an
    ///   LMDB file at all (false: its first page lacks LMDB's magic).
    public static func inspectDataFile(_ path: String) -> (problem: String, isLMDB: Bool)? {
        inspect(path).map { ($0, !$0.hasPrefix(notLMDB)) }
    }

    private static let notLMDB = "data.mdb does not start with an LMDB meta page"

    private static func inspect(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }  // LMDB's own open reports a missing or unreadable file.
        defer { closeDescriptor(fd) }
        func readAt(_ offset: Int, _ count: Int) -> [UInt8]? {
            var b = [UInt8](repeating: 0, count: count)
            let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n == count ? b : nil
        }
        func u32(_ b: [UInt8], _ at: Int) -> UInt32 { b[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        func u64(_ b: [UInt8], _ at: Int) -> UInt64 { b[at..<at + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        if st.st_size == 0 { return "data.mdb is empty (0 bytes); expected at least LMDB's two meta pages" }
        // Page header (16 bytes), then the meta: magic, version, address, map size, two 48-byte
        // database records (the first one's leading u32 holds the page size), last page, txn id.
        guard let first = readAt(0, 152) else {
            return "data.mdb is \(st.st_size) bytes, shorter than one LMDB meta page"
        }
        let magic: UInt32 = 0xBEEF_C0DE
        guard u32(first, 16) == magic else { return notLMDB + " (bad magic)" }
        let pageSize = Int(u32(first, 40))
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            return "data.mdb's meta page gives a page size of \(pageSize) bytes; expected a power of two from 512 to 65536"
        }
        guard let second = readAt(pageSize, 152) else {
            return "data.mdb is \(st.st_size) bytes, too short for its second meta page at byte \(pageSize)"
        }
        guard u32(second, 16) == magic else { return "data.mdb's second meta page (at byte \(pageSize)) has a bad magic" }
        let newest = u64(second, 144) > u64(first, 144) ? second : first
        let lastPage = u64(newest, 136)
        // Re-read the size after the meta: a writer extends the file before it writes the meta.
        guard fstat(fd, &st) == 0 else { return nil }
        let (pages, o1) = lastPage.addingReportingOverflow(1)
        let (needed, o2) = pages.multipliedReportingOverflow(by: UInt64(pageSize))
        guard !o1, !o2, needed <= UInt64(Int.max) else {
            return "data.mdb's meta page names last page \(lastPage), beyond any possible file"
        }
        if UInt64(st.st_size) < needed {
            return "data.mdb is \(st.st_size) bytes, but its last committed transaction uses \(pages) pages of \(pageSize) bytes (\(needed) bytes): the file was truncated"
        }
        return nil
    }

    /// False once ``close()`` ran.
    public private(set) var isOpen = true

    /// Closes the environment now rather than when the last reference goes. Every transaction
    /// must have ended; the caller makes sure no other thread uses the environment any more.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        mdb_env_close(handle)
    }

    deinit { if isOpen { mdb_env_close(handle) } }

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
        var rc = mdb_txn_begin(handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
        if rc == MDB_READERS_FULL && clearStaleReaders() > 0 {
            rc = mdb_txn_begin(handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
        }
        try check(rc)
        return Transaction(handle: txn!, environment: self, readOnly: readOnly)
    }
}

/// `close(2)`, outside the types whose own `close` methods would shadow it.
@inline(__always) func closeDescriptor(_ fd: Int32) { _ = close(fd) }
