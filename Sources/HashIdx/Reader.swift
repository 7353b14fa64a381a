import CHammingKernels
import Hamming
internal import LMDB

/// A read snapshot with its cursors, the in-place pointers to the code chunks, and per-query
/// scratch. Readers are pooled and reused: a reader's transaction is reset between uses and
/// renewed on the next; the chunk pointers are re-read only when the snapshot or the mapping
/// changed. Used by one thread at a time.
///
/// Its stored properties are exempt from Swift's run-time exclusivity checks
/// (`@exclusivity(unchecked)`): a reader is used by one thread at a time and no access to a
/// property overlaps another, while each checked access costs a thread-local look-up, and a
/// probe query makes dozens of them.
final class Reader {
    unowned let index: HashIndex
    @exclusivity(unchecked) private(set) var transaction: Transaction?
    @exclusivity(unchecked) private(set) var cursors: [Cursor] = []
    @exclusivity(unchecked) private var snapshotID = -1
    @exclusivity(unchecked) private var generation = -1

    /// Number of stored (live) codes in this snapshot.
    @exclusivity(unchecked) private(set) var count = 0
    /// Rows in the code chunks, live or dead (≥ count).
    @exclusivity(unchecked) private(set) var rows = 0
    /// The sealed base of this snapshot.
    @exclusivity(unchecked) private(set) var sealed = SealedState.empty(substringCount: 0)
    /// Sealed postings per substring table.
    let sealedPostings: UnsafeMutablePointer<SealedPostings>
    /// The in-map byte ranges of the sealed postings' chunks.
    @exclusivity(unchecked) private var sealedRanges: [(start: UnsafeRawPointer, count: Int)] = []
    /// Base address of each code chunk (rows c·R ..< (c+1)·R), valid while the snapshot lives.
    /// (This list, the id chunks' and the dead rows' are in plain memory that the reader owns:
    /// a loop reads them without retaining an array.)
    @exclusivity(unchecked) private(set) var codeChunks = UnsafeMutableBufferPointer<UnsafeRawPointer>(start: nil, count: 0)
    /// Base address of each row-id chunk (u64 little-endian per row); nil where every row of the
    /// chunk is sealed with dense ids.
    @exclusivity(unchecked) private(set) var idChunks = UnsafeMutableBufferPointer<UnsafeRawPointer?>(start: nil, count: 0)
    /// One bit per dead row (removed or replaced); empty when no row is dead.
    @exclusivity(unchecked) private(set) var dead = UnsafeMutableBufferPointer<UInt64>(start: nil, count: 0)
    /// Whether any row is dead (then candidates and scans skip dead rows).
    var hasDead: Bool { rows > count }
    /// The in-map byte ranges this snapshot reads in place (code and id chunks, sealed arrays).
    var mappedRanges: [(start: UnsafeRawPointer, count: Int)] {
        var out: [(start: UnsafeRawPointer, count: Int)] = []
        for (c, p) in codeChunks.enumerated() { out.append((p, rowsInChunk(c) * codeBytes)) }
        for (c, p) in idChunks.enumerated() { if let p { out.append((p, rowsInChunk(c) * 8)) } }
        out += sealedRanges
        return out
    }

    /// Whether rows past the sealed base exist (then look-ups also read the delta tables).
    @exclusivity(unchecked) private(set) var hasDelta = false

    /// Rows in code chunk `c` (all but the last hold ``rowsPerChunk``).
    @inline(__always)
    func rowsInChunk(_ c: Int) -> Int { min(rowsPerChunk, rows - c * rowsPerChunk) }

