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
    static func goldenCopy(_ dir: TemporaryDirectory, version: Int = 1) throws -> String {
        let source = Bundle.module.path(forResource: "golden-v\(version)", ofType: nil, inDirectory: "Fixtures")!
        let target = dir.sub("golden")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source + "/data.mdb", toPath: target + "/data.mdb")
        return target
    }

    static func goldenCodes(version: Int = 1) throws -> [(id: UInt64, code: BinaryCode)] {
        var out: [(id: UInt64, code: BinaryCode)] = []
        for name in version == 1 ? ["golden-v1"] : ["golden-v\(version)", "golden-v\(version)-later"] {
            let path = Bundle.module.path(forResource: name, ofType: "txt", inDirectory: "Fixtures")!
            let reader = try LineReader(path: path)
            while let line = try reader.nextLine() { out.append(try CodeText.entry(line, bits: 64, file: path, lineNumber: reader.lineNumber)) }
        }
        let removed: Set<UInt64> = version == 1 ? [1_000_000, 1_000_013, 1_001_547] : [1_000_000, 1_000_013, 1_001_547, 1_003_107]
        var oracle = Oracle()
        oracle.insert(out)  // later lines replace earlier codes of the same id
        oracle.remove(Array(removed))
        return oracle.entries.map { (id: $0.key, code: $0.value) }.sorted { $0.id < $1.id }
    }

    /// Opens, verifies and queries `index` against the codes it should hold.
    static func expectExact(_ index: HashIndex, _ codes: [(id: UInt64, code: BinaryCode)]) throws {
        #expect(try index.count == codes.count)
        #expect(try index.verify() == codes.count)
        var oracle = Oracle()
        oracle.insert(codes)
        for q in queries(from: codes, bits: 64, count: 10, seed: 1) {
            for r in [0, 3, 8] {
                #expect(try index.search(q, radius: r).neighbors == oracle.range(q, radius: r))
                #expect(try index.search(q, radius: r, path: .probe).neighbors == oracle.range(q, radius: r))
            }
            #expect(try index.nearest(q, k: 10).neighbors == oracle.nearest(q, k: 10))
        }
        for e in codes.prefix(30) { #expect(try index.code(for: e.id) == e.code) }
    }

    @Test(arguments: [2, 3]) func goldenV2AndV3FixturesOpenVerifyAndAnswerExactly(version: Int) throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.open(at: try Self.goldenCopy(dir, version: version), mode: .readOnly)
        let stats = try index.statistics()
        // Sealed rows, rows written since and tombstones in both parts, as the fixture script made them.
        #expect(stats.formatVersion == version && stats.sealedRows == 200 && stats.rows == 250 && stats.count == 236)
        try Self.expectExact(index, try Self.goldenCodes(version: version))
        #expect(try index.code(for: 1_003_107) == nil)
    }

    /// A version-2 index is read as it is, refuses writes, and is upgraded in place: checksums
    /// of everything it holds are added and every later write keeps them.
    @Test func version2IsUpgradedInPlaceWithChecksums() throws {
        let dir = TemporaryDirectory()
        let path = try Self.goldenCopy(dir, version: 2)
        let codes = try Self.goldenCodes(version: 2)
        do {
            let index = try HashIndex.open(at: path)
            #expect(throws: HashIdxError.olderFormat(path: path, found: 2, current: 3)) { try index.insert([(1, codes[0].code)]) }
        }
        #expect(try HashIndex.upgrade(at: path) == 2)
        let index = try HashIndex.open(at: path)
        #expect(try index.statistics().formatVersion == 3)
        try Self.expectExact(index, codes)
        try index.insert([(7, codes[0].code)])
        _ = try index.remove(ids: [codes[1].id])
        var expected = codes.filter { $0.id != codes[1].id } + [(7, codes[0].code)]
        expected.sort { $0.id < $1.id }
        try Self.expectExact(index, expected)
    }

    /// A flipped bit in any value hashidx owns is found by verify, naming the table and entry.
    @Test(arguments: ["codes", "rowids", "sealed", "meta", "lost"]) func verifyFindsChangedBytesByChecksum(table: String) throws {
        let dir = TemporaryDirectory()
        let path = try Self.goldenCopy(dir, version: 3)
        do {
            let env = try Environment(path: path, mapSize: 1 << 20, maxDatabases: 64)
            try env.setMapSize(0)
            let txn = try env.begin(readOnly: false)
            let db = try txn.openDatabase(table == "lost" ? "codes" : table)
            let cursor = try txn.cursor(db)
            var entry = try cursor.first()
            if table == "meta" { while let e = entry, Array(e.key) != Array("header".utf8) { entry = try cursor.next() } }
            // Sealed: the last chunk (row numbers of the last table), past the checks made at open.
            if table == "sealed" { while let next = try cursor.next() { entry = next } }
            let key = Array(entry!.key)
            var value = Array(entry!.value)
            if table == "lost" {
                _ = try key.withUnsafeBytes { try txn.delete(db, key: $0) }
            } else {
                // A bit that no other check reads: the last byte's top bit (for meta: the header's last byte).
                value[value.count - 1] ^= 0x80
                try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try txn.put(db, key: k, value: v) } }
            }
            try txn.commit()
        }
        let index = try? HashIndex.open(at: path, mode: .readOnly)
        guard let index else {
            // A changed header can fail to open at all; that is a refusal too.
            #expect(table == "meta")
            return
        }
        #expect { try index.verify() } throws: { error in
            guard case .corrupt(let what) = error as? HashIdxError else { return false }
            // A lost chunk is missed by the reader's own checks first, which is as good.
            return table == "lost" ? what.contains("has no value") || what.contains("lacks chunk")
                : what.contains("table '\(table)'") && what.contains("CRC-32")
        }
    }

    @Test func version1IsReadableAndUpgradedOnlyOnRequest() throws {
        let dir = TemporaryDirectory()
        let path = try Self.goldenCopy(dir)
        let codes = try Self.goldenCodes()
        do {
            let index = try HashIndex.open(at: path)
            try Self.expectExact(index, codes)
            #expect(throws: HashIdxError.olderFormat(path: path, found: 1, current: 3)) {
                try index.insert([(1, codes[0].code)])
            }
            #expect(throws: HashIdxError.olderFormat(path: path, found: 1, current: 3)) { try index.remove(ids: [codes[0].id]) }
            #expect(try index.count == codes.count, "a refused write changes nothing")
        }
        #expect(try HashIndex.upgrade(at: path) == 1)
        #expect(try HashIndex.upgrade(at: path) == 3, "upgrading a current index does nothing")
        let index = try HashIndex.open(at: path)
        #expect(try index.statistics().formatVersion == 3)
        #expect(try index.statistics().sealedRows == codes.count)
        try Self.expectExact(index, codes)
        try index.insert([(7, codes[0].code)])
        try Self.expectExact(index, codes + [(7, codes[0].code)])
    }

    @Test func goldenFixtureOpensVerifiesAndAnswersExactly() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.open(at: try Self.goldenCopy(dir), mode: .readOnly)
        let codes = try Self.goldenCodes()
        #expect(index.bits == 64)
        #expect(index.layout.widths == [22, 21, 21])
        #expect(try index.count == 237)
        #expect(try index.verify() == 237)
        #expect(try index.statistics().formatVersion == 1)
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
        let header = Format.Header(version: 3, layout: try SubstringLayout(bits: 64, substringCount: 3),
                                   rowsPerChunk: Format.rowsPerChunk(codeBytes: 8))
        let hex = header.encoded().map { String(format: "%02x", $0) }.joined()
        // FORMAT.md, "Worked example".
        #expect(hex == "6861736869647800" + "00000003" + "00000040" + "00000003" + "00008000" + "00000016" + "00160015" + "002b0015")
        let decoded = try header.encoded().withUnsafeBytes { try Format.Header.decode($0, path: "x") }
        #expect(decoded == header)
        #expect(Format.rowsPerChunk(codeBytes: 8) == 32768)
        #expect(Format.rowsPerChunk(codeBytes: 128) == 2048)
        #expect(Format.rowsPerChunk(codeBytes: 8192) == 64)
    }

    @Test func newerFormatVersionIsRefused() throws {
        let dir = TemporaryDirectory()
        let path = try Self.goldenCopy(dir)
        // Rewrite the version field (bytes 8..<12 of the header record) to 4.
        do {
            let env = try Environment(path: path, mapSize: 1 << 20, maxDatabases: 8)
            let txn = try env.begin(readOnly: false)
            let meta = try txn.openDatabase("meta")
            var bytes = Array(try Array("header".utf8).withUnsafeBytes { try txn.get(meta, key: $0) }!)
            bytes[11] = 4
            try Array("header".utf8).withUnsafeBytes { k in try bytes.withUnsafeBytes { v in try txn.put(meta, key: k, value: v) } }
            try txn.commit()
        }
        #expect(throws: HashIdxError.newerFormat(found: 4, supported: 3)) { try HashIndex.open(at: path) }
        #expect(HashIdxError.newerFormat(found: 4, supported: 3).description.contains("format version 4, newer than the newest this build reads (3)"))
    }

    /// Counts and shapes read from the file are checked before anything is sized by them: a
    /// lying record gives an error naming it, never a crash (one copy of the fixture per lie).
    @Test(arguments: [
        ("count", [0x80, 0, 0, 0, 0, 0, 0, 0]),            // 2^63 codes
        ("count", [0, 0, 0, 0, 0, 0, 0x03, 0xe8]),         // 1000 codes: more than the rows
        ("rows", [0, 0, 0, 1, 0, 0, 0, 0]),                // 2^32 rows
        ("rows", [0, 0, 0, 0, 0, 0, 0, 0xf0]),             // 240 rows: chunks do not match
        ("count", [1, 2, 3]),                              // not 8 bytes
        ("sealed", [0, 0, 0, 0, 0, 0, 0, 9]),              // a truncated sealed record
    ])
    func lyingRecordsAreRefusedNotTrusted(record: String, bytes: [UInt8]) throws {
        let dir = TemporaryDirectory()
        let path = try Self.goldenCopy(dir, version: 3)
        do {
            let env = try Environment(path: path, mapSize: 1 << 20, maxDatabases: 16)
            let txn = try env.begin(readOnly: false)
            let meta = try txn.openDatabase("meta")
            try Array(record.utf8).withUnsafeBytes { k in try bytes.withUnsafeBytes { v in try txn.put(meta, key: k, value: v) } }
            try txn.commit()
        }
        let index = try HashIndex.open(at: path)
        let q = try BinaryCode(hex: "0123456789abcdef", bits: 64)
        for attempt in [{ _ = try index.count }, { _ = try index.verify() }, { _ = try index.search(q, radius: 3) },
                        { _ = try index.nearest(q, k: 3) }, { try index.insert([(1, q)]) }] as [() throws -> Void] {
            #expect { try attempt() } throws: { error in
                guard case .corrupt(let what) = error as? HashIdxError else { return false }
                return !what.isEmpty
            }
        }
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
        #expect(try hex("meta", Array("rows".utf8)) == "0000000000000001")
        #expect(try hex("meta", Array("header".utf8))!.hasPrefix("686173686964780000000003"))
        // Checksums: CRC-32 of the code chunk's 8 bytes, little-endian, under "c" + its key.
        #expect(try hex("sums", [0x63, 0, 0, 0, 0]) == "619b00c8")
        txn.abort()
    }

    @Test func sealedWorkedExampleBytesMatchFormatDocument() throws {
        let dir = TemporaryDirectory()
        do {
            let index = try HashIndex.create(at: dir.path, .init(bits: 64, substringCount: 3))
            try index.insert([(1000, try BinaryCode(hex: "f847000000000000", bits: 64))])
            try index.compact()
        }
        let env = try Environment(path: dir.path, mapSize: 1 << 30, maxDatabases: 16, readOnly: true)
        let txn = try env.begin(readOnly: true)
        func hex(_ table: String, _ key: [UInt8]) throws -> String? {
            let db = try txn.openDatabase(table)
            return try key.withUnsafeBytes { try txn.get(db, key: $0) }.map { $0.map { String(format: "%02x", $0) }.joined() }
        }
        // FORMAT.md, "Worked example", after `hashidx compact`.
        #expect(try hex("meta", Array("sealed".utf8)) ==
                "0000000000000001" + "00000000000003e8" + "00000001" + "00010000" + "00040000" + "00040000" + "00040000")
        #expect(try hex("sealed", [0, 0, 0, 0, 0, 0]) == "00000000" + "01000000")
        #expect(try hex("sealed", [0, 1, 0, 0, 0, 0]) == "f8470000")
        #expect(try hex("sealed", [0, 2, 0, 0, 0, 0]) == "00000000")
        #expect(try hex("sealed", [1, 1, 0, 0, 0, 0]) == "00000000")
        #expect(try hex("codes", [0, 0, 0, 0]) == "f847000000000000")
        #expect(try hex("rowids", [0, 0, 0, 0]) == "e803000000000000")
        #expect(try hex("ids", [0, 0, 0, 0, 0, 0, 0x03, 0xe8]) == nil)
        #expect(try hex("sub.0", [0, 0, 0x47, 0xf8]) == nil)
        #expect(try hex("meta", Array("rows".utf8)) == "0000000000000001")
        txn.abort()
    }
}
