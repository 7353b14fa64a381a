import Hamming
internal import LMDB

/// How the live codes of one substring table spread over its buckets (one bucket per substring
/// value): the skew that decides what a probe costs. On codes from a supervised encoder a class
/// shares a few codes, and the buckets at those codes hold thousands of rows.
///
/// Computed from the index on demand (``HashIndex/bucketStatistics(largest:)``), one pass over
/// each table's postings; nothing is stored. The planner does not read it: it sizes the buckets
/// of every query exactly, by locating them, before it verifies a row.
public struct BucketStatistics: Sendable, Codable, Equatable {
    /// A bucket: its substring value and its live rows.
    public struct Bucket: Sendable, Codable, Equatable {
        public var key: UInt32
        public var rows: Int
    }

    /// The table (substring) number, 0-based, and its width in bits.
    public var table: Int
    public var bits: Int
    /// Buckets holding at least one live row.
    public var buckets: Int
    /// Live rows (every live code has one row in every table).
    public var rows: Int
    /// `histogram[i]`: buckets holding 2^i to 2^(i+1) − 1 live rows.
    public var histogram: [Int]
    /// The largest buckets, largest first (ties: smaller key first).
    public var largest: [Bucket]
    /// Rows in a stored code's own bucket, averaged over the stored codes (Σ rows² / rows): what
    /// a query equal to a stored code verifies in this table, itself included. A uniform spread
    /// gives about 1 + rows / 2^bits.
    public var rowsSharingABucket: Double

    /// Live rows per non-empty bucket.
    public var meanRows: Double { buckets == 0 ? 0 : Double(rows) / Double(buckets) }
}

extension HashIndex {
    /// Bucket statistics of every substring table, in table order, over the live codes (the
    /// sealed base and the rows written since the last merge; removed codes are not counted).
    /// - Parameter largest: how many of each table's largest buckets to list (0 or more).
    /// - Throws: ``HashIdxError/invalidArgument(_:)`` for a negative `largest`;
    ///   ``HashIdxError/corrupt(_:)`` if a table's postings are damaged.
    public func bucketStatistics(largest: Int = 10) throws(HashIdxError) -> [BucketStatistics] {
        guard largest >= 0 else { throw .invalidArgument("largest must be at least 0, found \(largest)") }
        do {
            return try withReader { r in
                let txn = r.transaction!
                return try (0..<layout.count).map { k in
                    var tally = BucketTally(largest: largest)
                    // Rows written since the last merge, a key at a time (the delta table is
                    // sorted by key), merged with the sealed buckets, also in key order.
                    var delta = DeltaBuckets(cursor: try txn.cursor(tables.substrings[k]), table: k, reader: r)
                    var pending = try delta.next()
                    let sealedRows = r.sealed.rows
                    if sealedRows > 0 {
                        let sealed = r.sealedPostings[k]
                        let prefixBits = r.sealed.prefixBits[k]
                        for p in 0..<(1 << prefixBits) {
                            let cell = try sealed.checkedCell(p, table: k)
                            var i = cell.lowerBound
                            let hi = cell.upperBound
                            while i < hi {
                                let low = sealed.low(i)
                                var live = 0
                                while i < hi && sealed.low(i) == low {
                                    let row = Int(sealed.row(i))
                                    if row < sealedRows && !r.isDead(row) { live += 1 }
                                    i += 1
                                }
                                let value = sealed.value(cell: p, low: low)
                                while let d = pending, d.key < value { tally.add(d.key, d.rows); pending = try delta.next() }
                                if let d = pending, d.key == value { live += d.rows; pending = try delta.next() }
                                tally.add(value, live)
                            }
                        }
                    }
                    while let d = pending { tally.add(d.key, d.rows); pending = try delta.next() }
                    return tally.statistics(table: k, bits: layout.widths[k])
                }
            }
        } catch { throw .wrap(error, "bucket statistics") }
    }
}

/// The delta table of one substring table as (key, live rows) in key order, read through a
/// cursor (its duplicates, one per row, are consecutive).
private struct DeltaBuckets {
    let cursor: Cursor
    let table: Int
    let reader: Reader
    /// The entry read but not yet counted: the first row of the next key.
    var ahead: (key: UInt32, row: Int)?
    var started = false

    init(cursor: Cursor, table: Int, reader: Reader) {
        self.cursor = cursor
        self.table = table
        self.reader = reader
    }

    private func read(_ entry: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?) throws -> (key: UInt32, row: Int)? {
        guard let (key, value) = entry else { return nil }
        guard key.count == 4, value.count == 4 else { throw HashIdxError.corrupt("table \(Format.substringTable(table)) has a malformed posting") }
        return (key.bigEndianUInt32(at: 0), Int(value.bigEndianUInt32(at: 0)))
    }

    mutating func next() throws -> (key: UInt32, rows: Int)? {
        if !started {
            started = true
            ahead = try read(cursor.first())
        }
        while let first = ahead {
            var live = 0
            var entry: (key: UInt32, row: Int)? = first
            while let e = entry, e.key == first.key {
                if e.row < reader.rows && !reader.isDead(e.row) { live += 1 }
                entry = try read(cursor.next())
            }
            ahead = entry
            if live > 0 { return (first.key, live) }
        }
        return nil
    }
}

/// Buckets counted one at a time, in any order.
private struct BucketTally {
    let keep: Int
    var buckets = 0, rows = 0
    var squares = 0.0
    var histogram: [Int] = []
    /// The largest so far, largest first (ties: smaller key first), at most `keep`.
    var largest: [BucketStatistics.Bucket] = []

    init(largest: Int) { keep = largest }

    mutating func add(_ key: UInt32, _ n: Int) {
        guard n > 0 else { return }
        buckets += 1
        rows += n
        squares += Double(n) * Double(n)
        let level = Int.bitWidth - 1 - n.leadingZeroBitCount
        if histogram.count <= level { histogram += [Int](repeating: 0, count: level + 1 - histogram.count) }
        histogram[level] += 1
        guard keep > 0, largest.count < keep || n > largest[largest.count - 1].rows else { return }
        if largest.count == keep { largest.removeLast() }
        var j = largest.count
        while j > 0 && (largest[j - 1].rows < n || (largest[j - 1].rows == n && largest[j - 1].key > key)) { j -= 1 }
        largest.insert(.init(key: key, rows: n), at: j)
    }

    func statistics(table: Int, bits: Int) -> BucketStatistics {
        BucketStatistics(table: table, bits: bits, buckets: buckets, rows: rows, histogram: histogram, largest: largest,
                         rowsSharingABucket: rows == 0 ? 0 : squares / Double(rows))
    }
}
