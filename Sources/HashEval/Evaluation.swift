import Dispatch
import Foundation
import Hamming
import HashIdx

/// Mean retrieval metrics of a set of queries against a database of codes, relevance from class
/// labels (relevant = same label; with several labels per item: sharing any label).
public struct EvaluationReport: Sendable, Codable, Equatable {
    public var queries: Int
    public var databaseSize: Int
    public var bits: Int
    /// Mean tie-aware AP over the whole ranking.
    public var meanAveragePrecisionTieAware: Double
    /// Mean classic AP, ties by ascending database index.
    public var meanAveragePrecision: Double
    /// Mean AP of the top K (ties by index), per K.
    public var meanAveragePrecisionAt: [Int: Double]
    /// Mean precision and recall of the top N (ties by index), per N.
    public var precisionAt: [Int: Double]
    public var recallAt: [Int: Double]
    /// Mean precision within radius r (empty retrievals score 0), mean recall, and the fraction
    /// of empty retrievals, for r = 0…B. Index r of each array is radius r.
    public var precisionWithinRadius: [Double]
    public var recallWithinRadius: [Double]
    public var emptyWithinRadius: [Double]
}

/// Why an evaluation cannot run.
public enum EvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An index evaluated as a database must hold ids 0…N−1 (database positions).
    case idsAreNotPositions(count: Int, found: UInt64)

    public var description: String {
        switch self {
        case .idsAreNotPositions(let n, let id):
            return "expected ids 0…\(n - 1) (database positions) for evaluation, found id \(id)"
        }
    }
}

public enum Evaluation {
    /// One query's metrics, before averaging.
    struct QueryMetrics {
        var tieAwareAP = 0.0
        var averagePrecision = 0.0
        /// Per cutoff, in the order given.
        var averagePrecisionAt: [Double] = []
        var precisionAt: [Double] = []
        var recallAt: [Double] = []
        /// Per radius r = 0…B.
        var precisionWithinRadius: [Double] = []
        var recallWithinRadius: [Double] = []
        var emptyWithinRadius: [Double] = []
    }

