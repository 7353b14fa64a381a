import CLMDB

/// A named database (LMDB "DBI") inside an ``Environment``. Valid for the environment's life
/// once the transaction that opened it has committed.
public struct Database: Sendable, Hashable {
    let dbi: MDB_dbi

    /// LMDB's main database, which catalogues the named ones.
    public static let main = Database(dbi: 1)
    /// LMDB's free-page list.
    public static let freeList = Database(dbi: 0)

    /// Flags for ``Transaction/openDatabase(_:create:flags:)``.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Several sorted values per key (`MDB_DUPSORT`).
        public static let duplicateSort = Flags(rawValue: UInt32(MDB_DUPSORT))
        /// All values of a key have the same size (`MDB_DUPFIXED`): enables page-at-a-time reads.
        public static let duplicateFixed = Flags(rawValue: UInt32(MDB_DUPFIXED))
    }
}

/// A transaction. Values returned by ``get(_:key:)`` and by cursors point into the map and are
/// valid only until the transaction commits, aborts or resets: copy them before that.
public final class Transaction {
    let handle: OpaquePointer
    /// The environment the transaction belongs to.
    public let environment: Environment  // strong: the environment must outlive its transactions
    /// Whether this is a read-only transaction.
    public let isReadOnly: Bool
    private var live = true

    init(handle: OpaquePointer, environment: Environment, readOnly: Bool) {
        self.handle = handle
        self.environment = environment
        self.isReadOnly = readOnly
    }

    deinit { if live { mdb_txn_abort(handle) } }

    /// The id of the snapshot this transaction reads (for a write transaction: the id it will commit as).
    public var id: Int { mdb_txn_id(handle) }

    /// Opens a named database; with `create`, creates it if missing (write transactions only).
    /// - Throws: ``LMDBError/notFound`` if it does not exist and `create` is false.
    public func openDatabase(_ name: String, create: Bool = false, flags: Database.Flags = []) throws(LMDBError) -> Database {
        var dbi: MDB_dbi = 0
        var raw = flags.rawValue
        if create { raw |= UInt32(MDB_CREATE) }
        try check(mdb_dbi_open(handle, name, raw, &dbi))
        return Database(dbi: dbi)
    }

    /// Number of entries (key/value pairs, each duplicate counted) in `database`.
    public func entryCount(_ database: Database) throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, database.dbi, &stat))
        return Int(stat.ms_entries)
    }

    /// Pages used by `database`: branch, leaf and overflow pages.
    public func pageCount(_ database: Database) throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, database.dbi, &stat))
        return Int(stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages)
    }

    /// The value stored under `key`, pointing into the map, or nil if the key is absent.
    public func get(_ database: Database, key: UnsafeRawBufferPointer) throws(LMDBError) -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(handle, database.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc)
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// Stores `value` under `key` (for a duplicate-sorted database: adds the value).
    public func put(_ database: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: UInt32 = 0) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(handle, database.dbi, &k, &v, flags))
    }

    /// Reserves `count` bytes under `key` and lets `fill` write them in place.
    public func putReserved(_ database: Database, key: UnsafeRawBufferPointer, count: Int,
                            _ fill: (UnsafeMutableRawBufferPointer) -> Void) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: count, mv_data: nil)
        try check(mdb_put(handle, database.dbi, &k, &v, UInt32(MDB_RESERVE)))
        fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: count))
    }

    /// Deletes `key` (with `value`: only that duplicate). Returns false if nothing matched.
    @discardableResult
    public func delete(_ database: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer? = nil) throws(LMDBError) -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc: Int32
        if let value {
            var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
            rc = mdb_del(handle, database.dbi, &k, &v)
        } else {
            rc = mdb_del(handle, database.dbi, &k, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        try check(rc)
        return true
    }

    /// Deletes every entry of `database`, keeping the database itself (`mdb_drop` with del = 0).
    public func empty(_ database: Database) throws(LMDBError) {
        try check(mdb_drop(handle, database.dbi, 0))
    }

    /// Opens a cursor on `database`; it is closed when released, before the transaction ends.
    public func cursor(_ database: Database) throws(LMDBError) -> Cursor {
        var c: OpaquePointer?
        try check(mdb_cursor_open(handle, database.dbi, &c))
        return Cursor(handle: c!, transaction: self)
    }

    /// Commits. The transaction is finished afterwards, whatever the outcome.
    public func commit() throws(LMDBError) {
        precondition(live, "transaction already finished")
        live = false
        try check(mdb_txn_commit(handle))
    }

    /// Aborts. Safe to call on a finished transaction.
    public func abort() {
        if live { live = false; mdb_txn_abort(handle) }
    }

    /// Releases a read-only transaction's snapshot, keeping its reader slot for ``renew()``.
    public func reset() {
        precondition(isReadOnly)
        mdb_txn_reset(handle)
    }

    /// Takes a fresh snapshot on a reset read-only transaction.
    public func renew() throws(LMDBError) {
        precondition(isReadOnly)
        try check(mdb_txn_renew(handle))
    }
}