    // Per-query scratch, reused across queries, in plain memory (see ``PlainBuffer``).
    /// One bit per row: already a candidate in this query (``visitedWords`` words, zero between queries).
    @exclusivity(unchecked) private(set) var visited = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    @exclusivity(unchecked) private var visitedWords = 0
    /// Rows whose visited bit is set, to clear them after the query.
    @exclusivity(unchecked) var touched = PlainBuffer<UInt32>()
    /// (row, distance) pairs found by the current query.
    @exclusivity(unchecked) var hits = PlainBuffer<Hit>()
    /// Room for one query's sorted answer, when it is copied elsewhere (``answerScratch(_:)``).
    @exclusivity(unchecked) private var answer = UnsafeMutablePointer<Neighbor>.allocate(capacity: 0)
    @exclusivity(unchecked) private var answerCapacity = 0
    /// Counters of the current query.
    @exclusivity(unchecked) var stats = QueryStatistics()
    /// A posting row past the last row met by the current query (a damaged file).
    @exclusivity(unchecked) var damagedRow: UInt32?

    /// A code found by a query: its row and distance (the fused scan kernel's own type).
    typealias Hit = hx_hit

    /// Costs this reader measured on this index, in microseconds, each the median of its recent
    /// samples (``CostEstimate``): per located row verified (a probe's candidates), and per
    /// code of a scan and query. They replace the cost model's calibrated figures once known
    /// (see ``measured(_:)``), so that the planner weighs what queries on this index and machine
    /// really cost — caches, codes that repeat, bucket sizes — rather than a calibration on
    /// cache-resident random codes.
    @exclusivity(unchecked) var measuredVerify = CostEstimate()
    @exclusivity(unchecked) var measuredScan = CostEstimate()
    /// And per look-up in the sealed postings, timed over look-ups made 64 or more at a time
    /// (prefetched in groups, so their cache misses overlap: cheaper than one alone).
    @exclusivity(unchecked) var measuredLookup = CostEstimate()

    /// `model` with the costs this reader has measured.
    func measured(_ model: CostModel) -> CostModel {
        guard model.adaptsToMeasurements else { return model }
        var m = model
        if let v = measuredVerify.value { m.verifyMicroseconds = v }
        if let l = measuredLookup.value { m.lookupMicroseconds = l }
        if let s = measuredScan.value { m.setScanCost(s, codeBytes: codeBytes) }
        return m
    }

    /// Folds one measurement into a moving average (a tenth of the new value).
    static func average(_ old: Double?, _ new: Double) -> Double { old.map { 0.9 * $0 + 0.1 * new } ?? new }

    /// k nearest on the automatic path: what this reader's recent probe attempts cost.
    @exclusivity(unchecked) var probeHistory = ProbeHistory()

    /// The last range plan made, reused while the planner's inputs stay the same.
    @exclusivity(unchecked) var planKey: QueryPlanner.RangePlanKey?
    /// Its path and its substring radius per table (−1: not probed).
    @exclusivity(unchecked) var planPath = SearchPath.probe
    let planRadii: UnsafeMutablePointer<Int>

