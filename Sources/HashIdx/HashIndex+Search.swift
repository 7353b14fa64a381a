import Dispatch
import Foundation
import Hamming

extension HashIndex {
    /// Every stored code within Hamming distance `radius` of `query`, inclusive, sorted by
    /// (distance, id) ascending. Exact on either path.
    /// - Parameters:
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
    /// each with its own read snapshot. Results are in query order.
    public func search(_ queries: [BinaryCode], radius: Int, path: PathChoice = .automatic,
                       threads: Int? = nil) throws(HashIdxError) -> [SearchResult] {
        guard radius >= 0 && radius <= bits else { throw .invalidRadius(radius, bits: bits) }
        for q in queries { try check(q) }
        let model = costModel
        return try runBatch(queries, threads: threads) { reader, q in
            try reader.range(q, radius: radius, choice: path, model: model)
            return reader.neighbors(maxDistance: radius)
        }
    }

    /// k-nearest-neighbour queries for many codes at once; see ``nearest(_:k:path:)``.
    public func nearest(_ queries: [BinaryCode], k: Int, path: PathChoice = .automatic,
                        threads: Int? = nil) throws(HashIdxError) -> [SearchResult] {
        guard k >= 1 else { throw .invalidK(k) }
        for q in queries { try check(q) }
        let model = costModel
        return try runBatch(queries, threads: threads) { reader, q in
            let bound = try reader.nearest(q, k: k, choice: path, model: model)
            return reader.neighbors(maxDistance: bound, limit: k)
        }
    }

    private func runBatch(_ queries: [BinaryCode], threads: Int?,
                          _ answer: @escaping @Sendable (Reader, UnsafeRawPointer) throws -> [Neighbor]) throws(HashIdxError) -> [SearchResult] {
        let workers = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, queries.count))
        let batch = BatchOutput(count: queries.count)
        let work: @Sendable (Int) -> Void = { worker in
            do {
                try self.withReader { reader in
                    var i = worker
                    while i < queries.count {
                        reader.resetScratch()
                        let start = DispatchTime.now().uptimeNanoseconds
                        let neighbors = try queries[i].bytes.withUnsafeBytes { try answer(reader, $0.baseAddress!) }
                        reader.stats.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        batch.store(SearchResult(neighbors: neighbors, statistics: reader.stats), at: i)
                        i += workers
                    }
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
