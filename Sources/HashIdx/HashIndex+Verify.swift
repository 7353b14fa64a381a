import Foundation
import Hamming
internal import LMDB

/// Size and shape of an index.
public struct IndexStatistics: Sendable, Codable, Equatable {
    /// One LMDB table.
    public struct Table: Sendable, Codable, Equatable {
        public var name: String
        /// Entries (for a substring table: postings, one per stored code).
        public var entries: Int
        /// Branch, leaf and overflow pages.
        public var pages: Int
    }
    public var formatVersion: Int
    public var bits: Int
    public var substringCount: Int
    public var substringWidths: [Int]
    /// Live codes.
    public var count: Int
    /// Rows in the code chunks, live or dead (removed and replaced codes wait for a merge).
    public var rows: Int
    /// Rows in the sealed base (looked up in place); the rest are in the delta tables.
    public var sealedRows: Int
    public var rowsPerChunk: Int
    public var pageSize: Int
    /// Bytes of the data file on disk.
    public var fileBytes: Int
    /// Current map size in bytes.
    public var mapBytes: Int
    /// Bytes of the pages that hold data (tables, LMDB's meta pages and catalogues).
    public var usedBytes: Int
    /// Bytes of free pages inside the file: written once, now reusable by later writes
    /// (`hashidx compact` returns them to the file system).
    public var freeBytes: Int
    public var tables: [Table]
}

extension HashIndex {
    /// Every stored id and code, in row order: ids, and codes packed back to back (⌈B/8⌉ bytes each).
    /// Holds the whole index in memory; ``forEachCode(batchSize:_:)`` streams it instead.
    public func exportCodes() throws(HashIdxError) -> (ids: [UInt64], packed: [UInt8]) {
        var ids = [UInt64](), packed = [UInt8]()
        do {
            try forEachCode { i, p in
                ids += i
                packed += p
            }
        } catch let e as HashIdxError { throw e } catch { throw .wrap(error, "export") }
        return (ids, packed)
    }

    /// Calls `body` with consecutive batches of up to `batchSize` stored codes, in row order (id
    /// order for the sealed rows, then the rows written since the last merge), all from one
    /// snapshot: their ids, and the codes packed back to back (⌈B/8⌉ bytes each).
    /// - Throws: ``HashIdxError`` for a damaged index, or what `body` throws.
    public func forEachCode(batchSize: Int = 65536, _ body: (_ ids: [UInt64], _ packed: [UInt8]) throws -> Void) throws {
        let size = max(1, batchSize)
        do {
            try withReader { r in
                var ids = [UInt64](), packed = [UInt8]()
                ids.reserveCapacity(min(size, r.count))
                packed.reserveCapacity(min(size, r.count) * codeBytes)
                for row in 0..<r.rows where !r.isDead(row) {
                    ids.append(r.id(ofRow: row))
                    packed.append(contentsOf: UnsafeRawBufferPointer(start: r.codePointer(row), count: codeBytes))
                    if ids.count == size {
                        try body(ids, packed)
                        ids.removeAll(keepingCapacity: true)
                        packed.removeAll(keepingCapacity: true)
                    }
                }
                if !ids.isEmpty { try body(ids, packed) }
            }
        } catch let e as LMDBError { throw HashIdxError.wrap(e, "export") }
    }

    /// Counts and sizes of every table.
    public func statistics() throws(HashIdxError) -> IndexStatistics {
        do {
            return try withReader { r in
                let txn = r.transaction!
                var tables: [IndexStatistics.Table] = []
                var named = [("codes", self.tables.codes), ("rowids", self.tables.rowIDs), ("ids", self.tables.ids)]
                    + self.tables.substrings.enumerated().map { (Format.substringTable($0.offset), $0.element) }
                if let sealed = self.tables.sealed, let dead = self.tables.dead {
                    named += [(Format.sealedTable, sealed), (Format.deadTable, dead)]
                }
                if let sums = self.tables.sums { named.append((Format.sumsTable, sums)) }
                for (name, db) in named {
                    tables.append(.init(name: name, entries: try txn.entryCount(db), pages: try txn.pageCount(db)))
                }
                let info = environment.info
                let pageSize = environment.pageSize
                let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")
                // Pages in use: every table's pages plus the two meta pages, LMDB's own catalogue
                // of tables and its free-page list; the rest of the file up to the last page is free.
                let catalogue = try txn.pageCount(Database.main) + (try txn.pageCount(Database.freeList))
                let inUse = tables.reduce(0) { $0 + $1.pages } + 2 + catalogue
                let lastPage = info.me_last_pgno + 1
                return IndexStatistics(
                    formatVersion: Int(header.version), bits: bits, substringCount: layout.count,
                    substringWidths: layout.widths, count: r.count, rows: r.rows, sealedRows: r.sealed.rows,
                    rowsPerChunk: header.rowsPerChunk,
                    pageSize: pageSize, fileBytes: (attributes?[.size] as? Int) ?? 0,
                    mapBytes: info.me_mapsize, usedBytes: min(inUse, lastPage) * pageSize,
                    freeBytes: max(0, lastPage - inUse) * pageSize, tables: tables)
            }
        } catch { throw .wrap(error, "statistics") }
    }

