import Testing
import Hamming
@testable import HashIdx

/// Every search path against a brute-force scan, over sweeps of code width, substring count,
/// radius or k, data distribution and seed.
@Suite struct SearchOracleTests {
    static let widths: [(bits: Int, substrings: [Int])] = [
        (8, [1, 2, 3]), (13, [1, 2, 3]), (16, [1, 2, 5]), (32, [2, 3, 4]), (64, [2, 3, 4, 5]),
        (100, [4, 7]), (128, [4, 6]), (256, [8, 11]),
    ]

    static var cases: [(Int, Int, Distribution)] {
        widths.flatMap { w in w.substrings.flatMap { m in Distribution.allCases.map { (w.bits, m, $0) } } }
    }

    /// Every case in every storage state.
    static var storedCases: [(Int, Int, Distribution, Storage)] {
        cases.flatMap { c in Storage.allCases.map { (c.0, c.1, c.2, $0) } }
    }

    /// How the rows are stored when the queries run.
    enum Storage: String, CaseIterable, CustomStringConvertible {
        /// Every row in the delta tables (no merge yet).
        case delta
        /// Every row sealed, with sparse ids.
        case sealed
        /// Every row sealed, with dense ids (no row-id chunks).
        case sealedDense
        /// A sealed base, rows written since, replaced and removed codes (tombstones in both parts).
        case mixed
        var description: String { rawValue }
    }

    /// Loads `data` into a new index in the given storage state; returns the index and the
    /// oracle holding exactly what the index should hold.
    static func load(_ data: [(id: UInt64, code: BinaryCode)], _ storage: Storage, at path: String, bits: Int, m: Int,
                     seed: UInt64) throws -> (HashIndex, Oracle) {
        let index = try HashIndex.create(at: path, .init(bits: bits, substringCount: m))
        index.maintenance = .manual
        var oracle = Oracle()
        var rng = SeededRandom(seed: seed ^ 0xabc)
        switch storage {
        case .delta:
            try index.insert(data)
            oracle.insert(data)
        case .sealed:
            try index.insert(data)
            oracle.insert(data)
            try index.compact()
        case .sealedDense:
            let dense = data.enumerated().map { (id: UInt64($0.offset), code: $0.element.code) }.shuffled(using: &rng)
            try index.insert(dense)
            oracle.insert(dense)
            try index.compact()
        case .mixed:
            let cut = data.count * 3 / 5
            try index.insert(Array(data[..<cut]))
            try index.compact()
            // Upsert some sealed ids, add the rest, then remove from both parts.
            let upserts = data[..<(cut / 4)].map { ($0.id, perturb($0.code, flips: 3, using: &rng)) }
            let rest = Array(data[cut...])
            try index.insert(upserts + rest)
            oracle.insert(Array(data[..<cut]) + upserts + rest)
            let victims = data.map(\.id).filter { _ in Int.random(in: 0..<6, using: &rng) == 0 }
            try index.remove(ids: victims)
            oracle.remove(victims)
        }
        return (index, oracle)
    }

    /// Forced probing is exact at any radius, but only affordable where the balls stay small.
    static func probeAffordable(_ layout: SubstringLayout, radius r: Int) -> Bool {
        let s = r / layout.count
        return layout.widths.reduce(0.0) { $0 + HammingBall.volume(width: $1, radius: s) } < 20_000
    }

