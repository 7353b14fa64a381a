import Foundation
import Testing
import Hamming
import HashData
import HashEncoders
import HashIdxVectors
import LMDB
@testable import HashIdx

/// Each test here reproduces a defect found by feeding the command bad input, damaged files,
/// kills and faults, and checks that the command now fails cleanly: no signal, the exit status
/// of its kind (sysexits), a message naming what was expected and found, and nothing changed.
@Suite struct ReliabilityTests {
    static let isRoot = getuid() == 0

    /// Writes `bytes` to `path`.
    static func put(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// What an index holds, read through its own API in a fresh process-local open: every
    /// (id, code), the count, and the meta pages of data.mdb (which change only on a commit).
    /// A failed write may leave unreferenced pages past the end of the file; those are not content.
    static func contents(_ idx: String) throws -> [String] {
        let index = try HashIndex.open(at: idx, mode: .readOnly)
        let exported = try index.exportCodes()
        let n = index.codeBytes
        var lines = exported.ids.indices.map { "\(exported.ids[$0]) \(exported.packed[$0 * n ..< ($0 + 1) * n].map { String($0) }.joined(separator: ","))" }
        lines.sort()
        lines.append("count \(try index.count)")
        lines.append("meta \(Array(bytes(idx + "/data.mdb").prefix(2 * 4096)).hashValue)")
        _ = try index.verify()
        return lines
    }

    static func bytes(_ path: String) -> Data {
        (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
    }

    /// Expects a clean failure: no signal, no hang, `status`, and `message` in standard error.
    static func expectFailure(_ r: CLI.Output, _ status: Int32, _ message: String, _ what: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!r.signaled && !r.hung, "\(what): killed by signal \(r.status) or hung", sourceLocation: sourceLocation)
        #expect(r.status == status, "\(what): status \(r.status), expected \(status); \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "\(what): '\(r.stderr)' should contain '\(message)'", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("DecodingError") && !r.stderr.contains("CodingKeys"),
                "\(what): internals leak into the message: \(r.stderr)", sourceLocation: sourceLocation)
    }

