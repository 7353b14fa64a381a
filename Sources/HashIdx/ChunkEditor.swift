import Hamming
internal import LMDB

/// Appends to the code and row-id chunks inside one write transaction. Chunks are copied out
/// of the map on first touch, edited in memory, and written back once by ``flush()``, so a
/// batch rewrites each chunk it touches exactly once.
struct ChunkEditor {
    let transaction: Transaction
    let tables: HashIndex.Tables
    let codeBytes: Int
    let rowsPerChunk: Int
    let sealed: SealedState
    /// Number of rows (live or dead), as edited so far.
    private(set) var rows: Int
    private var codes: [Int: [UInt8]] = [:]
    private var ids: [Int: [UInt64]] = [:]

    init(transaction: Transaction, tables: HashIndex.Tables, codeBytes: Int, rowsPerChunk: Int, rows: Int, sealed: SealedState) {
        self.transaction = transaction
        self.tables = tables
        self.codeBytes = codeBytes
        self.rowsPerChunk = rowsPerChunk
        self.rows = rows
        self.sealed = sealed
    }

    private mutating func load(_ chunk: Int) throws {
        if codes[chunk] != nil { return }
        let n = max(0, min(rowsPerChunk, rows - chunk * rowsPerChunk))
        var c = [UInt8](), i = [UInt64]()
        c.reserveCapacity(rowsPerChunk * codeBytes)
        i.reserveCapacity(rowsPerChunk)
        if n > 0 {
            c.append(contentsOf: try IndexShape.codeChunk(transaction, tables.codes, chunk: chunk, rows: n, codeBytes: codeBytes))
            i = try sealed.chunkIDs(transaction, tables.rowIDs, chunk: chunk, first: chunk * rowsPerChunk, rows: n)
            i.reserveCapacity(rowsPerChunk)
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

    /// Appends a row; returns its number.
    mutating func append(code: UnsafeRawBufferPointer, id: UInt64) throws -> Int {
        let row = rows
        let chunk = row / rowsPerChunk
        try load(chunk)
        codes[chunk]!.append(contentsOf: code)
        ids[chunk]!.append(id)
        rows += 1
        return row
    }

    /// Writes every touched chunk back and the `rows` record.
    func flush() throws {
        for (chunk, c) in codes {
            let n = c.count / codeBytes
            let idRows = ids[chunk]!
            try withBigEndian(UInt32(chunk)) { key in
                try c.withUnsafeBytes { try Checksums.put(transaction, tables, .codes, key: key, value: $0) }
                try Checksums.putReserved(transaction, tables, .rowIDs, key: key, count: n * 8) { out in
                    for (r, id) in idRows.enumerated() { out.storeBytes(of: id.littleEndian, toByteOffset: r * 8, as: UInt64.self) }
                }
            }
        }
        try Checksums.put(transaction, tables, .meta, key: Format.rowsKey, value: bigEndianBytes(UInt64(rows)))
    }
}
