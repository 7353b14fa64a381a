import Foundation
import Hamming
import LMDB

/// What an insert did.
public struct InsertSummary: Sendable, Equatable {
    /// Codes stored under ids that were new.
    public var inserted = 0
    /// Codes that replaced the code of an existing id.
    public var replaced = 0

    public init(inserted: Int = 0, replaced: Int = 0) {
        self.inserted = inserted
        self.replaced = replaced
    }
}

extension HashIndex {
    /// Inserts a batch in one write transaction: all of it or, on error, none of it. An id that
    /// already exists gets the new code (upsert); if an id repeats in the batch, its last code wins.
    /// - Throws: ``HashIdxError/codeWidth(expectedBits:foundBits:)`` before anything is written;
    ///   ``HashIdxError/readOnly(path:)``; ``HashIdxError/full(_:)`` if the disk is full.
    @discardableResult
    public func insert(_ entries: [(id: UInt64, code: BinaryCode)]) throws(HashIdxError) -> InsertSummary {
        var packed = [UInt8]()
        packed.reserveCapacity(entries.count * codeBytes)
        for e in entries {
            try check(e.code)
            packed.append(contentsOf: e.code.bytes)
        }
        return try insert(ids: entries.map(\.id), packedCodes: packed)
    }

    /// Inserts codes given packed back to back (⌈B/8⌉ bytes each, in the order of `ids`); the
    /// fast path for bulk loads. Same semantics as ``insert(_:)``.
    /// - Throws: ``HashIdxError/code(_:)`` if the byte count is not `ids.count` × ⌈B/8⌉ or a
    ///   code has a one in its padding bits, before anything is written.
    @discardableResult
    public func insert(ids: [UInt64], packedCodes: [UInt8]) throws(HashIdxError) -> InsertSummary {
        guard packedCodes.count == ids.count * codeBytes else {
            throw .code(.wrongLength(expectedBytes: ids.count * codeBytes, foundBytes: packedCodes.count, bits: bits))
        }
        if bits & 7 != 0 {
            for i in 0..<ids.count where packedCodes[i * codeBytes + codeBytes - 1] >> UInt8(bits & 7) != 0 {
                throw .code(.paddingBitsSet(bits: bits))
            }
        }
        // The last occurrence of an id wins.
        var order: [Int] = []
        order.reserveCapacity(ids.count)
        var seen = Set<UInt64>(minimumCapacity: ids.count)
        for i in stride(from: ids.count - 1, through: 0, by: -1) where seen.insert(ids[i]).inserted { order.append(i) }
        order.reverse()
        return try write("insert") { txn in
            try self.insertRows(txn, ids: ids, packed: packedCodes, order: order)
        }
    }

    private func insertRows(_ txn: Transaction, ids: [UInt64], packed: [UInt8], order: [Int]) throws -> InsertSummary {
        var editor = try ChunkEditor(transaction: txn, tables: tables, codeBytes: codeBytes, rowsPerChunk: header.rowsPerChunk)
        let layout = self.layout, m = layout.count
        let wasEmpty = editor.count == 0
        var summary = InsertSummary()
        // Postings of new rows: (substring value << 32 | row) per table, sorted and written in order.
        var pending = [[UInt64]](repeating: [], count: m)
        for k in 0..<m { pending[k].reserveCapacity(order.count) }
        var newIDs: [(id: UInt64, row: UInt32)] = []
        newIDs.reserveCapacity(order.count)
        try packed.withUnsafeBytes { all in
            for i in order {
                let code = UnsafeRawBufferPointer(rebasing: all[i * codeBytes ..< (i + 1) * codeBytes])
                let existing = wasEmpty ? nil : try withBigEndian(ids[i]) { try txn.get(tables.ids, key: $0) }
                if let existing {
                    let row = UInt32(existing.bigEndianUInt32(at: 0))
                    let old = try editor.code(Int(row))
                    try old.withUnsafeBytes { oldCode in
                        for k in 0..<m {
                            let before = layout.value(k, of: oldCode.baseAddress!), after = layout.value(k, of: code.baseAddress!)
                            if before != after {
                                try removePosting(txn, table: k, key: before, row: row)
                                try addPosting(txn, table: k, key: after, row: row)
                            }
                        }
                    }
                    try editor.set(Int(row), code: code, id: ids[i])
                    summary.replaced += 1
                } else {
                    let row = try editor.append(code: code, id: ids[i])
                    guard row < Int(UInt32.max) else { throw HashIdxError.full("an index holds at most \(UInt32.max - 1) codes") }
                    newIDs.append((ids[i], UInt32(row)))
                    for k in 0..<m { pending[k].append(UInt64(layout.value(k, of: code.baseAddress!)) << 32 | UInt64(row)) }
                    summary.inserted += 1
                }
            }
        }
        newIDs.sort { $0.id < $1.id }
        let idCursor = try txn.cursor(tables.ids)
        for (id, row) in newIDs {
            try withBigEndian(id) { k in try withBigEndian(row) { v in try idCursor.put(key: k, value: v) } }
        }
        for k in 0..<m {
            pending[k].sort()
            try appendPostings(txn, table: k, sorted: pending[k])
        }
        try editor.flush()
        return summary
    }

