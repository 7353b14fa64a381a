import CLMDB

/// A cursor over one database inside one transaction. Keys and values it returns point into the
/// map and are valid until the transaction ends or the cursor moves on a write.
public final class Cursor {
    let handle: OpaquePointer
    private let transaction: Transaction

    init(handle: OpaquePointer, transaction: Transaction) {
        self.handle = handle
        self.transaction = transaction
    }

    deinit { mdb_cursor_close(handle) }

    /// A key and a value, both borrowed from the map.
    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    @inline(__always)
    private func op(_ operation: MDB_cursor_op) throws(LMDBError) -> Entry? {
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, operation)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc)
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Positions at the first entry.
    public func first() throws(LMDBError) -> Entry? { try op(MDB_FIRST) }
    /// Moves to the next entry (the next duplicate, then the next key).
    public func next() throws(LMDBError) -> Entry? { try op(MDB_NEXT) }
    /// Positions at the first entry whose key is at least `key` (`MDB_SET_RANGE`).
    public func seek(_ key: UnsafeRawBufferPointer) throws(LMDBError) -> Entry? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, MDB_SET_RANGE)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc)
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Positions at exactly `key`, at its first duplicate (`MDB_SET`), and returns that value;
    /// nil if the key is absent.
    @inline(__always)
    public func moveTo(_ key: UnsafeRawBufferPointer) throws(LMDBError) -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()  // LMDB positions the duplicate cursor only when data is requested
        let rc = mdb_cursor_get(handle, &k, &v, MDB_SET)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc)
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// Re-binds a cursor of a read-only transaction after that transaction was reset and renewed.
    public func renew() throws(LMDBError) {
        try check(mdb_cursor_renew(transaction.handle, handle))
    }

    /// For `MDB_DUPFIXED` databases: the page of duplicates holding the cursor's position (call
    /// after a seek), items back to back. Empty when the key has a single value, which LMDB
    /// stores inline rather than in a duplicate page: use the value the seek returned.
    public func duplicatesPage() throws(LMDBError) -> UnsafeRawBufferPointer {
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, MDB_GET_MULTIPLE)
        if rc == MDB_NOTFOUND { return UnsafeRawBufferPointer(start: nil, count: 0) }
        try check(rc)
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }
    /// For `MDB_DUPFIXED` databases: the next page of the current key's duplicates, or nil.
    public func nextDuplicatesPage() throws(LMDBError) -> UnsafeRawBufferPointer? {
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, MDB_NEXT_MULTIPLE)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc)
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// Stores `value` under `key`. `flags` are LMDB put flags (0 for a plain put).
    public func put(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: UInt32 = 0) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_cursor_put(handle, &k, &v, flags))
    }

    /// Stores `count` fixed-size items (each `itemSize` bytes, back to back in `items`) under one
    /// key of an `MDB_DUPFIXED` database (`MDB_MULTIPLE`). Returns how many were written.
    @discardableResult
    public func putMultiple(key: UnsafeRawBufferPointer, items: UnsafeRawBufferPointer, itemSize: Int, count: Int,
                            flags: UInt32 = 0) throws(LMDBError) -> Int {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var vals = (MDB_val(mv_size: itemSize, mv_data: UnsafeMutableRawPointer(mutating: items.baseAddress)),
                    MDB_val(mv_size: count, mv_data: nil))
        try withUnsafeMutablePointer(to: &vals) { (p) throws(LMDBError) in
            try p.withMemoryRebound(to: MDB_val.self, capacity: 2) { (v) throws(LMDBError) in
                try check(mdb_cursor_put(handle, &k, v, flags | UInt32(MDB_MULTIPLE)))
            }
        }
        return vals.1.mv_size
    }
}
