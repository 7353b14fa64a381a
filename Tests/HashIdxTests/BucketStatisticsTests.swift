import Testing
import Hamming
@testable import HashIdx

/// Bucket statistics against a count made from the oracle's codes, over widths, substring
/// counts, distributions and every storage state (delta rows, sealed rows, both with removed
/// and replaced codes).
@Suite struct BucketStatisticsTests {
    static let cases: [(Int, Int, Distribution, SearchOracleTests.Storage)] = [
        (13, 2, .clustered, .delta), (32, 3, .uniform, .sealed), (32, 3, .duplicates, .mixed), (64, 4, .clustered, .mixed),
        (64, 4, .duplicates, .sealedDense), (100, 7, .uniform, .mixed), (256, 11, .clustered, .delta), (256, 8, .duplicates, .mixed),
    ]

    @Test(arguments: cases)
    func countsEqualTheOracles(bits: Int, m: Int, distribution: Distribution, storage: SearchOracleTests.Storage) throws {
        let dir = TemporaryDirectory()
        let seed = UInt64(bits * 31 + m) &+ UInt64(distribution.rawValue.count)
        let data = dataset(bits: bits, count: 500, distribution, seed: seed)
        let (index, oracle) = try SearchOracleTests.load(data, storage, at: dir.path, bits: bits, m: m, seed: seed)
        let largest = 4
        let stats = try index.bucketStatistics(largest: largest)
        #expect(stats.count == index.layout.count)
        for (k, s) in stats.enumerated() {
            var sizes: [UInt32: Int] = [:]
            for code in oracle.entries.values { sizes[index.layout.values(of: code)[k], default: 0] += 1 }
            #expect(s.table == k && s.bits == index.layout.widths[k])
            #expect(s.buckets == sizes.count, "table \(k)")
            #expect(s.rows == oracle.entries.count, "table \(k)")
            var histogram = [Int](repeating: 0, count: s.histogram.count)
            for n in sizes.values { histogram[Int.bitWidth - 1 - n.leadingZeroBitCount] += 1 }
            #expect(s.histogram == histogram, "table \(k)")
            #expect(s.histogram.last.map { $0 > 0 } ?? true, "no empty top level")
            let top = sizes.map { BucketStatistics.Bucket(key: $0.key, rows: $0.value) }
                .sorted { ($0.rows, $1.key) > ($1.rows, $0.key) }.prefix(largest)
            #expect(s.largest == Array(top), "table \(k)")
            let squares = sizes.values.reduce(0.0) { $0 + Double($1) * Double($1) }
            #expect(abs(s.rowsSharingABucket - squares / Double(oracle.entries.count)) < 1e-9, "table \(k)")
        }
    }

    @Test func emptyIndexAndBadArgument() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.path, .init(bits: 64, substringCount: 4))
        let stats = try index.bucketStatistics()
        #expect(stats.map(\.buckets) == [0, 0, 0, 0] && stats.allSatisfy { $0.histogram.isEmpty && $0.largest.isEmpty && $0.rowsSharingABucket == 0 })
        #expect(throws: HashIdxError.invalidArgument("largest must be at least 0, found -1")) { try index.bucketStatistics(largest: -1) }
    }
}
