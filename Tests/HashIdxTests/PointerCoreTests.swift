import Dispatch
import Foundation
import Testing
import Hamming
@testable import HashIdx

/// The batched calls over packed query bytes and caller-owned buffers (what the C API and the
/// Python package stand on), against the brute-force oracle.
@Suite struct PointerCoreTests {
    static let cases: [(bits: Int, m: Int, distribution: Distribution)] = [
        (13, 2, .uniform), (64, 4, .clustered), (64, 3, .duplicates), (100, 5, .clustered), (256, 8, .uniform),
    ]

    @Test(arguments: cases.indices)
    func nearestAndRangeFillFaissShapedBuffers(_ c: Int) throws {
        let (bits, m, distribution) = Self.cases[c]
        let dir = TemporaryDirectory()
        let data = dataset(bits: bits, count: 700, distribution, seed: UInt64(c))
        let (index, oracle) = try SearchOracleTests.load(data, .mixed, at: dir.sub("i"), bits: bits, m: m, seed: UInt64(c))
        let qs = queries(from: data, bits: bits, count: 24, seed: UInt64(c))
        let packed = qs.flatMap(\.bytes)
        let stored = oracle.entries.count
        for k in [1, 5, 40, stored + 3] {
            // A forced probe for far neighbours of wide uniform codes enumerates huge balls: the
            // oracle suites cover that path; here it runs where it stays small.
            for path in bits <= 64 && k <= 40 ? [PathChoice.automatic, .probe, .scan] : [.automatic, .scan] {
                var distances = [Int32](repeating: 7, count: qs.count * k)
                var ids = [Int64](repeating: 7, count: qs.count * k)
                var stats = [QueryStatistics](repeating: QueryStatistics(), count: qs.count)
                try packed.withUnsafeBytes { q in
                    try index.nearest(packedQueries: q, k: k, distances: &distances, ids: &ids, statistics: &stats, path: path, threads: 2)
                }
                for (i, query) in qs.enumerated() {
                    let want = oracle.nearest(query, k: k)
                    for j in 0..<k {
                        if j < want.count {
                            #expect(distances[i * k + j] == Int32(want[j].distance) && ids[i * k + j] == Int64(want[j].id),
                                    "k=\(k) \(path) query \(i) slot \(j)")
                        } else {
                            #expect(distances[i * k + j] == -1 && ids[i * k + j] == -1, "padding k=\(k) query \(i) slot \(j)")
                        }
                    }
                    if path == .scan { #expect(stats[i].path == .scan) }
                }
            }
        }
        // Radii up to the whole width: answers of every size, from none to every stored code
        // (which fill the batch's result chunks and need chunks of their own), on one worker
        // and on two (each query's answer written by whichever worker took it).
        for r in [0, 2, bits / 8, bits / 8 + 1, bits / 3, bits] {
            for threads in [1, 2] {
                for path in bits <= 64 && r <= bits / 8 + 1 ? [PathChoice.automatic, .probe, .scan] : [.automatic, .scan] {
                    let result = try packed.withUnsafeBytes { try index.search(packedQueries: $0, radius: r, path: path, threads: threads) }
                    #expect(result.lims.count == qs.count + 1 && result.lims[0] == 0)
                    let distances = result.distances, ids = result.ids, answers = result.results
                    #expect(distances.count == result.lims[qs.count] && ids.count == distances.count && result.count == ids.count)
                    #expect(answers.count == qs.count && result.statistics.count == qs.count)
                    for (i, query) in qs.enumerated() {
                        let want = oracle.range(query, radius: r)
                        let got = (result.lims[i]..<result.lims[i + 1]).map { Neighbor(id: UInt64(bitPattern: ids[$0]), distance: Int(distances[$0])) }
                        #expect(got == want, "r=\(r) \(path) threads \(threads) query \(i)")
                        #expect(answers[i].neighbors == want && answers[i].statistics == result.statistics[i])
                        if path == .scan { #expect(result.statistics[i].path == .scan) }
                    }
                }
            }
        }
    }

    /// Packed queries are checked before any slot is written: a partial code, a padding bit.
    @Test func packedQueriesAreChecked() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.sub("i"), .init(bits: 12, substringCount: 2))
        try index.insert(ids: [1, 2], packedCodes: [0x01, 0x00, 0xFF, 0x0F])
        var d = [Int32](repeating: 9, count: 2), ids = [Int64](repeating: 9, count: 2)
        #expect(throws: HashIdxError.code(.paddingBitsSet(bits: 12))) {
            try [UInt8]([0x00, 0x10]).withUnsafeBytes { try index.nearest(packedQueries: $0, k: 2, distances: &d, ids: &ids) }
        }
        #expect(d == [9, 9] && ids == [9, 9])
        #expect(throws: HashIdxError.self) {
            try [UInt8]([0x00, 0x00, 0x00]).withUnsafeBytes { try index.nearest(packedQueries: $0, k: 2, distances: &d, ids: &ids) }
        }
        #expect(throws: HashIdxError.invalidK(0)) {
            try [UInt8]([0x00, 0x00]).withUnsafeBytes { try index.nearest(packedQueries: $0, k: 0, distances: &d, ids: &ids) }
        }
        #expect(throws: HashIdxError.invalidArgument("threads must be at least 1, found 0")) {
            try [UInt8]([0x00, 0x00]).withUnsafeBytes { try index.nearest(packedQueries: $0, k: 1, distances: &d, ids: &ids, threads: 0) }
        }
        let none = try [UInt8]().withUnsafeBytes { try index.search(packedQueries: $0, radius: 3) }
        #expect(none.lims == [0] && none.ids.isEmpty)
        try [UInt8]([0xFF, 0x0F]).withUnsafeBytes { try index.nearest(packedQueries: $0, k: 2, distances: &d, ids: &ids) }
        #expect(d == [0, 11] && ids == [2, 1])
    }

    /// Status numbers are part of the C API: fixed, distinct, named.
    @Test func statusNumbersAreStable() {
        #expect(HashIdxStatus.allCases.map(\.rawValue) == Array(0...20))
        #expect(Set(HashIdxStatus.allCases.map(\.name)).count == HashIdxStatus.allCases.count)
        #expect(HashIdxError.closed(path: "x").status == .closed)
        #expect(HashIdxError.invalidK(0).status.rawValue == 5)
        #expect(HashIdxError.full("x").status.rawValue == 17)
    }
}