    /// Keys of the current probe step (a substring value XOR each mask of the step).
    @exclusivity(unchecked) var keys = PlainBuffer<UInt32>()
    /// Posting ranges (lower, upper, flattened) of the keys located so far in this probe, kept
    /// between locating and verifying (see ``locate(table:keys:)``).
    @exclusivity(unchecked) var locatedRanges = PlainBuffer<Int>()
    /// The sealed posting ranges to verify next, as (table, lower, upper) triples of
    /// ``locatedRanges`` indices (see ``verifySealed(query:limit:)``).
    @exclusivity(unchecked) var verifyList = PlainBuffer<Int>()
    /// The shells of the current range query, table-major (see ``shell(_:_:)``).
    let shells: UnsafeMutablePointer<LocatedShell>
    /// C(b_i, w) for every table i and shell w ≤ ``maxShell``, table-major.
    let binomials: UnsafeMutablePointer<Double>
    /// The automatic k-NN probe's state of each table (``nearestByShells(_:need:model:deferScan:)``).
    let nearestTables: UnsafeMutablePointer<NearestTable>
    /// The thresholds chosen for the current range query, one per table (−1: not probed).
    let thresholds: UnsafeMutablePointer<Int>
    /// Scratch of the threshold allocation: one table's cumulative shell costs, and the dynamic
    /// program's costs, choices and predecessors (grown to the largest radius met).
    let shellCost = UnsafeMutablePointer<Double>.allocate(capacity: Reader.maxShell + 1)
    @exclusivity(unchecked) var dpCost = UnsafeMutablePointer<Double>.allocate(capacity: 0)
    @exclusivity(unchecked) var dpChoice = UnsafeMutablePointer<Int8>.allocate(capacity: 0)
    @exclusivity(unchecked) var dpFrom = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
    @exclusivity(unchecked) var dpCapacity = 0
    /// Directory cells of one group of keys.
    /// (At least one per table: ``locateOwnBuckets(tables:)`` keeps every table's cell.)
    let cellLo: UnsafeMutablePointer<Int>
    let cellHi: UnsafeMutablePointer<Int>
    /// Admitted rows whose codes are being prefetched, awaiting verification.
    let pendingRows = UnsafeMutablePointer<UInt32>.allocate(capacity: Reader.pendingCapacity)
    /// The current query's substring value in each table (see ``loadSubstrings(of:)``).
    let queryValues: UnsafeMutablePointer<UInt32>
    /// k nearest: the tables in the order the current query visits them (see
    /// ``orderTablesByOwnBucket(need:)``).
    let tableOrder: UnsafeMutablePointer<Int>
    /// The current query followed by 8 zero bytes: every substring is one 8-byte load.
    let paddedQuery: UnsafeMutableRawPointer
    /// The layout's first bit and width of each table, in plain memory.
    let tableStarts: UnsafeMutablePointer<Int>
    let tableWidths: UnsafeMutablePointer<Int>
    static let group = 16
    static let pendingCapacity = 64


    // Copies of the index's constants: reading them through `index` (unowned) would retain and
    // release it on every candidate.
    let codeBytes: Int
    let rowShift: Int
    let rowMask: Int
    let rowsPerChunk: Int
    let kernel: DistanceKernel
    let layout: SubstringLayout
    let bits: Int

    init(index: HashIndex) {
        self.index = index
        codeBytes = index.codeBytes
        rowShift = index.rowShift
        rowMask = index.rowMask
        rowsPerChunk = index.header.rowsPerChunk
        kernel = index.kernel
        layout = index.layout
        bits = index.bits
        let shellSlots = index.layout.count * (Reader.maxShell + 1)
        shells = .allocate(capacity: shellSlots)
        shells.initialize(repeating: .unlocated, count: shellSlots)
        binomials = .allocate(capacity: shellSlots)
        for i in 0..<index.layout.count {
            for w in 0...Reader.maxShell { binomials[i * (Reader.maxShell + 1) + w] = HammingBall.binomial(index.layout.widths[i], w) }
        }
        thresholds = .allocate(capacity: index.layout.count)
        nearestTables = .allocate(capacity: index.layout.count)
        nearestTables.initialize(repeating: NearestTable(next: 0, located: .unlocated), count: index.layout.count)
        let m = index.layout.count
        cellLo = .allocate(capacity: max(Reader.group, m))
        cellHi = .allocate(capacity: max(Reader.group, m))
        planRadii = .allocate(capacity: m)
        planRadii.initialize(repeating: -1, count: m)
        queryValues = .allocate(capacity: m)
        queryValues.initialize(repeating: 0, count: m)
        tableOrder = .allocate(capacity: m)
        tableOrder.initialize(from: Array(0..<m), count: m)
        paddedQuery = .allocate(byteCount: index.codeBytes + 8, alignment: 8)
        paddedQuery.initializeMemory(as: UInt8.self, repeating: 0, count: index.codeBytes + 8)
        tableStarts = .allocate(capacity: m)
        tableStarts.initialize(from: index.layout.starts, count: m)
        tableWidths = .allocate(capacity: m)
        tableWidths.initialize(from: index.layout.widths, count: m)
        sealedPostings = .allocate(capacity: index.layout.count)
        for k in 0..<index.layout.count { (sealedPostings + k).initialize(to: SealedPostings()) }
    }

