import CZlib
internal import LMDB

/// CRC-32 checksums of every value whose bytes hashidx owns — the meta records, code chunks,
/// row-id chunks and sealed posting chunks — kept in the `sums` table (format version 3) and
/// checked by ``HashIndex/verify()``. LMDB keeps no checksums of its own pages; these find a
/// flipped bit in hashidx's own data when `verify` runs (queries do not check them: they would
/// cost a pass over every chunk they touch).
///
/// Every write to an owned table goes through this type, so a value and its checksum change in
/// the same transaction. In an index of an older version (no `sums` table) the writes are plain.
enum Checksums {
    /// Which table a checksum belongs to: the first byte of its key in `sums`, followed by the
    /// value's own key.
    enum Tag: UInt8, CaseIterable {
        case meta = 0x6D      // "m"
        case codes = 0x63     // "c"
        case rowIDs = 0x72    // "r"
        case sealed = 0x73    // "s"

        var name: String {
            switch self {
            case .meta: return Format.metaTable
            case .codes: return Format.codesTable
            case .rowIDs: return Format.rowIDsTable
            case .sealed: return Format.sealedTable
            }
        }
    }

    /// The CRC-32 (zlib's, the one in gzip and PNG) of `bytes`.
    static func crc(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        var sum = crc32(0, nil, 0)
        var at = 0
        while at < bytes.count {
            let n = min(bytes.count - at, 1 << 30)
            sum = crc32(sum, base.advanced(by: at).assumingMemoryBound(to: UInt8.self), UInt32(n))
            at += n
        }
        return UInt32(truncatingIfNeeded: sum)
    }

    static func sumKey(_ tag: Tag, _ key: UnsafeRawBufferPointer) -> [UInt8] {
        [tag.rawValue] + Array(key)
    }

    static func database(_ tables: HashIndex.Tables, _ tag: Tag) -> Database? {
        switch tag {
        case .meta: return tables.meta
        case .codes: return tables.codes
        case .rowIDs: return tables.rowIDs
        case .sealed: return tables.sealed
        }
    }

    /// Records `sum` as the checksum of `key` in the owned table `tag` (nothing before version 3).
    private static func record(_ txn: Transaction, _ tables: HashIndex.Tables, _ tag: Tag,
                               key: UnsafeRawBufferPointer, sum: UInt32) throws {
        guard let sums = tables.sums else { return }
        try sumKey(tag, key).withUnsafeBytes { k in
            try Swift.withUnsafeBytes(of: sum.littleEndian) { v in try txn.put(sums, key: k, value: v) }
        }
    }

    /// Writes `value` under `key` in the owned table `tag`, with its checksum.
    static func put(_ txn: Transaction, _ tables: HashIndex.Tables, _ tag: Tag,
                    key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        try txn.put(database(tables, tag)!, key: key, value: value)
        try record(txn, tables, tag, key: key, sum: crc(value))
    }

    /// Writes a `key`/`value` pair of byte arrays (meta records) with its checksum.
    static func put(_ txn: Transaction, _ tables: HashIndex.Tables, _ tag: Tag, key: [UInt8], value: [UInt8]) throws {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try put(txn, tables, tag, key: k, value: v) } }
    }

    /// Reserves `count` bytes under `key`, lets `fill` write them in place, and records their checksum.
    static func putReserved(_ txn: Transaction, _ tables: HashIndex.Tables, _ tag: Tag, key: UnsafeRawBufferPointer,
                            count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) throws {
        var sum: UInt32 = 0
        try txn.putReserved(database(tables, tag)!, key: key, count: count) { out in
            fill(out)
            sum = crc(UnsafeRawBufferPointer(out))
        }
        try record(txn, tables, tag, key: key, sum: sum)
    }

    /// Deletes `key` from the owned table `tag`, and its checksum.
    static func delete(_ txn: Transaction, _ tables: HashIndex.Tables, _ tag: Tag, key: UnsafeRawBufferPointer) throws {
        _ = try txn.delete(database(tables, tag)!, key: key)
        if let sums = tables.sums { _ = try sumKey(tag, key).withUnsafeBytes { try txn.delete(sums, key: $0) } }
    }

    /// Empties the owned table `tag` and drops its checksums.
    static func empty(_ txn: Transaction, _ tables: HashIndex.Tables, _ tag: Tag) throws {
        try txn.empty(database(tables, tag)!)
        guard let sums = tables.sums else { return }
        var keys: [[UInt8]] = []
        let cursor = try txn.cursor(sums)
        var entry = try [tag.rawValue].withUnsafeBytes { try cursor.seek($0) }
        while let e = entry, e.key.first == tag.rawValue {
            keys.append(Array(e.key))
            entry = try cursor.next()
        }
        for k in keys { _ = try k.withUnsafeBytes { try txn.delete(sums, key: $0) } }
    }

    /// Records the checksum of every value of every owned table (when upgrading to version 3).
    static func rebuild(_ txn: Transaction, _ tables: HashIndex.Tables) throws {
        for tag in Tag.allCases {
            guard let db = database(tables, tag) else { continue }
            let cursor = try txn.cursor(db)
            var entry = try cursor.first()
            while let e = entry {
                try record(txn, tables, tag, key: e.key, sum: crc(e.value))
                entry = try cursor.next()
            }
        }
    }

    /// Checks every owned value against its checksum, and that every checksum has its value.
    /// - Returns: the number of values checked.
    /// - Throws: ``HashIdxError/corrupt(_:)`` naming the table and key of the first mismatch.
    static func verify(_ txn: Transaction, _ tables: HashIndex.Tables) throws -> Int {
        guard let sums = tables.sums else { return 0 }
        var checked = 0
        for tag in Tag.allCases {
            guard let db = database(tables, tag) else { continue }
            let cursor = try txn.cursor(db)
            var entry = try cursor.first()
            while let e = entry {
                let stored = try sumKey(tag, e.key).withUnsafeBytes { try txn.get(sums, key: $0) }
                guard let stored, stored.count == 4 else {
                    throw HashIdxError.corrupt("table '\(tag.name)' entry \(describe(e.key)) has no checksum")
                }
                let expected = UInt32(littleEndian: stored.loadUnaligned(as: UInt32.self))
                let found = crc(e.value)
                guard expected == found else {
                    throw HashIdxError.corrupt("table '\(tag.name)' entry \(describe(e.key)): CRC-32 \(hex(found)), expected \(hex(expected)) (the value's bytes changed on disk)")
                }
                checked += 1
                entry = try cursor.next()
            }
        }
        // Every checksum belongs to a value.
        let cursor = try txn.cursor(sums)
        var entry = try cursor.first()
        while let e = entry {
            guard let first = e.key.first, let tag = Tag(rawValue: first), let db = database(tables, tag),
                  try txn.get(db, key: UnsafeRawBufferPointer(rebasing: e.key[1...])) != nil else {
                throw HashIdxError.corrupt("the 'sums' table holds a checksum for \(describe(e.key)), which has no value (a value was lost)")
            }
            entry = try cursor.next()
        }
        return checked
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    /// A key for messages: printable text as text, else hex.
    static func describe(_ key: UnsafeRawBufferPointer) -> String {
        if key.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return "'" + String(decoding: key, as: UTF8.self) + "'" }
        return "0x" + key.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
    }
}
