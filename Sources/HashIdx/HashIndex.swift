import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hamming
internal import LMDB

/// A persistent multi-index-hashing index of B-bit binary codes, stored in one LMDB
/// environment (a directory).
///
/// Every code gets a dense row number; codes are stored in chunks of contiguous rows so that a
/// scan and candidate verification read them in place through the memory map. Each of the m
/// substring tables maps a substring value to the sorted rows that have it.
///
/// One instance per directory per process (LMDB forbids opening a file twice in one process);
/// several processes may open the same index, one writing at a time and any number reading.
/// The instance is thread-safe: queries run concurrently with each other and with a writer;
/// writes are serialised.
public final class HashIndex: @unchecked Sendable {
    /// The version of this library (semantic versioning; tagged `vX.Y.Z` in the repository).
    public static let version = "0.4.0-dev"
    /// The newest on-disk format version this build reads and the one it writes (FORMAT.md).
    public static var formatVersion: Int { Int(Format.version) }

    /// The index directory.
    public let path: String
    /// Code width B in bits.
    public var bits: Int { header.bits }
    /// Bytes per packed code, ⌈B/8⌉.
    public let codeBytes: Int
    /// How codes are cut into substrings.
    public var layout: SubstringLayout { header.layout }
    /// Whether the index was opened read-only.
    public var isReadOnly: Bool { environment.isReadOnly }
    /// The cost model the planner uses to choose between probing and scanning.
    public var costModel: CostModel {
        get {
            costLock.withLock {
                // The scan and verification costs are calibrated on first use (under a millisecond), not
                // at open: commands that never query should not pay for it.
                if let model = _costModel { return model }
                let model = CostModel().calibrated(kernel: kernel)
                _costModel = model
                return model
            }
        }
        set { costLock.withLock { _costModel = newValue } }
    }

    /// When writes merge recent rows into the sealed base (see ``MaintenancePolicy``).
    public var maintenance: MaintenancePolicy {
        get { costLock.withLock { _maintenance } }
        set { costLock.withLock { _maintenance = newValue } }
    }

    let header: Format.Header
    let environment: Environment
    let tables: Tables
    let kernel: DistanceKernel
    let rowShift: Int
    let rowMask: Int

    let mapLock = ReadWriteLock()
    let writeLock = Mutex()
    let poolLock = Mutex()
    let costLock = Mutex()
    var _costModel: CostModel?
    var _maintenance = MaintenancePolicy()
    var idleReaders: [Reader] = []
    /// Whether a search has run on this instance (see ``prefaultBeforeFirstSearch()``; under
    /// `poolLock`).
    var searched = false
    /// Readers this process may have at once (of LMDB's 126 slots per environment, which other
    /// processes share); more threads queue for one.
    static let maxConcurrentReaders = 96
    let readerSlots = DispatchSemaphore(value: HashIndex.maxConcurrentReaders)
    /// Bumped whenever this process remaps the file; cached map pointers are keyed by it.
    var mapGeneration = 0
    /// The data file's device and inode, under which this instance is registered as open.
    var identity: OpenIndexes.Key?

    deinit { if let identity { OpenIndexes.shared.closed(identity) } }

    /// The LMDB databases of an index.
    struct Tables {
        let meta: Database
        let codes: Database
        let rowIDs: Database
        let ids: Database
        let substrings: [Database]
        /// Format version 2 and later; nil in an index written by version 1.
        let sealed: Database?
        let dead: Database?
        /// Format version 3 and later: checksums of the owned tables (``Checksums``).
        let sums: Database?
    }

    /// Options for creating an index.
    public struct Configuration: Sendable {
        /// Code width B in bits (8…1024).
        public var bits: Int
        /// Substring count m; nil picks max(1, round(B / log2 N)) from `expectedCount`.
        public var substringCount: Int?
        /// The expected number of codes N, used only to pick the default m.
        public var expectedCount: Int
        /// Initial map size in bytes; the map doubles whenever it fills.
        public var initialMapSize: Int
        /// Skip fsync at commit: faster loads, but a power loss may drop the last batches.
        public var noSync: Bool
        /// An opaque, self-versioned encoder blob stored with the index (the engine never reads it).
        public var encoder: [UInt8]?

        public init(bits: Int, substringCount: Int? = nil, expectedCount: Int = 1_000_000,
                    initialMapSize: Int = 1 << 30, noSync: Bool = false, encoder: [UInt8]? = nil) {
            self.encoder = encoder
            self.bits = bits
            self.substringCount = substringCount
            self.expectedCount = expectedCount
            self.initialMapSize = initialMapSize
            self.noSync = noSync
        }