    // Defect 1: a directory given as an input file; output to a full device.
    @Test func aDirectoryAsInputAndAFullDeviceAsOutputAreErrors() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--bits", "16"]).status == 0)
        #expect(try CLI.run(["add", idx, "-"], stdin: "1 aabb\n2 0102\n").status == 0)
        try Self.put([1, 2, 3, 4], dir.sub("codes.raw"))
        let before = Self.bytes(idx + "/data.mdb")
        for args in [["add", idx, dir.path], ["remove", idx, dir.path], ["knn", idx, "-k", "1", "--queries", dir.path],
                     ["add", idx, dir.sub("codes.raw"), "--input-format", "raw", "--ids", dir.path],
                     ["eval", "--database", dir.path, "--queries", dir.path, "--database-labels", dir.path, "--query-labels", dir.path]] {
            Self.expectFailure(try CLI.run(args, input: []), 66, "is a directory; expected a file", args.joined(separator: " "))
        }
        #expect(Self.bytes(idx + "/data.mdb") == before)
        let full = try CLI.run(["search", idx, "--radius", "16", "--query", "aabb"], input: [], stdoutPath: "/dev/full")
        Self.expectFailure(full, 74, "standard output: cannot write: the disk is full", "search > /dev/full")
        let encodeFull = try CLI.run(["stat", idx], input: [], stdoutPath: "/dev/full")
        Self.expectFailure(encodeFull, 74, "disk is full", "stat > /dev/full")
    }

    // Defect 2: sizes read from untrusted bytes that overflow or exceed the file.
    @Test func lyingSizesAreRefusedBeforeAnyAllocation() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--bits", "16"]).status == 0)
        let huge = 1 << 62
        try Self.put(NpyWriter.file(descr: "|u1", shape: [huge, 2], data: [1, 2]), dir.sub("codes.npy"))
        Self.expectFailure(try CLI.run(["add", idx, dir.sub("codes.npy")], input: []), 65, "overflows a 64-bit size", "npy codes of 2^62 rows")
        try Self.put(NpyWriter.file(descr: "<f4", shape: [1_000_000_000_000, 1_000_000_000_000], data: [0, 0, 0, 0]), dir.sub("v.npy"))
        Self.expectFailure(try CLI.run(["train", "--method", "lsh", "--bits", "16", "--input", dir.sub("v.npy"), "--output", dir.sub("m")], input: []),
                           65, "overflows", "npy vectors of 10^12 × 10^12")
        try Self.put(NpyWriter.file(descr: "<f4", shape: [huge, 2], data: [0, 0, 0, 0]), dir.sub("v2.npy"))
        Self.expectFailure(try CLI.run(["train", "--method", "lsh", "--bits", "16", "--input", dir.sub("v2.npy"), "--output", dir.sub("m")], input: []),
                           65, "v2.npy", "npy vectors of 2^62 rows")
        try Self.put([0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12) + [1, 2, 3], dir.sub("images-idx3-ubyte"))
        Self.expectFailure(try CLI.run(["train", "--method", "lsh", "--bits", "16", "--input", dir.sub("images-idx3-ubyte"), "--output", dir.sub("m")], input: []),
                           65, "IDX dimensions", "IDX dimensions 0xFFFFFFFF")
        try Self.put(NpyWriter.file(descr: "|u1", shape: [4, 2], data: [1, 2, 3, 4, 5, 6, 7, 8]), dir.sub("c4.npy"))
        try Self.put(NpyWriter.file(descr: "<i8", shape: [huge], data: [UInt8](repeating: 0, count: 8)), dir.sub("labels.npy"))
        Self.expectFailure(try CLI.run(["eval", "--database", dir.sub("c4.npy"), "--queries", dir.sub("c4.npy"),
                                        "--database-labels", dir.sub("labels.npy"), "--query-labels", dir.sub("labels.npy")], input: []),
                           65, "labels", "labels of shape 2^62")
        // An encoder archive announcing a 2^32 × 2^32 tensor.
        let header = #"{"bits":16,"dimension":2,"method":"lsh","settings":{},"tensors":[{"columns":4294967296,"name":"mean","rows":4294967296}],"version":1}"#
        var archive = EncoderArchive.magic
        withUnsafeBytes(of: UInt32(header.utf8.count).littleEndian) { archive += $0 }
        archive += Array(header.utf8) + [UInt8](repeating: 0, count: 64)
        try Self.put(archive, dir.sub("lying.model"))
        try Self.put(NpyWriter.file(descr: "<f4", shape: [1, 2], data: [0, 0, 128, 63, 0, 0, 128, 63]), dir.sub("one.npy"))
        Self.expectFailure(try CLI.run(["encode", dir.sub("lying.model"), "--input", dir.sub("one.npy")], input: []),
                           65, "needs more bytes than", "archive tensor of 2^32 × 2^32")
        Self.expectFailure(try CLI.run(["add", idx, "-", "--batch-size", "9223372036854775807"], input: []),
                           64, "--batch-size must be between 1 and", "--batch-size Int.max")
        // A count record of 2^63 refuses every command instead of crashing it.
        do {
            let env = try Environment(path: idx, mapSize: 1 << 30, maxDatabases: 64)
            let txn = try env.begin(readOnly: false)
            let meta = try txn.openDatabase(Format.metaTable)
            try withBigEndian(UInt64(1) << 63) { v in try Format.countKey.withUnsafeBytes { k in try txn.put(meta, key: k, value: v) } }
            try txn.commit()
        }
        for args in [["stat", idx], ["verify", idx], ["knn", idx, "-k", "1", "--query", "aabb"], ["add", idx, "-"]] {
            Self.expectFailure(try CLI.run(args, input: Array("5 aabb\n".utf8)), 65, "corrupt", args.joined(separator: " "))
        }
    }

    // Defect 3: standard input is checked whole before anything is written.
    @Test func standardInputIsCheckedWholeBeforeAnyWrite() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--bits", "12"]).status == 0)
        var good: [UInt8] = []
        for i in 0..<100 { good += [UInt8(i), UInt8(i & 0x0F)] }
        let before = Self.bytes(idx + "/data.mdb")
        Self.expectFailure(try CLI.run(["add", idx, "-", "--input-format", "raw", "--batch-size", "10"], input: good + [7]),
                           65, "201 bytes is not a whole number of 2-byte codes", "raw stdin with a stray byte")
        Self.expectFailure(try CLI.run(["add", idx, "-", "--input-format", "raw", "--batch-size", "10"], input: good + [1, 0x10]),
                           65, "code 100: a 12-bit code must have the top 4 bits of its last byte zero", "raw stdin with a bad padding bit last")
        let hex = (0..<100).map { "\($0) " + String(format: "%02x%02x", $0, $0 & 0xF) + "\n" }.joined() + "100 zz00\n"
        Self.expectFailure(try CLI.run(["add", idx, "-", "--batch-size", "10"], input: Array(hex.utf8)), 65, ":101:", "hex stdin bad last line")
        #expect(Self.bytes(idx + "/data.mdb") == before, "a rejected input must leave the index as it was")
        #expect(try HashIndex.open(at: idx, mode: .readOnly).count == 0)
        // The same input without the bad tail loads whole, in ten batches.
        let ok = try CLI.run(["add", idx, "-", "--input-format", "raw", "--batch-size", "10"], input: good)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try HashIndex.open(at: idx, mode: .readOnly).count == 100)
    }

    // Defect 4: a killed create leaves either nothing or a whole index, never a stuck directory.
    @Test func aKilledCreateNeverLeavesAStuckDirectory() throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 4)
        var whole = 0, absent = 0
        for i in 0..<24 {
            let idx = dir.sub("idx\(i)")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = ["create", idx, "--bits", "64"]
            p.standardError = FileHandle.nullDevice
            try p.run()
            Thread.sleep(forTimeInterval: Double(rng.next() % 30) / 1000)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if FileManager.default.fileExists(atPath: idx) {
                // Whatever is there opens as an index.
                #expect(throws: Never.self) { _ = try HashIndex.open(at: idx, mode: .readOnly) }
                whole += 1
                let again = try CLI.run(["create", idx, "--bits", "64"])
                #expect(again.status == 73 && again.stderr.contains("already holds an index"), "\(again.stderr)")
            } else {
                absent += 1
                let again = try CLI.run(["create", idx, "--bits", "64"])
                #expect(again.status == 0, "create after a killed create: \(again.stderr)")
            }
        }
        // Only the index directories remain: builds of killed creates were removed by later creates.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(names.filter { $0.contains(".creating-") }.count <= 1, "\(names)")
        #expect(whole + absent == 24)
        // The remains of a creation killed before its first commit (an older build left these)
        // are recognised: open names them, create replaces them.
        let stuck = dir.sub("stuck")
        try FileManager.default.createDirectory(atPath: stuck, withIntermediateDirectories: true)
        do { _ = try Environment(path: stuck, mapSize: 1 << 20, maxDatabases: 4) }
        Self.expectFailure(try CLI.run(["stat", stuck], input: []), 66, "creation never finished", "stat of an uncommitted index")
        #expect(try CLI.run(["create", stuck, "--bits", "32"]).status == 0)
        #expect(try HashIndex.open(at: stuck, mode: .readOnly).bits == 32)
    }

    // Defect 5: output files are written aside and renamed.
    @Test func outputFilesAreReplacedWholeOrNotAtAll() throws {
        let dir = TemporaryDirectory()
        try writeRandomVectors(dir.sub("x.npy"), rows: 3000, columns: 16, seed: 5)
        let model = dir.sub("model")
        #expect(try CLI.run(["train", "--method", "lsh", "--bits", "16", "--input", dir.sub("x.npy"), "--output", model]).status == 0)
        let original = Self.bytes(model)
        #expect(!original.isEmpty)
        // A long training killed midway leaves the old model as it was.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["train", "--method", "dh", "--bits", "16", "--epochs", "100000", "--input", dir.sub("x.npy"), "--output", model]
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 0.5)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(Self.bytes(model) == original, "a killed train must not touch the old model")
        // Unwritable destinations fail before the work, with the cause named.
        Self.expectFailure(try CLI.run(["encode", model, "--input", dir.sub("x.npy"), "--output", dir.path], input: []),
                           73, "is a directory", "encode --output DIR")
        Self.expectFailure(try CLI.run(["train", "--method", "lsh", "--bits", "16", "--input", dir.sub("x.npy"), "--output", dir.sub("missing/m")], input: []),
                           73, "cannot create a file in", "train --output into a missing directory")
        try Self.put(NpyWriter.file(descr: "|u1", shape: [2, 2], data: [1, 2, 3, 4]), dir.sub("c.npy"))
        try "0\n1\n".write(toFile: dir.sub("l.txt"), atomically: true, encoding: .utf8)
        Self.expectFailure(try CLI.run(["eval", "--database", dir.sub("c.npy"), "--queries", dir.sub("c.npy"), "--database-labels", dir.sub("l.txt"),
                                        "--query-labels", dir.sub("l.txt"), "--svg", dir.sub("missing/p.svg")], input: []),
                           73, "cannot create a file in", "eval --svg into a missing directory")
        // Encode replaces its output whole; no temporary file is left behind.
        #expect(try CLI.run(["encode", model, "--input", dir.sub("x.npy"), "--output", dir.sub("codes.txt")]).status == 0)
        #expect(Self.bytes(dir.sub("codes.txt")).count > 3000 * 5)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.contains(".tmp-") })
    }

    // Defect 6: reader slots of killed processes are freed, with a long-lived writer open.
    @Test func staleReaderSlotsAreFreed() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        let writer = try HashIndex.create(at: idx, .init(bits: 64, substringCount: 3))
        let data = dataset(bits: 64, count: 20_000, .uniform, seed: 6)
        try writer.insert(data)
        let queries = queries(from: data, bits: 64, count: 3000, seed: 6).map(\.hex).joined(separator: "\n") + "\n"
        try queries.write(toFile: dir.sub("q.txt"), atomically: true, encoding: .utf8)
        var rng = SeededRandom(seed: 66)
        // More kills than LMDB's 126 reader slots.
        for _ in 0..<140 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = ["knn", idx, "-k", "5", "--queries", dir.sub("q.txt"), "--threads", "1"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            Thread.sleep(forTimeInterval: Double(20 + rng.next() % 80) / 1000)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        // A new reader still gets a slot, and the writer still commits.
        let r = try CLI.run(["knn", idx, "-k", "1", "--query", data[5].code.hex])
        #expect(r.status == 0 && r.stdout.contains("\(data[5].id) 0"), "\(r.stderr)")
        try writer.insert([(UInt64(1) << 40, data[0].code)])
        #expect(try writer.count == 20_001)
    }

    // Defect 7: a full disk is named, and the index stays as it was.
    @Test func aFullDiskIsNamedAndChangesNothing() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--bits", "64"]).status == 0)
        let data = dataset(bits: 64, count: 20_000, .uniform, seed: 7)
        try Self.put(data.flatMap(\.code.bytes), dir.sub("codes.raw"))
        try CLI.run(["add", idx, "-"], stdin: "1 0011223344556677\n2 8899aabbccddeeff\n")
        let before = try Self.contents(idx)
        // A file-size limit (any user): the write fails with EFBIG.
        let start = Date()
        let limited = try CLI.run(["add", idx, dir.sub("codes.raw")], input: [], prefix: ["/bin/sh", "-c", "ulimit -f 200; exec \"$0\" \"$@\""])
        Self.expectFailure(limited, 74, "file-size limit", "add under ulimit -f")
        #expect(try Self.contents(idx) == before)
        #expect(Date().timeIntervalSince(start) < 30)
        guard Self.isRoot else { return }
        // A real full file system (a small tmpfs; needs root to mount).
        let mount = dir.sub("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        guard system("mount -t tmpfs -o size=600k tmpfs '\(mount)' 2>/dev/null") == 0 else {
            // A container without CAP_SYS_ADMIN: the file-size limit above is the check that runs.
            print("aFullDiskIsNamedAndChangesNothing: cannot mount a tmpfs here; only the file-size limit was tested")
            return
        }
        defer { _ = system("umount '\(mount)'") }
        let small = mount + "/idx"
        #expect(try CLI.run(["create", small, "--bits", "64"]).status == 0)
        try CLI.run(["add", small, "-"], stdin: "1 0011223344556677\n2 8899aabbccddeeff\n")
        let smallBefore = try Self.contents(small)
        Self.expectFailure(try CLI.run(["add", small, dir.sub("codes.raw")], input: []), 74, "the disk is full", "add into a full tmpfs")
        #expect(try Self.contents(small) == smallBefore)
        #expect(try CLI.run(["verify", small]).status == 0)
        // create on a file system with no room: an error, and nothing left behind.
        let tiny = dir.sub("tiny")
        try FileManager.default.createDirectory(atPath: tiny, withIntermediateDirectories: true)
        guard system("mount -t tmpfs -o size=12k tmpfs '\(tiny)' 2>/dev/null") == 0 else { return }
        defer { _ = system("umount '\(tiny)'") }
        Self.expectFailure(try CLI.run(["create", tiny + "/idx", "--bits", "64"], input: []), 74, "the disk is full", "create on a full tmpfs")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tiny).isEmpty)
    }

    // Defect 8: truncated and emptied files are refused, never mapped past their end.
    @Test func truncatedAndEmptyFilesAreRefused() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        let index = try HashIndex.create(at: idx, .init(bits: 64, substringCount: 3))
        try index.insert(dataset(bits: 64, count: 20_000, .uniform, seed: 8))
        try Self.put(dataset(bits: 64, count: 10, .uniform, seed: 9).flatMap(\.code.bytes), dir.sub("more.raw"))
        let pristine = Self.bytes(idx + "/data.mdb")
        for size in [8192, 12288, 77824, pristine.count - 4096] {
            for args in [["stat", idx], ["verify", idx], ["knn", idx, "-k", "3", "--query", "0011223344556677"],
                         ["search", idx, "--radius", "3", "--query", "0011223344556677"], ["add", idx, dir.sub("more.raw")]] {
                try Self.put(Array(pristine.prefix(size)), idx + "/data.mdb")
                Self.expectFailure(try CLI.run(args, input: []), 65, "the file was truncated", "\(args[0]) on data.mdb cut to \(size)")
                #expect(Self.bytes(idx + "/data.mdb").count == size, "nothing may re-initialise or extend a damaged file")
            }
        }
        try Self.put([], idx + "/data.mdb")
        Self.expectFailure(try CLI.run(["add", idx, dir.sub("more.raw")], input: []), 66, "data.mdb is empty", "add on an empty data.mdb")
        #expect(Self.bytes(idx + "/data.mdb").isEmpty, "an empty data.mdb must not be re-initialised")
    }

    // Defect 9: clear messages.
    @Test func messagesNameTheCause() throws {
        let dir = TemporaryDirectory()
        let idx = dir.sub("idx")
        #expect(try CLI.run(["create", idx, "--bits", "16"]).status == 0)
        Self.expectFailure(try CLI.run(["knn", idx, "-k", "-1", "--query", "aabb"], input: []), 64, "-k must be at least 1, found -1", "-k -1")
        Self.expectFailure(try CLI.run(["search", idx, "--radius", "-2", "--query", "aabb"], input: []), 64, "found -2", "--radius -2")
        try writeRandomVectors(dir.sub("x.npy"), rows: 2000, columns: 8, seed: 9, levels: 100)
        try ((0..<2000).map { String($0 % 3) }.joined(separator: "\n") + "\n").write(toFile: dir.sub("y.txt"), atomically: true, encoding: .utf8)
        Self.expectFailure(try CLI.run(["train", "--method", "dh", "--bits", "16", "--input", dir.sub("x.npy"), "--labels", dir.sub("y.txt"),
                                        "--validation-queries", "5000", "--output", dir.sub("m")], input: []),
                           64, "--validation-queries must be smaller than the number of training vectors (2000), found 5000", "validation split too large")
        // A model whose JSON header lacks a field.
        let header = #"{"bits":16,"method":"lsh","settings":{},"tensors":[],"version":1}"#
        var archive = EncoderArchive.magic
        withUnsafeBytes(of: UInt32(header.utf8.count).littleEndian) { archive += $0 }
        try Self.put(archive + Array(header.utf8), dir.sub("bad.model"))
        Self.expectFailure(try CLI.run(["encode", dir.sub("bad.model"), "--input", dir.sub("x.npy")], input: []),
                           65, "lacks the field 'dimension'", "model without a dimension")
        // Permission: another user may not write the index (root ignores modes, so run as nobody).
        if Self.isRoot {
            _ = system("chmod 755 '\(dir.path)'")
            let r = try CLI.run(["add", idx, "-"], input: Array("5 aabb\n".utf8),
                                prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
            Self.expectFailure(r, 77, "permission denied", "add as another user")
            #expect(!r.stderr.contains("opened read-only"))
            // A read-only file system.
            let ro = dir.sub("ro")
            try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
            if system("mount -t tmpfs -o size=1m,ro tmpfs '\(ro)' 2>/dev/null") == 0 {
                defer { _ = system("umount '\(ro)'") }
                Self.expectFailure(try CLI.run(["create", ro + "/idx", "--bits", "16"], input: []), 77, "mounted read-only", "create on a read-only mount")
            } else {
                print("messagesNameTheCause: cannot mount a tmpfs here; the read-only file system case was not tested")
            }
        } else {
            _ = system("chmod 555 '\(idx)'; chmod 444 '\(idx)'/*.mdb")
            defer { _ = system("chmod 755 '\(idx)'; chmod 644 '\(idx)'/*.mdb") }
            Self.expectFailure(try CLI.run(["add", idx, "-"], input: Array("5 aabb\n".utf8)), 77, "permission denied", "add to a read-only index")
        }
    }

    // Defect 10: values that were accepted without complaint.
    @Test func nonsenseOptionValuesAreRefused() throws {
        let dir = TemporaryDirectory()
        try Self.put(NpyWriter.file(descr: "|u1", shape: [2, 2], data: [1, 2, 3, 4]), dir.sub("c.npy"))
        try "0\n1\n".write(toFile: dir.sub("l.txt"), atomically: true, encoding: .utf8)
        for cut in ["abc", "", "100,", "0", "-5"] {
            Self.expectFailure(try CLI.run(["eval", "--database", dir.sub("c.npy"), "--queries", dir.sub("c.npy"), "--database-labels", dir.sub("l.txt"),
                                            "--query-labels", dir.sub("l.txt"), "--cutoffs", cut], input: []),
                               64, cut.isEmpty ? "--cutoffs" : "--cutoffs must be positive integers", "--cutoffs '\(cut)'")
        }
        Self.expectFailure(try CLI.run(["create", dir.sub("i"), "--bits", "16", "--map-mib", "17592186044416"], input: []),
                           64, "--map-mib must be between 1 and", "--map-mib 2^44")
        #expect(!FileManager.default.fileExists(atPath: dir.sub("i")))
        var values = [Float](repeating: 0, count: 200 * 8)
        for i in values.indices { values[i] = Float(i % 7) }
        try Self.put(NpyWriter.file(descr: "<f4", shape: [200, 8], data: values.withUnsafeBytes { Array($0) }), dir.sub("x.npy"))
        Self.expectFailure(try CLI.run(["train", "--method", "dh", "--bits", "16", "--hidden", "100000000,100000000", "--input", dir.sub("x.npy"),
                                        "--output", dir.sub("m")], input: []),
                           64, "--hidden must be one or more layer sizes between 1 and", "--hidden of 10^8")
        Self.expectFailure(try CLI.run(["train", "--method", "dh", "--bits", "16", "--hidden", "60,,30", "--input", dir.sub("x.npy"),
                                        "--output", dir.sub("m")], input: []),
                           64, "--hidden must be positive sizes", "--hidden 60,,30")
    }
}

