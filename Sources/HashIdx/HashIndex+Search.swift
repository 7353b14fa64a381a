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
        guard radius >= 0 && radius <= bits else { throw .invalidRadius(radius, bits: bits) }
        for q in queries { try check(q) }
        let model = costModel
        return try runBatch(queries, threads: threads, goal: { _ in .range(radius) }) { reader, q in
            try reader.range(q, radius: radius, choice: path, model: model, deferScan: true)
                ? reader.neighbors(maxDistance: radius) : nil
        }
    }

    /// k-nearest-neighbour queries for many codes at once; see ``nearest(_:k:path:)`` and
    /// ``search(_:radius:path:threads:)``.
    public func nearest(_ queries: [BinaryCode], k: Int, path: PathChoice = .automatic,
                        threads: Int? = nil) throws(HashIdxError) -> [SearchResult] {
        guard k >= 1 else { throw .invalidK(k) }
        for q in queries { try check(q) }
        let model = costModel
        return try runBatch(queries, threads: threads, goal: { reader in .nearest(min(k, reader.count)) }) { reader, q in
            guard let bound = try reader.nearest(q, k: k, choice: path, model: model, deferScan: true) else { return nil }
            return reader.neighbors(maxDistance: bound, limit: k)
        }
    }

    /// Queries scanned together in one pass over the codes: enough to reuse each chunk from
    /// cache several times, few enough that their chunk distances stay in cache too.
    static let scanGroup = 32

    /// Runs `attempt` for every query (nil means "scan me"), then scans the deferred queries in
    /// groups of ``scanGroup``. Each query's time is its attempt plus its share of its group's scan.
    private func runBatch(_ queries: [BinaryCode], threads: Int?, goal: @escaping @Sendable (Reader) -> ScanQuery.Goal,
                          _ attempt: @escaping @Sendable (Reader, UnsafeRawPointer) throws -> [Neighbor]?) throws(HashIdxError) -> [SearchResult] {
        let workers = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, queries.count))
        let batch = BatchOutput(count: queries.count)
        let codeBytes = self.codeBytes, bits = self.bits
        let work: @Sendable (Int) -> Void = { worker in
            do {
                try self.withReader { reader in
                    var deferred: [(index: Int, stats: QueryStatistics, seconds: Double)] = []
                    func flush() {
                        guard !deferred.isEmpty else { return }
                        let start = DispatchTime.now().uptimeNanoseconds
                        var packed = [UInt8]()
                        packed.reserveCapacity(deferred.count * codeBytes)
                        for d in deferred { packed += queries[d.index].bytes }
                        let g = goal(reader)
                        let states = deferred.map { _ in ScanQuery(g, bits: bits, orderedRows: reader.sealed.rows) }
                        packed.withUnsafeBytes { b in
                            reader.scan((0..<deferred.count).map { b.baseAddress! + $0 * codeBytes }, states)
                        }
                        let share = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(deferred.count)
                        for (j, d) in deferred.enumerated() {
                            var stats = d.stats
                            let assembly = DispatchTime.now().uptimeNanoseconds
                            let neighbors: [Neighbor]
                            switch g {
                            case .range(let r):
                                stats.radiusReached = r
                                neighbors = reader.neighbors(states[j].hits, maxDistance: r)
                            case .nearest(let k):
                                stats.radiusReached = states[j].limit
                                neighbors = reader.neighbors(states[j].hits, maxDistance: states[j].limit, limit: k)
                            }
                            // The query's time: its attempt, its share of the group's pass, and its own results.
                            stats.seconds = d.seconds + share + Double(DispatchTime.now().uptimeNanoseconds - assembly) / 1e9
                            batch.store(SearchResult(neighbors: neighbors, statistics: stats), at: d.index)
                        }
                        deferred.removeAll(keepingCapacity: true)
                    }
                    var i = worker
                    while i < queries.count {
                        reader.resetScratch()
                        let start = DispatchTime.now().uptimeNanoseconds
                        let neighbors = try queries[i].bytes.withUnsafeBytes { try attempt(reader, $0.baseAddress!) }
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        if let neighbors {
                            reader.stats.seconds = seconds
                            batch.store(SearchResult(neighbors: neighbors, statistics: reader.stats), at: i)
                        } else {
                            deferred.append((i, reader.stats, seconds))
                            if deferred.count == HashIndex.scanGroup { flush() }
                        }
                        i += workers
                    }
                    flush()
                    reader.resetScratch()
                }
            } catch {
                batch.fail(error)
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        if let error = batch.error { throw .wrap(error, "search") }
        return batch.results.map { $0! }
    }
}

/// Results of a batch, written by several workers at disjoint positions.
private final class BatchOutput: @unchecked Sendable {
    var results: [SearchResult?]
    private(set) var error: (any Error)?
    private let lock = Mutex()

    init(count: Int) { results = [SearchResult?](repeating: nil, count: count) }

    func store(_ result: SearchResult, at i: Int) { lock.withLock { results[i] = result } }
    func fail(_ e: any Error) { lock.withLock { if error == nil { error = e } } }
}