    /// Writes sorted (value << 32 | row) postings, one `MDB_MULTIPLE` put per run of equal values.
    private func appendPostings(_ txn: Transaction, table k: Int, sorted: [UInt64]) throws {
        let cursor = try txn.cursor(tables.substrings[k])
        var rows = [UInt32]()
        var i = 0
        while i < sorted.count {
            let value = UInt32(truncatingIfNeeded: sorted[i] >> 32)
            rows.removeAll(keepingCapacity: true)
            while i < sorted.count && UInt32(truncatingIfNeeded: sorted[i] >> 32) == value {
                rows.append(UInt32(truncatingIfNeeded: sorted[i]).bigEndian)
                i += 1
            }
            try withBigEndian(value) { key in
                try rows.withUnsafeBytes { items in
                    var done = 0
                    while done < rows.count {
                        let rest = UnsafeRawBufferPointer(rebasing: items[(done * 4)...])
                        let n = try cursor.putMultiple(key: key, items: rest, itemSize: 4, count: rows.count - done)
                        guard n > 0 else { throw HashIdxError.corrupt("table \(k) accepted no rows for key \(value)") }
                        done += n
                    }
                }
            }
        }
    }

    private func addPosting(_ txn: Transaction, table k: Int, key: UInt32, row: UInt32) throws {
        try withBigEndian(key) { kk in try withBigEndian(row) { v in try txn.put(tables.substrings[k], key: kk, value: v) } }
    }

    private func removePosting(_ txn: Transaction, table k: Int, key: UInt32, row: UInt32) throws {
        let found = try withBigEndian(key) { kk in
            try withBigEndian(row) { v in try txn.delete(tables.substrings[k], key: kk, value: v) }
        }
        guard found else { throw HashIdxError.corrupt("table \(k) has no posting (\(key), row \(row))") }
    }

    /// Removes the codes of `ids` in one write transaction; ids not stored are ignored.
    /// Rows stay dense: the last row moves into each freed one.
    /// - Returns: the number of codes removed.
    @discardableResult
    public func remove(ids: [UInt64]) throws(HashIdxError) -> Int {
        try write("remove") { txn in
            var editor = try ChunkEditor(transaction: txn, tables: tables, codeBytes: codeBytes, rowsPerChunk: header.rowsPerChunk)
            let layout = self.layout, m = layout.count
            var removed = 0
            for id in Set(ids).sorted() {
                guard let v = try withBigEndian(id, { try txn.get(tables.ids, key: $0) }) else { continue }
                let row = v.bigEndianUInt32(at: 0)
                let code = try editor.code(Int(row))
                try code.withUnsafeBytes { c in
                    for k in 0..<m { try removePosting(txn, table: k, key: layout.value(k, of: c.baseAddress!), row: row) }
                }
                try withBigEndian(id) { _ = try txn.delete(tables.ids, key: $0) }
                let last = UInt32(editor.count - 1)
                if row != last {
                    let lastCode = try editor.code(Int(last)), lastID = try editor.id(Int(last))
                    try lastCode.withUnsafeBytes { c in
                        for k in 0..<m {
                            let key = layout.value(k, of: c.baseAddress!)
                            try removePosting(txn, table: k, key: key, row: last)
                            try addPosting(txn, table: k, key: key, row: row)
                        }
                        try editor.set(Int(row), code: c, id: lastID)
                    }
                    try withBigEndian(lastID) { k in try withBigEndian(row) { v in try txn.put(tables.ids, key: k, value: v) } }
                }
                try editor.removeLast()
                removed += 1
            }
            try editor.flush()
            return removed
        }
    }

    /// Runs `body` in a write transaction: commit on return, abort on throw. When the map is
    /// full, aborts, doubles the map and runs `body` again, so a batch never half-applies.
    func write<R>(_ operation: String, _ body: (Transaction) throws -> R) throws(HashIdxError) -> R {
        guard !isReadOnly else { throw .readOnly(path: path) }
        do {
            return try writeLock.withLock {
                while true {
                    let txn: Transaction
                    do { txn = try environment.begin(readOnly: false) } catch let e as LMDBError where e == .mapResized {
                        try adoptMapSize()
                        continue
                    }
                    do {
                        let result = try body(txn)
                        try txn.commit()
                        return result
                    } catch let e as LMDBError where e == .mapFull {
                        txn.abort()
                        try growMap()
                    } catch {
                        txn.abort()
                        throw error
                    }
                }
            }
        } catch { throw .wrap(error, operation) }
    }

    private func growMap() throws {
        try mapLock.withExclusive {
            let size = environment.mapSize
            do { try environment.setMapSize(size * 2) } catch {
                throw HashIdxError.full("the map could not grow from \(size) to \(size * 2) bytes: \(error)")
            }
            mapGeneration += 1
        }
    }

    private func adoptMapSize() throws {
        try mapLock.withExclusive {
            try environment.setMapSize(0)
            mapGeneration += 1
        }
    }
}
