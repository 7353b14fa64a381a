import Foundation
import Testing
import Hamming
@testable import HashEval
@testable import HashIdx

@Suite struct MetricsTests {
    @Test func tieAwareAPOnHandComputedCases() {
        // One level of 2 items, 1 relevant: expected AP over both orders = (1 + 1/2)/2 = 0.75.
        let tie = DistanceHistogram(counts: [2], relevant: [1])
        #expect(abs(RankingMetrics.tieAwareAveragePrecision(tie) - 0.75) < 1e-12)
        // No ties: relevant at ranks 1 and 3 of 3 → (1 + 2/3)/2.
        let ranks = DistanceHistogram(counts: [1, 1, 1], relevant: [1, 0, 1])
        #expect(abs(RankingMetrics.tieAwareAveragePrecision(ranks) - (1 + 2.0 / 3) / 2) < 1e-12)
        // Level 0: 1 irrelevant; level 1: 3 items, 2 relevant. Enumerate the 3 orders of the level.
        // Orders (R R I): precisions 1/2, 2/3; (R I R): 1/2, 2/4; (I R R): 2/... → compute by brute force.
        let h = DistanceHistogram(counts: [1, 3], relevant: [0, 2])
        let orders: [[Bool]] = [[true, true, false], [true, false, true], [false, true, true]]
        let expected = orders.map { order -> Double in
            var hits = 0, s = 0.0
            for (t, rel) in order.enumerated() where rel { hits += 1; s += Double(hits) / Double(2 + t) }
            return s / 2
        }.reduce(0, +) / 3
        #expect(abs(RankingMetrics.tieAwareAveragePrecision(h) - expected) < 1e-12)
        // No relevant item: 0.
        #expect(RankingMetrics.tieAwareAveragePrecision(DistanceHistogram(counts: [3, 1], relevant: [0, 0])) == 0)
    }

    @Test func tieAwareAPIsTheMeanOverAllTieOrders() {
        // Brute force over every permutation within levels, on small random cases.
        var rng = SeededRandom(seed: 3)
        for _ in 0..<30 {
            let n = Int.random(in: 1...6, using: &rng)
            let distances = (0..<n).map { _ in Int.random(in: 0...2, using: &rng) }
            let relevant = (0..<n).map { _ in Bool.random(using: &rng) }
            let h = DistanceHistogram(distances: distances, isRelevant: relevant, bits: 2)
            var total = 0.0, count = 0
            func permutations(_ a: [Int]) -> [[Int]] { a.count <= 1 ? [a] : a.indices.flatMap { i in permutations(Array(a[..<i] + a[(i + 1)...])).map { [a[i]] + $0 } } }
            let levels = (0...2).map { d in distances.indices.filter { distances[$0] == d } }
            for p0 in permutations(levels[0]) { for p1 in permutations(levels[1]) { for p2 in permutations(levels[2]) {
                let order = p0 + p1 + p2
                var hits = 0, s = 0.0
                for (k, item) in order.enumerated() where relevant[item] { hits += 1; s += Double(hits) / Double(k + 1) }
                total += hits > 0 ? s / Double(hits) : 0
                count += 1
            } } }
            #expect(abs(RankingMetrics.tieAwareAveragePrecision(h) - total / Double(count)) < 1e-9)
        }
    }

