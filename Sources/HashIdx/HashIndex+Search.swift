import Dispatch
import Foundation
import Hamming

extension HashIndex {
    /// Every stored code within Hamming distance `radius` of `query`, inclusive, sorted by
    /// (distance, id) ascending. Exact on either path.
    /// - Parameters:
    ///   - query: a code of the index's width.
    ///   - radius: 0…B bits.
    ///   - path: let the planner choose (default), or force probing or scanning.
    /// - Throws: ``HashIdxError/codeWidth(expectedBits:foundBits:)``, ``HashIdxError/invalidRadius(_:bits:)``.
    public func search(_ query: BinaryCode, radius: Int, path: PathChoice = .automatic) throws(HashIdxError) -> SearchResult {
        try search([query], radius: radius, path: path, threads: 1)[0]
    }

    /// The `k` stored codes nearest to `query`, sorted by (distance, id); ties at the k-th
    /// distance go to the smaller id. Returns every code if k exceeds the count. Exact on either path.
    /// - Throws: ``HashIdxError/codeWidth(expectedBits:foundBits:)``, ``HashIdxError/invalidK(_:)``.
    public func nearest(_ query: BinaryCode, k: Int, path: PathChoice = .automatic) throws(HashIdxError) -> SearchResult {
        try nearest([query], k: k, path: path, threads: 1)[0]
    }

    /// Range queries for many codes at once, spread over `threads` workers (default: all cores),
    /// each with its own read snapshot. Results are in query order. Queries that the planner
    /// sends to a scan are scanned together, up to 32 per pass over the codes.
    public func search(_ queries: [BinaryCode], radius: Int, path: PathChoice = .automatic,
                       threads: Int? = nil) throws(HashIdxError) -> [SearchResult] {
        let packed = try pack(queries)
        let sink = ArraySink(count: queries.count)
        do {
            try packed.withUnsafeBytes { q in try searchPacked(q, radius: radius, path: path, threads: threads, sink: sink) }
        } catch { throw .wrap(error, "search") }
        return sink.results
    }

    /// k-nearest-neighbour queries for many codes at once; see ``nearest(_:k:path:)`` and
    /// ``search(_:radius:path:threads:)``.
    public func nearest(_ queries: [BinaryCode], k: Int, path: PathChoice = .automatic,
                        threads: Int? = nil) throws(HashIdxError) -> [SearchResult] {
        let packed = try pack(queries)
        let sink = ArraySink(count: queries.count)
        do {
            try packed.withUnsafeBytes { q in try nearestPacked(q, k: k, path: path, threads: threads, sink: sink) }
        } catch { throw .wrap(error, "search") }
        return sink.results
    }

    // MARK: - The pointer core

    /// Exact k-nearest-neighbour queries over packed query bytes, written into caller-owned
    /// buffers laid out as faiss lays them out.
    ///
    /// - Parameters:
    ///   - packedQueries: nq codes back to back, ⌈B/8⌉ bytes each (bit i of a code is bit i & 7 of
    ///     byte i >> 3), with zero padding bits; read in place, never copied.
    ///   - k: neighbours per query, ≥ 1.
    ///   - distances: nq × k slots, row-major: query i's j-th neighbour at i × k + j, sorted by
    ///     (distance, id); ties at the k-th distance go to the smaller id. Slots past the stored
    ///     count hold −1.
    ///   - ids: nq × k slots like `distances`: the 64-bit ids, bit for bit; −1 where the distance is −1.
    ///   - statistics: nil, or nq slots for each query's counters.
    ///   - path: let the planner choose (default), or force probing or scanning.
    ///   - threads: workers (default: all cores).
    /// - Throws: ``HashIdxError/invalidK(_:)``; ``HashIdxError/code(_:)`` if the byte count is not a
    ///   multiple of ⌈B/8⌉ or a query has a padding bit set — before any slot is written.
    public func nearest(packedQueries: UnsafeRawBufferPointer, k: Int, distances: UnsafeMutablePointer<Int32>,
                        ids: UnsafeMutablePointer<Int64>, statistics: UnsafeMutablePointer<QueryStatistics>? = nil,
                        path: PathChoice = .automatic, threads: Int? = nil) throws(HashIdxError) {
        try nearestPacked(packedQueries, k: k, path: path, threads: threads,
                          sink: SlotSink(k: k, distances: distances, ids: ids, statistics: statistics))
    }

    /// Exact range queries over packed query bytes (see ``nearest(packedQueries:k:distances:ids:statistics:path:threads:)``
    /// for the layout), answered as faiss answers them: query i's results are
    /// `distances[lims[i]..<lims[i+1]]` and `ids[...]`, sorted by (distance, id). Every code at
    /// distance ≤ `radius` is returned (inclusive).
    public func search(packedQueries: UnsafeRawBufferPointer, radius: Int, path: PathChoice = .automatic,
                       threads: Int? = nil) throws(HashIdxError) -> RangeResults {
        let sink = NeighborStore(count: packedQueries.count / max(codeBytes, 1))
        try searchPacked(packedQueries, radius: radius, path: path, threads: threads, sink: sink)
        return RangeResults(sink)
    }

