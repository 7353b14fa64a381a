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
    /// Evaluates `queries` (packed, ⌈B/8⌉ bytes each) against `database` (packed) by brute-force
    /// distances, on `threads` workers. `labels` are per item sets of labels.
    public static func evaluate(database: [UInt8], databaseLabels: [[Int]], queries: [UInt8], queryLabels: [[Int]], bits: Int,
                                cutoffs: [Int] = [100, 1000], threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> EvaluationReport {
        let codeBytes = (bits + 7) / 8
        let n = databaseLabels.count, q = queryLabels.count
        precondition(database.count == n * codeBytes && queries.count == q * codeBytes)
        let kernel = DistanceKernel(codeBytes: codeBytes)
        let single = databaseLabels.allSatisfy { $0.count == 1 } && queryLabels.allSatisfy { $0.count == 1 }
        let flatDB = databaseLabels.map { $0.first ?? Int.min }
        final class Partial: @unchecked Sendable {
            var values: [[Double]]
            init(_ q: Int) { values = [[Double]](repeating: [], count: q) }
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
                var row = [RankingMetrics.tieAwareAveragePrecision(h), RankingMetrics.averagePrecision(ranking)]
                for k in cutoffs { row.append(RankingMetrics.averagePrecision(ranking, cutoff: k)) }
                for k in cutoffs { let pr = RankingMetrics.precisionRecall(ranking, at: k); row += [pr.precision, pr.recall] }
                for r in 0...bits { let m = RankingMetrics.withinRadius(h, radius: r); row += [m.precision, m.recall, m.empty ? 1 : 0] }
                lock.lock(); partial.values[i] = row; lock.unlock()
                i += workers
            }
        }
        var mean = [Double](repeating: 0, count: partial.values.first?.count ?? 0)
        for row in partial.values { for j in 0..<row.count { mean[j] += row[j] / Double(max(q, 1)) } }
        var at = 2
        var mapAt: [Int: Double] = [:], pAt: [Int: Double] = [:], rAt: [Int: Double] = [:]
        for k in cutoffs { mapAt[k] = mean[at]; at += 1 }
        for k in cutoffs { pAt[k] = mean[at]; rAt[k] = mean[at + 1]; at += 2 }
        var p: [Double] = [], r: [Double] = [], e: [Double] = []
        for _ in 0...bits { p.append(mean[at]); r.append(mean[at + 1]); e.append(mean[at + 2]); at += 3 }
        return EvaluationReport(queries: q, databaseSize: n, bits: bits, meanAveragePrecisionTieAware: mean[0], meanAveragePrecision: mean[1],
                                meanAveragePrecisionAt: mapAt, precisionAt: pAt, recallAt: rAt,
                                precisionWithinRadius: p, recallWithinRadius: r, emptyWithinRadius: e)
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