    deinit {
        visited.deallocate()
        touched.free()
        hits.free()
        answer.deallocate()
        codeChunks.deallocate()
        idChunks.deallocate()
        dead.deallocate()
        keys.free()
        locatedRanges.free()
        verifyList.free()
        for k in 0..<layout.count { sealedPostings[k].free() }
        sealedPostings.deallocate()
        queryValues.deallocate()
        tableOrder.deallocate()
        planRadii.deallocate()
        paddedQuery.deallocate()
        tableStarts.deallocate()
        tableWidths.deallocate()
        thresholds.deallocate()
        nearestTables.deallocate()
        shellCost.deallocate()
        shells.deallocate()
        binomials.deallocate()
        dpCost.deallocate(); dpChoice.deallocate(); dpFrom.deallocate()
        cellLo.deallocate()
        cellHi.deallocate()
        pendingRows.deallocate()
    }

    /// Takes a fresh snapshot and refreshes the cached pointers if it changed.
    func activate() throws {
        if let txn = transaction {
            try txn.renew()
            for c in cursors { try c.renew() }
        } else {
            let txn = try index.environment.begin(readOnly: true)
            transaction = txn
            cursors = try index.tables.substrings.map { try txn.cursor($0) }
        }
        let id = transaction!.id
        if id != snapshotID || generation != index.mapGeneration {
            try reload()
            snapshotID = id
            generation = index.mapGeneration
        }
    }

    /// Releases the snapshot (the reader slot is kept for the next ``activate()``).
    func deactivate() {
        transaction?.reset()
    }

    private func reload() throws {
        let txn = transaction!
        let tables = index.tables
        let shape = try IndexShape(txn, tables: tables, layout: layout)
        (count, rows, sealed) = (shape.count, shape.rows, shape.sealed)
        hasDelta = rows > sealed.rows
        for k in 0..<layout.count {
            sealedPostings[k].free()
            sealedPostings[k] = SealedPostings()
        }
        sealedRanges = []
        if let sealedDB = tables.sealed, sealed.rows > 0 {
            for k in 0..<layout.count {
                let loaded = try SealedPostings(transaction: txn, database: sealedDB, table: k, width: layout.widths[k],
                                                state: sealed, ranges: &sealedRanges)
                sealedPostings[k].free()
                sealedPostings[k] = loaded
            }
        }
        let rpc = rowsPerChunk, chunks = (rows + rpc - 1) / rpc
        Reader.replace(&codeChunks, with: try chunkPointers(tables.codes, chunks: chunks, bytesPerRow: codeBytes, name: "codes",
                                                            optional: { _ in false }).map { $0! })
        let dense = sealed.denseIDs, sealedRows = sealed.rows
        Reader.replace(&idChunks, with: try chunkPointers(tables.rowIDs, chunks: chunks, bytesPerRow: 8, name: "rowids",
                                                          optional: { c in dense && (c + 1) * rpc <= sealedRows }))
        let words = (rows + 63) >> 6
        if visitedWords < words {
            visited.deallocate()
            visited = .allocate(capacity: words)
            visited.initialize(repeating: 0, count: words)
            visitedWords = words
        }
        Reader.replace(&dead, with: try IndexShape.deadRows(txn, tables.dead, rows: rows, count: count))
    }

    /// Frees `list` and makes it a copy of `values` in memory of its own.
    private static func replace<T>(_ list: inout UnsafeMutableBufferPointer<T>, with values: [T]) {
        list.deallocate()
        list = .allocate(capacity: values.count)
        _ = list.initialize(from: values)
    }

