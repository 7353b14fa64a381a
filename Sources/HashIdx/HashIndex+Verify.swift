import Foundation
import Hamming
import LMDB

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
    public var count: Int
    public var rowsPerChunk: Int
    public var pageSize: Int
    /// Bytes of the data file on disk.
    public var fileBytes: Int
    /// Current map size in bytes.
    public var mapBytes: Int
    /// Bytes of pages in use (last used page × page size).
    public var usedBytes: Int
    public var tables: [Table]
}

extension HashIndex {
    /// Every stored id and code, in row order: ids, and codes packed back to back (⌈B/8⌉ bytes each).
    public func exportCodes() throws(HashIdxError) -> (ids: [UInt64], packed: [UInt8]) {
        do {
            return try withReader { r in
                var ids = [UInt64](), packed = [UInt8]()
                ids.reserveCapacity(r.count)
                packed.reserveCapacity(r.count * codeBytes)
                for row in 0..<r.count {
                    ids.append(r.id(ofRow: row))
                    packed.append(contentsOf: UnsafeRawBufferPointer(start: r.codePointer(row), count: codeBytes))
                }
                return (ids, packed)
            }
        } catch { throw .wrap(error, "export") }
    }

    /// Counts and sizes of every table.
    public func statistics() throws(HashIdxError) -> IndexStatistics {
        do {
            return try withReader { r in
                let txn = r.transaction!
                var tables: [IndexStatistics.Table] = []
                let named = [("codes", self.tables.codes), ("rowids", self.tables.rowIDs), ("ids", self.tables.ids)]
                    + self.tables.substrings.enumerated().map { (Format.substringTable($0.offset), $0.element) }
                for (name, db) in named {
                    tables.append(.init(name: name, entries: try txn.entryCount(db), pages: try txn.pageCount(db)))
                }
                let info = environment.info
                let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")
                return IndexStatistics(
                    formatVersion: Int(header.version), bits: bits, substringCount: layout.count,
                    substringWidths: layout.widths, count: r.count, rowsPerChunk: header.rowsPerChunk,
                    pageSize: environment.pageSize, fileBytes: (attributes?[.size] as? Int) ?? 0,
                    mapBytes: info.me_mapsize, usedBytes: (info.me_last_pgno + 1) * environment.pageSize, tables: tables)
            }
        } catch { throw .wrap(error, "statistics") }
    }

    /// Walks every invariant of FORMAT.md: chunk sizes, the id ⇄ row bijection, and that each
    /// substring table holds exactly one posting per row, under that row's substring value.
    /// - Returns: the number of codes checked.
    /// - Throws: ``HashIdxError/corrupt(_:)`` naming the first broken invariant.
    @discardableResult
    public func verify() throws(HashIdxError) -> Int {
        do {
            return try withReader { r in
                let txn = r.transaction!
                // Chunk pointers were validated (keys 0…n−1, exact sizes) when the reader loaded them.
                let n = r.count
                guard try txn.entryCount(tables.ids) == n else {
                    throw HashIdxError.corrupt("table 'ids' has \(try txn.entryCount(tables.ids)) entries for \(n) codes")
                }
                let ids = try txn.cursor(tables.ids)
                var entry = try ids.first()
                while let (key, value) = entry {
                    guard key.count == 8, value.count == 4 else { throw HashIdxError.corrupt("an 'ids' entry has a \(key.count)-byte key and \(value.count)-byte value") }
                    let id = key.bigEndianUInt64(at: 0), row = Int(value.bigEndianUInt32(at: 0))
                    guard row < n, r.id(ofRow: row) == id else {
                        throw HashIdxError.corrupt("id \(id) maps to row \(row), which holds id \(row < n ? String(r.id(ofRow: row)) : "nothing")")
                    }
                    entry = try ids.next()
                }
                let layout = self.layout
                for k in 0..<layout.count {
                    let db = tables.substrings[k]
                    guard try txn.entryCount(db) == n else {
                        throw HashIdxError.corrupt("table \(Format.substringTable(k)) has \(try txn.entryCount(db)) postings for \(n) codes")
                    }
                    let cursor = try txn.cursor(db)
                    var e = try cursor.first()
                    while let (key, value) = e {
                        let v = key.bigEndianUInt32(at: 0), row = Int(value.bigEndianUInt32(at: 0))
                        guard row < n, layout.value(k, of: r.codePointer(row)) == v else {
                            throw HashIdxError.corrupt("table \(Format.substringTable(k)) lists row \(row) under \(v), but the row's substring differs or it does not exist")
                        }
                        e = try cursor.next()
                    }
                }
                for row in 0..<n {
                    if bits & 7 != 0, r.codePointer(row).load(fromByteOffset: codeBytes - 1, as: UInt8.self) >> UInt8(bits & 7) != 0 {
                        throw HashIdxError.corrupt("row \(row) has padding bits set")
                    }
                }
                return n
            }
        } catch { throw .wrap(error, "verify") }
    }
}
