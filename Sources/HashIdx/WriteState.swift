internal import LMDB

/// When a write transaction folds the rows written since the last merge into the sealed base.
/// A merge rewrites the whole index (codes in id order, every posting sealed): the shares below
/// keep its amortised cost a small constant per written code.
public struct MaintenancePolicy: Sendable, Equatable {
    /// Rows written since the last merge (live or dead) before a merge is considered.
    public var minimumDeltaRows: Int
    /// Merge once those rows reach this share of the sealed rows.
    public var deltaShare: Double
    /// Merge once dead rows (removed or replaced codes) reach this share of all rows.
    public var deadShare: Double

    public init(minimumDeltaRows: Int = 4096, deltaShare: Double = 0.25, deadShare: Double = 0.25) {
        self.minimumDeltaRows = minimumDeltaRows
        self.deltaShare = deltaShare
        self.deadShare = deadShare
    }

    /// Never merge automatically (only ``HashIndex/compact()`` merges).
    public static let manual = MaintenancePolicy(minimumDeltaRows: .max)
}

/// The counts and sealed base seen by one write transaction, with id look-ups against them.
struct WriteState {
    let transaction: Transaction
    let tables: HashIndex.Tables
    let rowsPerChunk: Int
    /// Live codes N.
    var count: Int
    /// Rows T in the code chunks.
    var rows: Int
    let sealed: SealedState
    /// Row-id chunks of the sealed rows (nil where ids are dense), valid until `rowids` is written.
    private var sealedIDChunks: [UnsafeRawPointer] = []

    init(_ txn: Transaction, index: HashIndex) throws {
        transaction = txn
        tables = index.tables
        rowsPerChunk = index.header.rowsPerChunk
        let shape = try IndexShape(txn, tables: tables, layout: index.layout)
        (count, rows, sealed) = (shape.count, shape.rows, shape.sealed)
        if !sealed.denseIDs && sealed.rows > 0 {
            let chunks = (sealed.rows + rowsPerChunk - 1) / rowsPerChunk
            for c in 0..<chunks {
                let n = min(rowsPerChunk, rows - c * rowsPerChunk)
                let rowIDs = tables.rowIDs
                guard let v = try withBigEndian(UInt32(c), { try txn.get(rowIDs, key: $0) }), v.count == n * 8 else {
                    throw HashIdxError.corrupt("row-id chunk \(c) is missing or not \(n) rows long")
                }
                sealedIDChunks.append(v.baseAddress!)
            }
        }
    }

    /// The id of sealed row `row` when the sealed ids are not dense.
    private func sealedID(_ row: Int) -> UInt64 {
        UInt64(littleEndian: sealedIDChunks[row / rowsPerChunk].loadUnaligned(fromByteOffset: (row % rowsPerChunk) * 8, as: UInt64.self))
    }

    /// The live row of `id`, or nil.
    func liveRow(of id: UInt64) throws -> Int? {
        if let row = sealed.row(of: id, idOfRow: sealedID) {
            let dead = try withBigEndian(UInt32(row)) { try transaction.get(tables.dead!, key: $0) } != nil
            if !dead { return row }
        }
        let n = sealed.rows
        guard rows > n, let v = try withBigEndian(id, { try transaction.get(tables.ids, key: $0) }) else { return nil }
        guard v.count == 4 else { throw HashIdxError.corrupt("id \(id) maps to a \(v.count)-byte row, expected 4") }
        let row = Int(v.bigEndianUInt32(at: 0))
        guard row >= n && row < rows else { throw HashIdxError.corrupt("id \(id) maps to row \(row), outside the rows written since the sealed base") }
        return row
    }

    func writeCount(_ txn: Transaction) throws {
        try Checksums.put(txn, tables, .meta, key: Format.countKey, value: bigEndianBytes(UInt64(count)))
    }

    func needsMerge(_ policy: MaintenancePolicy) -> Bool {
        let delta = rows - sealed.rows, dead = rows - count
        let floor = policy.minimumDeltaRows
        return (delta >= floor && Double(delta) >= Double(sealed.rows) * policy.deltaShare)
            || (dead >= floor && Double(dead) >= Double(rows) * policy.deadShare)
    }
}