    /// Pointers to chunks 0..<chunks of `db`, each checked for its exact size. Chunks for which
    /// `optional` is true may be absent (nil).
    private func chunkPointers(_ db: Database, chunks: Int, bytesPerRow: Int, name: String,
                               optional: (Int) -> Bool) throws -> [UnsafeRawPointer?] {
        var out = [UnsafeRawPointer?](repeating: nil, count: chunks)
        let cursor = try transaction!.cursor(db)
        var entry = try cursor.first()
        while let (key, value) = entry {
            guard key.count == 4 else { throw HashIdxError.corrupt("table '\(name)' has a \(key.count)-byte key, expected 4") }
            let c = Int(key.bigEndianUInt32(at: 0))
            guard c < chunks else {
                throw HashIdxError.corrupt("table '\(name)' has chunk \(c), expected \(chunks) chunks for \(rows) rows")
            }
            let n = rowsInChunk(c)
            guard value.count == n * bytesPerRow else {
                throw HashIdxError.corrupt("chunk \(c) of '\(name)' holds \(value.count) bytes, expected \(n * bytesPerRow)")
            }
            out[c] = value.baseAddress!
            entry = try cursor.next()
        }
        for c in 0..<chunks where out[c] == nil && !optional(c) {
            throw HashIdxError.corrupt("table '\(name)' lacks chunk \(c) of \(chunks) (\(rows) rows)")
        }
        return out
    }

    /// Pointer to the packed code of `row` (< rows), valid while the snapshot lives.
    @inline(__always)
    func codePointer(_ row: Int) -> UnsafeRawPointer {
        codeChunks[row >> rowShift] + (row & rowMask) * codeBytes
    }

    /// The external id of `row` (< rows).
    @inline(__always)
    func id(ofRow row: Int) -> UInt64 {
        Reader.id(ofRow: row, chunks: UnsafeBufferPointer(idChunks), idBase: sealed.idBase, rowShift: rowShift, rowMask: rowMask)
    }

    /// The external id of `row` from the id chunks (nil chunk: dense ids from `idBase`), for
    /// loops that hold the chunks and constants in locals.
    @inline(__always)
    static func id(ofRow row: Int, chunks: UnsafeBufferPointer<UnsafeRawPointer?>, idBase: UInt64, rowShift: Int, rowMask: Int) -> UInt64 {
        // rowShift < 64: the masking shift is the plain one.
        if let chunk = chunks[row &>> rowShift] {
            return UInt64(littleEndian: chunk.loadUnaligned(fromByteOffset: (row & rowMask) &* 8, as: UInt64.self))
        }
        return idBase &+ UInt64(row)
    }

    /// Whether `row` holds no live code.
    @inline(__always)
    func isDead(_ row: Int) -> Bool {
        hasDead && dead[row >> 6] & (1 << UInt64(row & 63)) != 0
    }

    /// The live row of external id `id`, or nil: a binary search of the sealed rows (sorted by
    /// id), then the `ids` table of the rows written since.
    func row(of id: UInt64) throws -> Int? {
        if let row = sealedRow(of: id), !isDead(row) { return row }
        guard hasDelta, let v = try withBigEndian(id, { try transaction!.get(index.tables.ids, key: $0) }) else { return nil }
        guard v.count == 4 else { throw HashIdxError.corrupt("id \(id) maps to a \(v.count)-byte row, expected 4") }
        let row = Int(v.bigEndianUInt32(at: 0))
        guard row >= sealed.rows, row < rows, !isDead(row) else {
            throw HashIdxError.corrupt("id \(id) maps to row \(row), which is not a live row written after the sealed base")
        }
        return row
    }

    /// The sealed row holding `id` (live or dead), or nil.
    func sealedRow(of id: UInt64) -> Int? {
        sealed.row(of: id, idOfRow: self.id(ofRow:))
    }