    /// Checks packed queries: whole codes, zero padding bits. Returns the query count.
    func checkPacked(_ queries: UnsafeRawBufferPointer) throws(HashIdxError) -> Int {
        guard queries.count % codeBytes == 0 else {
            throw .code(.wrongLength(expectedBytes: (queries.count / codeBytes + 1) * codeBytes, foundBytes: queries.count, bits: bits))
        }
        let n = queries.count / codeBytes
        if bits & 7 != 0 {
            for i in 0..<n where queries[i * codeBytes + codeBytes - 1] >> UInt8(bits & 7) != 0 {
                throw .code(.paddingBitsSet(bits: bits))
            }
        }
        return n
    }

    private func pack(_ queries: [BinaryCode]) throws(HashIdxError) -> [UInt8] {
        var packed = [UInt8]()
        packed.reserveCapacity(queries.count * codeBytes)
        for q in queries {
            try check(q)
            packed += q.bytes
        }
        return packed
    }

    func searchPacked<Sink: BatchSink>(_ queries: UnsafeRawBufferPointer, radius: Int, path: PathChoice, threads: Int?,
                                       sink: Sink) throws(HashIdxError) {
        guard radius >= 0 && radius <= bits else { throw .invalidRadius(radius, bits: bits) }
        let n = try checkPacked(queries)
        let model = costModel
        try runBatch(queries, count: n, threads: threads, goal: { _ in .range(radius) }, sink: sink) { reader, q in
            try reader.range(q, radius: radius, choice: path, model: model, deferScan: true) ? (radius, .max) : nil
        }
    }

    func nearestPacked<Sink: BatchSink>(_ queries: UnsafeRawBufferPointer, k: Int, path: PathChoice, threads: Int?,
                                        sink: Sink) throws(HashIdxError) {
        guard k >= 1 else { throw .invalidK(k) }
        let n = try checkPacked(queries)
        let model = costModel
        try runBatch(queries, count: n, threads: threads, goal: { reader in .nearest(min(k, reader.count)) }, sink: sink) { reader, q in
            try reader.nearest(q, k: k, choice: path, model: model, deferScan: true).map { ($0, k) }
        }
    }

    /// Queries scanned together in one pass over the codes: enough to reuse each chunk from
    /// cache several times, few enough that their chunk distances stay in cache too.
    static let scanGroup = 32

    /// Runs `attempt` for every query (nil means "scan me"; otherwise the answer is the
    /// reader's hits within a distance, at most a count of them), then scans the deferred
    /// queries in groups of ``scanGroup``. Each answer goes to `sink` from the worker that
    /// found it, then its statistics; a query's time is its attempt (or its share of its
    /// group's scan) and the writing of its answer.
    private func runBatch<Sink: BatchSink>(_ queries: UnsafeRawBufferPointer, count: Int, threads: Int?,
                                           goal: @escaping @Sendable (Reader) -> ScanQuery.Goal, sink: Sink,
                                           _ attempt: @escaping @Sendable (Reader, UnsafeRawPointer) throws -> (maxDistance: Int, limit: Int)?) throws(HashIdxError) {
        guard count > 0 else { return }
        guard threads.map({ $0 >= 1 }) ?? true else { throw .invalidArgument("threads must be at least 1, found \(threads!)") }
        prefaultBeforeFirstSearch()
        let workers = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, count))
        sink.begin(workers: workers)
        let failure = BatchFailure()
        let codeBytes = self.codeBytes, bits = self.bits
        let base = UnsafeQueries(queries.baseAddress!)
        let work: @Sendable (Int) -> Void = { worker in
            let queries: UnsafeRawPointer = base.pointer
            do {
                try self.withReader { reader in
                    // The goal depends on the reader's snapshot, fixed for this worker's batch.
                    let g = goal(reader)
                    var deferred: [(index: Int, stats: QueryStatistics, seconds: Double)] = []
                    func flush() {
                        guard !deferred.isEmpty else { return }
                        let start = System.nanoseconds()
                        let states = deferred.map { _ in ScanQuery(g, bits: bits, orderedRows: reader.sealed.rows) }
                        reader.scan(deferred.map { queries + $0.index * codeBytes }, states)
                        var mark = System.nanoseconds()
                        let share = Double(mark - start) / 1e9 / Double(deferred.count)
                        for (j, d) in deferred.enumerated() {
                            var stats = d.stats
                            switch g {
                            case .range(let r):
                                stats.radiusReached = r
                                sink.write(d.index, worker: worker, reader: reader, hits: states[j].hits, maxDistance: r, limit: .max)
                            case .nearest(let k):
                                stats.radiusReached = states[j].limit
                                sink.write(d.index, worker: worker, reader: reader, hits: states[j].hits, maxDistance: states[j].limit, limit: k)
                            }
                            let written = System.nanoseconds()
                            let scanned = share + Double(written - mark) / 1e9
                            mark = written
                            // The query's time: its attempt, its share of the group's pass, and its own results.
                            stats.seconds = d.seconds + scanned
                            if case .nearest(let k) = g { reader.probeHistory.scanned(k: k, microseconds: scanned * 1e6) }
                            sink.record(d.index, stats)
                        }
                        deferred.removeAll(keepingCapacity: true)
                    }
                    // One clock read per query (a read costs 20-40 ns, a small query 200): a
                    // query's time runs from the end of the previous one's, so it includes
                    // clearing the scratch and handing over the previous answer's counters.
                    var last = System.nanoseconds()
                    var i = worker
                    while i < count {
                        reader.resetScratch()
                        let answer = try attempt(reader, queries + i * codeBytes)
                        if let answer {
                            sink.write(i, worker: worker, reader: reader, hits: reader.hits.elements,
                                       maxDistance: answer.maxDistance, limit: answer.limit)
                        }
                        let now = System.nanoseconds()
                        let seconds = Double(now - last) / 1e9
                        last = now
                        if reader.stats.path == .probe || reader.stats.switchedToScan, case .nearest(let k) = g {
                            reader.probeHistory.attempted(k: k, finished: answer != nil, microseconds: seconds * 1e6)
                        }
                        if answer != nil {
                            reader.stats.seconds = seconds
                            sink.record(i, reader.stats)
                        } else {
                            deferred.append((i, reader.stats, seconds))
                            if deferred.count == HashIndex.scanGroup {
                                flush()
                                last = System.nanoseconds()
                            }
                        }
                        i += workers
                    }
                    flush()
                    reader.resetScratch()
                }
            } catch {
                failure.fail(error)
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        if let error = failure.error { throw .wrap(error, "search") }
    }
}

