import Foundation
import Hamming
internal import LMDB

extension HashIndex {
    /// Folds every row written since the last merge into the sealed base and drops every dead
    /// row, in one write transaction: afterwards codes are stored in id order, every look-up is
    /// an in-place directory read, and the delta tables are empty. Queries see the index
    /// before or after, never between. Writes run it automatically by ``maintenance``.
    /// - Returns: the number of live codes.
    @discardableResult
    public func compact() throws(HashIdxError) -> Int {
        try write("compact") { txn in try merge(txn) }
    }

    /// Rows of a batch not yet written: merged in from memory after the stored rows.
    struct PendingRows {
        let ids: [UInt64]
        let packed: UnsafeRawBufferPointer
        /// Indices into `ids` (and codes in `packed`) to add, in order.
        let order: [Int]
    }

    /// The merge itself, inside a write transaction (see ``compact()``), with an optional batch
    /// of rows that are added as if they had been appended first.
    @discardableResult
    func merge(_ txn: Transaction, pending: PendingRows? = nil) throws -> Int {
        guard tables.sealed != nil, let deadDB = tables.dead else {
            throw HashIdxError.olderFormat(path: path, found: header.version, current: Format.version)
        }
        let state = try WriteState(txn, index: self)
        let rpc = header.rowsPerChunk, cb = codeBytes, layout = self.layout
        let storedRows = state.rows, oldChunks = (storedRows + rpc - 1) / rpc
        let oldRows = storedRows + (pending?.order.count ?? 0)
        // 1. Copy every row's code and id out of the map (the tables are rewritten below).
        var codes = [UInt8](repeating: 0, count: oldRows * cb)
        var ids = [UInt64](repeating: 0, count: oldRows)
        for c in 0..<oldChunks {
            let first = c * rpc, n = min(rpc, storedRows - first)
            let chunk = try IndexShape.codeChunk(txn, tables.codes, chunk: c, rows: n, codeBytes: cb)
            codes.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: first * cb).copyMemory(from: chunk.baseAddress!, byteCount: n * cb) }
            let chunkIDs = try state.sealed.chunkIDs(txn, tables.rowIDs, chunk: c, first: first, rows: n)
            ids.replaceSubrange(first..<first + n, with: chunkIDs)
        }
        if let pending {
            codes.withUnsafeMutableBytes { out in
                for (j, i) in pending.order.enumerated() {
                    out.baseAddress!.advanced(by: (storedRows + j) * cb).copyMemory(from: pending.packed.baseAddress! + i * cb, byteCount: cb)
                    ids[storedRows + j] = pending.ids[i]
                }
            }
        }
        // Tombstones of the stored rows (the batch's rows are all live).
        let deadBits = try IndexShape.deadRows(txn, deadDB, rows: storedRows, count: state.count)
        func dead(_ row: Int) -> Bool { row < storedRows && !deadBits.isEmpty && deadBits[row >> 6] & (1 << UInt64(row & 63)) != 0 }
        // 2. Live rows in id order: the sealed rows are sorted already; sort the rest and merge.
        let sealedLive = (0..<state.sealed.rows).filter { !dead($0) }
        var recentRows = (state.sealed.rows..<oldRows).filter { !dead($0) }.map { UInt32($0) }
        var recentIDs = recentRows.map { ids[Int($0)] }
        RadixSort.sort(keys: &recentIDs, values: &recentRows)
        let recent = recentRows.map { Int($0) }
        var order: [Int] = []
        order.reserveCapacity(state.count)
        var i = 0, j = 0
        while i < sealedLive.count || j < recent.count {
            if j == recent.count || (i < sealedLive.count && ids[sealedLive[i]] < ids[recent[j]]) {
                order.append(sealedLive[i]); i += 1
            } else {
                order.append(recent[j]); j += 1
            }
        }
        let n = order.count
        for r in 1..<max(1, n) where ids[order[r]] <= ids[order[r - 1]] {
            throw HashIdxError.corrupt("id \(ids[order[r]]) is stored in two live rows")
        }
        // 3. Gather the codes into id order once (the only random pass), then write the code
        //    chunks from it; drop chunks past the new end.
        var sorted = [UInt8](repeating: 0, count: n * cb)
        codes.withUnsafeBytes { all in
            sorted.withUnsafeMutableBytes { out in
                for r in 0..<n {
                    out.baseAddress!.advanced(by: r * cb).copyMemory(from: all.baseAddress! + order[r] * cb, byteCount: cb)
                }
            }
        }
        codes = []
        let newChunks = (n + rpc - 1) / rpc
        try sorted.withUnsafeBytes { all in
            for c in 0..<newChunks {
                let first = c * rpc, rowsHere = min(rpc, n - first)
                try withBigEndian(UInt32(c)) { key in
                    try Checksums.putReserved(txn, tables, .codes, key: key, count: rowsHere * cb) { out in
                        out.baseAddress!.copyMemory(from: all.baseAddress! + first * cb, byteCount: rowsHere * cb)
                    }
                }
            }
        }
        for c in newChunks..<max(newChunks, oldChunks) { try withBigEndian(UInt32(c)) { try Checksums.delete(txn, tables, .codes, key: $0) } }
        // 4. Row ids: omitted where they are dense (id = first id + row), except in a last partial chunk.
        let sortedIDs = order.map { ids[$0] }
        let dense = n > 0 && sortedIDs[n - 1] &- sortedIDs[0] == UInt64(n - 1)
        try Checksums.empty(txn, tables, .rowIDs)
        for c in 0..<newChunks where !dense || (c + 1) * rpc > n {
            let first = c * rpc, rowsHere = min(rpc, n - first)
            try withBigEndian(UInt32(c)) { key in
                try Checksums.putReserved(txn, tables, .rowIDs, key: key, count: rowsHere * 8) { out in
                    for r in 0..<rowsHere { out.storeBytes(of: sortedIDs[first + r].littleEndian, toByteOffset: r * 8, as: UInt64.self) }
                }
            }
        }
        // 5. Seal every substring table.
        var sealed = SealedState.empty(substringCount: layout.count)
        sealed.rows = n
        sealed.denseIDs = dense
        sealed.idBase = dense ? sortedIDs[0] : 0
        try Checksums.empty(txn, tables, .sealed)
        var values = [UInt32](repeating: 0, count: n)
        for k in 0..<layout.count {
            let b = layout.widths[k]
            let d = SealedState.prefixBits(rows: n, width: b), low = SealedState.lowBytes(width: b, prefixBits: d)
            sealed.prefixBits[k] = d
            sealed.lowBytes[k] = low
            sorted.withUnsafeBytes { all in
                for r in 0..<n { values[r] = layout.value(k, of: all.baseAddress! + r * cb) }
            }
            try SealedPostingsWriter.write(txn, tables: tables, table: k, values: values, width: b, prefixBits: d,
                                           lowBytes: low, entriesPerChunk: sealed.entriesPerChunk)
        }
        // 6. Empty the delta tables and tombstones; record the new shape.
        try txn.empty(tables.ids)
        try txn.empty(deadDB)
        for db in tables.substrings { try txn.empty(db) }
        for key in [Format.countKey, Format.rowsKey] {
            try Checksums.put(txn, tables, .meta, key: key, value: bigEndianBytes(UInt64(n)))
        }
        try Checksums.put(txn, tables, .meta, key: Format.sealedKey, value: sealed.encoded())
        return n
    }

    /// Upgrades an index written by an older format version to the current one, in one write
    /// transaction (a crash leaves it as it was): adds the version-2 tables and merges, which
    /// seals every posting. Does nothing to a current index.
    /// - Returns: the version found before the upgrade.
    @discardableResult
    public static func upgrade(at path: String) throws(HashIdxError) -> UInt32 {
        let found: UInt32
        do {
            let old = try HashIndex.open(at: path, mode: .readOnly)
            found = old.header.version
        }
        guard found < Format.version else { return found }
        do {
            let env = try Environment(path: path, mapSize: 1 << 20, maxDatabases: maxDatabases)
            try env.setMapSize(0)
            let txn = try env.begin(readOnly: false)
            defer { txn.abort() }
            let sealed = try txn.openDatabase(Format.sealedTable, create: true)
            let dead = try txn.openDatabase(Format.deadTable, create: true)
            let sums = try txn.openDatabase(Format.sumsTable, create: true)
            let meta = try txn.openDatabase(Format.metaTable)
            guard let raw = try Format.headerKey.withUnsafeBytes({ try txn.get(meta, key: $0) }) else {
                throw HashIdxError.notAnIndex(path: path, reason: "the 'meta' table has no header record")
            }
            var header = try Format.Header.decode(raw, path: path)
            header.version = Format.version
            let tables = Tables(meta: meta, codes: try txn.openDatabase(Format.codesTable), rowIDs: try txn.openDatabase(Format.rowIDsTable),
                                ids: try txn.openDatabase(Format.idsTable), substrings: [], sealed: sealed, dead: dead, sums: sums)
            try Checksums.put(txn, tables, .meta, key: Format.headerKey, value: header.encoded())
            // Checksums of everything already stored, in the same transaction: a crash before the
            // merge below leaves a whole version-3 index.
            try Checksums.rebuild(txn, tables)
            try txn.commit()
        } catch { throw .wrap(error, "upgrading '\(path)'") }
        let index = try HashIndex.open(at: path)
        try index.compact()
        return found
    }
}