/// kill -9 at random points of every command that writes: afterwards the index verifies and
/// holds either the state before the command or the state after it, and an output file is
/// either the old one or the whole new one. `HASHIDX_KILL_ROUNDS` sets the rounds per command
/// (default 6; RELIABILITY.md gives the long run).
/// The default size of a write transaction: as many codes as fit in half of physical memory.
@Suite struct WriteBatchTests {
    @Test(arguments: [(64, 2), (256, 13)])
    func defaultBatchFitsHalfOfMemory(bits: Int, m: Int) throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.sub("idx"), .init(bits: bits, substringCount: m))
        defer { index.close() }
        let one = index.writeMemoryEstimate(codes: 1)
        #expect(index.writeMemoryEstimate(codes: 1000) == 1000 * one)
        #expect(index.writeMemoryEstimate(codes: .max) == .max)
        // 100M 64-bit codes with m = 2 peaked at 8.4 GiB in one transaction: not underestimated.
        if bits == 64 { #expect(index.writeMemoryEstimate(codes: 100_000_000) >= 8_400 << 20) }
        let batch = index.largestWriteBatch()
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        #expect(batch >= 1_000_000)
        #expect(batch == 1_000_000 || index.writeMemoryEstimate(codes: batch) <= physical / 2)
        #expect(batch == 1_000_000 || index.writeMemoryEstimate(codes: batch + batch / 10) > physical / 2)
    }
}