    @Test(arguments: storedCases)
    func rangeEqualsBruteForce(bits: Int, m: Int, distribution: Distribution, storage: Storage) throws {
        let dir = TemporaryDirectory()
        let seed = UInt64(bits * 1009 + m * 17) &+ UInt64(distribution.rawValue.count)
        let data = dataset(bits: bits, count: 600, distribution, seed: seed)
        let (index, oracle) = try Self.load(data, storage, at: dir.path, bits: bits, m: m, seed: seed)
        #expect(try index.verify() == oracle.entries.count)
        let qs = queries(from: data, bits: bits, count: 6, seed: seed)
        let radii = Array(Set([0, 1, 2, 3, bits / 8, bits / 4, bits / 3, bits / 2, bits])).sorted()
        for q in qs {
            var previous: [Neighbor] = []
            for r in radii {
                let expected = oracle.range(q, radius: r)
                let auto = try index.search(q, radius: r)
                #expect(auto.neighbors == expected, "automatic, r=\(r)")
                #expect(try index.search(q, radius: r, path: .scan).neighbors == expected, "scan, r=\(r)")
                if Self.probeAffordable(index.layout, radius: r) {
                    let probed = try index.search(q, radius: r, path: .probe)
                    #expect(probed.neighbors == expected, "probe, r=\(r)")
                    #expect(probed.statistics.path == .probe)
                }
                // Monotone in r, exact at the r / r+1 boundary.
                #expect(Set(previous).isSubset(of: Set(auto.neighbors)))
                if r < bits {
                    let next = try index.search(q, radius: r + 1).neighbors
                    #expect(next.filter { $0.distance <= r } == auto.neighbors)
                    #expect(next.filter { $0.distance == r + 1 } == oracle.ranked(q).filter { $0.distance == r + 1 })
                }
                previous = auto.neighbors
            }
        }
    }

    @Test(arguments: storedCases)
    func nearestEqualsBruteForce(bits: Int, m: Int, distribution: Distribution, storage: Storage) throws {
        let dir = TemporaryDirectory()
        let seed = UInt64(bits * 733 + m * 5) &+ 3
        let data = dataset(bits: bits, count: 500, distribution, seed: seed)
        let (index, oracle) = try Self.load(data, storage, at: dir.path, bits: bits, m: m, seed: seed)
        for q in queries(from: data, bits: bits, count: 6, seed: seed) {
            for k in [1, 5, 100, 505] {
                let expected = oracle.nearest(q, k: k)
                #expect(try index.nearest(q, k: k).neighbors == expected, "automatic k=\(k)")
                #expect(try index.nearest(q, k: k, path: .scan).neighbors == expected, "scan k=\(k)")
                if Self.probeAffordable(index.layout, radius: expected.last!.distance + index.layout.count) {
                    let probed = try index.nearest(q, k: k, path: .probe)
                    #expect(probed.neighbors == expected, "probe k=\(k)")
                    #expect(probed.statistics.path == .probe)
                    #expect(probed.statistics.radiusReached >= expected.last!.distance)
                }
            }
        }
    }

    /// Maintenance policies for the write sequences: never merge, and merge often.
    static let policies = [MaintenancePolicy.manual, MaintenancePolicy(minimumDeltaRows: 40, deltaShare: 0.2, deadShare: 0.1)]