    /// The rows under `key` in the delta table `sub.k`, a page at a time.
    func forEachDeltaRow(table: Int, key: UInt32, _ body: (UInt32) -> Void) throws -> Bool {
        let cursor = cursors[table]
        return try withBigEndian(key) { k in
            guard let first = try cursor.moveTo(k) else { return false }
            var page: UnsafeRawBufferPointer? = try cursor.duplicatesPage()
            if page!.isEmpty {
                // A single row is stored inline, not in a duplicate page.
                body(UInt32(bigEndian: first.loadUnaligned(as: UInt32.self)))
                return true
            }
            while let p = page {
                let n = p.count >> 2
                var i = 0
                while i < n {
                    body(UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i << 2, as: UInt32.self)))
                    i += 1
                }
                page = try cursor.nextDuplicatesPage()
            }
            return true
        }
    }

    /// Admits `row` as a candidate of the current query: true if it is a live row not seen
    /// before. Counts a repeat as a duplicate; remembers a row past the end (a damaged file)
    /// in ``damagedRow`` instead of reading it.
    @inline(__always)
    func admit(_ row: UInt32) -> Bool {
        guard Int(row) < rows else { damagedRow = row; return false }
        let w = Int(row >> 6), bit = UInt64(1) << UInt64(row & 63)
        let visited = self.visited
        if visited[w] & bit != 0 { stats.duplicates += 1; return false }
        visited[w] |= bit
        touched.append(row)
        return !isDead(Int(row))
    }

    /// The answer scratch, with room for at least `capacity` neighbours (its contents are kept
    /// when it is large enough already).
    @inline(__always)
    func answerScratch(_ capacity: Int) -> UnsafeMutablePointer<Neighbor> {
        if capacity > answerCapacity {
            answer.deallocate()
            answerCapacity = max(capacity, 2 * answerCapacity)
            answer = .allocate(capacity: answerCapacity)
        }
        return answer
    }

    /// Throws if the current query met a posting that points past the last row.
    func checkDamage() throws {
        if let row = damagedRow {
            damagedRow = nil
            throw HashIdxError.corrupt("a substring table lists row \(row), but the index has \(rows) rows")
        }
    }

    /// Reads the substring value of `query` in every table into ``queryValues``.
    @inline(__always)
    func loadSubstrings(of query: UnsafeRawPointer) {
        paddedQuery.copyMemory(from: query, byteCount: codeBytes)
        for k in 0..<layout.count {
            let start = tableStarts[k]
            let word = UInt64(littleEndian: paddedQuery.loadUnaligned(fromByteOffset: start >> 3, as: UInt64.self))
            queryValues[k] = UInt32(truncatingIfNeeded: (word >> UInt64(start & 7)) & ((1 << UInt64(tableWidths[k])) - 1))
        }
    }

    /// Clears the per-query scratch.
    func resetScratch() {
        let visited = self.visited
        for r in touched.elements { visited[Int(r >> 6)] = 0 }
        touched.removeAll()
        hits.removeAll()
        stats = QueryStatistics()
        damagedRow = nil
    }

}

extension HashIndex {
    /// Runs `body` with a pooled reader holding a live snapshot.
    func withReader<R>(_ body: (Reader) throws -> R) throws -> R {
        // LMDB has a fixed number of reader slots per environment, shared by every process that
        // opens it, and each pooled reader keeps its slot: threads beyond the limit wait for a
        // reader to come back instead of failing with "busy".
        readerSlots.wait()
        defer { readerSlots.signal() }
        while true {
            do {
                return try mapLock.withShared {
                    guard environment.isOpen else { throw HashIdxError.closed(path: path) }
                    let reader = poolLock.withLock { idleReaders.popLast() } ?? Reader(index: self)
                    defer {
                        reader.deactivate()
                        poolLock.withLock { idleReaders.append(reader) }
                    }
                    try reader.activate()
                    return try body(reader)
                }
            } catch let e as LMDBError where e == .mapResized {
                // Another process grew the map: adopt its size, then retry.
                try mapLock.withExclusive {
                    try environment.setMapSize(0)
                    mapGeneration += 1
                }
            }
        }
    }
}