@Suite struct KillTests {
    static let rounds = ProcessInfo.processInfo.environment["HASHIDX_KILL_ROUNDS"].flatMap(Int.init) ?? 6

    /// Starts `args`, kills it after a random delay below `maxMilliseconds`, and waits.
    static func runAndKill(_ args: [String], _ rng: inout SeededRandom, maxMilliseconds: UInt64) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: Double(rng.next() % maxMilliseconds) / 1000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    @Test func killedRemoveAndCompactLeaveBeforeOrAfter() throws {
        let dir = TemporaryDirectory()
        let data = dataset(bits: 64, count: 60_000, .uniform, seed: 41)
        let victims = data.prefix(20_000).map(\.id)
        try (victims.map(String.init).joined(separator: "\n") + "\n").write(toFile: dir.sub("victims.txt"), atomically: true, encoding: .utf8)
        var rng = SeededRandom(seed: 42)
        for round in 0..<Self.rounds {
            let idx = dir.sub("idx\(round)")
            do {
                let index = try HashIndex.create(at: idx, .init(bits: 64, substringCount: 3))
                index.maintenance = MaintenancePolicy(minimumDeltaRows: 1 << 30, deltaShare: 100, deadShare: 100)
                try index.insert(Array(data[..<40_000]))
                try index.compact()
                try index.insert(Array(data[40_000...]))  // rows since the merge
                _ = try index.remove(ids: Array(data[50_000..<50_100].map(\.id)))  // tombstones
            }
            let before = try ReliabilityTests.contents(idx)
            try Self.runAndKill(["remove", idx, dir.sub("victims.txt")], &rng, maxMilliseconds: 400)
            let afterRemove = try ReliabilityTests.contents(idx)
            let count = try HashIndex.open(at: idx, mode: .readOnly).count
            #expect(afterRemove == before || count == 60_000 - 100 - 20_000, "round \(round): remove left \(count) codes")
            let beforeCompact = try ReliabilityTests.contents(idx).filter { !$0.hasPrefix("meta") }
            try Self.runAndKill(["compact", idx], &rng, maxMilliseconds: 600)
            let afterCompact = try ReliabilityTests.contents(idx).filter { !$0.hasPrefix("meta") }
            #expect(afterCompact == beforeCompact, "round \(round): a killed compact changed what the index holds")
            // Still writable.
            let index = try HashIndex.open(at: idx)
            try index.insert([(UInt64(1) << 50, data[0].code)])
            #expect(try index.verify() == (try index.count))
        }
    }

