import ArgumentParser
import Foundation
import HashIdx
import Hamming

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build an index from seeded clustered codes, query it, and check every answer against a scan.")

    @Option(name: .long, help: "Number of codes.")
    var count: Int = 200_000

    @Option(name: .long, help: "Code width in bits.")
    var bits: Int = 64

    @Option(name: .long, help: "Directory for the index (default: a temporary one, removed afterwards).")
    var directory: String?

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, found \(count)") }
        guard (8...1024).contains(bits) else { throw ValidationError("--bits must be between 8 and 1024, found \(bits)") }
    }

    func run() throws {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("hashidx-demo-\(UUID().uuidString)").path
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: dir) } }
        var rng = SplitMix(seed: 2024)
        let codeBytes = (bits + 7) / 8
        let centres = (0..<max(1, count / 100)).map { _ -> [UInt8] in
            var c = randomBytes(codeBytes, &rng)
            if bits & 7 != 0 { c[codeBytes - 1] &= UInt8((1 << (bits & 7)) - 1) }
            return c
        }
        var packed = [UInt8](), ids = [UInt64]()
        packed.reserveCapacity(count * codeBytes)
        for i in 0..<count {
            var c = centres[Int(rng.next() % UInt64(centres.count))]
            for _ in 0..<Int(rng.next() % 6) { let b = Int(rng.next() % UInt64(bits)); c[b >> 3] ^= 1 << UInt8(b & 7) }
            packed += c
            ids.append(UInt64(i))
        }
        let index = try HashIndex.create(at: dir, .init(bits: bits, expectedCount: count))
        var t = Date()
        try index.insert(ids: ids, packedCodes: packed)
        print("loaded \(count) \(bits)-bit codes into \(dir) in \(String(format: "%.2f", Date().timeIntervalSince(t))) s (m = \(index.layout.count))")
        let queries = (0..<5).map { q -> BinaryCode in
            let row = Int(rng.next() % UInt64(count))
            var c = Array(packed[row * codeBytes ..< (row + 1) * codeBytes])
            c[0] ^= 1
            return try! BinaryCode(bytes: c, bits: bits)
        }
        for (i, q) in queries.enumerated() {
            t = Date()
            let range = try index.search(q, radius: 3)
            let knn = try index.nearest(q, k: 5)
            let ms = Date().timeIntervalSince(t) * 1000
            let scanRange = try index.search(q, radius: 3, path: .scan).neighbors
            let scanKnn = try index.nearest(q, k: 5, path: .scan).neighbors
            let agree = range.neighbors == scanRange && knn.neighbors == scanKnn
            print("query \(i) \(q.hex): \(range.neighbors.count) codes within r=3 (\(range.statistics.path.rawValue), \(range.statistics.lookups) lookups); 5-NN ids \(knn.neighbors.map { "\($0.id)@\($0.distance)" }.joined(separator: " ")) [\(String(format: "%.2f", ms)) ms, \(agree ? "matches a full scan" : "DIFFERS FROM A SCAN")]")
            if !agree { throw ExitCode.failure }
        }
    }
}

private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private func randomBytes(_ n: Int, _ rng: inout SplitMix) -> [UInt8] {
    (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}