    @Test(arguments: [(16, 2, 0), (16, 2, 1), (64, 3, 0), (64, 3, 1), (100, 4, 0), (100, 4, 1)])
    func removesAndReinsertsKeepEveryPathExact(bits: Int, m: Int, policy: Int) throws {
        let dir = TemporaryDirectory()
        var oracle = Oracle()
        var rng = SeededRandom(seed: UInt64(bits + m))
        var index: HashIndex? = try HashIndex.create(at: dir.path, .init(bits: bits, substringCount: m))
        index!.maintenance = Self.policies[policy]
        let data = dataset(bits: bits, count: 800, .clustered, seed: 42)
        try index!.insert(data)
        oracle.insert(data)
        for round in 0..<4 {
            // Remove a random third (some ids unknown), upsert some, add some new.
            let victims = data.map(\.id).filter { _ in Int.random(in: 0..<3, using: &rng) == 0 } + [1, 2, 3]
            let removed = try index!.remove(ids: victims)
            #expect(removed == victims.filter { oracle.entries[$0] != nil }.count)
            oracle.remove(victims)
            let upserts = data.prefix(100).map { ($0.id, perturb($0.code, flips: 2, using: &rng)) }
            let fresh = (0..<50).map { (UInt64(900_000 + round * 100 + $0), randomCode(bits: bits, using: &rng)) }
            let summary = try index!.insert(upserts + fresh)
            #expect(summary.inserted + summary.replaced == 150)
            oracle.insert(upserts + fresh)
            #expect(try index!.count == oracle.entries.count)
            #expect(try index!.verify() == oracle.entries.count)
            if round == 2 {  // close and reopen
                index = nil
                index = try HashIndex.open(at: dir.path)
                index!.maintenance = Self.policies[policy]
            }
            if round == 1 { #expect(try index!.compact() == oracle.entries.count) }
            for q in queries(from: data, bits: bits, count: 4, seed: UInt64(round)) {
                for r in [0, 2, bits / 8] {
                    #expect(try index!.search(q, radius: r, path: .probe).neighbors == oracle.range(q, radius: r))
                    #expect(try index!.search(q, radius: r, path: .scan).neighbors == oracle.range(q, radius: r))
                }
                for k in [1, 10] {
                    #expect(try index!.nearest(q, k: k).neighbors == oracle.nearest(q, k: k))
                }
            }
            for e in oracle.entries.prefix(20) { #expect(try index!.code(for: e.key) == e.value) }
        }
        // Remove everything: the index is empty and still consistent.
        try index!.remove(ids: Array(oracle.entries.keys))
        #expect(try index!.count == 0)
        #expect(try index!.verify() == 0)
        #expect(try index!.nearest(randomCode(bits: bits, using: &rng), k: 3).neighbors.isEmpty)
    }

    @Test func batchQueriesMatchSingleQueries() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.path, .init(bits: 64, substringCount: 3))
        let data = dataset(bits: 64, count: 2000, .clustered, seed: 9)
        try index.insert(data)
        let qs = queries(from: data, bits: 64, count: 40, seed: 9)
        let batch = try index.search(qs, radius: 6, threads: 2)
        let knn = try index.nearest(qs, k: 7, threads: 2)
        for (i, q) in qs.enumerated() {
            #expect(batch[i].neighbors == (try index.search(q, radius: 6).neighbors))
            #expect(knn[i].neighbors == (try index.nearest(q, k: 7).neighbors))
        }
    }

    /// Batches whose queries are scanned together (8 per pass over the codes) answer exactly as
    /// the oracle does, over sealed and recent rows with tombstones, on one and two workers.
    @Test(arguments: [(64, 3), (256, 8), (100, 4)])
    func groupedScansAreExact(bits: Int, m: Int) throws {
        let dir = TemporaryDirectory()
        let data = dataset(bits: bits, count: 900, .clustered, seed: UInt64(bits))
        let (index, oracle) = try Self.load(data, .mixed, at: dir.path, bits: bits, m: m, seed: 4)
        let qs = queries(from: data, bits: bits, count: 21, seed: 11)
        for threads in [1, 2] {
            for path in [PathChoice.scan, .automatic] {
                for r in [0, bits / 8, bits / 3] {
                    let got = try index.search(qs, radius: r, path: path, threads: threads)
                    for (i, q) in qs.enumerated() { #expect(got[i].neighbors == oracle.range(q, radius: r), "r=\(r) query \(i)") }
                }
                for k in [1, 7, 950] {
                    let got = try index.nearest(qs, k: k, path: path, threads: threads)
                    for (i, q) in qs.enumerated() {
                        #expect(got[i].neighbors == oracle.nearest(q, k: k), "k=\(k) query \(i)")
                        if path == .scan { #expect(got[i].statistics.path == .scan && got[i].statistics.radiusReached >= (got[i].neighbors.last?.distance ?? 0)) }
                    }
                }
            }
        }
    }

    @Test func statisticsDescribeTheWork() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.path, .init(bits: 32, substringCount: 2))
        let data = dataset(bits: 32, count: 300, .uniform, seed: 5)
        try index.insert(data)
        let exact = try index.search(data[7].code, radius: 0, path: .probe)
        #expect(exact.statistics.lookups == 1)              // r = 0: one table, one key (pigeonhole)
        #expect(exact.statistics.candidates >= 1)
        #expect(exact.neighbors.first == Neighbor(id: data[7].id, distance: 0))
        let scanned = try index.search(data[7].code, radius: 0, path: .scan)
        #expect(scanned.statistics.path == .scan && scanned.statistics.candidates == 300 && scanned.statistics.lookups == 0)
        #expect(exact.statistics.seconds >= 0)
    }
}