        /// The substring layout these options give.
        public func layout() throws(HashIdxError) -> SubstringLayout {
            do {
                guard BinaryCode.supportedBits.contains(bits) else { throw CodeError.unsupportedBits(bits) }
                let m = substringCount ?? SubstringLayout.defaultSubstringCount(bits: bits, expectedCount: expectedCount)
                return try SubstringLayout(bits: bits, substringCount: m)
            } catch let e as CodeError { throw .code(e) } catch { throw .wrap(error, "create") }
        }
    }

    /// How to open an existing index.
    public enum AccessMode: Sendable {
        case readWrite
        case readOnly
    }

    static let maxDatabases: UInt32 = 64 + 1024

    // MARK: - Create and open

    /// Creates a new, empty index in directory `path`.
    ///
    /// The index is built in a hidden sibling directory and renamed into place once its first
    /// transaction has committed, so `path` either holds a whole index or is untouched: a kill
    /// or a full disk during `create` leaves nothing to clean up. `path` may already exist as an
    /// empty directory; a directory left by a creation that never committed (no committed
    /// transaction in its data.mdb) counts as empty.
    /// - Throws: ``HashIdxError/code(_:)`` for a bad B or m, ``HashIdxError/alreadyExists(path:)``,
    ///   ``HashIdxError/permissionDenied(path:reason:)``, ``HashIdxError/full(_:)``.
    public static func create(at path: String, _ configuration: Configuration) throws(HashIdxError) -> HashIndex {
        let layout = try configuration.layout()
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: path, isDirectory: &isDir)
        if exists && !isDir.boolValue { throw .notAnIndex(path: path, reason: "it is a file, expected a directory") }
        if exists {
            let entries = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            if entries.contains("data.mdb") && !neverCommitted(path) { throw .alreadyExists(path: path) }
            if let other = entries.first(where: { $0 != "data.mdb" && $0 != "lock.mdb" }) {
                throw .alreadyExists(path: path + " (it is not empty: it holds '\(other)')")
            }
        }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let parent = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let made = makeDirectories(parent)
        guard made.failure == 0 else { throw describeCreationFailure(made.directory, made.failure) }
        removeAbandonedBuilds(in: parent, name: name)
        let staging = parent + "/.\(name).creating-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(staging, 0o755) == 0 else { throw describeCreationFailure(parent, errno) }
        var placed = false
        defer { if !placed { try? fm.removeItem(atPath: staging) } }
        let operation = "creating the index at '\(path)'"
        do {
            let env: Environment
            do {
                env = try Environment(path: staging, mapSize: configuration.initialMapSize, maxDatabases: maxDatabases,
                                      noSync: configuration.noSync)
            } catch { throw explain(.wrap(error, operation), directory: staging, operation: operation) }
            let header = Format.Header(version: Format.version, layout: layout,
                                       rowsPerChunk: Format.rowsPerChunk(codeBytes: (layout.bits + 7) / 8))
            do {
                let txn = try env.begin(readOnly: false)
                defer { txn.abort() }
                let meta = try txn.openDatabase(Format.metaTable, create: true)
                var dbs: [Database] = []
                for name in [Format.codesTable, Format.rowIDsTable, Format.idsTable, Format.sealedTable, Format.deadTable, Format.sumsTable] {
                    dbs.append(try txn.openDatabase(name, create: true))
                }
                for k in 0..<layout.count {
                    _ = try txn.openDatabase(Format.substringTable(k), create: true, flags: [.duplicateSort, .duplicateFixed])
                }
                let tables = Tables(meta: meta, codes: dbs[0], rowIDs: dbs[1], ids: dbs[2], substrings: [], sealed: dbs[3], dead: dbs[4], sums: dbs[5])
                try Checksums.put(txn, tables, .meta, key: Format.headerKey, value: header.encoded())
                try Checksums.put(txn, tables, .meta, key: Format.countKey, value: bigEndianBytes(UInt64(0)))
                if let blob = configuration.encoder {
                    try Checksums.put(txn, tables, .meta, key: Format.encoderKey, value: blob)
                }
                try txn.commit()
            } catch { throw explain(.wrap(error, operation), directory: staging, operation: operation) }
        }
        // The environment is closed here (its last reference went out of scope above).
        if exists {
            // Only an empty directory or the remains of an uncommitted creation are replaced.
            for leftover in ["data.mdb", "lock.mdb"] { try? fm.removeItem(atPath: path + "/" + leftover) }
        }
        guard rename(staging, path) == 0 else {
            let e = errno
            throw .lmdb(LMDBError(code: e), operation: "moving the new index into place at '\(path)'")
        }
        placed = true
        System.syncDirectory(parent)
        return try open(at: path, noSync: configuration.noSync)
    }

    /// ``create(at:_:)`` for a file URL.
    public static func create(at url: URL, _ configuration: Configuration) throws(HashIdxError) -> HashIndex {
        guard url.isFileURL else { throw .notAnIndex(path: url.absoluteString, reason: "expected a file URL") }
        return try create(at: url.path, configuration)
    }

    /// ``open(at:mode:noSync:)`` for a file URL.
    public static func open(at url: URL, mode: AccessMode = .readWrite, noSync: Bool = false) throws(HashIdxError) -> HashIndex {
        guard url.isFileURL else { throw .notAnIndex(path: url.absoluteString, reason: "expected a file URL") }
        return try open(at: url.path, mode: mode, noSync: noSync)
    }

    /// Whether `path`/data.mdb never saw a committed transaction (a creation killed before its
    /// first commit): an empty file, or LMDB's two initial meta pages and nothing else.
    static func neverCommitted(_ path: String) -> Bool {
        let file = path + "/data.mdb"
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
              let size = attributes[.size] as? Int else { return false }
        if size == 0 { return true }
        // Never a second LMDB environment on a file this process has open.
        if OpenIndexes.shared.isOpen(dataFile: file) { return false }
        if case .some = Environment.inspectDataFile(file) { return false }
        guard let env = try? Environment(path: path, mapSize: 1 << 20, maxDatabases: 1, readOnly: true) else { return false }
        return env.info.me_last_txnid == 0
    }

    /// Removes hidden build directories of `create` calls whose process has died.
    static func removeAbandonedBuilds(in parent: String, name: String) {
        let prefix = ".\(name).creating-"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasPrefix(prefix) {
            guard let pid = Int32(entry.dropFirst(prefix.count).prefix { $0 != "-" }), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(atPath: parent + "/" + entry) }
        }
    }

    /// Makes `path` and any missing parents (`mkdir -p`) with system calls, so that a failure
    /// comes with its `errno`; returns 0, or the failure and the directory it happened at.
    static func makeDirectories(_ path: String) -> (failure: Int32, directory: String) {
        var st = stat()
        if stat(path, &st) == 0 { return (st.st_mode & S_IFMT == S_IFDIR ? 0 : ENOTDIR, path) }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if parent != path {
            let up = makeDirectories(parent)
            if up.failure != 0 { return up }
        }
        return mkdir(path, 0o755) == 0 || errno == EEXIST ? (0, path) : (errno, path)
    }

    /// The error for a directory that cannot be made, named by its cause (`errno` value `code`).
    static func describeCreationFailure(_ directory: String, _ code: Int32) -> HashIdxError {
        switch code {
        case EACCES, EPERM: return .permissionDenied(path: directory, reason: "this user may not create files there")
        case EROFS: return .permissionDenied(path: directory, reason: "the file system is mounted read-only")
        case ENOSPC, EDQUOT: return .full("the disk is full: cannot create a directory in '\(directory)'")
        default:
            return .lmdb(LMDBError(code: code == 0 ? EIO : code), operation: "creating a directory in '\(directory)'")
        }
    }

    /// Opens an existing index.
    /// - Throws: ``HashIdxError/notAnIndex(path:reason:)`` if `path` holds no index,
    ///   ``HashIdxError/newerFormat(found:supported:)`` if it was written by a newer format.
    public static func open(at path: String, mode: AccessMode = .readWrite, noSync: Bool = false) throws(HashIdxError) -> HashIndex {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .notAnIndex(path: path, reason: "no such file or directory")
        }
        guard isDir.boolValue else { throw .notAnIndex(path: path, reason: "it is a file, expected a directory") }
        guard fm.fileExists(atPath: path + "/data.mdb") else {
            throw .notAnIndex(path: path, reason: "the directory has no data.mdb")
        }
        if let damage = Environment.inspectDataFile(path + "/data.mdb") {
            if (try? fm.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int) == 0 {
                throw .notAnIndex(path: path, reason: "data.mdb is empty (0 bytes): its creation never finished or the file was truncated")
            }
            if neverCommitted(path) {
                throw .notAnIndex(path: path, reason: "its creation never finished (no committed transaction); create it again")
            }
            if !damage.isLMDB { throw .notAnIndex(path: path, reason: damage.problem) }
            throw .corrupt(damage.problem)
        }
        // LMDB forbids a second open of one file in a process (closing either would drop the
        // other's locks): refuse it before LMDB opens anything.
        var st = stat()
        guard stat(path + "/data.mdb", &st) == 0 else { throw .notAnIndex(path: path, reason: "the directory has no data.mdb") }
        let identity = OpenIndexes.Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        return try OpenIndexes.shared.opening(identity, path: path) { () throws(HashIdxError) -> HashIndex in
            let index = try openUnregistered(at: path, mode: mode, noSync: noSync)
            index.identity = identity
            return index
        }
    }

    private static func openUnregistered(at path: String, mode: AccessMode, noSync: Bool) throws(HashIdxError) -> HashIndex {
        let env: Environment
        do {
            env = try Environment(path: path, mapSize: 1 << 20, maxDatabases: maxDatabases,
                                  readOnly: mode == .readOnly, noSync: noSync)
            // Adopt the size recorded in the file (it may be larger than the 1 MiB asked for).
            try env.setMapSize(0)
        } catch let e where e == .invalid || e == .versionMismatch {
            throw .notAnIndex(path: path, reason: "data.mdb is not an LMDB file (\(e))")
        } catch let e where e.code == EACCES || e.code == EPERM {
            throw .permissionDenied(path: path, reason: mode == .readWrite
                ? "this user may not write the index files; open it read-only to query it"
                : "this user may not read the index files (LMDB also needs to write lock.mdb)")
        } catch let e where e.code == EROFS {
            throw .permissionDenied(path: path, reason: "the file system is mounted read-only; open the index read-only to query it")
        } catch { throw .wrap(error, "opening '\(path)'") }
        let header: Format.Header
        let tables: Tables
        do {
            (header, tables) = try readSchema(env, path: path)
        } catch { throw .wrap(error, "opening '\(path)'") }
        return HashIndex(path: path, environment: env, header: header, tables: tables)
    }

    /// Reads the header record and opens every table of an existing index.
    private static func readSchema(_ env: Environment, path: String) throws -> (Format.Header, Tables) {
        let txn = try env.begin(readOnly: true)
        defer { txn.abort() }
        guard let meta = try openExisting(txn, Format.metaTable) else {
            if env.info.me_last_txnid == 0 {
                throw HashIdxError.notAnIndex(path: path, reason: "its creation never finished (no committed transaction); create it again")
            }
            throw HashIdxError.notAnIndex(path: path, reason: "the LMDB file has no 'meta' table")
        }
        guard let raw = try Format.headerKey.withUnsafeBytes({ k in try txn.get(meta, key: k) }) else {
            throw HashIdxError.notAnIndex(path: path, reason: "the 'meta' table has no header record")
        }
        let header = try Format.Header.decode(raw, path: path)
        var names = [Format.codesTable, Format.rowIDsTable, Format.idsTable]
        names += (0..<header.layout.count).map(Format.substringTable)
        var dbs: [Database] = []
        for name in names {
            guard let db = try openExisting(txn, name) else { throw HashIdxError.corrupt("table '\(name)' is missing") }
            dbs.append(db)
        }
        var sealed: Database?, dead: Database?, sums: Database?
        if header.version >= 2 {
            guard let s = try openExisting(txn, Format.sealedTable), let d = try openExisting(txn, Format.deadTable) else {
                throw HashIdxError.corrupt("a version-\(header.version) index lacks its 'sealed' or 'dead' table")
            }
            (sealed, dead) = (s, d)
        }
        if header.version >= 3 {
            guard let s = try openExisting(txn, Format.sumsTable) else {
                throw HashIdxError.corrupt("a version-\(header.version) index lacks its 'sums' table")
            }
            sums = s
        }
        // Handles opened in a read transaction outlive it only if it commits.
        try txn.commit()
        return (header, Tables(meta: meta, codes: dbs[0], rowIDs: dbs[1], ids: dbs[2], substrings: Array(dbs[3...]),
                               sealed: sealed, dead: dead, sums: sums))
    }

    private static func openExisting(_ txn: Transaction, _ name: String) throws -> Database? {
        do { return try txn.openDatabase(name) } catch let e where e == .notFound { return nil }
    }

    init(path: String, environment: Environment, header: Format.Header, tables: Tables) {
        self.path = path
        self.environment = environment
        self.header = header
        self.tables = tables
        self.codeBytes = (header.bits + 7) / 8
        self.kernel = DistanceKernel(codeBytes: codeBytes)
        self.rowShift = header.rowsPerChunk.trailingZeroBitCount
        self.rowMask = header.rowsPerChunk - 1
    }

    /// The number of stored codes.
    public var count: Int {
        get throws(HashIdxError) {
            do { return try withReader { $0.count } } catch { throw .wrap(error, "count") }
        }
    }

    /// The stored code of `id`, or nil if no code has that id.
    public func code(for id: UInt64) throws(HashIdxError) -> BinaryCode? {
        do {
            return try withReader { r -> BinaryCode? in
                guard let row = try r.row(of: id) else { return nil }
                let p = r.codePointer(row)
                return try BinaryCode(bytes: Array(UnsafeRawBufferPointer(start: p, count: codeBytes)), bits: bits)
            }
        } catch { throw .wrap(error, "fetching id \(id)") }
    }

    /// The encoder blob stored at creation, or nil for an index of raw codes.
    public func encoderBlob() throws(HashIdxError) -> [UInt8]? {
        do {
            return try withReader { r in
                try Format.encoderKey.withUnsafeBytes { try r.transaction!.get(tables.meta, key: $0) }.map { Array($0) }
            }
        } catch { throw .wrap(error, "reading the encoder") }
    }

    /// Maps the codes and sealed postings of the index into this process before queries need
    /// them, in one call per chunk (about 1 ms per 25 MB), instead of one page fault at a time
    /// during the first queries. The first search does this by itself for an index of at most
    /// ``prefaultLimit`` bytes; for a larger one, a process that answers many queries gains from
    /// calling it first. A hint: it never fails.
    public func prefault() {
        prefault(upTo: .max)
    }

    /// ``prefault()`` if the codes and sealed postings take at most `limit` bytes.
    private func prefault(upTo limit: Int) {
        _ = try? withReader { reader in
            let ranges = reader.mappedRanges
            if ranges.reduce(0, { $0 + $1.count }) <= limit { Environment.populate(ranges) }
        }
    }

    /// Indexes whose codes and sealed postings take at most this many bytes are mapped whole
    /// into the process before their first search (about 1 ms per 25 MB when the file is in
    /// the page cache).
    public static let prefaultLimit = 1 << 30

    /// Before the first search of this instance, ``prefault()`` if the index's codes and sealed
    /// postings take at most ``prefaultLimit`` bytes. Otherwise a query meeting pages not yet
    /// mapped pays a page fault each, many times its usual cost, and the planner, which weighs
    /// what queries measure, would judge probing by that: on an index just opened, k-nearest
    /// probes abandoned for scans, and no probe left to measure the real cost.
    func prefaultBeforeFirstSearch() {
        let first = poolLock.withLock { () -> Bool in
            defer { searched = true }
            return !searched
        }
        if first { prefault(upTo: HashIndex.prefaultLimit) }
    }

    /// Flushes to disk (needed only when opened with `noSync`).
    public func sync() throws(HashIdxError) {
        do {
            try writeLock.withLock {
                guard environment.isOpen else { throw HashIdxError.closed(path: path) }
                try environment.sync()
            }
        } catch { throw .wrap(error, "sync") }
    }

    /// Closes the index now: waits for queries and writes in flight, ends the pooled read
    /// transactions, closes the LMDB environment and lets the same directory be opened again in
    /// this process. Later calls on this instance throw ``HashIdxError/closed(path:)``; closing
    /// twice does nothing. Releasing the last reference closes the index too.
    ///
    /// Lock order, everywhere: the write lock before the map lock. A write holds the write lock
    /// while it grows the map (which takes the map lock), so `close` takes them in that order too.
    public func close() {
        writeLock.withLock {
            mapLock.withExclusive {
                guard environment.isOpen else { return }
                // Pooled readers close their cursors and abort their transactions as they go,
                // while the environment is still open.
                var readers = poolLock.withLock { () -> [Reader] in
                    defer { idleReaders.removeAll() }
                    return idleReaders
                }
                readers.removeAll()
                environment.close()
                if let identity { OpenIndexes.shared.closed(identity) }
                identity = nil
            }
        }
    }

    /// Checks that `code` fits this index.
    func check(_ code: BinaryCode) throws(HashIdxError) {
        guard code.bits == bits else { throw .codeWidth(expectedBits: bits, foundBits: code.bits) }
    }
}
