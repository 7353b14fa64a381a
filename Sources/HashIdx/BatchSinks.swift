/// Where a batch's answers go (``HashIndex`` runs every batch through one). A worker calls
/// ``write(_:worker:reader:hits:maxDistance:limit:)`` once per query it answers, then
/// ``record(_:_:)`` with the query's statistics; distinct workers touch distinct queries, so a
/// sink writes each query's slots without a lock.
protocol BatchSink: AnyObject, Sendable {
    /// Called once before any worker starts, with the number of workers (0..<workers).
    func begin(workers: Int)
    /// Query `query`'s answer: `hits` within `maxDistance`, sorted by (distance, id), at most `limit`.
    func write(_ query: Int, worker: Int, reader: Reader, hits: UnsafeBufferPointer<Reader.Hit>, maxDistance: Int, limit: Int)
    /// Query `query`'s statistics, after its answer.
    func record(_ query: Int, _ statistics: QueryStatistics)
}

/// Answers as one array per query (the `[BinaryCode]` calls).
final class ArraySink: BatchSink, @unchecked Sendable {
    private let count: Int
    private let neighbors: UnsafeMutablePointer<[Neighbor]>
    private let statistics: UnsafeMutablePointer<QueryStatistics>

    init(count: Int) {
        self.count = count
        neighbors = .allocate(capacity: count)
        neighbors.initialize(repeating: [], count: count)
        statistics = .allocate(capacity: count)
        statistics.initialize(repeating: QueryStatistics(), count: count)
    }

    deinit {
        neighbors.deinitialize(count: count)
        neighbors.deallocate()
        statistics.deallocate()
    }

    func begin(workers: Int) {}

    func write(_ query: Int, worker: Int, reader: Reader, hits: UnsafeBufferPointer<Reader.Hit>, maxDistance: Int, limit: Int) {
        neighbors[query] = reader.neighbors(hits, maxDistance: maxDistance, limit: limit)
    }

    func record(_ query: Int, _ statistics: QueryStatistics) { self.statistics[query] = statistics }

    /// Every query's answer, in query order.
    var results: [SearchResult] {
        (0..<count).map { SearchResult(neighbors: neighbors[$0], statistics: statistics[$0]) }
    }
}

/// k-nearest answers written into caller-owned slots, k per query, faiss's layout: slots past
/// a query's neighbours hold −1.
final class SlotSink: BatchSink, @unchecked Sendable {
    private let k: Int
    private let distances: UnsafeMutablePointer<Int32>
    private let ids: UnsafeMutablePointer<Int64>
    private let statistics: UnsafeMutablePointer<QueryStatistics>?

    init(k: Int, distances: UnsafeMutablePointer<Int32>, ids: UnsafeMutablePointer<Int64>,
         statistics: UnsafeMutablePointer<QueryStatistics>?) {
        (self.k, self.distances, self.ids, self.statistics) = (k, distances, ids, statistics)
    }

    func begin(workers: Int) {}

    func write(_ query: Int, worker: Int, reader: Reader, hits: UnsafeBufferPointer<Reader.Hit>, maxDistance: Int, limit: Int) {
        // The sort may place ties past k: it writes into the reader's scratch, k of them are copied.
        let found = reader.writeNeighbors(hits, maxDistance: maxDistance, limit: limit) { capacity, fill in
            capacity == 0 ? 0 : fill(reader.answerScratch(capacity))
        }
        let base = query * k, answer = reader.answerScratch(0)
        for j in 0..<k {
            if j < found {
                distances[base + j] = Int32(truncatingIfNeeded: answer[j].distance)
                ids[base + j] = Int64(bitPattern: answer[j].id)
            } else {
                distances[base + j] = -1
                ids[base + j] = -1
            }
        }
    }

    func record(_ query: Int, _ statistics: QueryStatistics) { self.statistics?[query] = statistics }
}

/// Range answers of a whole batch in a few large chunks rather than one array per query: each
/// worker writes its queries' neighbours one after another into chunks of its own (256 to
/// 65,536 neighbours, or one query's answer if larger), which never move, and each query keeps
/// where its neighbours are. ``RangeResults`` reads them from here.
final class NeighborStore: BatchSink, @unchecked Sendable {
    /// Queries in the batch.
    let count: Int
    /// Where each query's neighbours are (empty until written).
    let spans: UnsafeMutablePointer<UnsafeBufferPointer<Neighbor>>
    let statistics: UnsafeMutablePointer<QueryStatistics>

    /// A worker's current chunk: its next free slot and how many remain.
    private struct Cursor {
        var next: UnsafeMutablePointer<Neighbor>? = nil
        var room = 0
        var chunkSize = NeighborStore.firstChunk
    }
    private var cursors: UnsafeMutablePointer<Cursor>
    private var chunks: [UnsafeMutablePointer<Neighbor>] = []
    private let lock = Mutex()
    static let firstChunk = 256
    static let largestChunk = 65_536

    init(count: Int) {
        self.count = count
        spans = .allocate(capacity: count)
        spans.initialize(repeating: UnsafeBufferPointer(start: nil, count: 0), count: count)
        statistics = .allocate(capacity: count)
        statistics.initialize(repeating: QueryStatistics(), count: count)
        cursors = .allocate(capacity: 0)
    }

    deinit {
        for c in chunks { c.deallocate() }
        spans.deallocate()
        statistics.deallocate()
        cursors.deallocate()
    }

    func begin(workers: Int) {
        cursors.deallocate()
        cursors = .allocate(capacity: workers)
        cursors.initialize(repeating: Cursor(), count: workers)
    }

    func write(_ query: Int, worker: Int, reader: Reader, hits: UnsafeBufferPointer<Reader.Hit>, maxDistance: Int, limit: Int) {
        let cursor = cursors + worker
        spans[query] = reader.writeNeighbors(hits, maxDistance: maxDistance, limit: limit) { capacity, fill in
            guard capacity > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
            if cursor.pointee.room < capacity { newChunk(cursor, capacity: capacity) }
            let start = cursor.pointee.next!
            let n = fill(start)
            cursor.pointee.next = start + n
            cursor.pointee.room -= n
            return UnsafeBufferPointer(start: start, count: n)
        }
    }

    private func newChunk(_ cursor: UnsafeMutablePointer<Cursor>, capacity: Int) {
        let size = max(capacity, cursor.pointee.chunkSize)
        cursor.pointee.chunkSize = min(2 * cursor.pointee.chunkSize, NeighborStore.largestChunk)
        let chunk = UnsafeMutablePointer<Neighbor>.allocate(capacity: size)
        lock.withLock { chunks.append(chunk) }
        cursor.pointee.next = chunk
        cursor.pointee.room = size
    }

    func record(_ query: Int, _ statistics: QueryStatistics) { self.statistics[query] = statistics }
}