    /// Evaluates `queries` (packed, ⌈B/8⌉ bytes each) against `database` (packed) by brute-force
    /// distances, on `threads` workers. `labels` are per item sets of labels. `progress` is called
    /// (from any worker, one call at a time) with the number of queries done so far.
    public static func evaluate(database: [UInt8], databaseLabels: [[Int]], queries: [UInt8], queryLabels: [[Int]], bits: Int,
                                cutoffs: [Int] = [100, 1000], threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                                progress: (@Sendable (Int) -> Void)? = nil) -> EvaluationReport {
        let codeBytes = (bits + 7) / 8
        let n = databaseLabels.count, q = queryLabels.count
        precondition(database.count == n * codeBytes && queries.count == q * codeBytes)
        let kernel = DistanceKernel(codeBytes: codeBytes)
        let single = databaseLabels.allSatisfy { $0.count == 1 } && queryLabels.allSatisfy { $0.count == 1 }
        let flatDB = databaseLabels.map { $0.first ?? Int.min }
        final class Partial: @unchecked Sendable {
            var values: [QueryMetrics]
            var done = 0
            init(_ q: Int) { values = [QueryMetrics](repeating: QueryMetrics(), count: q) }
        }
        let partial = Partial(q)
        let lock = NSLock()
        let workers = max(1, min(threads, q))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var distances16 = [UInt16](repeating: 0, count: n)
            var i = w
            while i < q {
                database.withUnsafeBytes { db in
                    queries.withUnsafeBytes { qs in
                        distances16.withUnsafeMutableBufferPointer { out in
                            kernel.distances(query: qs.baseAddress! + i * codeBytes, base: db.baseAddress!, count: n, into: out.baseAddress!)
                        }
                    }
                }
                let distances = distances16.map(Int.init)
                let relevant: [Bool]
                if single { let l = queryLabels[i][0]; relevant = flatDB.map { $0 == l } } else {
                    let ls = Set(queryLabels[i]); relevant = databaseLabels.map { !ls.isDisjoint(with: $0) }
                }
                let h = DistanceHistogram(distances: distances, isRelevant: relevant, bits: bits)
                let ranking = Ranking(distances: distances, isRelevant: relevant, bits: bits)
                var m = QueryMetrics()
                m.tieAwareAP = RankingMetrics.tieAwareAveragePrecision(h)
                m.averagePrecision = RankingMetrics.averagePrecision(ranking)
                for k in cutoffs {
                    m.averagePrecisionAt.append(RankingMetrics.averagePrecision(ranking, cutoff: k))
                    let pr = RankingMetrics.precisionRecall(ranking, at: k)
                    m.precisionAt.append(pr.precision)
                    m.recallAt.append(pr.recall)
                }
                for r in 0...bits {
                    let w = RankingMetrics.withinRadius(h, radius: r)
                    m.precisionWithinRadius.append(w.precision)
                    m.recallWithinRadius.append(w.recall)
                    m.emptyWithinRadius.append(w.empty ? 1 : 0)
                }
                lock.lock()
                partial.values[i] = m
                partial.done += 1
                progress?(partial.done)
                lock.unlock()
                i += workers
            }
        }
        let all = partial.values, count = Double(max(q, 1))
        func mean(_ f: (QueryMetrics) -> Double) -> Double { all.reduce(0) { $0 + f($1) } / count }
        func means(_ f: (QueryMetrics) -> [Double], _ size: Int) -> [Double] {
            (0..<size).map { j in all.reduce(0) { $0 + f($1)[j] } / count }
        }
        let apAt = means(\.averagePrecisionAt, cutoffs.count), pAt = means(\.precisionAt, cutoffs.count), rAt = means(\.recallAt, cutoffs.count)
        return EvaluationReport(queries: q, databaseSize: n, bits: bits,
                                meanAveragePrecisionTieAware: mean(\.tieAwareAP), meanAveragePrecision: mean(\.averagePrecision),
                                meanAveragePrecisionAt: Dictionary(zip(cutoffs, apAt), uniquingKeysWith: { a, _ in a }),
                                precisionAt: Dictionary(zip(cutoffs, pAt), uniquingKeysWith: { a, _ in a }),
                                recallAt: Dictionary(zip(cutoffs, rAt), uniquingKeysWith: { a, _ in a }),
                                precisionWithinRadius: means(\.precisionWithinRadius, bits + 1),
                                recallWithinRadius: means(\.recallWithinRadius, bits + 1),
                                emptyWithinRadius: means(\.emptyWithinRadius, bits + 1))
    }

    /// Precision within radius `radius` from real range queries on `index`, whose ids must be the
    /// database positions (0…N−1) that `databaseLabels` describes: (mean precision with empty = 0,
    /// fraction of empty retrievals).
    /// The codes of an index whose ids are database positions 0…N−1, packed back to back in
    /// position order (the database side of an evaluation).
    /// - Throws: ``EvaluationError/idsAreNotPositions(count:found:)`` if the ids are not 0…N−1, or a ``HashIdx/HashIdxError``.
    public static func databaseCodes(index: HashIndex) throws -> [UInt8] {
        let exported = try index.exportCodes()
        let n = exported.ids.count, cb = index.codeBytes
        var out = [UInt8](repeating: 0, count: n * cb)
        var seen = [Bool](repeating: false, count: n)
        for (row, id) in exported.ids.enumerated() {
            guard id < UInt64(n), !seen[Int(id)] else { throw EvaluationError.idsAreNotPositions(count: n, found: id) }
            seen[Int(id)] = true
            out.replaceSubrange(Int(id) * cb ..< (Int(id) + 1) * cb, with: exported.packed[row * cb ..< (row + 1) * cb])
        }
        return out
    }

    public static func precisionWithinRadius(index: HashIndex, queries: [BinaryCode], queryLabels: [[Int]], databaseLabels: [[Int]],
                                             radius: Int) throws -> (precision: Double, empty: Double) {
        let results = try index.search(queries, radius: radius)
        var precision = 0.0, empty = 0.0
        for (i, r) in results.enumerated() {
            if r.neighbors.isEmpty { empty += 1; continue }
            let ls = Set(queryLabels[i])
            let hits = r.neighbors.filter { !ls.isDisjoint(with: databaseLabels[Int($0.id)]) }.count
            precision += Double(hits) / Double(r.neighbors.count)
        }
        return (precision / Double(max(queries.count, 1)), empty / Double(max(queries.count, 1)))
    }
}
