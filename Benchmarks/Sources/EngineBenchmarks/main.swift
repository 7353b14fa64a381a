import Benchmark
import Foundation
import Hamming
import HashIdx

// Seeded data: one million 64-bit codes (uniform), and queries that are stored codes with two
// bits flipped. Every figure is per operation; compare them with each other, not across machines.
let n = 1_000_000
var state: UInt64 = 0x2545_f491_4f6c_dd1d
func next() -> UInt64 {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17
    return state
}
let codes: [UInt64] = (0..<n).map { _ in next() }
let packed: [UInt8] = codes.withUnsafeBytes { Array($0) }
let ids = (0..<UInt64(n)).map { $0 }
let queries: [BinaryCode] = (0..<1000).map { i in
    let c = codes[(i * 7919) % n] ^ (1 << (next() % 64)) ^ (1 << (next() % 64))
    return try! BinaryCode(bytes: withUnsafeBytes(of: c) { Array($0) }, bits: 64)
}
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hashidx-bench-\(getpid())").path
defer { try? FileManager.default.removeItem(atPath: directory) }
let index = try HashIndex.create(at: directory, .init(bits: 64, expectedCount: n, noSync: true))
try index.insert(ids: ids, packedCodes: packed)

for isa in InstructionSet.allCases where isa.isSupported {
    let kernel = DistanceKernel(codeBytes: 8, instructionSet: isa)
    var out = [UInt16](repeating: 0, count: n)
    benchmark("distances, 1M x 64-bit codes, \(isa)") {
        packed.withUnsafeBytes { p in
            out.withUnsafeMutableBufferPointer { o in
                kernel.distances(query: p.baseAddress!, base: p.baseAddress!, count: n, into: o.baseAddress!)
            }
        }
    }
}

var q = 0
for r in [0, 2, 4, 6] {
    benchmark("range r=\(r), 1M x 64, one query") {
        q = (q + 1) % queries.count
        _ = try index.search(queries[q], radius: r)
    }
}
for k in [1, 10, 100] {
    benchmark("knn k=\(k), 1M x 64, one query") {
        q = (q + 1) % queries.count
        _ = try index.nearest(queries[q], k: k)
    }
}
benchmark("knn k=10, 1M x 64, batch of 64 (shared scans), per batch") {
    _ = try index.nearest(Array(queries[0..<64]), k: 10, threads: 1)
}
benchmark("range r=2, 1M x 64, forced scan") {
    q = (q + 1) % queries.count
    _ = try index.search(queries[q], radius: 2, path: .scan)
}
benchmark("compact (merge) of 1M x 64-bit codes") {
    try index.compact()
}

Benchmark.main()
