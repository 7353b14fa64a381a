import Testing
import Hamming
@testable import HashIdx

/// Codes as a supervised encoder makes them: most rows share one of a few codes (a class each),
/// so a query at one of them meets buckets of thousands of rows in every substring table. The
/// planner must see those buckets before verifying them and scan instead; a query one or two
/// bits off a crowded code may find a table whose bucket is sparse and probe it; a random query
/// must probe. Every answer equals the oracle's. The cost model is fixed (neither calibrated nor
/// measured on this machine, where a debug build's kernels are slow) so that the decisions do
/// not depend on the build.
@Suite struct SkewedCodesTests {
    @Test(arguments: [64, 100, 256])
    func fullBucketsSendQueriesToAScan(bits: Int) throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 4242 + UInt64(bits))
        let centres = (0..<4).map { _ in randomCode(bits: bits, using: &rng) }
        let data: [(id: UInt64, code: BinaryCode)] = (0..<12_000).map { i in
            let code = i % 6 == 5 ? randomCode(bits: bits, using: &rng)
                                  : perturb(centres[i % 4], flips: Int.random(in: 0...1, using: &rng), using: &rng)
            return (UInt64(7 * i + 3), code)
        }
        let index = try HashIndex.create(at: dir.sub("idx"), .init(bits: bits, expectedCount: data.count))
        var model = CostModel()
        model.adaptsToMeasurements = false
        index.costModel = model
        try index.insert(data)
        _ = try index.compact()
        var oracle = Oracle()
        oracle.insert(data)
        let crowded = Array(centres[0..<3])
        let near = [perturb(centres[1], flips: 1, using: &rng), perturb(centres[2], flips: 2, using: &rng)]
        let lonely = (0..<6).map { _ in randomCode(bits: bits, using: &rng) }
        for (q, isCrowded) in crowded.map({ ($0, true) }) + (near + lonely).map({ ($0, false) }) {
            for r in [0, 1, 3, bits / 8] {
                let got = try index.search(q, radius: r)
                #expect(got.neighbors == oracle.range(q, radius: r), "B=\(bits) r=\(r)")
                if isCrowded { #expect(got.statistics.path == .scan, "B=\(bits) r=\(r): \(got.statistics)") }
                if lonely.contains(q) && r == 0 { #expect(got.statistics.path == .probe) }
            }
            for k in [1, 10, 100] {
                let got = try index.nearest(q, k: k)
                #expect(got.neighbors == oracle.nearest(q, k: k), "B=\(bits) k=\(k)")
                if isCrowded { #expect(got.statistics.path == .scan, "B=\(bits) k=\(k): \(got.statistics)") }
            }
        }
        // A batch decides per query too: the crowded ones are scanned together, the rest probed.
        let batch = try index.nearest(crowded + near + lonely, k: 10, threads: 2)
        for (i, q) in (crowded + near + lonely).enumerated() { #expect(batch[i].neighbors == oracle.nearest(q, k: 10)) }
        #expect(batch.prefix(crowded.count).allSatisfy { $0.statistics.path == .scan })
    }

    /// Codes crowded in one substring table only (every row's first substring is one of two
    /// values, the rest random): a query near a stored code has an own bucket of half the rows
    /// in table 0 and of a row or none elsewhere. The automatic k-NN probe grows the sparse
    /// tables' thresholds and never verifies the crowded bucket; the forced probe, which grows
    /// every table in turn (multi-index hashing), verifies it at its first step. Both answers
    /// equal the oracle's.
    @Test(arguments: [64, 128])
    func nearestGrowsTheSparseTables(bits: Int) throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 77 + UInt64(bits))
        let m = 4
        let index = try HashIndex.create(at: dir.sub("idx"), .init(bits: bits, substringCount: m, expectedCount: 20_000))
        // A scan priced as on an index of a million codes, so that probing is worth trying.
        var model = CostModel()
        model.adaptsToMeasurements = false
        model.scanMicrosecondsPerCode = 0.01
        model.scanMicrosecondsPerWord = 0.01
        index.costModel = model
        let first = index.layout.widths[0]
        let prefixes = [randomCode(bits: bits, using: &rng), randomCode(bits: bits, using: &rng)]
        let data: [(id: UInt64, code: BinaryCode)] = (0..<20_000).map { i in
            // Substring 0 (bits 0..<first) from one of two prefixes, every other bit random.
            let random = randomCode(bits: bits, using: &rng), prefix = prefixes[i % 2]
            let code = try! BinaryCode(bitValues: (0..<bits).map { $0 < first ? prefix[bit: $0] : random[bit: $0] })
            return (UInt64(i), code)
        }
        try index.insert(data)
        _ = try index.compact()
        var oracle = Oracle()
        oracle.insert(data)
        for t in 0..<12 {
            // A stored code with three or four distinct bits flipped outside substring 0: its
            // nearest neighbour (that code) lies past the radius the three sparse own buckets
            // prove, so the forced probe reaches the crowded one.
            let stored = data[Int.random(in: 0..<data.count, using: &rng)].code
            var bitValues = (0..<bits).map { stored[bit: $0] }
            for b in Array(first..<bits).shuffled(using: &rng).prefix(3 + t % 2) { bitValues[b].toggle() }
            let q = try BinaryCode(bitValues: bitValues)
            let auto = try index.nearest(q, k: 1)
            let forced = try index.nearest(q, k: 1, path: .probe)
            #expect(auto.neighbors == oracle.nearest(q, k: 1), "B=\(bits) query \(t)")
            #expect(forced.neighbors == auto.neighbors, "B=\(bits) query \(t)")
            #expect(auto.statistics.path == .probe, "B=\(bits) query \(t): \(auto.statistics)")
            #expect(auto.statistics.candidates < 100, "B=\(bits) query \(t): \(auto.statistics)")
            #expect(forced.statistics.candidates > 5_000, "B=\(bits) query \(t): \(forced.statistics)")
        }
    }
}
