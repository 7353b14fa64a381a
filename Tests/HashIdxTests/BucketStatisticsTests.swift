import Testing
import Hamming
import LMDB
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

    /// A damaged directory cell is refused; a damaged row number is left out; neither is read
    /// past the postings (bytes changed in place, the checksums not consulted).
    @Test(arguments: [Format.SealedKind.directory, .rows]) func damagedPostingsAreRefusedOrSkipped(kind: Format.SealedKind) throws {
        let dir = TemporaryDirectory()
        let data = dataset(bits: 64, count: 2000, .uniform, seed: 77)
        do {
            let index = try HashIndex.create(at: dir.path, .init(bits: 64, substringCount: 4))
            try index.insert(data)
            try index.compact()
            index.close()
        }
        do {
            let env = try Environment(path: dir.path, mapSize: 1 << 20, maxDatabases: 64)
            try env.setMapSize(0)
            let txn = try env.begin(readOnly: false)
            let db = try txn.openDatabase(Format.sealedTable)
            let key = Format.sealedChunkKey(table: 1, kind: kind, chunk: 0)
            var value = try #require(try key.withUnsafeBytes { try txn.get(db, key: $0) }.map { Array($0) })
            // The middle directory entry far past the postings; the first posting's row past every row.
            let at = kind == .directory ? (value.count / 8) * 4 : 0
            for b in 0..<4 { value[at + b] = 0xff }
            try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try txn.put(db, key: k, value: v) } }
            try txn.commit()
        }
        let index = try HashIndex.open(at: dir.path, mode: .readOnly)
        if kind == .directory {
            #expect { try index.bucketStatistics() } throws: { error in
                guard case .corrupt(let what) = error as? HashIdxError else { return false }
                return what.contains("sealed table 1 has directory cell")
            }
        } else {
            let stats = try index.bucketStatistics()
            #expect(stats.map(\.rows) == [2000, 1999, 2000, 2000])
        }
        // Queries on the damaged table answer or name the damage; they never read past it.
        for (_, code) in data.prefix(200) {
            for path in [PathChoice.probe, .automatic] {
                _ = try? index.search(code, radius: 8, path: path)
                _ = try? index.nearest(code, k: 5, path: path)
            }
        }
        #expect(throws: HashIdxError.self) { try index.verify() }
    }

    @Test func emptyIndexAndBadArgument() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.path, .init(bits: 64, substringCount: 4))
        let stats = try index.bucketStatistics()
        #expect(stats.map(\.buckets) == [0, 0, 0, 0] && stats.allSatisfy { $0.histogram.isEmpty && $0.largest.isEmpty && $0.rowsSharingABucket == 0 })
        #expect(throws: HashIdxError.invalidArgument("largest must be at least 0, found -1")) { try index.bucketStatistics(largest: -1) }
    }
}
