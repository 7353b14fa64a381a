import Hamming
import LMDB

/// A read snapshot with its cursors, the in-place pointers to the code chunks, and per-query
/// scratch. Readers are pooled and reused: a reader's transaction is reset between uses and
/// renewed on the next; the chunk pointers are re-read only when the snapshot or the mapping
/// changed. Used by one thread at a time.
final class Reader {
    unowned let index: HashIndex
    private(set) var transaction: Transaction?
    private(set) var cursors: [Cursor] = []
    private var snapshotID = -1
    private var generation = -1

    /// Number of stored codes in this snapshot.
    private(set) var count = 0
    /// Base address of each code chunk (rows c·R ..< (c+1)·R), valid while the snapshot lives.
    private(set) var codeChunks: [UnsafeRawPointer] = []
    /// Base address of each row-id chunk (u64 little-endian per row).
    private(set) var idChunks: [UnsafeRawPointer] = []

    // Per-query scratch, reused across queries.
    /// One bit per row: already a candidate in this query.
    var visited: [UInt64] = []
    /// Rows whose visited bit is set, to clear them after the query.
    var touched: [UInt32] = []
    /// (row, distance) pairs found by the current query.
    var hits: [Hit] = []
    /// Counters of the current query.
    var stats = QueryStatistics()

    struct Hit {
        var row: UInt32
        var distance: Int32
    }

    /// Distances of one chunk, filled by ``forEachChunkDistances(_:_:)``.
    private let chunkDistances: UnsafeMutablePointer<UInt16>

    init(index: HashIndex) {
        self.index = index
        chunkDistances = .allocate(capacity: index.header.rowsPerChunk)
    }

    deinit { chunkDistances.deallocate() }

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
        let rpc = index.header.rowsPerChunk
        guard let raw = try Format.countKey.withUnsafeBytes({ try txn.get(tables.meta, key: $0) }), raw.count == 8 else {
            throw HashIdxError.corrupt("the meta table has no 8-byte count record")
        }
        count = Int(raw.bigEndianUInt64(at: 0))
        let chunks = (count + rpc - 1) / rpc
        codeChunks = try chunkPointers(tables.codes, chunks: chunks, bytesPerRow: index.codeBytes, name: "codes")
        idChunks = try chunkPointers(tables.rowIDs, chunks: chunks, bytesPerRow: 8, name: "rowids")
        let words = (count + 63) >> 6
        if visited.count < words { visited = [UInt64](repeating: 0, count: words) }
    }

    private func chunkPointers(_ db: Database, chunks: Int, bytesPerRow: Int, name: String) throws -> [UnsafeRawPointer] {
        let rpc = index.header.rowsPerChunk
        var out: [UnsafeRawPointer] = []
        out.reserveCapacity(chunks)
        let cursor = try transaction!.cursor(db)
        var entry = try cursor.first()
        while let (key, value) = entry {
            let c = out.count
            guard key.count == 4, Int(key.bigEndianUInt32(at: 0)) == c else {
                throw HashIdxError.corrupt("table '\(name)' has chunk key \(Array(key)), expected chunk \(c)")
            }
            let rows = min(rpc, count - c * rpc)
            guard value.count == rows * bytesPerRow else {
                throw HashIdxError.corrupt("chunk \(c) of '\(name)' holds \(value.count) bytes, expected \(rows * bytesPerRow)")
            }
            out.append(value.baseAddress!)
            entry = try cursor.next()
        }
        guard out.count == chunks else {
            throw HashIdxError.corrupt("table '\(name)' has \(out.count) chunks, expected \(chunks) for \(count) codes")
        }
        return out
    }

    /// Pointer to the packed code of `row` (< count), valid while the snapshot lives.
    @inline(__always)
    func codePointer(_ row: Int) -> UnsafeRawPointer {
        codeChunks[row >> index.rowShift] + (row & index.rowMask) * index.codeBytes
    }

    /// The external id of `row` (< count).
    @inline(__always)
    func id(ofRow row: Int) -> UInt64 {
        UInt64(littleEndian: idChunks[row >> index.rowShift].loadUnaligned(fromByteOffset: (row & index.rowMask) * 8, as: UInt64.self))
    }

    /// The row of external id `id`, or nil.
    func row(of id: UInt64) throws -> Int? {
        guard let v = try withBigEndian(id, { try transaction!.get(index.tables.ids, key: $0) }) else { return nil }
        guard v.count == 4 else { throw HashIdxError.corrupt("id \(id) maps to a \(v.count)-byte row, expected 4") }
        return Int(v.bigEndianUInt32(at: 0))
    }

    /// Calls `body` with every row stored under `key` in substring table `table`; returns
    /// whether the key exists. Reads a page of rows at a time.
    @inline(__always)
    func forEachRow(table: Int, key: UInt32, _ body: (UInt32) -> Void) throws -> Bool {
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

    /// Marks `row` visited; returns false if it already was.
    @inline(__always)
    func markVisited(_ row: UInt32) -> Bool {
        let w = Int(row >> 6), bit = UInt64(1) << UInt64(row & 63)
        if visited[w] & bit != 0 { return false }
        visited[w] |= bit
        touched.append(row)
        return true
    }

    /// Clears the per-query scratch.
    func resetScratch() {
        for r in touched { visited[Int(r >> 6)] = 0 }
        touched.removeAll(keepingCapacity: true)
        hits.removeAll(keepingCapacity: true)
        stats = QueryStatistics()
    }

    /// Turns hits with distance ≤ `maxDistance` into neighbours sorted by (distance, id), at most `limit`.
    func neighbors(maxDistance: Int, limit: Int = .max) -> [Neighbor] {
        var out: [Neighbor] = []
        out.reserveCapacity(min(hits.count, limit))
        for h in hits where Int(h.distance) <= maxDistance {
            out.append(Neighbor(id: id(ofRow: Int(h.row)), distance: Int(h.distance)))
        }
        out.sort { ($0.distance, $0.id) < ($1.distance, $1.id) }
        if out.count > limit { out.removeSubrange(limit...) }
        return out
    }

    /// Computes the distances of every stored code to `query`, one chunk at a time, and calls
    /// `body(firstRow, distances, count)` per chunk, in row order. The distances buffer is valid
    /// only during the call.
    @inline(__always)
    func forEachChunkDistances(_ query: UnsafeRawPointer, _ body: (Int, UnsafePointer<UInt16>, Int) -> Void) {
        let rpc = index.header.rowsPerChunk
        let kernel = index.kernel
        for c in 0..<codeChunks.count {
            let n = min(rpc, count - c * rpc)
            kernel.distances(query: query, base: codeChunks[c], count: n, into: chunkDistances)
            body(c * rpc, chunkDistances, n)
        }
    }
}

extension HashIndex {
    /// Runs `body` with a pooled reader holding a live snapshot.
    func withReader<R>(_ body: (Reader) throws -> R) throws -> R {
        while true {
            do {
                return try mapLock.withShared {
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