/// `close()` against every operation running on other threads: nothing hangs, every call
/// either completes or throws `closed`, and every write that returned is in the index after.
@Suite struct CloseConcurrencyTests {
    enum Operation: String, CaseIterable { case insert, remove, search, nearest, count, compact, verify, export, statistics, sync }

    @Test(arguments: Operation.allCases)
    func closeWhileRunning(_ operation: Operation) throws {
        let dir = TemporaryDirectory()
        for round in 0..<6 {
            let path = dir.sub("i\(round)")
            // 256-bit codes, 16 substrings, a 1 MiB map: writes grow the map (the old deadlock).
            let index = try HashIndex.create(at: path, .init(bits: 256, substringCount: 16, initialMapSize: 1 << 20, noSync: true))
            index.maintenance = .manual
            let seed = dataset(bits: 256, count: 300, .uniform, seed: UInt64(round))
            try index.insert(seed)
            let committed = Committed(seed.map(\.id))
            let done = DispatchSemaphore(value: 0)
            let started = DispatchSemaphore(value: 0)
            let failure = Committed([])
            Thread.detachNewThread {
                var rng = SeededRandom(seed: UInt64(round) + 77)
                var first = true
                for batch in 0..<200 {
                    if first { started.signal(); first = false }
                    do {
                        switch operation {
                        case .insert:
                            let b = (0..<1000).map { (id: UInt64(1_000_000 + batch * 1000 + $0), code: randomCode(bits: 256, using: &rng)) }
                            try index.insert(b)
                            committed.add(b.map(\.id))
                        case .remove: try index.remove(ids: [UInt64(1000 + 7 * (batch % 300))])
                        case .search: _ = try index.search(seed[batch % 300].code, radius: 20)
                        case .nearest: _ = try index.nearest([seed[batch % 300].code, seed[0].code], k: 5)
                        case .count: _ = try index.count
                        case .compact: try index.compact()
                        case .verify: _ = try index.verify()
                        case .export: _ = try index.exportCodes()
                        case .statistics: _ = try index.statistics()
                        case .sync: try index.sync()
                        }
                    } catch HashIdxError.closed {
                        break
                    } catch {
                        failure.add([UInt64(batch)])
                        failure.note("\(error)")
                        break
                    }
                }
                done.signal()
            }
            started.wait()
            usleep(UInt32(1000 + round * 7000))
            let closer = DispatchSemaphore(value: 0)
            Thread.detachNewThread { index.close(); closer.signal() }
            let closed = closer.wait(timeout: .now() + 20) == .success
            let finished = done.wait(timeout: .now() + 20) == .success
            #expect(closed, "\(operation) round \(round): close hung")
            #expect(finished, "\(operation) round \(round): the operation hung")
            guard closed && finished else { return }
            #expect(failure.ids.isEmpty, "\(operation) round \(round): \(failure.notes)")
            let again = try HashIndex.open(at: path)
            let have = try Set(again.exportCodes().ids)
            if operation == .insert { #expect(committed.ids.isSubset(of: have), "round \(round): a committed insert is missing") }
            again.close()
        }
    }
}

private final class Committed: @unchecked Sendable {
    private let lock = NSLock()
    private var _ids: Set<UInt64>
    private var _notes: [String] = []
    init(_ ids: [UInt64]) { _ids = Set(ids) }
    func add(_ ids: [UInt64]) { lock.lock(); _ids.formUnion(ids); lock.unlock() }
    func note(_ s: String) { lock.lock(); _notes.append(s); lock.unlock() }
    var ids: Set<UInt64> { lock.lock(); defer { lock.unlock() }; return _ids }
    var notes: [String] { lock.lock(); defer { lock.unlock() }; return _notes }
}

/// More threads than LMDB has reader slots (126) query one index at once: they queue for a
/// reader instead of failing with "busy".
@Suite struct ReaderSlotTests {
    @Test func moreThreadsThanReaderSlotsAllSucceed() throws {
        let dir = TemporaryDirectory()
        let data = dataset(bits: 64, count: 2000, .clustered, seed: 5)
        let index = try HashIndex.create(at: dir.sub("i"), .init(bits: 64))
        try index.insert(data)
        let threads = 200
        let start = DispatchSemaphore(value: 0), done = DispatchGroup()
        let failures = Committed([])
        for t in 0..<threads {
            done.enter()
            Thread.detachNewThread {
                start.wait()
                do {
                    // A forEachCode body holds its reader while it runs: slots stay taken.
                    try index.forEachCode(batchSize: 500) { _, _ in usleep(2000) }
                    let r = try index.nearest(data[t % data.count].code, k: 3)
                    if r.neighbors.first?.distance != 0 { failures.note("thread \(t): wrong answer") }
                } catch {
                    failures.note("thread \(t): \(error)")
                }
                done.leave()
            }
        }
        for _ in 0..<threads { start.signal() }
        #expect(done.wait(timeout: .now() + 120) == .success, "the threads did not finish")
        #expect(failures.notes.isEmpty, "\(failures.notes.prefix(3))")
    }
}