    @Test func classicMetricsBreakTiesByIndex() {
        // Items 0…4 at distances [1, 0, 1, 2, 0]; relevant 0, 3, 4 → order 1, 4, 0, 2, 3.
        let r = Ranking(distances: [1, 0, 1, 2, 0], isRelevant: [true, false, false, true, true], bits: 2)
        #expect(r.order == [1, 4, 0, 2, 3])
        // Relevant at ranks 2, 3, 5: AP = (1/2 + 2/3 + 3/5)/3.
        #expect(abs(RankingMetrics.averagePrecision(r) - (0.5 + 2.0 / 3 + 0.6) / 3) < 1e-12)
        // AP@2 = (1/2)/min(2, 3).
        #expect(abs(RankingMetrics.averagePrecision(r, cutoff: 2) - 0.25) < 1e-12)
        let p = RankingMetrics.precisionRecall(r, at: 3)
        #expect(abs(p.precision - 2.0 / 3) < 1e-12 && abs(p.recall - 2.0 / 3) < 1e-12)
        // Within radius 0: items 1 and 4, one relevant; radius 1 adds 0 and 2.
        let h = DistanceHistogram(distances: [1, 0, 1, 2, 0], isRelevant: [true, false, false, true, true], bits: 2)
        #expect(RankingMetrics.withinRadius(h, radius: 0) == (0.5, 1.0 / 3, false))
        #expect(RankingMetrics.withinRadius(h, radius: 1) == (0.5, 2.0 / 3, false))
        // Empty retrieval scores 0 and is flagged.
        let far = DistanceHistogram(counts: [0, 0, 4], relevant: [0, 0, 2])
        #expect(RankingMetrics.withinRadius(far, radius: 1) == (0, 0, true))
        // Zero relevant: AP 0, recall 0.
        let none = Ranking(distances: [0, 1], isRelevant: [false, false], bits: 1)
        #expect(RankingMetrics.averagePrecision(none) == 0 && RankingMetrics.precisionRecall(none, at: 1).recall == 0)
    }

    @Test(arguments: [16, 32])
    func radiusPrecisionFromRealRangeQueriesEqualsBruteForce(bits: Int) throws {
        let dir = TemporaryDirectory()
        let db = dataset(bits: bits, count: 800, .clustered, seed: UInt64(bits))
        var rng = SeededRandom(seed: 5)
        let labels = db.indices.map { [($0 * 7 + Int.random(in: 0...1, using: &rng)) % 4] }
        let index = try HashIndex.create(at: dir.path, .init(bits: bits, substringCount: 2))
        try index.insert(ids: (0..<UInt64(db.count)).map { $0 }, packedCodes: db.flatMap(\.code.bytes))
        let qs = queries(from: db, bits: bits, count: 40, seed: 2)
        let qLabels = qs.indices.map { [$0 % 4] }
        let report = Evaluation.evaluate(database: db.flatMap(\.code.bytes), databaseLabels: labels,
                                         queries: qs.flatMap(\.bytes), queryLabels: qLabels, bits: bits, cutoffs: [10, 100], threads: 2)
        for r in [0, 1, 2, 3, bits / 4] {
            let real = try Evaluation.precisionWithinRadius(index: index, queries: qs, queryLabels: qLabels, databaseLabels: labels, radius: r)
            #expect(abs(real.precision - report.precisionWithinRadius[r]) < 1e-12, "r=\(r)")
            #expect(abs(real.empty - report.emptyWithinRadius[r]) < 1e-12)
        }
        // Brute-force means of the ranking metrics.
        var map = 0.0, p10 = 0.0
        for (i, q) in qs.enumerated() {
            let d = db.map { $0.code.distance(to: q) }
            let rel = labels.map { $0 == qLabels[i] }
            let order = d.indices.sorted { (d[$0], $0) < (d[$1], $1) }
            var hits = 0, s = 0.0
            for (k, item) in order.enumerated() where rel[item] { hits += 1; s += Double(hits) / Double(k + 1) }
            map += hits > 0 ? s / Double(hits) : 0
            p10 += Double(order.prefix(10).filter { rel[$0] }.count) / 10
        }
        #expect(abs(report.meanAveragePrecision - map / 40) < 1e-12)
        #expect(abs(report.precisionAt[10]! - p10 / 40) < 1e-12)
        #expect(report.meanAveragePrecisionTieAware > 0 && report.meanAveragePrecisionTieAware < 1)
    }
}

@Suite struct DatabaseCodesTests {
    @Test func anIndexIsADatabaseOnlyWithIdsZeroToNMinusOne() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.path, .init(bits: 16))
        let codes = try [BinaryCode(hex: "aabb", bits: 16), BinaryCode(hex: "0102", bits: 16), BinaryCode(hex: "ffee", bits: 16)]
        try index.insert([(2, codes[2]), (0, codes[0]), (1, codes[1])])
        #expect(try Evaluation.databaseCodes(index: index) == codes.flatMap(\.bytes), "codes in position order")
        try index.insert([(7, codes[0])])
        #expect(throws: EvaluationError.idsAreNotPositions(count: 4, found: 7)) { try Evaluation.databaseCodes(index: index) }
    }
}