/// Range-query results in faiss's layout: query i's hits are at `lims[i]..<lims[i+1]` of
/// `distances` and `ids`, each query's sorted by (distance, id).
public struct RangeResults: Sendable {
    /// nq + 1 offsets, `lims[0] == 0`, `lims[nq]` the total hit count.
    public let lims: [Int]
    /// Each query's counters.
    public let statistics: [QueryStatistics]
    /// Every query's neighbours, where the batch wrote them.
    private let store: NeighborStore

    init(_ store: NeighborStore) {
        let n = store.count
        var lims = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { lims[i + 1] = lims[i] + store.spans[i].count }
        self.lims = lims
        statistics = Array(UnsafeBufferPointer(start: store.statistics, count: n))
        self.store = store
    }

    /// Each query's answer, in query order (built on each access: use ``write(distances:ids:)``
    /// to fill buffers).
    public var results: [SearchResult] {
        (0..<store.count).map { SearchResult(neighbors: Array(store.spans[$0]), statistics: statistics[$0]) }
    }
    /// The total hit count, `lims[nq]`.
    public var count: Int { lims[store.count] }
    /// Hamming distances of every hit (built on each access: use ``write(distances:ids:)`` to fill buffers).
    public var distances: [Int32] {
        [Int32](unsafeUninitializedCapacity: count) { b, n in write(distances: b.baseAddress, ids: nil); n = count }
    }
    /// The 64-bit ids of every hit, bit for bit (built on each access).
    public var ids: [Int64] {
        [Int64](unsafeUninitializedCapacity: count) { b, n in write(distances: nil, ids: b.baseAddress); n = count }
    }

    /// Writes every hit's distance and id into `count` slots each (either may be nil), in one pass.
    public func write(distances: UnsafeMutablePointer<Int32>?, ids: UnsafeMutablePointer<Int64>?) {
        var at = 0
        for i in 0..<store.count {
            let hits = store.spans[i], n = hits.count
            guard n > 0, let h = hits.baseAddress else { continue }
            if let distances { for j in 0..<n { distances[at &+ j] = Int32(truncatingIfNeeded: h[j].distance) } }
            if let ids { for j in 0..<n { ids[at &+ j] = Int64(bitPattern: h[j].id) } }
            at += n
        }
    }
}

/// The queries of a batch, read in place by its workers.
private struct UnsafeQueries: @unchecked Sendable {
    let pointer: UnsafeRawPointer
    init(_ pointer: UnsafeRawPointer) { self.pointer = pointer }
}

/// The first error of a batch's workers.
private final class BatchFailure: @unchecked Sendable {
    private(set) var error: (any Error)?
    private let lock = Mutex()
    func fail(_ e: any Error) { lock.withLock { if error == nil { error = e } } }
}
