import Foundation
import Hamming
import HashData
import HashEncoders
import HashIdxVectors
@testable import HashIdx

/// A fresh temporary directory per test (Swift Testing runs tests in parallel).
final class TemporaryDirectory {
    let path: String
    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("hashidx-\(safe)-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func sub(_ name: String) -> String { path + "/" + name }
}

/// The tests draw from the library's seeded generator.
typealias SeededRandom = SeededGenerator

enum Distribution: String, CaseIterable, CustomStringConvertible {
    case uniform, clustered, duplicates
    var description: String { rawValue }
}

/// Random codes of `bits` bits with the unused high bits zero.
func randomCode(bits: Int, using rng: inout SeededRandom) -> BinaryCode {
    var bytes = (0..<(bits + 7) / 8).map { _ in UInt8.random(in: 0...255, using: &rng) }
    if bits & 7 != 0 { bytes[bytes.count - 1] &= UInt8((1 << (bits & 7)) - 1) }
    return try! BinaryCode(bytes: bytes, bits: bits)
}

/// `code` with `flips` random bits flipped.
func perturb(_ code: BinaryCode, flips: Int, using rng: inout SeededRandom) -> BinaryCode {
    var bytes = code.bytes
    for _ in 0..<flips {
        let i = Int.random(in: 0..<code.bits, using: &rng)
        bytes[i >> 3] ^= 1 << UInt8(i & 7)
    }
    return try! BinaryCode(bytes: bytes, bits: code.bits)
}

/// `n` codes drawn from `distribution`, with ids 1000 + 7·i (not equal to rows).
func dataset(bits: Int, count n: Int, _ distribution: Distribution, seed: UInt64) -> [(id: UInt64, code: BinaryCode)] {
    var rng = SeededRandom(seed: seed)
    switch distribution {
    case .uniform:
        return (0..<n).map { (UInt64(1000 + 7 * $0), randomCode(bits: bits, using: &rng)) }
    case .clustered:
        let centres = (0..<max(1, n / 50)).map { _ in randomCode(bits: bits, using: &rng) }
        return (0..<n).map { i in
            let c = centres[Int.random(in: 0..<centres.count, using: &rng)]
            return (UInt64(1000 + 7 * i), perturb(c, flips: Int.random(in: 0...max(1, bits / 16), using: &rng), using: &rng))
        }
    case .duplicates:
        let pool = (0..<max(1, n / 20)).map { _ in randomCode(bits: bits, using: &rng) }
        return (0..<n).map { (UInt64(1000 + 7 * $0), pool[Int.random(in: 0..<pool.count, using: &rng)]) }
    }
}

/// Queries: half near stored codes, half random.
func queries(from data: [(id: UInt64, code: BinaryCode)], bits: Int, count: Int, seed: UInt64) -> [BinaryCode] {
    var rng = SeededRandom(seed: seed ^ 0xABCDEF)
    return (0..<count).map { i in
        if i % 2 == 0, !data.isEmpty {
            return perturb(data[Int.random(in: 0..<data.count, using: &rng)].code, flips: Int.random(in: 0...3, using: &rng), using: &rng)
        }
        return randomCode(bits: bits, using: &rng)
    }
}

/// The brute-force oracle: every stored (id, code) sorted by (distance, id).
struct Oracle {
    var entries: [UInt64: BinaryCode] = [:]

    mutating func insert(_ batch: [(id: UInt64, code: BinaryCode)]) { for e in batch { entries[e.id] = e.code } }
    mutating func remove(_ ids: [UInt64]) { for id in ids { entries[id] = nil } }

    func ranked(_ q: BinaryCode) -> [Neighbor] {
        entries.map { Neighbor(id: $0.key, distance: $0.value.distance(to: q)) }
            .sorted { ($0.distance, $0.id) < ($1.distance, $1.id) }
    }
    func range(_ q: BinaryCode, radius: Int) -> [Neighbor] { ranked(q).filter { $0.distance <= radius } }
    func nearest(_ q: BinaryCode, k: Int) -> [Neighbor] { Array(ranked(q).prefix(k)) }
}

/// A float32 .npy file of `rows` × `columns` seeded values k/levels, k in 0..<levels.
func writeRandomVectors(_ path: String, rows: Int, columns: Int, seed: UInt64, levels: UInt64 = 1000) throws {
    var rng = SeededRandom(seed: seed)
    var values = [Float](repeating: 0, count: rows * columns)
    for i in values.indices { values[i] = Float(rng.next() % levels) / Float(levels) }
    try Data(NpyWriter.file(descr: "<f4", shape: [rows, columns], data: values.withUnsafeBytes { Array($0) })).write(to: URL(fileURLWithPath: path))
}
