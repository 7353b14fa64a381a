/// Retrieval metrics of one query, computed from its ranking of the database by Hamming
/// distance. Relevance is given per database item; ties are handled as each function states.
public enum RankingMetrics {
    /// Tie-aware average precision (He et al., CVPR 2018): the expected AP over uniformly random
    /// orders within each distance level. With n_d items at distance d, n⁺_d of them relevant,
    /// N_<d and N⁺_<d the counts before level d, and N⁺ all relevant items:
    ///
    ///     AP = (1/N⁺) Σ_d n⁺_d · (1/n_d) Σ_{t=1…n_d} [N⁺_<d + 1 + (t−1)(n⁺_d − 1)/(n_d − 1)] / (N_<d + t)
    ///
    /// (the (t−1)/(n_d−1) factor is 0 when n_d = 1). A query with no relevant item scores 0.
    /// O(N) over the levels.
    public static func tieAwareAveragePrecision(_ h: DistanceHistogram) -> Double {
        let total = h.relevantTotal
        guard total > 0 else { return 0 }
        var ap = 0.0
        var before = 0, relevantBefore = 0
        for d in 0..<h.counts.count {
            let n = h.counts[d], r = h.relevant[d]
            if n == 0 { continue }
            if r > 0 {
                var sum = 0.0
                for t in 1...n {
                    let extra = n > 1 ? Double(t - 1) * Double(r - 1) / Double(n - 1) : 0
                    sum += (Double(relevantBefore) + 1 + extra) / Double(before + t)
                }
                ap += Double(r) * sum / Double(n)
            }
            before += n
            relevantBefore += r
        }
        return ap / Double(total)
    }

    /// Classic average precision over the full ranking with ties broken by ascending database
    /// index: (1/N⁺) Σ over relevant ranks k of precision@k. 0 with no relevant item.
    public static func averagePrecision(_ ranking: Ranking) -> Double {
        averagePrecision(ranking, cutoff: ranking.order.count)
    }

    /// Average precision of the top `cutoff` (ties by ascending index):
    /// Σ_{k ≤ K, relevant} precision@k / min(K, N⁺). 0 with no relevant item.
    public static func averagePrecision(_ ranking: Ranking, cutoff k: Int) -> Double {
        let total = ranking.relevantTotal
        guard total > 0, k > 0 else { return 0 }
        var hits = 0, sum = 0.0
        for (rank, item) in ranking.order.prefix(k).enumerated() where ranking.isRelevant[item] {
            hits += 1
            sum += Double(hits) / Double(rank + 1)
        }
        return sum / Double(min(k, total))
    }

    /// Precision and recall of the first `n` items (ties by ascending index). Precision divides by
    /// min(n, N) items; recall by N⁺ (0 when N⁺ = 0).
    public static func precisionRecall(_ ranking: Ranking, at n: Int) -> (precision: Double, recall: Double) {
        let top = ranking.order.prefix(n)
        guard !top.isEmpty else { return (0, 0) }
        let hits = top.reduce(0) { $0 + (ranking.isRelevant[$1] ? 1 : 0) }
        return (Double(hits) / Double(top.count), ranking.relevantTotal > 0 ? Double(hits) / Double(ranking.relevantTotal) : 0)
    }

    /// Precision and recall within Hamming radius r (distance ≤ r, inclusive). An empty
    /// retrieval has precision 0 and is flagged `empty`; recall divides by N⁺ (0 when N⁺ = 0).
    public static func withinRadius(_ h: DistanceHistogram, radius r: Int) -> (precision: Double, recall: Double, empty: Bool) {
        var retrieved = 0, relevant = 0
        for d in 0...min(r, h.counts.count - 1) { retrieved += h.counts[d]; relevant += h.relevant[d] }
        if retrieved == 0 { return (0, 0, true) }
        return (Double(relevant) / Double(retrieved), h.relevantTotal > 0 ? Double(relevant) / Double(h.relevantTotal) : 0, false)
    }
}

/// Per-distance counts of one query's database: `counts[d]` items at distance d, `relevant[d]`
/// of them relevant (d = 0…B).
public struct DistanceHistogram: Equatable, Sendable {
    public var counts: [Int]
    public var relevant: [Int]
    public var relevantTotal: Int { relevant.reduce(0, +) }

    public init(counts: [Int], relevant: [Int]) {
        precondition(counts.count == relevant.count)
        self.counts = counts
        self.relevant = relevant
    }

    /// From per-item distances and relevance.
    public init(distances: [Int], isRelevant: [Bool], bits: Int) {
        var c = [Int](repeating: 0, count: bits + 1), r = c
        for (i, d) in distances.enumerated() { c[d] += 1; if isRelevant[i] { r[d] += 1 } }
        self.init(counts: c, relevant: r)
    }
}

/// The database ordered by (distance, index) for one query, with relevance per item.
public struct Ranking: Sendable {
    /// Database indices, nearest first, ties by ascending index.
    public var order: [Int]
    public var isRelevant: [Bool]
    public var relevantTotal: Int

    /// Counting sort of the distances (0…bits): stable, so ties keep ascending index order.
    public init(distances: [Int], isRelevant: [Bool], bits: Int) {
        var start = [Int](repeating: 0, count: bits + 2)
        for d in distances { start[d + 1] += 1 }
        for d in 0...bits { start[d + 1] += start[d] }
        var order = [Int](repeating: 0, count: distances.count)
        for (i, d) in distances.enumerated() { order[start[d]] = i; start[d] += 1 }
        self.order = order
        self.isRelevant = isRelevant
        self.relevantTotal = isRelevant.reduce(0) { $0 + ($1 ? 1 : 0) }
    }
}