    @Test func killedTrainAndEncodeLeaveOldOrWholeOutputs() throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 43)
        var values = [Float](repeating: 0, count: 40_000 * 32)
        for i in values.indices { values[i] = Float(rng.next() % 1000) / 1000 }
        try Data(NpyWriter.file(descr: "<f4", shape: [40_000, 32], data: values.withUnsafeBytes { Array($0) })).write(to: URL(fileURLWithPath: dir.sub("x.npy")))
        let model = dir.sub("model")
        #expect(try CLI.run(["train", "--method", "itq", "--bits", "32", "--input", dir.sub("x.npy"), "--output", model]).status == 0)
        let whole = dir.sub("whole.npy")
        #expect(try CLI.run(["encode", model, "--input", dir.sub("x.npy"), "--output", whole, "--output-format", "npy"]).status == 0)
        let expected = ReliabilityTests.bytes(whole)
        let oldModel = ReliabilityTests.bytes(model)
        for round in 0..<Self.rounds {
            let out = dir.sub("codes\(round).npy")
            try Self.runAndKill(["encode", model, "--input", dir.sub("x.npy"), "--output", out, "--output-format", "npy"], &rng, maxMilliseconds: 300)
            let got = ReliabilityTests.bytes(out)
            #expect(got.isEmpty || got == expected, "round \(round): encode left \(got.count) bytes, expected none or \(expected.count)")
            try Self.runAndKill(["train", "--method", "itq", "--bits", "32", "--seed", String(round + 2), "--input", dir.sub("x.npy"), "--output", model], &rng, maxMilliseconds: 1500)
            let now = ReliabilityTests.bytes(model)
            #expect(now == oldModel || (now.count == oldModel.count && (try? EncoderArchive.decode(Array(now))) != nil),
                    "round \(round): the model is neither the old one nor a whole new one")
        }
    }
}

