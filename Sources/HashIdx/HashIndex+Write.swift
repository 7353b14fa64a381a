import Foundation
import Hamming
internal import LMDB

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
        try insert(packedCodes: packedCodes, count: ids.count) { _ in ids }.summary
    }

    /// Inserts codes packed back to back under the ids c, c + 1, …, where c is the number of
    /// codes stored when the write begins (faiss's sequential ids), in one write transaction.
    /// Where codes were removed, c may be an id still in use, which then gets the new code:
    /// give ids to ``insert(ids:packedCodes:)`` when codes are removed.
    /// - Returns: the first id given, and what the insert did.
    @discardableResult
    public func append(packedCodes: [UInt8]) throws(HashIdxError) -> (firstID: UInt64, summary: InsertSummary) {
        guard packedCodes.count % codeBytes == 0 else {
            throw .code(.wrongLength(expectedBytes: (packedCodes.count / codeBytes + 1) * codeBytes, foundBytes: packedCodes.count, bits: bits))
        }
        let n = packedCodes.count / codeBytes
        return try insert(packedCodes: packedCodes, count: n) { stored in (0..<n).map { UInt64(stored + $0) } }
    }

    /// The insert behind both: `ids` gives the batch's ids from the count stored at the start
    /// of the write transaction.
    private func insert(packedCodes: [UInt8], count: Int,
                        ids makeIDs: (Int) -> [UInt64]) throws(HashIdxError) -> (firstID: UInt64, summary: InsertSummary) {
        guard packedCodes.count == count * codeBytes else {
            throw .code(.wrongLength(expectedBytes: count * codeBytes, foundBytes: packedCodes.count, bits: bits))
        }
        if bits & 7 != 0 {
            for i in 0..<count where packedCodes[i * codeBytes + codeBytes - 1] >> UInt8(bits & 7) != 0 {
                throw .code(.paddingBitsSet(bits: bits))
            }
        }
        // Room for a merge: the codes again, their ids, and a sealed posting per table and code.
        let reserve = packedCodes.count * 2 + count * (16 + 6 * layout.count)
        return try write("insert", reserve: reserve) { txn in
            let stored = try WriteState(txn, index: self).count
            let ids = makeIDs(stored)
            // The last occurrence of an id wins.
            let order = RadixSort.lastOccurrences(ids)
            return (ids.first ?? UInt64(stored), try self.insertRows(txn, ids: ids, packed: packedCodes, order: order))
        }
    }

    private func insertRows(_ txn: Transaction, ids: [UInt64], packed: [UInt8], order: [Int]) throws -> InsertSummary {
        var state = try WriteState(txn, index: self)
        var editor = ChunkEditor(transaction: txn, tables: tables, codeBytes: codeBytes, rowsPerChunk: header.rowsPerChunk,
                                 rows: state.rows, sealed: state.sealed)
        let layout = self.layout, m = layout.count
        var summary = InsertSummary()
        // Postings of new rows: (substring value << 32 | row) per table, sorted and written in order.
        var pending = [[UInt64]](repeating: [], count: m)
        for k in 0..<m { pending[k].reserveCapacity(order.count) }
        var newIDs: [(id: UInt64, row: UInt32)] = []
        newIDs.reserveCapacity(order.count)
        // An existing id gets the new code in a new row; its old row dies.
        for i in order {
            if state.count > 0, let old = try state.liveRow(of: ids[i]) {
                try kill(txn, &state, &editor, row: old, id: ids[i])
                summary.replaced += 1
            } else {
                summary.inserted += 1
            }
        }
        guard state.rows + order.count < Int(UInt32.max) - 1 else {
            throw HashIdxError.full("an index holds at most \(UInt32.max - 2) rows")
        }
        var after = state
        after.rows += order.count
        after.count += order.count
        if after.needsMerge(maintenance) {
            // A large batch goes straight into a new sealed base, built from the stored rows and
            // the batch in memory: nothing is written twice.
            try state.writeCount(txn)
            _ = try packed.withUnsafeBytes { all in try merge(txn, pending: PendingRows(ids: ids, packed: all, order: order)) }
            return summary
        }
        try packed.withUnsafeBytes { all in
            for i in order {
                let code = UnsafeRawBufferPointer(rebasing: all[i * codeBytes ..< (i + 1) * codeBytes])
                let row = try editor.append(code: code, id: ids[i])
                newIDs.append((ids[i], UInt32(row)))
                for k in 0..<m { pending[k].append(UInt64(layout.value(k, of: code.baseAddress!)) << 32 | UInt64(row)) }
            }
        }
        try editor.flush()
        try after.writeCount(txn)
        newIDs.sort { $0.id < $1.id }
        let idCursor = try txn.cursor(tables.ids)
        for (id, row) in newIDs {
            try withBigEndian(id) { k in try withBigEndian(row) { v in try idCursor.put(key: k, value: v) } }
        }
        for k in 0..<m {
            pending[k].sort()
            try appendPostings(txn, table: k, sorted: pending[k])
        }
        return summary
    }

    /// Marks `row` (holding `id`) dead: a tombstone in `dead`, and for a row written since the
    /// sealed base, its postings and id entry removed from the delta tables.
    private func kill(_ txn: Transaction, _ state: inout WriteState, _ editor: inout ChunkEditor, row: Int, id: UInt64) throws {
        guard let deadDB = tables.dead else { throw HashIdxError.olderFormat(path: path, found: header.version, current: Format.version) }
        try withBigEndian(UInt32(row)) { k in try txn.put(deadDB, key: k, value: UnsafeRawBufferPointer(start: nil, count: 0)) }
        if row >= state.sealed.rows {
            let code = try editor.code(row)
            try code.withUnsafeBytes { c in
                for k in 0..<layout.count { try removePosting(txn, table: k, key: layout.value(k, of: c.baseAddress!), row: UInt32(row)) }
            }
            try withBigEndian(id) { _ = try txn.delete(tables.ids, key: $0) }
        }
        state.count -= 1
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

    private func removePosting(_ txn: Transaction, table k: Int, key: UInt32, row: UInt32) throws {
        let found = try withBigEndian(key) { kk in
            try withBigEndian(row) { v in try txn.delete(tables.substrings[k], key: kk, value: v) }
        }
        guard found else { throw HashIdxError.corrupt("table \(k) has no posting (\(key), row \(row))") }
    }

    /// Removes the codes of `ids` in one write transaction; ids not stored are ignored. A
    /// removed code's row becomes a tombstone until the next merge (``compact()``, or
    /// automatically when tombstones pass the maintenance policy's share).
    /// - Returns: the number of codes removed.
    @discardableResult
    public func remove(ids: [UInt64]) throws(HashIdxError) -> Int {
        try write("remove") { txn in
            var state = try WriteState(txn, index: self)
            var editor = ChunkEditor(transaction: txn, tables: tables, codeBytes: codeBytes, rowsPerChunk: header.rowsPerChunk,
                                     rows: state.rows, sealed: state.sealed)
            var removed = 0
            for id in Set(ids).sorted() {
                guard state.count > 0, let row = try state.liveRow(of: id) else { continue }
                try kill(txn, &state, &editor, row: row, id: id)
                removed += 1
            }
            guard removed > 0 else { return 0 }
            try state.writeCount(txn)
            if state.needsMerge(maintenance) { try merge(txn) }
            return removed
        }
    }

    /// Runs `body` in a write transaction: commit on return, abort on throw. When the map is
    /// full, aborts, doubles the map and runs `body` again, so a batch never half-applies.
    /// - Parameter reserve: bytes the body may add; with twice the bytes in use (a merge writes
    ///   a new copy before the old one is freed) it decides whether to grow the map first, so
    ///   that a large batch is not run, refused for a full map and run again.
    func write<R>(_ operation: String, reserve: Int = 0, _ body: (Transaction) throws -> R) throws(HashIdxError) -> R {
        guard !isReadOnly else { throw .readOnly(path: path) }
        guard header.version == Format.version else {
            throw .olderFormat(path: path, found: header.version, current: Format.version)
        }
        // The checks a reader makes when it loads the index's shape (records, chunk sizes,
        // tombstones, sealed directories) run first: a write never builds on a damaged index.
        do { _ = try withReader { $0.count } } catch { throw .wrap(error, operation) }
        do {
            return try writeLock.withLock {
                guard environment.isOpen else { throw HashIdxError.closed(path: path) }
                try growMapAhead(reserve: reserve)
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
        } catch { throw Self.explain(.wrap(error, operation), directory: path, operation: operation) }
    }

    /// LMDB reports a write cut short by a full disk as EIO (a short `pwrite`); when the file
    /// system of `directory` has (almost) no room left, says so instead.
    static func explain(_ error: HashIdxError, directory: String, operation: String) -> HashIdxError {
        guard case .storage(let code, _, _) = error, code == EIO else { return error }
        // A file-size limit (ulimit -f) cuts writes short the same way.
        if let limit = System.fileSizeLimit() {
            var st = stat()
            if stat(directory + "/data.mdb", &st) == 0, UInt64(st.st_size) + (4 << 20) >= limit {
                return .full("the file-size limit (ulimit -f, \(limit) bytes) was reached during \(operation); nothing was changed")
            }
        }
        var fs = statvfs()
        guard statvfs(directory, &fs) == 0 else { return error }
        let free = Int(fs.f_bavail) * Int(fs.f_frsize)
        guard free < 4 << 20 else { return error }
        return .full("the disk is full during \(operation) (\(free) bytes left on the file system of '\(directory)'); nothing was changed")
    }

    /// Grows the map (doubling) until twice the bytes in use plus `reserve` fit.
    private func growMapAhead(reserve: Int) throws {
        let info = environment.info
        let used = (info.me_last_pgno + 1) * environment.pageSize
        var size = environment.mapSize
        while 2 * used + reserve > size && size < Int.max / 4 { size *= 2 }
        guard size > environment.mapSize else { return }
        try mapLock.withExclusive {
            do { try environment.setMapSize(size) } catch {
                throw HashIdxError.full("the map could not grow from \(environment.mapSize) to \(size) bytes: \(error)")
            }
            mapGeneration += 1
        }
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

extension HashIndex {
    /// About how many bytes of memory a write transaction adding `count` codes takes at its
    /// peak: the caller's codes and ids, their staged copies, each table's substring values and
    /// sort order while the sealed postings are rebuilt, and the pages LMDB holds until commit
    /// (measured: 100M 64-bit codes, m = 2, in one transaction peak at 8.4 GiB, 90 bytes per code).
    public func writeMemoryEstimate(codes count: Int) -> Int {
        let perCode = 3 * codeBytes + 9 * layout.count + 48
        return count.multipliedReportingOverflow(by: perCode).overflow ? .max : count * perCode
    }

    /// The most codes one write transaction should take on this machine: as many as fit in
    /// half of physical memory by ``writeMemoryEstimate(codes:)``, at least 1M. Loading in the
    /// fewest transactions matters: each one large enough rebuilds the sealed postings of every
    /// row stored so far, so ten batches take about four times as long as one.
    public func largestWriteBatch() -> Int {
        max(1_000_000, (System.physicalMemory() / 2) / max(1, writeMemoryEstimate(codes: 1)))
    }
}