    /// Walks every invariant of FORMAT.md: the checksum of every value hashidx owns (version 3),
    /// chunk sizes, the id ⇄ row bijection over live rows,
    /// the sealed postings (directory, order, one per sealed row, under its substring value),
    /// the delta postings (one per live row written since the seal), tombstones and padding.
    /// - Returns: the number of live codes checked.
    /// - Throws: ``HashIdxError/corrupt(_:)`` naming the first broken invariant.
    @discardableResult
    public func verify() throws(HashIdxError) -> Int {
        do {
            return try withReader { r in
                let txn = r.transaction!
                // Version 3: every owned value against its CRC-32, before anything reads them.
                _ = try Checksums.verify(txn, self.tables)
                // Chunk pointers, counts and tombstones were checked when the reader loaded them.
                let n = r.count, rows = r.rows, sealedRows = r.sealed.rows
                let layout = self.layout
                // Sealed rows: ids strictly increase.
                for row in 1..<max(1, sealedRows) where r.id(ofRow: row) <= r.id(ofRow: row - 1) {
                    throw HashIdxError.corrupt("sealed rows \(row - 1) and \(row) hold ids \(r.id(ofRow: row - 1)) and \(r.id(ofRow: row)), expected increasing ids")
                }
                // Delta ids: exactly the live rows written since the seal, and unique overall.
                let liveDelta = (sealedRows..<rows).filter { !r.isDead($0) }.count
                guard try txn.entryCount(tables.ids) == liveDelta else {
                    throw HashIdxError.corrupt("table 'ids' has \(try txn.entryCount(tables.ids)) entries for \(liveDelta) live rows written since the seal")
                }
                let ids = try txn.cursor(tables.ids)
                var entry = try ids.first()
                while let (key, value) = entry {
                    guard key.count == 8, value.count == 4 else { throw HashIdxError.corrupt("an 'ids' entry has a \(key.count)-byte key and \(value.count)-byte value") }
                    let id = key.bigEndianUInt64(at: 0), row = Int(value.bigEndianUInt32(at: 0))
                    guard row >= sealedRows, row < rows, !r.isDead(row), r.id(ofRow: row) == id else {
                        throw HashIdxError.corrupt("id \(id) maps to row \(row), which is not a live row holding it")
                    }
                    if let s = r.sealedRow(of: id), !r.isDead(s) {
                        throw HashIdxError.corrupt("id \(id) is live in sealed row \(s) and in row \(row)")
                    }
                    entry = try ids.next()
                }
                for k in 0..<layout.count {
                    // Delta postings: one per live row written since the seal.
                    let db = tables.substrings[k]
                    guard try txn.entryCount(db) == liveDelta else {
                        throw HashIdxError.corrupt("table \(Format.substringTable(k)) has \(try txn.entryCount(db)) postings for \(liveDelta) live rows written since the seal")
                    }
                    let cursor = try txn.cursor(db)
                    var e = try cursor.first()
                    while let (key, value) = e {
                        guard key.count == 4, value.count == 4 else { throw HashIdxError.corrupt("table \(Format.substringTable(k)) has a malformed posting") }
                        let v = key.bigEndianUInt32(at: 0), row = Int(value.bigEndianUInt32(at: 0))
                        guard row >= sealedRows, row < rows, !r.isDead(row), layout.value(k, of: r.codePointer(row)) == v else {
                            throw HashIdxError.corrupt("table \(Format.substringTable(k)) lists row \(row) under \(v), but that row is sealed, dead, missing or has another substring value")
                        }
                        e = try cursor.next()
                    }
                    // Sealed postings: sorted by (value, row), each sealed row once, under its value.
                    if sealedRows == 0 { continue }
                    let sealed = r.sealedPostings[k]
                    var seen = [Bool](repeating: false, count: sealedRows)
                    let d = r.sealed.prefixBits[k]
                    var previous: (UInt32, UInt32)? = nil
                    for p in 0..<(1 << d) {
                        for i in try sealed.checkedCell(p, table: k) {
                            let low = sealed.low(i), row = sealed.row(i)
                            let value = sealed.value(cell: p, low: low)
                            guard low <= sealed.lowMask, Int(row) < sealedRows, !seen[Int(row)],
                                  layout.value(k, of: r.codePointer(Int(row))) == value else {
                                throw HashIdxError.corrupt("sealed table \(k) entry \(i) lists row \(row) under \(value), but that row is not sealed, repeats or has another substring value")
                            }
                            if let (pv, pr) = previous, (pv, pr) >= (value, row) {
                                throw HashIdxError.corrupt("sealed table \(k) entry \(i) is out of order")
                            }
                            previous = (value, row)
                            seen[Int(row)] = true
                        }
                    }
                    if let missing = seen.firstIndex(of: false) {
                        throw HashIdxError.corrupt("sealed table \(k) has no posting for sealed row \(missing)")
                    }
                }
                for row in 0..<rows {
                    if bits & 7 != 0, r.codePointer(row).load(fromByteOffset: codeBytes - 1, as: UInt8.self) >> UInt8(bits & 7) != 0 {
                        throw HashIdxError.corrupt("row \(row) has padding bits set")
                    }
                }
                return n
            }
        } catch { throw .wrap(error, "verify") }
    }
}
