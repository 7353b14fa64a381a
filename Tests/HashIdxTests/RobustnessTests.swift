import Foundation
import Testing
import Hamming
@testable import HashIdx

@Suite struct RobustnessTests {
    /// Merges leave free pages in the file; shrinking returns them and loses nothing.
    @Test func shrinkReturnsFreePagesAndKeepsEveryCode() throws {
        let dir = TemporaryDirectory()
        let data = dataset(bits: 64, count: 20_000, .uniform, seed: 31)
        var oracle = Oracle()
        do {
            let index = try HashIndex.create(at: dir.path, .init(bits: 64, substringCount: 3))
            index.maintenance = MaintenancePolicy(minimumDeltaRows: 500, deltaShare: 0.1, deadShare: 0.1)
            for start in stride(from: 0, to: data.count, by: 2_000) {
                try index.insert(Array(data[start..<start + 2_000]))
            }
            oracle.insert(data)
            let victims = data.prefix(5_000).map(\.id)
            try index.remove(ids: victims)
            oracle.remove(victims)
            #expect(try index.statistics().freeBytes > 0, "merges leave free pages behind")
        }
        let summary = try HashIndex.shrink(at: dir.path)
        #expect(summary.shrunk)
        #expect(summary.bytesAfter < summary.bytesBefore)
        let index = try HashIndex.open(at: dir.path)
        let stats = try index.statistics()
        #expect(stats.count == oracle.entries.count && stats.rows == stats.count && stats.sealedRows == stats.count)
        #expect(stats.fileBytes == summary.bytesAfter && stats.freeBytes <= 4 * stats.pageSize)
        #expect(try index.verify() == oracle.entries.count)
        for q in queries(from: data, bits: 64, count: 10, seed: 2) {
            #expect(try index.search(q, radius: 6).neighbors == oracle.range(q, radius: 6))
            #expect(try index.nearest(q, k: 5).neighbors == oracle.nearest(q, k: 5))
        }
        // Still writable afterwards.
        try index.insert([(7, data[0].code)])
        #expect(try index.code(for: 7) == data[0].code)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/.shrink-\(getpid())"))
    }

    @Test func aFullMapGrowsInsteadOfFailing() throws {
        let dir = TemporaryDirectory()
        // 64 KiB of map cannot hold 20,000 codes and their postings; every batch must still land.
        let index = try HashIndex.create(at: dir.path, .init(bits: 64, substringCount: 3, initialMapSize: 64 << 10))
        let data = dataset(bits: 64, count: 20_000, .uniform, seed: 11)
        for batch in stride(from: 0, to: data.count, by: 5000) {
            try index.insert(Array(data[batch..<min(batch + 5000, data.count)]))
        }
        #expect(try index.count == 20_000)
        #expect(try index.verify() == 20_000)
        #expect(try index.statistics().mapBytes > 64 << 10)
        var oracle = Oracle()
        oracle.insert(data)
        let q = data[123].code
        #expect(try index.search(q, radius: 5).neighbors == oracle.range(q, radius: 5))
    }

