import Hamming
internal import LMDB

/// The counts and sealed base an index records in `meta`, read and checked the same way by
/// readers and write transactions; plus the reads of the tables they size (code and id chunks,
/// tombstones). Every figure from the file is range-checked before anything is sized by it.
struct IndexShape {
    /// Live codes N.
    var count: Int
    /// Rows T in the code chunks, live or dead (≥ count).
    var rows: Int
    /// The sealed base (no sealed rows in an index written by format version 1).
    var sealed: SealedState

    init(_ txn: Transaction, tables: HashIndex.Tables, layout: SubstringLayout) throws {
        count = try Self.readCount(txn, tables.meta, Format.countKey, "count")
        // Version 1 keeps neither record: every row is live and nothing is sealed.
        rows = tables.sealed == nil ? count : (try Self.readOptionalCount(txn, tables.meta, Format.rowsKey) ?? count)
        guard rows >= count else { throw HashIdxError.corrupt("the index records \(rows) rows for \(count) codes") }
        sealed = .empty(substringCount: layout.count)
        if tables.sealed != nil, let raw = try Format.sealedKey.withUnsafeBytes({ try txn.get(tables.meta, key: $0) }) {
            sealed = try SealedState.decode(raw, layout: layout)
            guard sealed.rows <= rows else { throw HashIdxError.corrupt("\(sealed.rows) sealed rows but only \(rows) rows") }
        }
    }

    static func readCount(_ txn: Transaction, _ meta: Database, _ key: [UInt8], _ name: String) throws -> Int {
        guard let n = try readOptionalCount(txn, meta, key) else {
            throw HashIdxError.corrupt("the meta table has no 8-byte \(name) record")
        }
        return n
    }

    static func readOptionalCount(_ txn: Transaction, _ meta: Database, _ key: [UInt8]) throws -> Int? {
        guard let raw = try key.withUnsafeBytes({ try txn.get(meta, key: $0) }) else { return nil }
        guard raw.count == 8 else { throw HashIdxError.corrupt("the meta record '\(String(decoding: key, as: UTF8.self))' has \(raw.count) bytes, expected 8") }
        let v = raw.bigEndianUInt64(at: 0)
        guard v < UInt64(UInt32.max) else {
            throw HashIdxError.corrupt("the meta record '\(String(decoding: key, as: UTF8.self))' holds \(v), more than an index holds")
        }
        return Int(v)
    }

    /// One bit per dead row, from the `dead` table, checked to list exactly rows − count
    /// distinct rows below `rows`; empty when no row is dead.
    static func deadRows(_ txn: Transaction, _ dead: Database?, rows: Int, count: Int) throws -> [UInt64] {
        guard rows > count else { return [] }
        guard let dead else { throw HashIdxError.corrupt("\(rows) rows for \(count) codes, but the index has no 'dead' table") }
        var bits = [UInt64](repeating: 0, count: (rows + 63) >> 6)
        let cursor = try txn.cursor(dead)
        var entry = try cursor.first(), n = 0
        while let (key, _) = entry {
            guard key.count == 4 else { throw HashIdxError.corrupt("a 'dead' key has \(key.count) bytes, expected 4") }
            let row = Int(key.bigEndianUInt32(at: 0))
            guard row < rows else { throw HashIdxError.corrupt("dead row \(row) is past the \(rows) rows") }
            bits[row >> 6] |= 1 << UInt64(row & 63)
            n += 1
            entry = try cursor.next()
        }
        guard n == rows - count else {
            throw HashIdxError.corrupt("table 'dead' lists \(n) rows, expected \(rows - count) (\(rows) rows, \(count) codes)")
        }
        return bits
    }

    /// The code chunk `c` of `n` rows of `codeBytes` bytes each, pointing into the map.
    static func codeChunk(_ txn: Transaction, _ codes: Database, chunk c: Int, rows n: Int, codeBytes: Int) throws -> UnsafeRawBufferPointer {
        guard let v = try withBigEndian(UInt32(c), { try txn.get(codes, key: $0) }), v.count == n * codeBytes else {
            throw HashIdxError.corrupt("code chunk \(c) is missing or not \(n) rows long")
        }
        return v
    }
}

extension SealedState {
    /// The ids of the `n` rows of chunk `c` starting at row `first`: from its `rowids` chunk or,
    /// where that chunk is omitted because every row of it is sealed with dense ids, idBase + row.
    func chunkIDs(_ txn: Transaction, _ rowIDs: Database, chunk c: Int, first: Int, rows n: Int) throws -> [UInt64] {
        if let v = try withBigEndian(UInt32(c), { try txn.get(rowIDs, key: $0) }) {
            guard v.count == n * 8 else { throw HashIdxError.corrupt("row-id chunk \(c) is not \(n) rows long") }
            return (0..<n).map { UInt64(littleEndian: v.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
        guard denseIDs, first + n <= rows else { throw HashIdxError.corrupt("row-id chunk \(c) is missing") }
        return (0..<n).map { idBase &+ UInt64(first + $0) }
    }

    /// The sealed row holding `id` (live or dead), or nil: direct with dense ids, else a binary
    /// search of the sealed rows (their ids strictly increase), reading ids with `idOfRow`.
    func row(of id: UInt64, idOfRow: (Int) -> UInt64) -> Int? {
        if rows == 0 { return nil }
        if denseIDs {
            guard id >= idBase, id - idBase < UInt64(rows) else { return nil }
            return Int(id - idBase)
        }
        var lo = 0, len = rows
        while len > 0 {
            let half = len >> 1
            if idOfRow(lo + half) < id { lo += half + 1; len -= half + 1 } else { len = half }
        }
        return lo < rows && idOfRow(lo) == id ? lo : nil
    }
}
