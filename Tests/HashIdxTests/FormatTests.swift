import Foundation
import Testing
import Hamming
import HashData
import LMDB
@testable import HashIdx

/// The on-disk format as a contract: a golden index checked in, the header bytes of FORMAT.md,
/// refusal of newer versions and of things that are not indexes.
@Suite struct FormatTests {
    /// Copies the golden fixture into a fresh directory (LMDB needs a writable lock file).
    static func goldenCopy(_ dir: TemporaryDirectory) throws -> String {
        let source = Bundle.module.path(forResource: "golden-v1", ofType: nil, inDirectory: "Fixtures")!
        let target = dir.sub("golden")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source + "/data.mdb", toPath: target + "/data.mdb")
        return target
    }

    static func goldenCodes() throws -> [(id: UInt64, code: BinaryCode)] {
        let path = Bundle.module.path(forResource: "golden-v1", ofType: "txt", inDirectory: "Fixtures")!
        let reader = try LineReader(path: path)
        var out: [(id: UInt64, code: BinaryCode)] = []
        while let line = reader.nextLine() { out.append(try CodeText.entry(line, bits: 64, file: path, lineNumber: reader.lineNumber)) }
        let removed: Set<UInt64> = [1_000_000, 1_000_013, 1_001_547]
        return out.filter { !removed.contains($0.id) }
    }

    @Test func goldenFixtureOpensVerifiesAndAnswersExactly() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.open(at: try Self.goldenCopy(dir), mode: .readOnly)
        let codes = try Self.goldenCodes()
        #expect(index.bits == 64)
        #expect(index.layout.widths == [22, 21, 21])
        #expect(try index.count == 237)
        #expect(try index.verify() == 237)
        var oracle = Oracle()
        oracle.insert(codes)
        for q in queries(from: codes, bits: 64, count: 10, seed: 1) {
            for r in [0, 3, 8] { #expect(try index.search(q, radius: r).neighbors == oracle.range(q, radius: r)) }
            #expect(try index.nearest(q, k: 10).neighbors == oracle.nearest(q, k: 10))
        }
        #expect(try index.code(for: 1_000_026) == codes.first { $0.id == 1_000_026 }!.code)
        #expect(try index.code(for: 1_000_000) == nil)
    }

    @Test func headerBytesMatchFormatDocument() throws {
        let header = Format.Header(version: 1, layout: try SubstringLayout(bits: 64, substringCount: 3), rowsPerChunk: 8192)
        let hex = header.encoded().map { String(format: "%02x", $0) }.joined()
        // FORMAT.md, "Worked example".
        #expect(hex == "6861736869647800" + "00000001" + "00000040" + "00000003" + "00002000" + "00000016" + "00160015" + "002b0015")
        let decoded = try header.encoded().withUnsafeBytes { try Format.Header.decode($0, path: "x") }
        #expect(decoded == header)
        #expect(Format.rowsPerChunk(codeBytes: 8) == 8192)
        #expect(Format.rowsPerChunk(codeBytes: 128) == 512)
        #expect(Format.rowsPerChunk(codeBytes: 2048) == 64)
    }

    @Test func newerFormatVersionIsRefused() throws {
        let dir = TemporaryDirectory()
        let path = try Self.goldenCopy(dir)
        // Rewrite the version field (bytes 8..<12 of the header record) to 2.
        do {
            let env = try Environment(path: path, mapSize: 1 << 20, maxDatabases: 8)
            let txn = try env.begin(readOnly: false)
            let meta = try txn.openDatabase("meta")
            var bytes = Array(try Array("header".utf8).withUnsafeBytes { try txn.get(meta, key: $0) }!)
            bytes[11] = 2
            try Array("header".utf8).withUnsafeBytes { k in try bytes.withUnsafeBytes { v in try txn.put(meta, key: k, value: v) } }
            try txn.commit()
        }
        #expect(throws: HashIdxError.newerFormat(found: 2, supported: 1)) { try HashIndex.open(at: path) }
        #expect(HashIdxError.newerFormat(found: 2, supported: 1).description.contains("format version 2, newer than the newest this build reads (1)"))
    }

    @Test func thingsThatAreNotIndexesAreRefused() throws {
        let dir = TemporaryDirectory()
        #expect(throws: HashIdxError.notAnIndex(path: dir.sub("none"), reason: "no such file or directory")) {
            try HashIndex.open(at: dir.sub("none"))
        }
        #expect(throws: HashIdxError.notAnIndex(path: dir.path, reason: "the directory has no data.mdb")) {
            try HashIndex.open(at: dir.path)
        }
        // A file of garbage named data.mdb.
        let garbage = dir.sub("garbage")
        try FileManager.default.createDirectory(atPath: garbage, withIntermediateDirectories: true)
        try Data((0..<20000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: garbage + "/data.mdb"))
        #expect { try HashIndex.open(at: garbage) } throws: { ($0 as? HashIdxError).map { if case .notAnIndex = $0 { true } else { false } } ?? false }
        // A valid LMDB environment that is not an index.
        let plain = dir.sub("plain")
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        do {
            let env = try Environment(path: plain, mapSize: 1 << 20, maxDatabases: 8)
            let txn = try env.begin(readOnly: false)
            _ = try txn.openDatabase("other", create: true)
            try txn.commit()
        }
        #expect(throws: HashIdxError.notAnIndex(path: plain, reason: "the LMDB file has no 'meta' table")) { try HashIndex.open(at: plain) }
        // A regular file given as the index.
        try Data([1]).write(to: URL(fileURLWithPath: dir.sub("file")))
        #expect(throws: HashIdxError.notAnIndex(path: dir.sub("file"), reason: "it is a file, expected a directory")) { try HashIndex.open(at: dir.sub("file")) }
        #expect(throws: HashIdxError.alreadyExists(path: try Self.goldenCopy(dir))) { try HashIndex.create(at: dir.sub("golden"), .init(bits: 64)) }
    }

    @Test func workedExampleBytesMatchFormatDocument() throws {
        let dir = TemporaryDirectory()
        do {
            let index = try HashIndex.create(at: dir.path, .init(bits: 64, substringCount: 3))
            try index.insert([(1000, try BinaryCode(hex: "f847000000000000", bits: 64))])
        }
        let env = try Environment(path: dir.path, mapSize: 1 << 30, maxDatabases: 16, readOnly: true)
        let txn = try env.begin(readOnly: true)
        func hex(_ table: String, _ key: [UInt8]) throws -> String? {
            let db = try txn.openDatabase(table)
            return try key.withUnsafeBytes { try txn.get(db, key: $0) }.map { $0.map { String(format: "%02x", $0) }.joined() }
        }
        #expect(try hex("codes", [0, 0, 0, 0]) == "f847000000000000")
        #expect(try hex("rowids", [0, 0, 0, 0]) == "e803000000000000")
        #expect(try hex("ids", [0, 0, 0, 0, 0, 0, 0x03, 0xe8]) == "00000000")
        #expect(try hex("meta", Array("count".utf8)) == "0000000000000001")
        #expect(try hex("sub.0", [0, 0, 0x47, 0xf8]) == "00000000")
        #expect(try hex("sub.1", [0, 0, 0, 0]) == "00000000")
        #expect(try hex("sub.2", [0, 0, 0, 0]) == "00000000")
        txn.abort()
    }
}