@Suite struct CloseTests {
    /// close() ends the instance: later calls throw `closed`, the directory opens again in the
    /// same process, and what was written is there.
    @Test func closeReleasesTheIndexAndLaterCallsThrow() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hashidx-close-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = try HashIndex.create(at: dir, .init(bits: 32))
        let codes = (0..<100).map { i in try! BinaryCode(bytes: withUnsafeBytes(of: UInt32(i * 2_654_435_761 & 0xFFFF_FFFF).littleEndian, Array.init), bits: 32) }
        _ = try index.insert(Array(zip((0..<100).map(UInt64.init), codes)).map { (id: $0.0, code: $0.1) })
        _ = try index.search(codes[3], radius: 2)   // leaves a pooled reader
        #expect(throws: HashIdxError.alreadyOpen(path: dir)) { _ = try HashIndex.open(at: dir) }
        index.close()
        index.close()   // twice: nothing
        #expect(throws: HashIdxError.closed(path: dir)) { _ = try index.search(codes[3], radius: 2) }
        #expect(throws: HashIdxError.closed(path: dir)) { _ = try index.insert([(id: 500, code: codes[0])]) }
        #expect(throws: HashIdxError.closed(path: dir)) { _ = try index.count }
        #expect(throws: HashIdxError.self) { try index.sync() }
        let again = try HashIndex.open(at: dir)
        #expect(try again.count == 100)
        #expect(try again.search(codes[3], radius: 0).neighbors.map(\.id) == [3])
    }
}