    @Test func badBatchesChangeNothing() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.path, .init(bits: 13, substringCount: 2))
        let data = dataset(bits: 13, count: 100, .uniform, seed: 2)
        try index.insert(data)
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/data.mdb"))
        var rng = SeededRandom(seed: 1)
        let wide = randomCode(bits: 16, using: &rng)
        #expect(throws: HashIdxError.codeWidth(expectedBits: 13, foundBits: 16)) {
            try index.insert([(1, data[0].code), (2, wide)])
        }
        #expect(throws: HashIdxError.code(.wrongLength(expectedBytes: 4, foundBytes: 3, bits: 13))) {
            try index.insert(ids: [5, 6], packedCodes: [0, 0, 0])
        }
        #expect(throws: HashIdxError.code(.paddingBitsSet(bits: 13))) {
            try index.insert(ids: [5, 6], packedCodes: [0, 0, 0, 0xff])
        }
        #expect(throws: HashIdxError.invalidRadius(-1, bits: 13)) { try index.search(data[0].code, radius: -1) }
        #expect(throws: HashIdxError.invalidRadius(14, bits: 13)) { try index.search(data[0].code, radius: 14) }
        #expect(throws: HashIdxError.invalidK(0)) { try index.nearest(data[0].code, k: 0) }
        #expect(throws: HashIdxError.codeWidth(expectedBits: 13, foundBits: 16)) { try index.nearest(wide, k: 1) }
        let after = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/data.mdb"))
        #expect(before == after)
        #expect(try index.verify() == 100)
    }

    @Test func readOnlyIndexRefusesWrites() throws {
        let dir = TemporaryDirectory()
        do {
            let index = try HashIndex.create(at: dir.path, .init(bits: 16))
            try index.insert(dataset(bits: 16, count: 10, .uniform, seed: 1))
        }
        let index = try HashIndex.open(at: dir.path, mode: .readOnly)
        #expect(index.isReadOnly)
        #expect(throws: HashIdxError.readOnly(path: dir.path)) { try index.insert([(1, try BinaryCode(hex: "0000", bits: 16))]) }
        #expect(throws: HashIdxError.readOnly(path: dir.path)) { try index.remove(ids: [1000]) }
        #expect(try index.count == 10)
    }

    @Test func readersSeeConsistentSnapshotsBesideAWriter() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.path, .init(bits: 32, substringCount: 2))
        // Every batch holds 100 copies of one code, so a reader sees a multiple of 100 codes at
        // that code's distance 0 — never a partial batch.
        let codes = (0..<20).map { i in try! BinaryCode(bytes: [UInt8(i), 0x5a, 0xa5, UInt8(255 - i)], bits: 32) }
        let writer = Thread {
            for (b, code) in codes.enumerated() {
                try! index.insert((0..<100).map { (UInt64(b * 100 + $0), code) })
            }
        }
        writer.start()
        var observed = 0
        while observed < 2000 {
            let n = try index.count
            #expect(n % 100 == 0)
            let hits = try index.search(codes, radius: 0, threads: 2)
            let total = hits.reduce(0) { $0 + $1.neighbors.count }
            #expect(total % 100 == 0 && total >= n)
            observed = n
        }
        #expect(try index.verify() == 2000)
    }

    @Test func anotherProcessReadsWhileThisOneHoldsTheIndexOpen() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.path, .init(bits: 32, substringCount: 2))
        let data = dataset(bits: 32, count: 500, .clustered, seed: 8)
        try index.insert(data)
        var oracle = Oracle()
        oracle.insert(data)
        let r = try CLI.run(["knn", dir.path, "-k", "4", "--query", data[3].code.hex, "--format", "jsonl"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let got = (obj["neighbors"] as! [[String: Any]]).map { Neighbor(id: UInt64($0["id"] as! Int), distance: $0["distance"] as! Int) }
        #expect(got == oracle.nearest(data[3].code, k: 4))
        // And a write from the other process is seen here.
        #expect(try CLI.run(["add", dir.path, "-"], stdin: "42 \(data[0].code.hex)\n").status == 0)
        #expect(try index.count == 501)
        #expect(try index.code(for: 42) == data[0].code)
    }

    @Test func killDashNineMidLoadKeepsWholeBatchesOnly() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--bits", "64", "--substrings", "3"]).status == 0)
        var rng = SeededRandom(seed: 99)
        let n = 400_000
        var raw = [UInt8](repeating: 0, count: n * 8)
        for i in 0..<raw.count { raw[i] = UInt8(truncatingIfNeeded: rng.next()) }
        try Data(raw).write(to: URL(fileURLWithPath: dir.sub("codes.raw")))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["add", idx, dir.sub("codes.raw"), "--input-format", "raw", "--batch-size", "1000"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until some batches have committed, then kill the loader outright.
        var committed = 0
        for _ in 0..<400 where committed == 0 {
            Thread.sleep(forTimeInterval: 0.02)
            if let index = try? HashIndex.open(at: idx, mode: .readOnly) { committed = (try? index.count) ?? 0 }
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let index = try HashIndex.open(at: idx)
        let count = try index.count
        #expect(count > 0, "the loader was killed before its first commit")
        #expect(count % 1000 == 0, "a partial batch survived: \(count) codes")
        #expect(try index.verify() == count)
        // Every surviving code is the one the file holds for its id (ids are row numbers).
        for id in stride(from: 0, to: count, by: max(1, count / 50)) {
            #expect(try index.code(for: UInt64(id))?.bytes == Array(raw[id * 8 ..< id * 8 + 8]))
        }
        // And the index still takes writes after the crash.
        try index.insert([(UInt64(n + 1), try BinaryCode(bytes: [1, 2, 3, 4, 5, 6, 7, 8], bits: 64))])
        #expect(try index.count == count + 1)
    }
}
