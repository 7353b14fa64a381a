import Hamming
import LMDB

/// Edits the code and row-id chunks inside one write transaction. Chunks are copied out of the
/// map on first touch, edited in memory, and written back once by ``flush()``, so a batch
/// rewrites each chunk it touches exactly once.
struct ChunkEditor {
    let transaction: Transaction
    let tables: HashIndex.Tables
    let codeBytes: Int
    let rowsPerChunk: Int
    /// Number of rows, as edited so far.
    private(set) var count: Int
    private var codes: [Int: [UInt8]] = [:]
    private var ids: [Int: [UInt64]] = [:]

    init(transaction: Transaction, tables: HashIndex.Tables, codeBytes: Int, rowsPerChunk: Int) throws {
        self.transaction = transaction
        self.tables = tables
        self.codeBytes = codeBytes
        self.rowsPerChunk = rowsPerChunk
        guard let raw = try Format.countKey.withUnsafeBytes({ try transaction.get(tables.meta, key: $0) }), raw.count == 8 else {
            throw HashIdxError.corrupt("the meta table has no 8-byte count record")
        }
        count = Int(raw.bigEndianUInt64(at: 0))
    }

    private mutating func load(_ chunk: Int) throws {
        if codes[chunk] != nil { return }
        let rows = max(0, min(rowsPerChunk, count - chunk * rowsPerChunk))
        var c = [UInt8](), i = [UInt64]()
        c.reserveCapacity(rowsPerChunk * codeBytes)
        i.reserveCapacity(rowsPerChunk)
        if rows > 0 {
            let key = UInt32(chunk)
            guard let cv = try withBigEndian(key, { try transaction.get(tables.codes, key: $0) }), cv.count == rows * codeBytes,
                  let iv = try withBigEndian(key, { try transaction.get(tables.rowIDs, key: $0) }), iv.count == rows * 8 else {
                throw HashIdxError.corrupt("chunk \(chunk) is missing or not \(rows) rows long")
            }
            c.append(contentsOf: cv)
            for r in 0..<rows { i.append(UInt64(littleEndian: iv.loadUnaligned(fromByteOffset: r * 8, as: UInt64.self))) }
        }
        codes[chunk] = c
        ids[chunk] = i
    }

    /// A copy of the code of `row`.
    mutating func code(_ row: Int) throws -> [UInt8] {
        let chunk = row / rowsPerChunk, at = (row % rowsPerChunk) * codeBytes
        try load(chunk)
        return Array(codes[chunk]![at..<at + codeBytes])
    }

    /// The external id of `row`.
    mutating func id(_ row: Int) throws -> UInt64 {
        let chunk = row / rowsPerChunk
        try load(chunk)
        return ids[chunk]![row % rowsPerChunk]
    }

    /// Overwrites the code and id of an existing `row`.
    mutating func set(_ row: Int, code: UnsafeRawBufferPointer, id: UInt64) throws {
        let chunk = row / rowsPerChunk, at = (row % rowsPerChunk) * codeBytes
        try load(chunk)
        codes[chunk]!.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: at).copyMemory(from: code.baseAddress!, byteCount: codeBytes) }
        ids[chunk]![row % rowsPerChunk] = id
    }

    /// Appends a row; returns its number.
    mutating func append(code: UnsafeRawBufferPointer, id: UInt64) throws -> Int {
        let row = count
        let chunk = row / rowsPerChunk
        try load(chunk)
        codes[chunk]!.append(contentsOf: code)
        ids[chunk]!.append(id)
        count += 1
        return row
    }

    /// Removes the last row.
    mutating func removeLast() throws {
        precondition(count > 0)
        let chunk = (count - 1) / rowsPerChunk
        try load(chunk)
        codes[chunk]!.removeLast(codeBytes)
        ids[chunk]!.removeLast()
        count -= 1
    }

    /// Writes every touched chunk back (deleting emptied ones) and the row count.
    func flush() throws {
        for (chunk, c) in codes {
            let rows = c.count / codeBytes
            let idRows = ids[chunk]!
            try withBigEndian(UInt32(chunk)) { key in
                if rows == 0 {
                    try transaction.delete(tables.codes, key: key)
                    try transaction.delete(tables.rowIDs, key: key)
                    return
                }
                try c.withUnsafeBytes { try transaction.put(tables.codes, key: key, value: $0) }
                try transaction.putReserved(tables.rowIDs, key: key, count: rows * 8) { out in
                    for (r, id) in idRows.enumerated() { out.storeBytes(of: id.littleEndian, toByteOffset: r * 8, as: UInt64.self) }
                }
            }
        }
        try withBigEndian(UInt64(count)) { v in
            try Format.countKey.withUnsafeBytes { k in try transaction.put(tables.meta, key: k, value: v) }
        }
    }
}
